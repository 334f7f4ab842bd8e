import type pg from "pg";
import { toDatabaseError } from "./errors.ts";
import { rollUpLagSamples } from "./lag-rollup.ts";

/**
 * What the collector's admin poller writes every few seconds: topics and partitions with their
 * offsets, consumer groups with members and assignments, committed offsets, lag samples. Each call
 * is one transaction with array parameters (unnest), so a cluster of hundreds of topics and groups
 * costs a handful of statements per poll, not one per row.
 *
 * Offsets are decimal strings or bigints (kafkajs's admin API gives strings). Every call is about
 * one source (`sourceId`, sources.id): what a "complete" snapshot leaves out is deleted on that
 * source only.
 */

type Offset = string | bigint;

export interface TopicSnapshot {
  name: string;
  kind: "normal" | "dlq" | "retry";
  /** For a DLQ or retry topic: the topic its name points back to (a hint). */
  of: string | null;
  internal: boolean;
  partitions: readonly {
    partition: number;
    leader: number | null;
    /** High watermark: the offset the next record will get. */
    endOffset: Offset;
    /** Log start offset. */
    startOffset: Offset;
  }[];
}

export interface ConsumerGroupSnapshot {
  groupId: string;
  /** Stable, Empty, Dead, PreparingRebalance, CompletingRebalance, Unknown. */
  state: string;
  protocolType: string | null;
  protocol: string | null;
  members: readonly {
    memberId: string;
    clientId: string;
    clientHost: string;
    assignments: readonly { topic: string; partition: number }[];
  }[];
}

export interface CommittedOffsetSnapshot {
  groupId: string;
  topic: string;
  partition: number;
  /** The NEXT offset the group will read; -1 when it has committed nothing. */
  committedOffset: Offset;
  metadata?: string | null;
}

export interface LagSampleInput {
  groupId: string;
  topic: string;
  partition: number;
  /** null: nothing committed (lag unknown, not 0). */
  committedOffset: Offset | null;
  endOffset: Offset;
  offsetLag: Offset | null;
  timeLagMs: number | null;
}

export interface SyncOptions {
  /** The poll's time; default now. */
  at?: Date;
  /**
   * The snapshot lists everything the cluster has: what is missing was deleted (its row gets
   * deleted_at). False for a partial snapshot (one topic, one group).
   */
  complete?: boolean;
}

async function inTransaction<T>(
  pool: pg.Pool,
  what: string,
  run: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toDatabaseError(error, what);
  }
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await run(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw toDatabaseError(error, what);
  } finally {
    client.release(broken);
  }
}

const str = (value: Offset) => (typeof value === "bigint" ? value.toString() : value);

