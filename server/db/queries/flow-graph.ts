import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import { LAG_HEALTH_STATUSES } from "../../../lib/lag-health.ts";
import { offsetLagOf, readCurrentLag, readLatestTimeLag } from "./group-lag.ts";
import type { FlowEdge, FlowGraph, GroupNode, ProducerNode, TopicNode } from "../../../lib/api-schemas/graph.ts";
import { graphNodeId } from "../../../lib/api-schemas/graph.ts";
import { groupBy, groupShown, runQuery, select, type Queryable } from "./shared.ts";
import { listSources, resolveSourceName } from "../sources.ts";
import { readRabbitFlow } from "./flow-graph-rabbitmq.ts";

export interface FlowGraphOptions {
  /** Window of the message rates, ms (default 60 s: "messages/s over the last minute"). */
  windowMs?: number;
  /** The graph's "now" (default the current time). */
  now?: Date;
  /** Only this source's topics and groups, and the producers writing to them (by name); default every source. */
  source?: string;
}

const rate = (delta: bigint, ms: number) => (ms > 0 ? Math.round((Number(delta) / (ms / 1000)) * 100) / 100 : null);

/**
 * The observed flow: producers → topics → consumer groups, and on RabbitMQ sources publishers →
 * exchanges → queues → consumers (flow-graph-rabbitmq.ts), with messages/s over the last minute
 * (end-offset samples for topics, committed-offset deltas for groups), group lag and health (as
 * the admin poller judged it), and DLQ topics with their dead letters. Everything comes from small
 * tables (topics, partitions, producers, groups, committed offsets) and from the last minute of
 * samples (BRIN indexes on sampled_at); events are not read.
 *
 * Every source's topics and groups are drawn side by side: nodes are keyed by source and name
 * (graphNodeId qualifies a name that is on several sources). Producers are services, one node each
 * whatever sources they write to: a service that produces on Kafka and publishes on RabbitMQ is one
 * node.
 */
export async function getFlowGraph(db: Queryable, options: FlowGraphOptions = {}): Promise<FlowGraph> {
  const windowMs = options.windowMs ?? 60_000;
  if (!Number.isFinite(windowMs) || windowMs < 1_000 || windowMs > 86_400_000) {
    throw new ValidationError("windowMs must be from 1 s to 24 h in milliseconds", { field: "windowMs" });
  }
  const now = options.now ?? new Date();

  // An unknown source is a 422 naming the known ones, before anything is read.
  const only = options.source === undefined ? undefined : (await resolveSourceName(db, options.source)).name;
  const graph = await drawFlowGraph(db, windowMs, now);
  return only === undefined ? graph : onlySource(graph, only);
}

/**
 * The graph of one source: its topics and groups (or exchanges, queues and consumers), the
 * producers writing to them, the edges between those.
 */
function onlySource(graph: FlowGraph, source: string): FlowGraph {
  const ofSource = <T extends { source: string }>(nodes: T[]) => nodes.filter((node) => node.source === source);
  const [topics, groups, exchanges, queues, consumers] = [ofSource(graph.topics), ofSource(graph.groups), ofSource(graph.exchanges), ofSource(graph.queues), ofSource(graph.consumers)];
  const kept = new Set([...topics, ...groups, ...exchanges, ...queues, ...consumers].map((node) => node.id));
  const writers = new Set(graph.edges.filter((edge) => edge.kind === "produces" && kept.has(edge.target)).map((edge) => edge.source));
  for (const id of writers) kept.add(id);
  return {
    ...graph,
    source,
    producers: graph.producers.filter((producer) => writers.has(producer.id)),
    topics,
    groups,
    exchanges,
    queues,
    consumers,
    edges: graph.edges.filter((edge) => kept.has(edge.source) && kept.has(edge.target)),
  };
}

