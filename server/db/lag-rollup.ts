import type pg from "pg";

/**
 * Per-minute maxima of the lag samples (lag_minutes, per group/topic/partition) and of each
 * group's total lag (lag_minute_totals), so that a lag chart over a day or a week reads a few
 * thousand rows instead of every sample the poller took.
 *
 * The roll-up is recomputed from lag_samples for the sampling times in a range and merged with
 * what is there (greatest of both), so running it twice, or for samples that arrived in several
 * writes with the same sampling time, gives the same rows. The admin poller's writes roll up their
 * own sampling time in the same transaction (recordLagSamples); a migration rolled up the samples
 * that existed before. Minutes are UTC minutes (date_bin from the Unix epoch).
 */

const MINUTE = `date_bin(interval '1 minute', sampled_at, timestamptz '1970-01-01 00:00:00+00')`;

const ROLL_UP_PARTITIONS = `
  INSERT INTO lag_minutes AS m (source_id, group_id, topic, partition, minute, max_offset_lag, max_time_lag_ms, max_committed_offset, max_end_offset)
  SELECT source_id, group_id, topic, partition, ${MINUTE}, max(offset_lag), max(time_lag_ms), max(committed_offset), max(end_offset)
  FROM lag_samples
  WHERE sampled_at >= $1 AND sampled_at <= $2 AND ($3::text[] IS NULL OR group_id = ANY($3::text[]))
    AND ($4::smallint IS NULL OR source_id = $4)
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (source_id, group_id, minute, topic, partition) DO UPDATE SET
    max_offset_lag = greatest(m.max_offset_lag, excluded.max_offset_lag),
    max_time_lag_ms = greatest(m.max_time_lag_ms, excluded.max_time_lag_ms),
    max_committed_offset = greatest(m.max_committed_offset, excluded.max_committed_offset),
    max_end_offset = greatest(m.max_end_offset, excluded.max_end_offset)`;

const ROLL_UP_TOTALS = `
  INSERT INTO lag_minute_totals AS t (source_id, group_id, minute, max_offset_lag, max_time_lag_ms, max_unknown_partitions)
  SELECT source_id, group_id, ${MINUTE}, max(total), max(time_lag), max(unknown)
  FROM (
    SELECT source_id, group_id, sampled_at, sum(offset_lag) AS total, max(time_lag_ms) AS time_lag,
      count(*) FILTER (WHERE offset_lag IS NULL)::int AS unknown
    FROM lag_samples
    WHERE sampled_at >= $1 AND sampled_at <= $2 AND ($3::text[] IS NULL OR group_id = ANY($3::text[]))
      AND ($4::smallint IS NULL OR source_id = $4)
    GROUP BY source_id, group_id, sampled_at
  ) per_sample
  GROUP BY 1, 2, 3
  ON CONFLICT (source_id, group_id, minute) DO UPDATE SET
    max_offset_lag = greatest(t.max_offset_lag, excluded.max_offset_lag),
    max_time_lag_ms = greatest(t.max_time_lag_ms, excluded.max_time_lag_ms),
    max_unknown_partitions = greatest(t.max_unknown_partitions, excluded.max_unknown_partitions)`;

/**
 * Rolls up the samples taken from `from` to `to` (both included), of the given groups or of all, on
 * one source (`sourceId`) or on every one.
 * Run it inside the transaction that wrote the samples.
 */
export async function rollUpLagSamples(
  client: pg.ClientBase | pg.Pool,
  range: { sourceId?: number; from: Date; to: Date; groupIds?: readonly string[] },
): Promise<void> {
  const params = [range.from, range.to, range.groupIds ? [...range.groupIds] : null, range.sourceId ?? null];
  await client.query(ROLL_UP_PARTITIONS, params);
  await client.query(ROLL_UP_TOTALS, params);
}