/** Topics and their partitions (with current offsets), plus one end-offset sample per partition. */
export async function syncTopics(
  db: { pool: pg.Pool },
  sourceId: number,
  topics: readonly TopicSnapshot[],
  options: SyncOptions = {},
): Promise<void> {
  const at = options.at ?? new Date();
  const sorted = [...topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const partitions = sorted.flatMap((topic) =>
    topic.partitions.map((partition) => ({ topic: topic.name, ...partition })),
  );
  await inTransaction(db.pool, `storing ${topics.length} topics`, async (client) => {
    await client.query(
      `INSERT INTO topics AS t (source_id, name, kind, "of", internal, partition_count, first_seen_at, last_seen_at, deleted_at)
       SELECT $7, name, kind::topic_kind, "of", internal, partition_count, $6, $6, NULL
       FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::int[])
         AS u(name, kind, "of", internal, partition_count)
       ON CONFLICT (source_id, name) DO UPDATE SET
         kind = excluded.kind, "of" = excluded."of", internal = excluded.internal,
         partition_count = excluded.partition_count, last_seen_at = excluded.last_seen_at,
         deleted_at = NULL`,
      [
        sorted.map((t) => t.name),
        sorted.map((t) => t.kind),
        sorted.map((t) => t.of),
        sorted.map((t) => t.internal),
        sorted.map((t) => t.partitions.length),
        at,
        sourceId,
      ],
    );
    await client.query(
      `INSERT INTO partitions AS p (source_id, topic, partition, leader, end_offset, start_offset, updated_at)
       SELECT $7, topic, partition, leader, end_offset, start_offset, $6
       FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[], $5::bigint[])
         AS u(topic, partition, leader, end_offset, start_offset)
       ORDER BY topic, partition
       ON CONFLICT (source_id, topic, partition) DO UPDATE SET
         leader = excluded.leader, end_offset = excluded.end_offset,
         start_offset = excluded.start_offset, updated_at = excluded.updated_at`,
      [
        partitions.map((p) => p.topic),
        partitions.map((p) => p.partition),
        partitions.map((p) => p.leader),
        partitions.map((p) => str(p.endOffset)),
        partitions.map((p) => str(p.startOffset)),
        at,
        sourceId,
      ],
    );
    await client.query(
      `INSERT INTO end_offset_samples (source_id, topic, partition, sampled_at, end_offset)
       SELECT $5, topic, partition, $3, end_offset
       FROM unnest($1::text[], $2::int[], $4::bigint[]) AS u(topic, partition, end_offset)
       ON CONFLICT DO NOTHING`,
      [partitions.map((p) => p.topic), partitions.map((p) => p.partition), at, partitions.map((p) => str(p.endOffset)), sourceId],
    );
    if (options.complete) {
      await client.query(
        `UPDATE topics SET deleted_at = $2
         WHERE source_id = $3 AND deleted_at IS NULL AND NOT (name = ANY($1::text[]))`,
        [sorted.map((t) => t.name), at, sourceId],
      );
    }
  });
}

/**
 * Consumer groups with their members and assignments. Members and assignments of each listed
 * group are replaced by the snapshot's (they change at every rebalance).
 */
export async function syncConsumerGroups(
  db: { pool: pg.Pool },
  sourceId: number,
  groups: readonly ConsumerGroupSnapshot[],
  options: SyncOptions = {},
): Promise<void> {
  const at = options.at ?? new Date();
  const sorted = [...groups].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  const members = sorted.flatMap((group) =>
    group.members.map((member) => ({ groupId: group.groupId, ...member })),
  );
  const assignments = members.flatMap((member) =>
    member.assignments.map((assignment) => ({ groupId: member.groupId, memberId: member.memberId, ...assignment })),
  );
  await inTransaction(db.pool, `storing ${groups.length} consumer groups`, async (client) => {
    await client.query(
      `INSERT INTO consumer_groups AS g (source_id, group_id, state, protocol_type, protocol, first_seen_at, last_seen_at, deleted_at, updated_at)
       SELECT $6, group_id, state, protocol_type, protocol, $5, $5, NULL, $5
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(group_id, state, protocol_type, protocol)
       ON CONFLICT (source_id, group_id) DO UPDATE SET
         state = excluded.state, protocol_type = excluded.protocol_type, protocol = excluded.protocol,
         last_seen_at = excluded.last_seen_at, deleted_at = NULL, updated_at = excluded.updated_at`,
      [
        sorted.map((g) => g.groupId),
        sorted.map((g) => g.state),
        sorted.map((g) => g.protocolType),
        sorted.map((g) => g.protocol),
        at,
        sourceId,
      ],
    );
    // Assignments go with their member (ON DELETE CASCADE).
    await client.query(`DELETE FROM group_members WHERE source_id = $2 AND group_id = ANY($1::text[])`, [
      sorted.map((g) => g.groupId),
      sourceId,
    ]);
    await client.query(
      `INSERT INTO group_members (source_id, group_id, member_id, client_id, client_host, updated_at)
       SELECT $6, group_id, member_id, client_id, client_host, $5
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(group_id, member_id, client_id, client_host)
       ON CONFLICT DO NOTHING`,
      [
        members.map((m) => m.groupId),
        members.map((m) => m.memberId),
        members.map((m) => m.clientId),
        members.map((m) => m.clientHost),
        at,
        sourceId,
      ],
    );
    await client.query(
      `INSERT INTO group_assignments (source_id, group_id, member_id, topic, partition)
       SELECT $5, * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
       ON CONFLICT DO NOTHING`,
      [
        assignments.map((a) => a.groupId),
        assignments.map((a) => a.memberId),
        assignments.map((a) => a.topic),
        assignments.map((a) => a.partition),
        sourceId,
      ],
    );
    if (options.complete) {
      await client.query(
        `UPDATE consumer_groups SET deleted_at = $2, state = 'Dead', updated_at = $2
         WHERE source_id = $3 AND deleted_at IS NULL AND NOT (group_id = ANY($1::text[]))`,
        [sorted.map((g) => g.groupId), at, sourceId],
      );
    }
  });
}

/**
 * Committed offsets of groups (a group unknown so far gets a row with state Unknown). With
 * `complete`, the snapshot holds every committed offset of the groups it names: their other rows
 * (partitions they no longer commit for) are removed.
 */
export async function upsertCommittedOffsets(
  db: { pool: pg.Pool },
  sourceId: number,
  offsets: readonly CommittedOffsetSnapshot[],
  options: SyncOptions = {},
): Promise<void> {
  const at = options.at ?? new Date();
  const sorted = [...offsets].sort(
    (a, b) =>
      (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0) ||
      (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) ||
      a.partition - b.partition,
  );
  const groupIds = [...new Set(sorted.map((o) => o.groupId))];
  await inTransaction(db.pool, `storing ${offsets.length} committed offsets`, async (client) => {
    await client.query(
      `INSERT INTO consumer_groups (source_id, group_id, state, first_seen_at, last_seen_at, updated_at)
       SELECT $3, group_id, 'Unknown', $2, $2, $2 FROM unnest($1::text[]) AS u(group_id)
       ON CONFLICT DO NOTHING`,
      [groupIds, at, sourceId],
    );
    await client.query(
      `INSERT INTO committed_offsets AS c (source_id, group_id, topic, partition, committed_offset, metadata, updated_at)
       SELECT $7, group_id, topic, partition, committed_offset, metadata, $6
       FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[])
         AS u(group_id, topic, partition, committed_offset, metadata)
       ON CONFLICT (source_id, group_id, topic, partition) DO UPDATE SET
         committed_offset = excluded.committed_offset, metadata = excluded.metadata,
         updated_at = excluded.updated_at`,
      [
        sorted.map((o) => o.groupId),
        sorted.map((o) => o.topic),
        sorted.map((o) => o.partition),
        sorted.map((o) => str(o.committedOffset)),
        sorted.map((o) => o.metadata ?? null),
        at,
        sourceId,
      ],
    );
    if (options.complete) {
      await client.query(
        `DELETE FROM committed_offsets WHERE source_id = $3 AND group_id = ANY($1::text[]) AND updated_at < $2`,
        [groupIds, at, sourceId],
      );
    }
  });
}

/**
 * Lag samples for history charts and health rules, rolled up per minute in the same transaction
 * (lag-rollup.ts) for the charts over hours and days.
 */
export async function recordLagSamples(
  db: { pool: pg.Pool },
  sourceId: number,
  samples: readonly LagSampleInput[],
  options: { at?: Date } = {},
): Promise<void> {
  if (samples.length === 0) return;
  const at = options.at ?? new Date();
  await inTransaction(db.pool, `storing ${samples.length} lag samples`, async (client) => {
    await client.query(
      `INSERT INTO lag_samples (source_id, group_id, topic, partition, sampled_at, committed_offset, end_offset, offset_lag, time_lag_ms)
       SELECT $9, group_id, topic, partition, $8, committed_offset, end_offset, offset_lag, time_lag_ms
       FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
         AS u(group_id, topic, partition, committed_offset, end_offset, offset_lag, time_lag_ms)
       ON CONFLICT DO NOTHING`,
      [
        samples.map((s) => s.groupId),
        samples.map((s) => s.topic),
        samples.map((s) => s.partition),
        samples.map((s) => (s.committedOffset === null ? null : str(s.committedOffset))),
        samples.map((s) => str(s.endOffset)),
        samples.map((s) => (s.offsetLag === null ? null : str(s.offsetLag))),
        samples.map((s) => (s.timeLagMs === null ? null : Math.round(s.timeLagMs))),
        at,
        sourceId,
      ],
    );
    await rollUpLagSamples(client, { sourceId, from: at, to: at, groupIds: [...new Set(samples.map((s) => s.groupId))] });
  });
}

/**
 * Kafka timestamps of stored records at the given positions (for time lag: now − timestamp of
 * the record at the committed offset). Positions with no stored record are absent from the map,
 * keyed `topic/partition/offset`.
 */
export async function findRecordTimestamps(
  db: { pool: pg.Pool },
  sourceId: number,
  positions: readonly { topic: string; partition: number; offset: Offset }[],
): Promise<Map<string, Date>> {
  const found = new Map<string, Date>();
  if (positions.length === 0) return found;
  try {
    const { rows } = await db.pool.query<{ topic: string; partition: number; offset: string; timestamp: Date }>(
      `SELECT e.channel AS topic, e.partition, e.position::text AS "offset", e."timestamp"
       FROM unnest($1::text[], $2::int[], $3::bigint[]) AS u(topic, partition, "offset")
       JOIN events e ON e.source_id = $4 AND e.channel = u.topic AND e.partition = u.partition AND e.position = u."offset"`,
      [positions.map((p) => p.topic), positions.map((p) => p.partition), positions.map((p) => str(p.offset)), sourceId],
    );
    for (const row of rows) found.set(`${row.topic}/${row.partition}/${row.offset}`, row.timestamp);
    return found;
  } catch (error) {
    throw toDatabaseError(error, "reading record timestamps");
  }
}
