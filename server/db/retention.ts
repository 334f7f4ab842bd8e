import type pg from "pg";
import { toDatabaseError } from "./errors.ts";

export interface PruneResult {
  events: number;
  lagSamples: number;
  /** Per-minute roll-ups of the lag samples (group and total rows). */
  lagMinutes: number;
  endOffsetSamples: number;
}

/**
 * Deletes what is older than `before` (EVENTSCOPE_RETENTION): events by Kafka timestamp, lag and
 * end-offset samples by sampling time, the lag's per-minute roll-ups by minute. Dead letters still waiting in the inbox (status new) keep
 * their event: the user has not dealt with them yet. Deletes in slices of `sliceSize` rows, each
 * its own short transaction, so ingest is never blocked for long.
 */
export async function pruneOlderThan(
  db: { pool: pg.Pool },
  before: Date,
  options: { sliceSize?: number } = {},
): Promise<PruneResult> {
  const sliceSize = options.sliceSize ?? 10_000;
  const result: PruneResult = { events: 0, lagSamples: 0, lagMinutes: 0, endOffsetSamples: 0 };
  const slices: [keyof PruneResult, string][] = [
    [
      "events",
      `DELETE FROM events WHERE ctid IN (
         SELECT e.ctid FROM events e
         WHERE e."timestamp" < $1
           AND NOT EXISTS (
             SELECT 1 FROM dead_letters d
             WHERE d.topic = e.topic AND d.partition = e.partition AND d."offset" = e."offset"
               AND d.status = 'new')
         LIMIT $2)`,
    ],
    ["lagSamples", `DELETE FROM lag_samples WHERE ctid IN (SELECT ctid FROM lag_samples WHERE sampled_at < $1 LIMIT $2)`],
    // A minute goes when all of it is older than the cutoff.
    ["lagMinutes", `DELETE FROM lag_minutes WHERE ctid IN (SELECT ctid FROM lag_minutes WHERE minute < $1::timestamptz - interval '1 minute' LIMIT $2)`],
    [
      "lagMinutes",
      `DELETE FROM lag_minute_totals WHERE ctid IN (SELECT ctid FROM lag_minute_totals WHERE minute < $1::timestamptz - interval '1 minute' LIMIT $2)`,
    ],
    [
      "endOffsetSamples",
      `DELETE FROM end_offset_samples WHERE ctid IN (SELECT ctid FROM end_offset_samples WHERE sampled_at < $1 LIMIT $2)`,
    ],
  ];
  try {
    for (const [field, sql] of slices) {
      for (;;) {
        const { rowCount } = await db.pool.query(sql, [before, sliceSize]);
        result[field] += rowCount ?? 0;
        if ((rowCount ?? 0) < sliceSize) break;
      }
    }
    return result;
  } catch (error) {
    throw toDatabaseError(error, "pruning old data");
  }
}
