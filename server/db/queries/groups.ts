import { Prisma } from "@prisma/client";
import {
  GROUP_SORTS,
  type ConsumerGroupListItem,
  type ConsumerGroupPage,
  type ConsumerGroupPartition,
  type ConsumerGroupView,
  type LagHistory,
  type UnprocessedEventsPage,
} from "../../../lib/api-schemas/groups.ts";
import { NotFoundError, ValidationError } from "../../../lib/errors.ts";
import {
  LAG_HEALTH_SEVERITY,
  evaluateGroupHealth,
  type GroupHealth,
  type PartitionHealth,
  HEALTH_WINDOW_MS,
} from "../../../lib/lag-health.ts";
import { getLagHistory, type LagHistoryOptions } from "./lag-history.ts";
import { lagKey, offsetLagOf, readCurrentLag, readGroupMembers, readLatestTimeLag } from "./group-lag.ts";
import {
  eventSummaryColumns,
  checkLimit,
  checkOffset,
  decodeIdCursor,
  encodeIdCursor,
  groupBy,
  maskRulesOf,
  runQuery,
  select,
  toEventSummary,
  type EventSummaryRow,
  type Queryable,
  groupShown,
  sourceNameSql,
  storedHealth,
} from "./shared.ts";
import { listRabbitQueueItems } from "./rabbitmq-queues.ts";
import { resolveSourceOf, type SourceRow } from "../sources.ts";

/**
 * The consumer-group pages: every group with its lag and health (`/groups`), one group with its
 * members, assignments and partitions (`/groups/[id]`), and the events a group has not processed
 * yet on a partition ("Unprocessed by this group"). Offsets are Kafka's: a committed offset is the
 * NEXT offset the group will read, so the unprocessed events of a partition are
 * [committed, end) and the event a stalled partition is stuck on is the one AT the committed offset.
 */

/** The sort keys are the API's (lib/api-schemas/groups.ts): one list for both. */
export const GROUP_SORT_KEYS = GROUP_SORTS;
export type GroupSortKey = (typeof GROUP_SORT_KEYS)[number];

export interface ListConsumerGroupsOptions {
  /** Default "health" (worst first), then lag. */
  sort?: GroupSortKey;
  /** Default: descending for numbers and health, ascending for names. */
  order?: "asc" | "desc";
  cursor?: string;
  /** 1..1000, default 100. */
  limit?: number;
}

const LIST_CURSOR_TAG = "groups";

/** The list's cursor: the last group of a page, tagged with the sort it was made for. */
function encodeGroupCursor(tag: string, groupId: string): string {
  return Buffer.from(JSON.stringify([tag, groupId])).toString("base64url");
}

function decodeGroupCursor(tag: string, cursor: string): string {
  let parsed: unknown;
  try {
    parsed = /^[A-Za-z0-9_-]{1,2048}$/.test(cursor) ? JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== tag || typeof parsed[1] !== "string") {
    throw new ValidationError("the cursor is malformed or belongs to another list or sort", { field: "cursor" });
  }
  return parsed[1];
}

function checkGroupId(groupId: string): string {
  if (typeof groupId !== "string" || groupId.length === 0 || groupId.length > 1000) {
    throw new ValidationError("a group id is 1 to 1000 characters", { field: "group" });
  }
  return groupId;
}

