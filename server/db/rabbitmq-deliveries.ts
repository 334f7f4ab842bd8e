import type pg from "pg";
import { toDatabaseError } from "./errors.ts";

/**
 * RabbitMQ deliveries as the collector reads them from the firehose (`deliver.<queue>` copies on
 * amq.rabbitmq.trace, a source with `deliveries: firehose`): which queue delivered which message,
 * redelivered or not. Written here through `pg`, a batch per statement.
 *
 * Exactly once: a firehose copy has no id, and two real deliveries of one message can be
 * identical copies (a consumer that requeues it twice), so no natural key tells a repeat from a
 * copy handed to the collector again. What can tell is the broker: a copy the collector received
 * before without acknowledging it (it stopped or crashed between storing and acknowledging) comes
 * back with its own `redelivered` flag set. Only such a copy is checked against what is stored
 * (`copyHash`, rabbitmq_deliveries_source_id_copy_hash_idx) and skipped when it is there; every
 * other copy is new by construction. The price: an identical real delivery stored before, whose
 * later twin is among the copies handed over again, is counted once instead of twice.
 */
export interface RabbitDeliveryRow {
  sourceId: number;
  vhost: string;
  queue: string;
  /** "" for the default exchange. */
  exchange: string;
  routingKey: string;
  /** The events channel of its exchange (channelOfExchange): where its stored event is. */
  channel: string;
  /** The message's delivery fingerprint as ingest computes it (fingerprintOfEventRow); 0 for none. */
  fingerprint: number;
  redelivered: boolean;
  replayId: string | null;
  /** The consuming connection's name, as RabbitMQ gives it. */
  connection: string | null;
  seenAt: Date;
  /** A hash of the firehose copy (its headers and body). */
  copyHash: Buffer;
  /** The copy was handed to the collector before (its own redelivered flag): stored only if not stored yet. */
  maybeStored: boolean;
}

/** Stores deliveries in one statement; returns how many were new. Retriable DatabaseError on failure. */
export async function insertRabbitDeliveries(db: { pool: pg.Pool }, rows: readonly RabbitDeliveryRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  // Within the batch, a copy handed over again appears once (the first).
  const seen = new Set<string>();
  const kept = rows.filter((row) => {
    if (!row.maybeStored) return true;
    const key = `${row.sourceId}\u0000${row.copyHash.toString("hex")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const column = <T>(pick: (row: RabbitDeliveryRow) => T) => kept.map(pick);
  try {
    const result = await db.pool.query(
      `INSERT INTO rabbitmq_deliveries (source_id, vhost, queue, exchange, routing_key, channel, fingerprint, redelivered, replay_id, connection, seen_at, copy_hash)
       SELECT t.source_id, t.vhost, t.queue, t.exchange, t.routing_key, t.channel, t.fingerprint, t.redelivered, t.replay_id, t.connection, t.seen_at, t.copy_hash
       FROM unnest($1::smallint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bool[], $9::text[], $10::text[],
                   $11::timestamptz[], $12::bytea[], $13::bool[])
         AS t(source_id, vhost, queue, exchange, routing_key, channel, fingerprint, redelivered, replay_id, connection, seen_at, copy_hash, maybe_stored)
       WHERE NOT t.maybe_stored
          OR NOT EXISTS (SELECT 1 FROM rabbitmq_deliveries d WHERE d.source_id = t.source_id AND d.copy_hash = t.copy_hash)`,
      [
        column((row) => row.sourceId),
        column((row) => clean(row.vhost)),
        column((row) => clean(row.queue)),
        column((row) => clean(row.exchange)),
        column((row) => clean(row.routingKey)),
        column((row) => clean(row.channel)),
        column((row) => row.fingerprint),
        column((row) => row.redelivered),
        column((row) => (row.replayId === null ? null : clean(row.replayId))),
        column((row) => (row.connection === null ? null : clean(row.connection))),
        column((row) => row.seenAt),
        column((row) => row.copyHash),
        column((row) => row.maybeStored),
      ],
    );
    return result.rowCount ?? 0;
  } catch (error) {
    throw toDatabaseError(error, "storing RabbitMQ deliveries");
  }
}

/** PostgreSQL text holds no NUL. */
function clean(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}
