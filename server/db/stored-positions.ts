import type pg from "pg";
import { toDatabaseError } from "./errors.ts";

/**
 * Where a re-readable channel (a RabbitMQ stream, later a Redis or NATS stream) resumes: the
 * highest position stored for (source, channel, partition), per channel. A collector reads from
 * the position after it, so a message stored but not acknowledged before a crash is read again
 * and ingest skips it (one row per source, channel, partition, position).
 *
 * Index: the events primary key (source_id, channel, partition, position): each max() is one
 * backward step of an index-only scan, whatever the table's size.
 */
/** $1 source id, $2 channels, $3 partition. */
export const HIGHEST_STORED_POSITIONS_SQL = `SELECT c.channel,
  (SELECT max(e.position) FROM events e WHERE e.source_id = $1 AND e.channel = c.channel AND e.partition = $3)::text AS position
FROM unnest($2::text[]) AS c(channel)`;

export async function highestStoredPositions(
  db: { pool: pg.Pool },
  sourceId: number,
  channels: readonly string[],
  partition = 0,
): Promise<Map<string, bigint>> {
  if (channels.length === 0) return new Map();
  try {
    const { rows } = await db.pool.query<{ channel: string; position: string | null }>(HIGHEST_STORED_POSITIONS_SQL, [sourceId, channels, partition]);
    const found = new Map<string, bigint>();
    for (const row of rows) if (row.position !== null) found.set(row.channel, BigInt(row.position));
    return found;
  } catch (error) {
    throw toDatabaseError(error, "reading the highest stored positions");
  }
}
