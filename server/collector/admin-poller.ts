import { AssignerProtocol, type Admin, type GroupDescription, type ITopicMetadata, type Kafka } from "kafkajs";
import type { Config } from "../config.ts";
import {
  findRecordTimestamps,
  recordLagSamples,
  syncConsumerGroups,
  syncTopics,
  type SourceRef,
  updateGroupHealth,
  upsertCommittedOffsets,
  type CommittedOffsetSnapshot,
  type ConsumerGroupSnapshot,
  type Database,
  type LagSampleInput,
  type TopicSnapshot,
} from "../db/index.ts";
import { classifyTopic } from "./extract/index.ts";
import { startPollLoop } from "./poll-loop.ts";

/**
 * The collector's admin poller: every EVENTSCOPE_POLL_MS, a read-only snapshot of the cluster
 * (topics, partitions, end offsets, consumer groups with members and assignments, committed
 * offsets) into the database, one lag sample per group/topic/partition, and each group's lag
 * health over the last minutes of samples (lib/lag-health.ts, stored for the flow graph).
 *
 * Read-only: it lists, describes and fetches; it never joins, commits or resets for any group
 * (Eventscope's own collector group included, which it shows like any other).
 *
 * One poller at a time across collector instances: a PostgreSQL advisory lock (server/db
 * poller-lock.ts). Instances that do not hold it stand by and try again every tick, so one takes
 * over within a poll interval when the holder dies.
 *
 * A failed poll is logged and retried at the next tick; nothing here throws into the process.
 */

export interface AdminPollerOptions {
  kafka: Kafka;
  db: Database;
  /** The source this poller reads (one poller per source: the lock is the source's). */
  source: SourceRef;
  config: Config;
  log: (line: string) => void;
  /** Called after each successful poll (the collector records it as its last admin poll). */
  onPoll?: (result: AdminPollResult) => void;
}

export interface AdminPollResult {
  at: Date;
  topics: number;
  partitions: number;
  groups: number;
  lagSamples: number;
  durationMs: number;
}

/** Parallel admin requests per poll: enough to hide round trips, few enough to spare the cluster. */
const ADMIN_CONCURRENCY = 4;
/** Groups per DescribeGroups request. */
const DESCRIBE_BATCH = 50;

/** Kafka's internal topics (`__consumer_offsets`, `__transaction_state`, Connect's, …). */
function isInternalTopic(name: string): boolean {
  return name.startsWith("__");
}

async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Member assignments are bytes of the consumer protocol; other protocols (Connect) are opaque. */
function decodeAssignment(protocolType: string, bytes: Buffer): { topic: string; partition: number }[] {
  if (protocolType !== "consumer" || bytes.length === 0) return [];
  try {
    const decoded = AssignerProtocol.MemberAssignment.decode(bytes);
    if (!decoded) return [];
    return Object.entries(decoded.assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition })),
    );
  } catch {
    // A client with its own assignment format: members are still listed, without assignments.
    return [];
  }
}

function toGroupSnapshot(group: GroupDescription): ConsumerGroupSnapshot {
  return {
    groupId: group.groupId,
    state: group.state,
    protocolType: group.protocolType || null,
    protocol: group.protocol || null,
    members: group.members.map((member) => ({
      memberId: member.memberId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      assignments: decodeAssignment(group.protocolType, member.memberAssignment),
    })),
  };
}

interface PartitionOffsets {
  end: bigint;
  start: bigint;
}

/**
 * One poll: reads the cluster, writes the snapshot and the lag samples, all stamped `at`.
 * `metadata` is the cluster's topic metadata when the caller has just fetched it.
 */
