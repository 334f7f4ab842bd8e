import { Prisma } from "@prisma/client";
import type { LagHealthSample, PartitionLagSamples } from "../../../lib/lag-health.ts";
import { groupShown, ofSource, select, type Queryable } from "./shared.ts";

/**
 * Lag of groups as the admin poller left it: current offsets (committed_offsets + partitions) and
 * the samples behind time lag and health. Shared by who-consumes, the flow graph, collector health
 * and the group health the poller stores.
 */

export interface CurrentLagRow {
  source_id: number;
  group_id: string;
  topic: string;
  partition: number;
  /** Decimal; "-1" when nothing is committed. */
  committed_offset: string;
  end_offset: string | null;
}

/**
 * Committed offsets with end offsets for live (not deleted) groups, filtered by groups or topics.
 * Indexes: committed_offsets primary key (group_id, …) or committed_offsets_topic_partition_idx.
 */
export async function readCurrentLag(
  db: Queryable,
  filter: ({ groupIds: readonly string[] } | { topics: readonly string[] }) & { sourceId?: number },
): Promise<CurrentLagRow[]> {
  const condition =
    "groupIds" in filter
      ? Prisma.sql`c.group_id = ANY(${[...filter.groupIds]}::text[])`
      : Prisma.sql`c.topic = ANY(${[...filter.topics]}::text[])`;
  return select<CurrentLagRow>(db, Prisma.sql`
    SELECT c.source_id, c.group_id, c.topic, c.partition, c.committed_offset, p.end_offset
    FROM committed_offsets c
    JOIN consumer_groups g ON g.source_id = c.source_id AND g.group_id = c.group_id AND g.deleted_at IS NULL
    LEFT JOIN partitions p ON p.source_id = c.source_id AND p.topic = c.topic AND p.partition = c.partition
    WHERE ${condition} ${ofSource(Prisma.sql`c.source_id`, filter.sourceId)} AND ${groupShown(db, Prisma.sql`c.group_id`)}
    ORDER BY c.source_id, c.group_id, c.topic, c.partition`);
}

/** `AND <column> = <sourceId>`, or nothing for every source. */

export function offsetLagOf(row: CurrentLagRow): bigint | null {
  const committed = BigInt(row.committed_offset);
  if (committed < 0n || row.end_offset === null) return null;
  const end = BigInt(row.end_offset);
  return end > committed ? end - committed : 0n;
}

/**
 * Time lag per group/topic/partition at each group's latest sample. Index: lag_samples primary
 * key (group_id, sampled_at, …): a backward scan for the latest time, then that time's rows.
 */
export async function readLatestTimeLag(
  db: Queryable,
  groupIds: readonly string[],
  options: { sourceId?: number } = {},
): Promise<Map<string, { timeLagMs: number | null; sampledAt: Date }>> {
  const found = new Map<string, { timeLagMs: number | null; sampledAt: Date }>();
  if (groupIds.length === 0) return found;
  const rows = await select<{ source_id: number; group_id: string; topic: string; partition: number; time_lag_ms: string | null; sampled_at: Date }>(
    db,
    Prisma.sql`
      SELECT l.source_id, l.group_id, l.topic, l.partition, l.time_lag_ms, l.sampled_at
      FROM (SELECT src.id AS source_id, u.group_id FROM sources src CROSS JOIN unnest(${[...groupIds]}::text[]) AS u(group_id)
            WHERE TRUE ${ofSource(Prisma.sql`src.id`, options.sourceId)}) g
      CROSS JOIN LATERAL (
        SELECT s.sampled_at FROM lag_samples s WHERE s.source_id = g.source_id AND s.group_id = g.group_id
        ORDER BY s.sampled_at DESC LIMIT 1
      ) latest
      JOIN lag_samples l ON l.source_id = g.source_id AND l.group_id = g.group_id AND l.sampled_at = latest.sampled_at`,
  );
  for (const row of rows) {
    found.set(lagKey(row.source_id, row.group_id, row.topic, row.partition), {
      timeLagMs: row.time_lag_ms === null ? null : Number(row.time_lag_ms),
      sampledAt: row.sampled_at,
    });
  }
  return found;
}