function compareNullableBig(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareNullableNumber(a: number | null, b: number | null): number {
  return (a ?? -1) - (b ?? -1);
}

/** A group's name as the list shows it: a Kafka group's id, a RabbitMQ queue's name. */
function shownName(group: ConsumerGroupListItem): string {
  return group.queue ? group.queue.name : group.groupId;
}

/** Ascending comparison by a sort key; ties by group id, so the order (and the cursor) is total. */
function comparatorOf(sort: GroupSortKey): (a: ConsumerGroupListItem, b: ConsumerGroupListItem) => number {
  const byKey = (a: ConsumerGroupListItem, b: ConsumerGroupListItem): number => {
    switch (sort) {
      case "group": {
        // By the name the list shows: a queue's own name (its id leads with `rabbitmq:`).
        const x = shownName(a);
        const y = shownName(b);
        return x < y ? -1 : x > y ? 1 : 0;
      }
      case "state":
        return a.state.localeCompare(b.state);
      case "members":
        return a.members - b.members;
      case "lag":
        return compareNullableBig(a.totalLag, b.totalLag);
      case "timeLag":
        return compareNullableNumber(a.timeLagMs, b.timeLagMs);
      case "health":
        return (
          (a.health ? LAG_HEALTH_SEVERITY[a.health.status] : -1) - (b.health ? LAG_HEALTH_SEVERITY[b.health.status] : -1) ||
          compareNullableBig(a.totalLag, b.totalLag)
        );
    }
  };
  return (a, b) => byKey(a, b) || (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0);
}

/**
 * Every live consumer group with its state, members, topics, lag now and stored health, sorted
 * and paged. Groups are few (tens, hundreds): one statement reads them all with their lag
 * (committed_offsets primary key per group, partitions primary key), the latest time lags come
 * from lag_samples' primary key, and the sort happens here, with the cursor naming the last
 * group of the page.
 */
export async function listConsumerGroups(db: Queryable, options: ListConsumerGroupsOptions = {}): Promise<ConsumerGroupPage> {
  const sort = options.sort ?? "health";
  if (!GROUP_SORT_KEYS.includes(sort)) {
    throw new ValidationError(`sort must be one of ${GROUP_SORT_KEYS.join(", ")}`, { field: "sort" });
  }
  const order = options.order ?? (sort === "group" || sort === "state" ? "asc" : "desc");
  if (order !== "asc" && order !== "desc") throw new ValidationError("order must be asc or desc", { field: "order" });
  const limit = checkLimit(options.limit, 100, 1000);
  const tag = `${LIST_CURSOR_TAG}:${sort}:${order}`;
  const after = options.cursor === undefined ? null : decodeGroupCursor(tag, options.cursor);
  return runQuery("listing consumer groups", async () => {
    const rows = await select<{
      source_id: number;
      source: string;
      group_id: string;
      state: string;
      protocol: string | null;
      health_status: string | null;
      health_reason: string | null;
      health_at: Date | null;
      members: number;
      topics: string[] | null;
      partitions: number | null;
      total_lag: string | null;
      unknown: number | null;
    }>(
      db,
      Prisma.sql`
        SELECT g.source_id, ${sourceNameSql(Prisma.sql`g.source_id`)} AS source, g.group_id, g.state, g.protocol,
          g.health_status, g.health_reason, g.health_at,
          (SELECT count(*)::int FROM group_members m WHERE m.source_id = g.source_id AND m.group_id = g.group_id) AS members,
          l.topics, l.partitions, l.total_lag, l.unknown
        FROM consumer_groups g
        LEFT JOIN LATERAL (
          SELECT array_agg(DISTINCT c.topic ORDER BY c.topic) AS topics, count(*)::int AS partitions,
            (sum(greatest(p.end_offset - c.committed_offset, 0))
              FILTER (WHERE c.committed_offset >= 0 AND p.end_offset IS NOT NULL))::text AS total_lag,
            (count(*) FILTER (WHERE c.committed_offset < 0 OR p.end_offset IS NULL))::int AS unknown
          FROM committed_offsets c
          LEFT JOIN partitions p ON p.source_id = c.source_id AND p.topic = c.topic AND p.partition = c.partition
          WHERE c.source_id = g.source_id AND c.group_id = g.group_id
        ) l ON true
        WHERE g.deleted_at IS NULL AND ${groupShown(db, Prisma.sql`g.group_id`)}`,
    );
    const timeLags = await readLatestTimeLag(db, [...new Set(rows.map((r) => r.group_id))]);
    const maxTimeLag = new Map<string, number>();
    for (const [key, value] of timeLags) {
      if (value.timeLagMs === null) continue;
      // lagKey: source id, group id, topic, partition.
      const [sourceId, groupId] = key.split("\u0000");
      const group = `${sourceId}\u0000${groupId}`;
      maxTimeLag.set(group, Math.max(maxTimeLag.get(group) ?? 0, value.timeLagMs));
    }
    const groups = rows.map(
      (row): ConsumerGroupListItem => ({
        kind: "kafka-group",
        source: row.source,
        groupId: row.group_id,
        state: row.state,
        protocol: row.protocol,
        members: row.members,
        topics: row.topics ?? [],
        partitions: row.partitions ?? 0,
        totalLag: row.total_lag,
        unknownLagPartitions: row.unknown ?? 0,
        timeLagMs: maxTimeLag.get(`${row.source_id}\u0000${row.group_id}`) ?? null,
        health: storedHealth(row),
        queue: null,
      }),
    );
    // RabbitMQ queues beside the groups: one list, one sort, one cursor.
    groups.push(...(await listRabbitQueueItems(db)));
    const ascending = comparatorOf(sort);
    const compare = order === "asc" ? ascending : (a: ConsumerGroupListItem, b: ConsumerGroupListItem) => ascending(b, a);
    groups.sort(compare);
    let start = 0;
    // A group id can be on several sources: the cursor names the source too.
    const cursorKey = (g: ConsumerGroupListItem) => `${g.source}/${g.groupId}`;
    if (after) {
      const index = groups.findIndex((g) => cursorKey(g) === after);
      if (index < 0) throw new ValidationError("the group this page started after is gone: start from the first page", { field: "cursor" });
      start = index + 1;
    }
    const page = groups.slice(start, start + limit);
    const last = page.at(-1);
    return {
      groups: page,
      total: groups.length,
      nextCursor: start + limit < groups.length && last ? encodeGroupCursor(tag, cursorKey(last)) : null,
    };
  });
}

// --- one group -------------------------------------------------------------------------------------

export interface GetConsumerGroupOptions {
  /** The window health is judged over; default 5 minutes (what the poller uses). */
  healthWindowMs?: number;
  /** The source's name (`?source=`): required when the group id is on several sources (resolveSourceOf). */
  source?: string;
}

/** The source of a group a route names, or NotFoundError when no source has it. */
async function sourceOfGroup(db: Queryable, groupId: string, source: string | undefined): Promise<SourceRow> {
  const found = await resolveSourceOf(db, "group", groupId, source);
  if (!found) throw new NotFoundError(`no consumer group named ${groupId} is known`);
  return found;
}

/**
 * One group: members and their assignments, per partition committed offset, end offset, offset
 * and time lag, health and why, and the next event of each lagging partition. Throws
 * NotFoundError for an unknown (or deleted) group. Indexes: consumer_groups, group_members and
 * group_assignments primary keys, committed_offsets primary key, lag_samples primary key
 * (group_id, sampled_at, …) for the latest sample and the health window, events primary key for
 * the next events.
 */
export async function getConsumerGroup(db: Queryable, groupId: string, options: GetConsumerGroupOptions = {}): Promise<ConsumerGroupView> {
  checkGroupId(groupId);
  const healthWindowMs = options.healthWindowMs ?? HEALTH_WINDOW_MS;
  if (!Number.isFinite(healthWindowMs) || healthWindowMs < 1_000) {
    throw new ValidationError("the health window must be at least 1 s", { field: "healthWindow" });
  }
  const source = await sourceOfGroup(db, groupId, options.source);
  const sourceId = source.id;
  return runQuery(`reading consumer group ${groupId}`, async () => {
    const [groups, members, lagRows, timeLags, latest] = await Promise.all([
      select<{
        state: string;
        protocol_type: string | null;
        protocol: string | null;
        first_seen_at: Date;
        updated_at: Date;
      }>(db, Prisma.sql`
        SELECT state, protocol_type, protocol, first_seen_at, updated_at FROM consumer_groups g
        WHERE source_id = ${sourceId}::smallint AND group_id = ${groupId}::text AND deleted_at IS NULL
          AND ${groupShown(db, Prisma.sql`g.group_id`)}`),
      readGroupMembers(db, [groupId], undefined, { sourceId }),
      readCurrentLag(db, { groupIds: [groupId], sourceId }),
      readLatestTimeLag(db, [groupId], { sourceId }),
      select<{ sampled_at: Date }>(db, Prisma.sql`
        SELECT sampled_at FROM lag_samples WHERE source_id = ${sourceId}::smallint AND group_id = ${groupId}::text
        ORDER BY sampled_at DESC LIMIT 1`),
    ]);
    const group = groups[0];
    if (!group) throw new NotFoundError(`no consumer group named ${groupId} is known`);
    const latestAt = latest[0]?.sampled_at ?? null;

    const samples = latestAt
      ? await select<{ topic: string; partition: number; sampled_at: Date; committed_offset: string | null; offset_lag: string | null }>(
          db,
          Prisma.sql`
            SELECT topic, partition, sampled_at, committed_offset::text AS committed_offset, offset_lag::text AS offset_lag
            FROM lag_samples
            WHERE source_id = ${sourceId}::smallint AND group_id = ${groupId}::text
              AND sampled_at > ${new Date(latestAt.getTime() - healthWindowMs)}::timestamptz AND sampled_at <= ${latestAt}::timestamptz`,
        )
      : [];
    const windows = [...groupBy(samples, (s) => `${s.topic}\u0000${s.partition}`).values()].map((list) => ({
      topic: list[0]!.topic,
      partition: list[0]!.partition,
      samples: list.map((s) => ({ at: s.sampled_at.getTime(), committedOffset: s.committed_offset, offsetLag: s.offset_lag })),
    }));

    // Partitions judged on the current offsets as well: a partition committed on since the last
    // sample still gets a verdict. The window's samples decide; the current row fills in.
    const judged: GroupHealth = evaluateGroupHealth(
      group.state,
      lagRows.map((row) => {
        const window = windows.find((w) => w.topic === row.topic && w.partition === row.partition);
        if (window) return window;
        const lag = offsetLagOf(row);
        const committed = BigInt(row.committed_offset) >= 0n ? row.committed_offset : null;
        return { topic: row.topic, partition: row.partition, samples: [{ at: Date.now(), committedOffset: committed, offsetLag: lag }] };
      }),
      { windowMs: healthWindowMs },
    );
    const verdicts = new Map<string, PartitionHealth>(judged.partitions.map((p) => [`${p.topic}\u0000${p.partition}`, p]));

    const assignedTo = new Map<string, ConsumerGroupPartition["assignedTo"]>();
    for (const m of members) {
      for (const a of m.assigned) {
        assignedTo.set(`${a.topic}\u0000${a.partition}`, { memberId: m.member_id, clientId: m.client_id, clientHost: m.client_host });
      }
    }

    // The next event of each lagging partition, by primary key.
    const lagging = lagRows.filter((row) => (offsetLagOf(row) ?? 0n) > 0n);
    const nextRows =
      lagging.length === 0
        ? []
        : await select<EventSummaryRow>(
            db,
            Prisma.sql`
              SELECT ${eventSummaryColumns(maskRulesOf(db))}
              FROM unnest(${lagging.map((r) => r.topic)}::text[], ${lagging.map((r) => r.partition)}::int[],
                          ${lagging.map((r) => r.committed_offset)}::bigint[]) AS w(topic, partition, "offset")
              JOIN events e ON e.source_id = ${sourceId}::smallint AND e.channel = w.topic AND e.partition = w.partition
                AND e.position = w."offset"`,
          );
    const mask = maskRulesOf(db);
    const nextEvents = new Map(nextRows.map((row) => [`${row.topic}\u0000${row.partition}`, toEventSummary(row, mask)]));

    let total = 0n;
    let known = 0;
    let timeLagMs: number | null = null;
    const partitions = lagRows.map((row): ConsumerGroupPartition => {
      const key = `${row.topic}\u0000${row.partition}`;
      const lag = offsetLagOf(row);
      if (lag !== null) {
        total += lag;
        known += 1;
      }
      const time = timeLags.get(lagKey(sourceId, groupId, row.topic, row.partition))?.timeLagMs ?? null;
      if (time !== null) timeLagMs = Math.max(timeLagMs ?? 0, time);
      const verdict = verdicts.get(key);
      const next = nextEvents.get(key) ?? null;
      return {
        topic: row.topic,
        partition: row.partition,
        committedOffset: BigInt(row.committed_offset) >= 0n ? row.committed_offset : null,
        endOffset: row.end_offset,
        offsetLag: lag?.toString() ?? null,
        // Caught up: nothing waits, whatever the last sample said.
        timeLagMs: lag === 0n ? 0 : time,
        status: verdict?.status ?? "OK",
        reason: verdict?.reason ?? `partition ${row.partition} of ${row.topic}: no samples`,
        assignedTo: assignedTo.get(key) ?? null,
        nextEvent: next,
        nextEventCollected: lag === null || lag === 0n || next !== null,
      };
    });
    return {
      source: source.name,
      groupId,
      state: group.state,
      protocolType: group.protocol_type,
      protocol: group.protocol,
      firstSeenAt: group.first_seen_at.toISOString(),
      updatedAt: group.updated_at.toISOString(),
      members: members.map((m) => ({ memberId: m.member_id, clientId: m.client_id, clientHost: m.client_host, assignments: m.assigned })),
      partitions,
      totalLag: known > 0 ? total.toString() : null,
      unknownLagPartitions: lagRows.length - known,
      timeLagMs,
      health: {
        status: judged.status,
        reason: judged.reason,
        worst: judged.worst && judged.status !== "OK" ? { topic: judged.worst.topic, partition: judged.worst.partition } : null,
      },
      healthWindowMs,
      latestSampleAt: latestAt?.toISOString() ?? null,
    };
  });
}

// --- unprocessed events -----------------------------------------------------------------------------

export interface ListUnprocessedOptions {
  topic: string;
  partition: number;
  /** "oldest" (default: the next to be processed first) or "newest". */
  order?: "oldest" | "newest";
  cursor?: string;
  /** 1..500, default 50. */
  limit?: number;
  /** The group's source by name (`?source=`), as for getConsumerGroup. */
  source?: string;
}

/**
 * The events of one partition that a group has not processed yet: offsets in [committed, end),
 * oldest or newest first, paged by a keyset cursor on the offset. Index: the events primary key
 * (topic, partition, offset), a range scan. Throws NotFoundError when the group is unknown or
 * has no offset on that partition.
 */
export async function listUnprocessedEvents(
  db: Queryable,
  groupId: string,
  options: ListUnprocessedOptions,
): Promise<UnprocessedEventsPage> {
  checkGroupId(groupId);
  const { topic, partition } = options;
  if (typeof topic !== "string" || topic.length === 0) throw new ValidationError("topic is required", { field: "topic" });
  if (!Number.isInteger(partition) || partition < 0 || partition > 2_147_483_647) {
    throw new ValidationError("partition must be a non-negative 32-bit integer", { field: "partition" });
  }
  const order = options.order ?? "oldest";
  if (order !== "oldest" && order !== "newest") throw new ValidationError("order must be oldest or newest", { field: "order" });
  const limit = checkLimit(options.limit, 50, 500);
  const tag = `unprocessed:${order}`;
  const after = options.cursor === undefined ? null : checkOffset(decodeIdCursor(tag, options.cursor).id, "cursor");
  const source = await sourceOfGroup(db, groupId, options.source);
  return runQuery(`listing events ${groupId} has not processed`, async () => {
    const offsets = await select<{ exists: boolean; committed_offset: string | null; end_offset: string | null }>(
      db,
      Prisma.sql`
        SELECT true AS exists, c.committed_offset::text AS committed_offset, p.end_offset::text AS end_offset
        FROM consumer_groups g
        LEFT JOIN committed_offsets c ON c.source_id = g.source_id AND c.group_id = g.group_id AND c.topic = ${topic}::text
          AND c.partition = ${partition}::int
        LEFT JOIN partitions p ON p.source_id = g.source_id AND p.topic = ${topic}::text AND p.partition = ${partition}::int
        WHERE g.source_id = ${source.id}::smallint AND g.group_id = ${groupId}::text AND g.deleted_at IS NULL AND ${groupShown(db, Prisma.sql`g.group_id`)}`,
    );
    const row = offsets[0];
    if (!row) throw new NotFoundError(`no consumer group named ${groupId} is known`);
    if (row.committed_offset === null) {
      throw new NotFoundError(`consumer group ${groupId} has no offset on partition ${partition} of ${topic}`);
    }
    const base = { source: source.name, groupId, topic, partition, order, endOffset: row.end_offset };
    if (BigInt(row.committed_offset) < 0n || row.end_offset === null) {
      return { ...base, committedOffset: BigInt(row.committed_offset) < 0n ? null : row.committed_offset, offsetLag: null, events: [], nextCursor: null };
    }
    const committed = row.committed_offset;
    const end = row.end_offset;
    const lag = BigInt(end) > BigInt(committed) ? BigInt(end) - BigInt(committed) : 0n;
    if (lag === 0n) return { ...base, committedOffset: committed, offsetLag: "0", events: [], nextCursor: null };
    const range =
      order === "oldest"
        ? Prisma.sql`e.position >= ${after === null ? committed : (BigInt(after) + 1n).toString()}::bigint AND e.position < ${end}::bigint`
        : Prisma.sql`e.position >= ${committed}::bigint AND e.position < ${after === null ? end : after}::bigint`;
    const rows = await select<EventSummaryRow>(db, Prisma.sql`
      SELECT ${eventSummaryColumns(maskRulesOf(db))}
      FROM events e
      WHERE e.source_id = ${source.id}::smallint AND e.channel = ${topic}::text AND e.partition = ${partition}::int AND ${range}
      ORDER BY e.position ${order === "oldest" ? Prisma.sql`ASC` : Prisma.sql`DESC`}
      LIMIT ${limit + 1}::int`);
    const page = rows.slice(0, limit);
    const mask = maskRulesOf(db);
    const last = page.at(-1);
    return {
      ...base,
      committedOffset: committed,
      offsetLag: lag.toString(),
      events: page.map((r) => toEventSummary(r, mask)),
      nextCursor: rows.length > limit && last ? encodeIdCursor(tag, 0, last.offset) : null,
    };
  });
}

// --- lag over time ------------------------------------------------------------------------------------

/**
 * A group's lag history (getLagHistory: per partition and in total, bucketed), with NotFoundError
 * for an unknown group (the history alone cannot tell an unknown group from one without samples).
 */
export async function getGroupLagHistory(
  db: Queryable,
  groupId: string,
  options: Omit<LagHistoryOptions, "sourceId"> & { source?: string },
): Promise<LagHistory> {
  checkGroupId(groupId);
  const source = await sourceOfGroup(db, groupId, options.source);
  const found = await runQuery(`looking up consumer group ${groupId}`, () =>
    select<{ group_id: string }>(db, Prisma.sql`
      SELECT group_id FROM consumer_groups g
      WHERE source_id = ${source.id}::smallint AND group_id = ${groupId}::text AND deleted_at IS NULL
        AND ${groupShown(db, Prisma.sql`g.group_id`)}`),
  );
  if (found.length === 0) throw new NotFoundError(`no consumer group named ${groupId} is known`);
  const history = await getLagHistory(db, groupId, { ...options, sourceId: source.id });
  return { ...history, source: source.name };
}