export async function pollClusterOnce(
  admin: Admin,
  db: Database,
  /** The source the admin client talks to (sources.id): every row written is stamped with it. */
  sourceId: number,
  config: Pick<Config, "dlqPatterns">,
  at: Date = new Date(),
  metadata?: readonly ITopicMetadata[],
): Promise<Omit<AdminPollResult, "durationMs">> {
  // --- topics, partitions, end offsets
  metadata ??= (await admin.fetchTopicMetadata()).topics;
  const visible = metadata.filter((topic) => !isInternalTopic(topic.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  const offsets = await mapWithConcurrency(visible, ADMIN_CONCURRENCY, (topic) => admin.fetchTopicOffsets(topic.name));
  const partitionsByTopic = new Map<string, Map<number, PartitionOffsets>>();
  const topicSnapshots: TopicSnapshot[] = visible.map((topic, i) => {
    const byPartition = new Map<number, PartitionOffsets>();
    for (const entry of offsets[i]!) byPartition.set(entry.partition, { end: BigInt(entry.high), start: BigInt(entry.low) });
    partitionsByTopic.set(topic.name, byPartition);
    const { kind, of } = classifyTopic(topic.name, config.dlqPatterns);
    return {
      name: topic.name,
      kind,
      of,
      internal: false,
      partitions: topic.partitions
        .map((p) => {
          const o = byPartition.get(p.partitionId);
          return {
            partition: p.partitionId,
            leader: p.leader >= 0 ? p.leader : null,
            endOffset: o?.end ?? 0n,
            startOffset: o?.start ?? 0n,
          };
        })
        .sort((a, b) => a.partition - b.partition),
    };
  });
  await syncTopics(db, sourceId, topicSnapshots, { at, complete: true });

  // --- consumer groups, members, assignments
  const { groups: listed } = await admin.listGroups();
  const groupIds = [...new Set(listed.map((g) => g.groupId))].sort();
  const batches: string[][] = [];
  for (let i = 0; i < groupIds.length; i += DESCRIBE_BATCH) batches.push(groupIds.slice(i, i + DESCRIBE_BATCH));
  const described = (await mapWithConcurrency(batches, ADMIN_CONCURRENCY, (ids) => admin.describeGroups(ids))).flatMap(
    (d) => d.groups,
  );
  const groups = described.map(toGroupSnapshot);
  await syncConsumerGroups(db, sourceId, groups, { at, complete: true });

  // --- committed offsets: every partition of every topic a group commits on or is assigned.
  // Partitions without a commit get -1 (Kafka's "nothing committed"), so the lag of an assigned
  // but not yet committed partition shows as unknown instead of being missing.
  const fetched = await mapWithConcurrency(groups, ADMIN_CONCURRENCY, (group) => admin.fetchOffsets({ groupId: group.groupId }));
  const committed: CommittedOffsetSnapshot[] = [];
  groups.forEach((group, i) => {
    const byTopic = new Map<string, Map<number, { offset: string; metadata: string | null }>>();
    for (const { topic, partitions } of fetched[i]!) {
      const entries = byTopic.get(topic) ?? new Map<number, { offset: string; metadata: string | null }>();
      for (const p of partitions) entries.set(p.partition, { offset: p.offset, metadata: p.metadata });
      byTopic.set(topic, entries);
    }
    for (const member of group.members) {
      for (const { topic } of member.assignments) if (!byTopic.has(topic)) byTopic.set(topic, new Map());
    }
    for (const [topic, entries] of byTopic) {
      const partitions = partitionsByTopic.get(topic);
      // Internal topics, and topics deleted since: no partitions to measure lag against.
      if (!partitions) continue;
      for (const partition of [...partitions.keys()].sort((a, b) => a - b)) {
        const entry = entries.get(partition);
        committed.push({
          groupId: group.groupId,
          topic,
          partition,
          committedOffset: entry?.offset ?? "-1",
          metadata: entry?.metadata ?? null,
        });
      }
    }
  });
  await upsertCommittedOffsets(db, sourceId, committed, { at, complete: true });

  // --- lag samples
  const positions = committed
    .filter((c) => {
      const offset = BigInt(c.committedOffset);
      const end = partitionsByTopic.get(c.topic)!.get(c.partition)!.end;
      return offset >= 0n && offset < end;
    })
    .map((c) => ({ topic: c.topic, partition: c.partition, offset: c.committedOffset }));
  const timestamps = await findRecordTimestamps(db, sourceId, positions);
  const samples: LagSampleInput[] = committed.map((c) => {
    const end = partitionsByTopic.get(c.topic)!.get(c.partition)!.end;
    const offset = BigInt(c.committedOffset);
    if (offset < 0n) {
      return { groupId: c.groupId, topic: c.topic, partition: c.partition, committedOffset: null, endOffset: end, offsetLag: null, timeLagMs: null };
    }
    const lag = end > offset ? end - offset : 0n;
    // Time lag: how old the oldest unconsumed record is (the one at the committed offset); 0 when
    // caught up; unknown when that record is not stored (not collected yet, or excluded).
    const timestamp = timestamps.get(`${c.topic}/${c.partition}/${offset}`);
    const timeLagMs = lag === 0n ? 0 : timestamp ? Math.max(0, at.getTime() - timestamp.getTime()) : null;
    return { groupId: c.groupId, topic: c.topic, partition: c.partition, committedOffset: offset, endOffset: end, offsetLag: lag, timeLagMs };
  });
  await recordLagSamples(db, sourceId, samples, { at });
  // Health over the last minutes of samples, judged once here rather than on every graph request.
  await updateGroupHealth(db, sourceId, { at });

  return {
    at,
    topics: topicSnapshots.length,
    partitions: topicSnapshots.reduce((sum, t) => sum + t.partitions.length, 0),
    groups: groups.length,
    lagSamples: samples.length,
  };
}

/** Starts polling at once and then every config.pollMs; stop() ends it and releases the lock. */
export function startAdminPoller(opts: AdminPollerOptions): { stop(): Promise<void> } {
  const { kafka, db, config, log } = opts;
  const pollMs = config.pollMs;
  let admin: Admin | undefined;
  let knownTopics = new Set<string>();

  const dropAdmin = async () => {
    const current = admin;
    admin = undefined;
    knownTopics = new Set();
    await current?.disconnect().catch(() => {});
  };

  const ensureAdmin = async (): Promise<Admin> => {
    if (admin) return admin;
    // Few retries: the next tick is the retry, and stop() should not wait on long backoffs.
    const created = kafka.admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 } });
    await created.connect();
    admin = created;
    return created;
  };

  return startPollLoop({
    name: "admin poller",
    pollMs,
    log,
    lock: { db, sourceId: opts.source.id, what: "the cluster" },
    onStandBy: dropAdmin,
    tick: async (startedAt) => {
      let client = await ensureAdmin();
      // kafkajs's admin keeps every topic it ever fetched offsets for in its metadata requests;
      // once one is deleted those requests fail. A fresh client forgets them.
      const { topics } = await client.fetchTopicMetadata();
      const current = new Set(topics.map((t) => t.name));
      if ([...knownTopics].some((name) => !current.has(name))) {
        await dropAdmin();
        client = await ensureAdmin();
      }
      knownTopics = current;
      const result = await pollClusterOnce(client, db, opts.source.id, config, startedAt, topics);
      opts.onPoll?.({ ...result, durationMs: Date.now() - startedAt.getTime() });
    },
    // A broken connection may be behind the failure: start the next try from a fresh client.
    onFailure: dropAdmin,
    onStop: dropAdmin,
  });
}