export function lagKey(sourceId: number, groupId: string, topic: string, partition: number): string {
  return `${sourceId}\u0000${groupId}\u0000${topic}\u0000${partition}`;
}

export interface SampleWindow extends PartitionLagSamples {
  sourceId: number;
  groupId: string;
  /** In time order. */
  samples: (LagHealthSample & { at: number; committedOffset: string | null; timeLagMs: number | null })[];
}

/**
 * Every group's samples in [since, until], per group/topic/partition in time order: the window
 * the health rules judge (server/db/group-health.ts).
 * Index: lag_samples_sampled_at_idx (BRIN: samples are appended in time order).
 *
 * The arrays are aggregated without ORDER BY (a hash aggregate; sorting all the window's rows by
 * group, partition and time was most of this query's cost) and put in time order here. The four
 * arrays of a row stay aligned: one aggregation feeds them the same rows in the same order.
 */
export async function readSampleWindows(
  db: Queryable,
  since: Date,
  until?: Date,
  options: { sourceId?: number } = {},
): Promise<SampleWindow[]> {
  const upTo = until ? Prisma.sql`AND l.sampled_at <= ${until}::timestamptz` : Prisma.empty;
  const sourceCondition = ofSource(Prisma.sql`l.source_id`, options.sourceId);
  const rows = await select<{
    source_id: number;
    group_id: string;
    topic: string;
    partition: number;
    at_ms: number[];
    committed: (string | null)[];
    lags: (string | null)[];
    time_lags: (string | null)[];
  }>(
    db,
    Prisma.sql`
      SELECT l.source_id, l.group_id, l.topic, l.partition,
        array_agg((extract(epoch FROM l.sampled_at) * 1000)::float8) AS at_ms,
        array_agg(l.committed_offset) AS committed,
        array_agg(l.offset_lag) AS lags,
        array_agg(l.time_lag_ms) AS time_lags
      FROM lag_samples l
      WHERE l.sampled_at >= ${since}::timestamptz ${upTo} ${sourceCondition}
      GROUP BY l.source_id, l.group_id, l.topic, l.partition`,
  );
  return rows.map((row) => ({
    sourceId: row.source_id,
    groupId: row.group_id,
    topic: row.topic,
    partition: row.partition,
    samples: row.at_ms
      .map((at, i) => ({
        at: Math.round(at),
        committedOffset: row.committed[i] ?? null,
        offsetLag: row.lags[i] ?? null,
        timeLagMs: row.time_lags[i] === null || row.time_lags[i] === undefined ? null : Number(row.time_lags[i]),
      }))
      .sort((a, b) => a.at - b.at),
  }));
}

export interface GroupMemberRow {
  source_id: number;
  group_id: string;
  member_id: string;
  client_id: string;
  client_host: string;
  /** Its assigned partitions, by topic then partition. */
  assigned: { topic: string; partition: number }[];
}

/**
 * The members of groups with their assigned partitions (of `topics` only, when given), by group,
 * client id and member id. Indexes: group_members and group_assignments primary keys.
 */
export function readGroupMembers(
  db: Queryable,
  groupIds: readonly string[],
  topics?: readonly string[],
  options: { sourceId?: number } = {},
): Promise<GroupMemberRow[]> {
  const ofTopics = topics === undefined ? Prisma.empty : Prisma.sql`AND a.topic = ANY(${[...topics]}::text[])`;
  return select<GroupMemberRow>(db, Prisma.sql`
    SELECT m.source_id, m.group_id, m.member_id, m.client_id, m.client_host,
      coalesce(json_agg(json_build_object('topic', a.topic, 'partition', a.partition) ORDER BY a.topic, a.partition)
        FILTER (WHERE a.topic IS NOT NULL), '[]') AS assigned
    FROM group_members m
    LEFT JOIN group_assignments a ON a.source_id = m.source_id AND a.group_id = m.group_id AND a.member_id = m.member_id ${ofTopics}
    WHERE m.group_id = ANY(${[...groupIds]}::text[]) ${ofSource(Prisma.sql`m.source_id`, options.sourceId)}
    GROUP BY m.source_id, m.group_id, m.member_id, m.client_id, m.client_host
    ORDER BY m.source_id, m.group_id, m.client_id, m.member_id`);
}
