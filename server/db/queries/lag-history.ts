import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import type { LagHistory } from "../../../lib/api-schemas/groups.ts";
import { checkDate, runQuery, select, type Queryable } from "./shared.ts";
import { listSources } from "../sources.ts";

export interface LagHistoryOptions {
  from: Date;
  /** Exclusive. */
  to: Date;
  /** Bucket width, ms (≥ 1 s). At most MAX_LAG_BUCKETS buckets per request. */
  bucketMs: number;
  /** Read every sample even where the per-minute roll-ups would answer (to compare the two). */
  samplesOnly?: boolean;
  /** The group's source (sources.id); without it, the group id on every source. */
  sourceId?: number;
}

const MINUTE_MS = 60_000;

interface PartitionBucketRow {
  bucket: Date;
  topic: string;
  partition: number;
  max_lag: string | null;
  max_time_lag: string | null;
  committed: string | null;
  end_offset: string;
}

interface TotalBucketRow {
  bucket: Date;
  total: string | null;
  time_lag: string | null;
  unknown: number;
}

/** A chart has a few hundred pixels: more buckets only cost. */
export const MAX_LAG_BUCKETS = 2_000;

/**
 * A group's lag over time from the admin poller's samples, bucketed (date_bin from `from`), per
 * partition and in total. Maxima per bucket, so a short spike stays visible at any zoom.
 * Index: lag_samples primary key (group_id, sampled_at, topic, partition): a range scan of one
 * group's samples; for whole-minute buckets from a whole minute (the day and week windows of the
 * charts), the per-minute roll-ups' primary keys (lag_minutes, lag_minute_totals) instead.
 */
export async function getLagHistory(db: Queryable, groupId: string, options: LagHistoryOptions): Promise<LagHistory> {
  const from = checkDate(options.from, "from")!;
  const to = checkDate(options.to, "to")!;
  if (to <= from) throw new ValidationError("to must be after from", { field: "to" });
  if (!Number.isFinite(options.bucketMs) || options.bucketMs < 1_000) {
    throw new ValidationError("bucket must be at least 1 s", { field: "bucket" });
  }
  if ((to.getTime() - from.getTime()) / options.bucketMs > MAX_LAG_BUCKETS) {
    throw new ValidationError(`at most ${MAX_LAG_BUCKETS} buckets: choose a wider bucket or a shorter range`, { field: "bucket" });
  }
  const seconds = options.bucketMs / 1000;
  // Whole-minute buckets from a whole minute: the per-minute roll-ups give the same maxima as the
  // samples (every minute lies inside one bucket), reading one row a minute instead of one a poll.
  const fromMinutes = !options.samplesOnly && options.bucketMs % MINUTE_MS === 0 && from.getTime() % MINUTE_MS === 0;
  const bin = (column: Prisma.Sql) => Prisma.sql`date_bin(make_interval(secs => ${seconds}::float8), ${column}, ${from}::timestamptz)`;
  return runQuery(`reading the lag history of ${groupId}`, async () => {
    // The tables' keys lead with the source: without one, every source's id is named, so that the
    // keys still serve (PostgreSQL before 18 cannot skip a leading key column).
    const sourceIds = options.sourceId !== undefined ? [options.sourceId] : (await listSources(db)).map((source) => source.id);
    const ofSource = (column: Prisma.Sql) => Prisma.sql`AND ${column} = ANY(${sourceIds}::smallint[])`;
    const [perPartition, perSample] = await Promise.all([
      select<PartitionBucketRow>(
        db,
        fromMinutes
          ? Prisma.sql`
        SELECT ${bin(Prisma.sql`m.minute`)} AS bucket, m.topic, m.partition,
          max(m.max_offset_lag)::text AS max_lag, max(m.max_time_lag_ms)::text AS max_time_lag,
          max(m.max_committed_offset)::text AS committed, max(m.max_end_offset)::text AS end_offset
        FROM lag_minutes m
        WHERE m.group_id = ${groupId}::text ${ofSource(Prisma.sql`m.source_id`)} AND m.minute >= ${from}::timestamptz AND m.minute < ${to}::timestamptz
        GROUP BY 1, 2, 3
        ORDER BY 2, 3, 1`
          : Prisma.sql`
        SELECT ${bin(Prisma.sql`l.sampled_at`)} AS bucket, l.topic, l.partition,
          max(l.offset_lag)::text AS max_lag, max(l.time_lag_ms)::text AS max_time_lag,
          max(l.committed_offset)::text AS committed, max(l.end_offset)::text AS end_offset
        FROM lag_samples l
        WHERE l.group_id = ${groupId}::text ${ofSource(Prisma.sql`l.source_id`)} AND l.sampled_at >= ${from}::timestamptz AND l.sampled_at < ${to}::timestamptz
        GROUP BY 1, 2, 3
        ORDER BY 2, 3, 1`,
      ),
      select<TotalBucketRow>(
        db,
        fromMinutes
          ? Prisma.sql`
        SELECT ${bin(Prisma.sql`t.minute`)} AS bucket,
          max(t.max_offset_lag)::text AS total, max(t.max_time_lag_ms)::text AS time_lag, max(t.max_unknown_partitions)::int AS unknown
        FROM lag_minute_totals t
        WHERE t.group_id = ${groupId}::text ${ofSource(Prisma.sql`t.source_id`)} AND t.minute >= ${from}::timestamptz AND t.minute < ${to}::timestamptz
        GROUP BY 1
        ORDER BY 1`
          : Prisma.sql`
        SELECT ${bin(Prisma.sql`sampled_at`)} AS bucket,
          max(total)::text AS total, max(time_lag)::text AS time_lag, max(unknown)::int AS unknown
        FROM (
          SELECT sampled_at, sum(offset_lag) AS total, max(time_lag_ms) AS time_lag,
            count(*) FILTER (WHERE offset_lag IS NULL) AS unknown
          FROM lag_samples
          WHERE group_id = ${groupId}::text ${ofSource(Prisma.sql`source_id`)} AND sampled_at >= ${from}::timestamptz AND sampled_at < ${to}::timestamptz
          GROUP BY sampled_at
        ) per_sample
        GROUP BY 1
        ORDER BY 1`,
      ),
    ]);
    const partitions = new Map<string, LagHistory["partitions"][number]>();
    for (const row of perPartition) {
      const key = `${row.topic}\u0000${row.partition}`;
      const series = partitions.get(key) ?? { topic: row.topic, partition: row.partition, points: [] };
      series.points.push({
        at: row.bucket.toISOString(),
        offsetLag: row.max_lag,
        timeLagMs: row.max_time_lag === null ? null : Number(row.max_time_lag),
        committedOffset: row.committed,
        endOffset: row.end_offset,
      });
      partitions.set(key, series);
    }
    return {
      groupId,
      from: from.toISOString(),
      to: to.toISOString(),
      bucketMs: options.bucketMs,
      partitions: [...partitions.values()],
      totals: perSample.map((row) => ({
        at: row.bucket.toISOString(),
        offsetLag: row.total,
        timeLagMs: row.time_lag === null ? null : Number(row.time_lag),
        unknownPartitions: row.unknown,
      })),
    };
  });
}
