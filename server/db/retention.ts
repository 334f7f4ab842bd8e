import type pg from "pg";
import { toDatabaseError } from "./errors.ts";

export interface PruneResult {
  /** False when another instance was pruning (the advisory lock was taken): nothing was done. */
  ran: boolean;
  events: number;
  /** RabbitMQ deliveries (from the firehose), by the time they were seen: they go with their events. */
  deliveries: number;
  /** Kafka groups' lag samples and RabbitMQ queues'. */
  lagSamples: number;
  /** Per-minute roll-ups of the lag samples (group and total rows). */
  lagMinutes: number;
  endOffsetSamples: number;
  /** Flows (server/db/flows.ts): entities whose last step is past the retention, and hourly counters. */
  flowEntities: number;
  flowCounts: number;
  /** Dead letters whose history is older than the audit retention (their replays go with them). */
  deadLetters: number;
  auditEntries: number;
}

export interface PruneCutoffs {
  /** EVENTSCOPE_RETENTION: events by Kafka timestamp, lag and end-offset samples by sampling time. */
  data: Date;
  /**
   * EVENTSCOPE_AUDIT_RETENTION: dead letters by their last activity (their record's time, status changed,
   * replayed), with their replays; audit entries by time.
   */
  audit: Date;
}

/** Key of the pruning lock (distinct from the poller's and migrate.ts's; "prunes" in ASCII). */
const PRUNE_LOCK_KEY = 0x7072756e6573n;

/**
 * Deletes what is past its retention. Events go by time whatever became of them: a dead letter
 * keeps its own copy of its record (key, value, headers), so the inbox, replays and the audit do
 * not depend on the events table, which can be dropped by time alone. Dead letters, their replays
 * and the audit log have the longer audit retention.
 *
 * One instance prunes at a time: a session-level advisory lock (the admin poller's pattern), held
 * on one pooled connection for the run; an instance that finds it taken skips this round. Deletes
 * in slices of `sliceSize` rows, each its own short transaction, so ingest is never blocked long.
 */
export async function pruneOlderThan(
  db: { pool: pg.Pool },
  cutoffs: PruneCutoffs,
  options: { sliceSize?: number } = {},
): Promise<PruneResult> {
  const sliceSize = options.sliceSize ?? 10_000;
  const result: PruneResult = {
    ran: false,
    events: 0,
    deliveries: 0,
    lagSamples: 0,
    lagMinutes: 0,
    endOffsetSamples: 0,
    flowEntities: 0,
    flowCounts: 0,
    deadLetters: 0,
    auditEntries: 0,
  };
  const slices: [Exclude<keyof PruneResult, "ran">, string, Date][] = [
    ["events", `DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE "timestamp" < $1 LIMIT $2)`, cutoffs.data],
    ["deliveries", `DELETE FROM rabbitmq_deliveries WHERE ctid IN (SELECT ctid FROM rabbitmq_deliveries WHERE seen_at < $1 LIMIT $2)`, cutoffs.data],
    ["lagSamples", `DELETE FROM lag_samples WHERE ctid IN (SELECT ctid FROM lag_samples WHERE sampled_at < $1 LIMIT $2)`, cutoffs.data],
    // RabbitMQ queues' lag samples count as lag samples.
    [
      "lagSamples",
      `DELETE FROM rabbitmq_queue_samples WHERE ctid IN (SELECT ctid FROM rabbitmq_queue_samples WHERE sampled_at < $1 LIMIT $2)`,
      cutoffs.data,
    ],
    // A minute goes when all of it is older than the cutoff.
    [
      "lagMinutes",
      `DELETE FROM lag_minutes WHERE ctid IN (SELECT ctid FROM lag_minutes WHERE minute < $1::timestamptz - interval '1 minute' LIMIT $2)`,
      cutoffs.data,
    ],
    [
      "lagMinutes",
      `DELETE FROM lag_minute_totals WHERE ctid IN (SELECT ctid FROM lag_minute_totals WHERE minute < $1::timestamptz - interval '1 minute' LIMIT $2)`,
      cutoffs.data,
    ],
    [
      "endOffsetSamples",
      `DELETE FROM end_offset_samples WHERE ctid IN (SELECT ctid FROM end_offset_samples WHERE sampled_at < $1 LIMIT $2)`,
      cutoffs.data,
    ],
    // An entity goes with its last step; an hour of counters when all of it is older than the cutoff.
    ["flowEntities", `DELETE FROM flow_entities WHERE ctid IN (SELECT ctid FROM flow_entities WHERE last_at < $1 LIMIT $2)`, cutoffs.data],
    [
      "flowCounts",
      `DELETE FROM flow_counts WHERE ctid IN (SELECT ctid FROM flow_counts WHERE hour < $1::timestamptz - interval '1 hour' LIMIT $2)`,
      cutoffs.data,
    ],
    [
      "deadLetters",
      `DELETE FROM dead_letters WHERE id IN (
         SELECT d.id FROM dead_letters d
         WHERE greatest(d."timestamp", d.status_changed_at,
                 (SELECT max(r.updated_at) FROM replays r WHERE r.dead_letter_id = d.id)) < $1
         LIMIT $2)`,
      cutoffs.audit,
    ],
    ["auditEntries", `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE "at" < $1 LIMIT $2)`, cutoffs.audit],
  ];
  let client: pg.PoolClient | undefined;
  let failed = false;
  try {
    client = await db.pool.connect();
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [PRUNE_LOCK_KEY.toString()]);
    if (rows[0]?.locked !== true) return result;
    result.ran = true;
    try {
      for (const [field, sql, before] of slices) {
        for (;;) {
          const { rowCount } = await client.query(sql, [before, sliceSize]);
          result[field] += rowCount ?? 0;
          if ((rowCount ?? 0) < sliceSize) break;
        }
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [PRUNE_LOCK_KEY.toString()]).catch(() => {});
    }
    return result;
  } catch (error) {
    failed = true;
    throw toDatabaseError(error, "pruning old data");
  } finally {
    // A connection that failed is not given back: it may still hold the lock.
    client?.release(failed);
  }
}