async function drawFlowGraph(db: Queryable, windowMs: number, now: Date): Promise<FlowGraph> {
  const rateSince = new Date(now.getTime() - windowMs);
  return runQuery("drawing the flow graph", async () => {
    const [sources, topics, partitionTotals, producers, groups, members, endSamples, deadLetterCounts] = await Promise.all([
      listSources(db),
      select<{ source_id: number; name: string; kind: TopicNode["kind"]; of: string | null; partition_count: number }>(db, Prisma.sql`
        SELECT source_id, name, kind::text AS kind, "of", partition_count FROM topics
        WHERE deleted_at IS NULL AND NOT internal ORDER BY name, source_id`),
      select<{ source_id: number; topic: string; end_offset: string; messages: string }>(db, Prisma.sql`
        SELECT source_id, topic, sum(end_offset)::text AS end_offset, sum(greatest(end_offset - start_offset, 0))::text AS messages
        FROM partitions GROUP BY source_id, topic`),
      select<{ source_id: number; topic: string; event_type: string; producer: string; count: string; last_seen_at: Date }>(db, Prisma.sql`
        SELECT source_id, topic, event_type, producer, count, last_seen_at FROM producers`),
      select<{
        source_id: number;
        group_id: string;
        state: string;
        health_status: string | null;
        health_reason: string | null;
        health_at: Date | null;
      }>(
        db,
        Prisma.sql`
          SELECT source_id, group_id, state, health_status, health_reason, health_at FROM consumer_groups
          WHERE deleted_at IS NULL AND ${groupShown(db, Prisma.sql`group_id`)} ORDER BY group_id, source_id`,
      ),
      select<{ source_id: number; group_id: string; members: number; client_ids: string[] }>(db, Prisma.sql`
        SELECT source_id, group_id, count(*)::int AS members, array_agg(DISTINCT client_id ORDER BY client_id) AS client_ids
        FROM group_members GROUP BY source_id, group_id`),
      // First and last end offset per partition within the rate window.
      select<{ source_id: number; topic: string; first_at: Date; last_at: Date; delta: string }>(db, Prisma.sql`
        SELECT source_id, topic, min(first_at) AS first_at, max(last_at) AS last_at, sum(last_end - first_end)::text AS delta
        FROM (
          SELECT source_id, topic, partition, min(sampled_at) AS first_at, max(sampled_at) AS last_at,
            (array_agg(end_offset ORDER BY sampled_at))[1] AS first_end,
            (array_agg(end_offset ORDER BY sampled_at DESC))[1] AS last_end
          FROM end_offset_samples
          WHERE sampled_at >= ${rateSince}::timestamptz AND sampled_at <= ${now}::timestamptz
          GROUP BY source_id, topic, partition
        ) per_partition
        GROUP BY source_id, topic`),
      // dead_letters_topic_status_idx: an index-only count per DLQ topic (then per source).
      select<{ source_id: number; topic: string; total: number; new: number }>(db, Prisma.sql`
        SELECT source_id, channel AS topic, count(*)::int AS total, (count(*) FILTER (WHERE status = 'new'))::int AS new
        FROM dead_letters GROUP BY channel, source_id`),
    ]);
    const sourceName = new Map(sources.map((s) => [s.id, s.name]));
    const nameOf = (sourceId: number) => sourceName.get(sourceId) ?? String(sourceId);
    // (source, name) keys, and the names that are on several sources (their node ids say the source).
    const at = (sourceId: number, name: string) => `${sourceId}\u0000${name}`;
    const sharedNames = (rows: { source_id: number; name: string }[]) => {
      const seen = new Map<string, Set<number>>();
      for (const row of rows) seen.set(row.name, (seen.get(row.name) ?? new Set()).add(row.source_id));
      return new Set([...seen].filter(([, ids]) => ids.size > 1).map(([name]) => name));
    };
    const sharedTopics = sharedNames(topics);
    const sharedGroups = sharedNames(groups.map((g) => ({ source_id: g.source_id, name: g.group_id })));
    const topicId = (sourceId: number, name: string) => graphNodeId("topic", name, nameOf(sourceId), sharedTopics.has(name));
    const groupNodeId = (sourceId: number, groupId: string) => graphNodeId("group", groupId, nameOf(sourceId), sharedGroups.has(groupId));
    const groupIds = [...new Set(groups.map((g) => g.group_id))];
    const deadLetters = new Map(deadLetterCounts.map((d) => [at(d.source_id, d.topic), d]));
    const [lagRows, timeLags, consumed, rabbit] = await Promise.all([
      readCurrentLag(db, { groupIds }),
      readLatestTimeLag(db, groupIds),
      // Committed offsets' advance per group and topic over the rate window (lag_samples_sampled_at_idx).
      select<{ source_id: number; group_id: string; topic: string; delta: string; span_ms: number }>(db, Prisma.sql`
        SELECT source_id, group_id, topic, sum(greatest(last_committed - first_committed, 0))::text AS delta,
          max(extract(epoch FROM last_at - first_at) * 1000)::float8 AS span_ms
        FROM (
          SELECT source_id, group_id, topic, partition, min(sampled_at) AS first_at, max(sampled_at) AS last_at,
            (array_agg(committed_offset ORDER BY sampled_at))[1] AS first_committed,
            (array_agg(committed_offset ORDER BY sampled_at DESC))[1] AS last_committed
          FROM lag_samples
          WHERE sampled_at >= ${rateSince}::timestamptz AND sampled_at <= ${now}::timestamptz AND committed_offset IS NOT NULL
          GROUP BY source_id, group_id, topic, partition
        ) per_partition
        GROUP BY source_id, group_id, topic`),
      readRabbitFlow(db, {
        sources: new Map(sources.filter((s) => s.kind === "rabbitmq").map((s) => [s.id, s.name])),
        producers,
        deadLetters,
      }),
    ]);

    const topicKeys = new Set(topics.map((t) => at(t.source_id, t.name)));
    const totals = new Map(partitionTotals.map((p) => [at(p.source_id, p.topic), p]));
    const topicRates = new Map(
      endSamples.map((s) => [at(s.source_id, s.topic), rate(BigInt(s.delta), s.last_at.getTime() - s.first_at.getTime())]),
    );

    const typesByTopic = groupBy(producers.filter((p) => p.event_type !== ""), (p) => at(p.source_id, p.topic));
    const topicNodes: TopicNode[] = topics.map((t) => {
      const key = at(t.source_id, t.name);
      return {
        id: topicId(t.source_id, t.name),
        source: nameOf(t.source_id),
        topic: t.name,
        kind: t.kind,
        of: t.of,
        partitions: t.partition_count,
        endOffset: totals.get(key)?.end_offset ?? "0",
        messages: totals.get(key)?.messages ?? "0",
        messagesPerSecond: topicRates.get(key) ?? null,
        eventTypes: [...new Set((typesByTopic.get(key) ?? []).map((p) => p.event_type))].sort(),
        deadLetters: t.kind === "dlq" ? { total: deadLetters.get(key)?.total ?? 0, new: deadLetters.get(key)?.new ?? 0 } : null,
      };
    });

    // --- producers → topics and exchanges. A rate belongs to a topic (an exchange); with several
    // producers active within the window it is split by their share of the topic's events (estimated).
    const targets = new Map(rabbit.targets);
    for (const key of topicKeys) {
      const [sourceId, topic] = [Number(key.slice(0, key.indexOf("\u0000"))), key.slice(key.indexOf("\u0000") + 1)];
      targets.set(key, { id: topicId(sourceId, topic), messagesPerSecond: topicRates.get(key) ?? null });
    }
    const producerNodes = new Map<string, ProducerNode>();
    const edges: FlowEdge[] = [];
    const byTopic = new Map<string, Map<string, { count: bigint; lastSeen: Date }>>();
    for (const p of producers) {
      if (!targets.has(at(p.source_id, p.topic))) continue;
      const perProducer = byTopic.get(at(p.source_id, p.topic)) ?? new Map<string, { count: bigint; lastSeen: Date }>();
      const entry = perProducer.get(p.producer) ?? { count: 0n, lastSeen: p.last_seen_at };
      entry.count += BigInt(p.count);
      if (p.last_seen_at > entry.lastSeen) entry.lastSeen = p.last_seen_at;
      perProducer.set(p.producer, entry);
      byTopic.set(at(p.source_id, p.topic), perProducer);
    }
    for (const [key, perProducer] of byTopic) {
      const topic = key.slice(key.indexOf("\u0000") + 1);
      const { id: target, messagesPerSecond: topicRate } = targets.get(key)!;
      const active = [...perProducer.entries()].filter(([, e]) => e.lastSeen >= rateSince);
      const activeCount = active.reduce((sum, [, e]) => sum + e.count, 0n);
      for (const [producer, entry] of perProducer) {
        const id = producer === "" ? `producer:?${topic}` : `producer:${producer}`;
        const node = producerNodes.get(id);
        if (!node || node.lastSeenAt < entry.lastSeen.toISOString()) {
          producerNodes.set(id, { id, producer, lastSeenAt: entry.lastSeen.toISOString() });
        }
        const isActive = entry.lastSeen >= rateSince;
        let messagesPerSecond: number | null = null;
        if (topicRate !== null) {
          if (!isActive) messagesPerSecond = 0;
          else if (active.length === 1) messagesPerSecond = topicRate;
          else if (activeCount > 0n) messagesPerSecond = Math.round(topicRate * (Number(entry.count) / Number(activeCount)) * 100) / 100;
        }
        edges.push({
          id: `${id}->${target}`,
          source: id,
          target,
          kind: "produces",
          messagesPerSecond,
          estimated: isActive && active.length > 1,
        });
      }
    }

    // --- topics → DLQ topics (by name: headers say more per message, in the DLQ inbox)
    for (const t of topics) {
      if (t.kind === "dlq" && t.of && topicKeys.has(at(t.source_id, t.of))) {
        const [from, to] = [topicId(t.source_id, t.of), topicId(t.source_id, t.name)];
        edges.push({
          id: `${from}->${to}`,
          source: from,
          target: to,
          kind: "dead-letters",
          messagesPerSecond: topicRates.get(at(t.source_id, t.name)) ?? null,
          estimated: false,
        });
      }
    }

    // --- topics → groups, with lag, consumption rate and health
    const lagByGroup = groupBy(lagRows, (row) => at(row.source_id, row.group_id));
    const memberInfo = new Map(members.map((m) => [at(m.source_id, m.group_id), m]));
    const consumedBy = new Map(consumed.map((c) => [`${at(c.source_id, c.group_id)}\u0000${c.topic}`, c]));
    const maxTimeLag = new Map<string, number>();
    for (const [key, entry] of timeLags) {
      // lagKey: source id, group id, topic, partition.
      const [sourceId, groupId] = key.split("\u0000");
      const group = at(Number(sourceId), groupId!);
      if (entry.timeLagMs !== null) maxTimeLag.set(group, Math.max(maxTimeLag.get(group) ?? 0, entry.timeLagMs));
    }

    const groupNodes: GroupNode[] = groups.map((g) => {
      const groupKey = at(g.source_id, g.group_id);
      const nodeId = groupNodeId(g.source_id, g.group_id);
      const rows = lagByGroup.get(groupKey) ?? [];
      let total = 0n;
      let unknown = 0;
      const lagByTopic = new Map<string, { total: bigint; known: boolean }>();
      for (const row of rows) {
        const lag = offsetLagOf(row);
        const topicLag = lagByTopic.get(row.topic) ?? { total: 0n, known: false };
        if (lag === null) unknown += 1;
        else {
          total += lag;
          topicLag.total += lag;
          topicLag.known = true;
        }
        lagByTopic.set(row.topic, topicLag);
      }
      for (const [topic, topicLag] of lagByTopic) {
        if (!topicKeys.has(at(g.source_id, topic))) continue;
        const advance = consumedBy.get(`${groupKey}\u0000${topic}`);
        const from = topicId(g.source_id, topic);
        edges.push({
          id: `${from}->${nodeId}`,
          source: from,
          target: nodeId,
          kind: "consumes",
          messagesPerSecond: advance && advance.span_ms > 0 ? rate(BigInt(advance.delta), advance.span_ms) : null,
          estimated: false,
          lag: topicLag.known ? topicLag.total.toString() : null,
        });
      }
      const info = memberInfo.get(groupKey);
      const status = LAG_HEALTH_STATUSES.find((s) => s === g.health_status);
      return {
        id: nodeId,
        source: nameOf(g.source_id),
        groupId: g.group_id,
        state: g.state,
        members: info?.members ?? 0,
        clientIds: info?.client_ids ?? [],
        totalLag: rows.length > 0 && unknown < rows.length ? total.toString() : null,
        unknownLagPartitions: unknown,
        maxTimeLagMs: maxTimeLag.get(groupKey) ?? null,
        health: status && g.health_at ? { status, reason: g.health_reason ?? "", judgedAt: g.health_at.toISOString() } : null,
      };
    });

    return {
      generatedAt: now.toISOString(),
      windowMs,
      sources: sources.map((source) => source.name),
      source: null,
      producers: [...producerNodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
      topics: topicNodes,
      groups: groupNodes,
      exchanges: rabbit.exchanges,
      queues: rabbit.queues,
      consumers: rabbit.consumers,
      edges: [...edges, ...rabbit.edges],
    };
  });
}
