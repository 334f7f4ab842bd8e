import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import { lagKey, offsetLagOf, readCurrentLag, readGroupMembers, readLatestTimeLag } from "./group-lag.ts";
import type { PartitionLag } from "../../../lib/api-schemas/groups.ts";
import { groupBy, groupShown, runQuery, select, type Queryable } from "./shared.ts";
import { listSources, resolveSourceName } from "../sources.ts";
import { readChannelsConsumedBy, readQueuesBoundTo } from "./rabbitmq-queues.ts";
import type {
  ConsumingGroup,
  ResolvedWhoConsumesQuery as WhoConsumesQuery,
  TopicConsumers,
  WhoConsumesAnswer,
} from "../../../lib/api-schemas/who-consumes.ts";

type TopicMatch = TopicConsumers["matchedBy"][number];

/**
 * "Who consumes X": an event type → the topics that carry it → the groups reading those topics →
 * their live members and lag, and who produces it; or the same from a topic; or for a service
 * (a producer identity, a group id or a member's client id): the topics it produces to and the
 * topics it consumes.
 *
 * Indexes: producers_event_type_idx / producers primary key (topic, …) / producers_producer_idx;
 * committed_offsets_topic_partition_idx; group_members and group_assignments by group; the lag
 * samples' primary key for the latest time lag.
 *
 * On a RabbitMQ source a topic entry is an exchange (the channel its events are stored under) and
 * carries the queues bound to it with their consumers; a service there is also a connection's
 * client-provided name, whose queues' exchanges it consumes.
 *
 * Across sources: a topic (and its groups) is matched per source, and each carries its source's
 * name. `options.source` (a name) narrows the answer to one source.
 */
export async function whoConsumes(db: Queryable, query: WhoConsumesQuery, options: { source?: string } = {}): Promise<WhoConsumesAnswer> {
  const value = "type" in query ? query.type : "topic" in query ? query.topic : query.service;
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError("say which event type, topic or service", { field: Object.keys(query)[0] ?? "query" });
  }
  const only = options.source !== undefined ? await resolveSourceName(db, options.source) : null;
  const ofSource = (column: Prisma.Sql) => (only ? Prisma.sql`AND ${column} = ${only.id}::smallint` : Prisma.empty);
  return runQuery(`finding who consumes ${value}`, async () => {
    // Keyed by source id and topic name.
    const matched = new Map<string, Set<TopicMatch>>();
    const at = (sourceId: number, topic: string) => `${sourceId}\u0000${topic}`;
    const match = (sourceId: number, topic: string, how: TopicMatch) =>
      matched.set(at(sourceId, topic), (matched.get(at(sourceId, topic)) ?? new Set()).add(how));

    if ("type" in query) {
      const rows = await select<{ source_id: number; topic: string }>(db, Prisma.sql`
        SELECT DISTINCT source_id, topic FROM producers WHERE event_type = ${query.type}::text ${ofSource(Prisma.sql`source_id`)}`);
      for (const row of rows) match(row.source_id, row.topic, "type");
    } else if ("topic" in query) {
      const rows = await select<{ source_id: number }>(db, Prisma.sql`
        SELECT source_id FROM topics WHERE name = ${query.topic}::text ${ofSource(Prisma.sql`source_id`)}
        UNION SELECT source_id FROM producers WHERE topic = ${query.topic}::text ${ofSource(Prisma.sql`source_id`)}`);
      for (const row of rows) match(row.source_id, query.topic, "topic");
    } else {
      // What it produces; and what its groups read: the group id is the service's name, or its
      // members' client id is.
      const rows = await select<{ source_id: number; topic: string; how: TopicMatch }>(db, Prisma.sql`
        SELECT DISTINCT source_id, topic, 'produced-by-service' AS how FROM producers
        WHERE producer = ${query.service}::text ${ofSource(Prisma.sql`source_id`)}
        UNION
        SELECT DISTINCT c.source_id, c.topic, 'consumed-by-service' AS how
        FROM committed_offsets c
        JOIN consumer_groups g ON g.source_id = c.source_id AND g.group_id = c.group_id AND g.deleted_at IS NULL
          AND ${groupShown(db, Prisma.sql`g.group_id`)}
        WHERE (c.group_id = ${query.service}::text
           OR (c.source_id, c.group_id) IN (SELECT source_id, group_id FROM group_members WHERE client_id = ${query.service}::text))
          ${ofSource(Prisma.sql`c.source_id`)}`);
      for (const row of rows) match(row.source_id, row.topic, row.how);
      // On RabbitMQ: the exchanges bound to the queues its connections consume.
      for (const row of await readChannelsConsumedBy(db, query.service, only?.id)) match(row.source_id, row.topic, "consumed-by-service");
    }

    const keys = [...matched.keys()];
    if (keys.length === 0) return { query, topics: [], producers: [], groups: [], queues: [] };
    const topicNames = [...new Set(keys.map((key) => key.slice(key.indexOf("\u0000") + 1)))].sort();

    const [sources, topics, producers, lagRows, queuesByChannel] = await Promise.all([
      listSources(db),
      select<{ source_id: number; name: string; kind: TopicConsumers["kind"]; of: string | null }>(db, Prisma.sql`
        SELECT source_id, name, kind::text AS kind, "of" FROM topics WHERE name = ANY(${topicNames}::text[])`),
      select<{ source_id: number; topic: string; event_type: string; producer: string; count: string; first_seen_at: Date; last_seen_at: Date }>(
        db,
        Prisma.sql`
          SELECT source_id, topic, event_type, producer, count::text AS count, first_seen_at, last_seen_at
          FROM producers WHERE topic = ANY(${topicNames}::text[])
          ORDER BY topic, count DESC, producer, event_type`,
      ),
      readCurrentLag(db, { topics: topicNames, sourceId: only?.id }),
      // On a RabbitMQ source a channel is an exchange: the queues bound to it (none on Kafka).
      readQueuesBoundTo(
        db,
        keys.map((key) => ({ sourceId: Number(key.slice(0, key.indexOf("\u0000"))), channel: key.slice(key.indexOf("\u0000") + 1) })),
      ),
    ]);
    const groupIds = [...new Set(lagRows.map((r) => r.group_id))];
    const [groups, members, timeLags] = await Promise.all([
      select<{ source_id: number; group_id: string; state: string }>(db, Prisma.sql`
        SELECT source_id, group_id, state FROM consumer_groups WHERE group_id = ANY(${groupIds}::text[])`),
      readGroupMembers(db, groupIds, topicNames, { sourceId: only?.id }),
      readLatestTimeLag(db, groupIds, { sourceId: only?.id }),
    ]);

    const sourceName = new Map(sources.map((s) => [s.id, s.name]));
    const stateOf = new Map(groups.map((g) => [at(g.source_id, g.group_id), g.state]));
    const lagByTopic = groupBy(lagRows, (row) => at(row.source_id, row.topic));
    const membersByGroup = groupBy(members, (m) => at(m.source_id, m.group_id));
    const producersByTopic = groupBy(producers, (p) => at(p.source_id, p.topic));
    // By topic name, then source name.
    const ordered = keys
      .map((key) => ({ key, sourceId: Number(key.slice(0, key.indexOf("\u0000"))), name: key.slice(key.indexOf("\u0000") + 1) }))
      .map((entry) => ({ ...entry, source: sourceName.get(entry.sourceId) ?? String(entry.sourceId) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
    const answerTopics: TopicConsumers[] = ordered.map(({ key, sourceId, source, name }) => {
      const topic = topics.find((t) => t.source_id === sourceId && t.name === name);
      const ofTopic = producersByTopic.get(key) ?? [];
      const byGroup = groupBy(lagByTopic.get(key) ?? [], (row) => row.group_id);
      const consuming: ConsumingGroup[] = [...byGroup.entries()].map(([groupId, rows]) => {
        let total = 0n;
        let unknown = 0;
        let maxTimeLag: number | null = null;
        let sampledAt: Date | null = null;
        const partitions = rows.map((row): PartitionLag => {
          const lag = offsetLagOf(row);
          if (lag === null) unknown += 1;
          else total += lag;
          const time = timeLags.get(lagKey(sourceId, groupId, row.topic, row.partition));
          if (time?.timeLagMs !== null && time?.timeLagMs !== undefined) maxTimeLag = Math.max(maxTimeLag ?? 0, time.timeLagMs);
          if (time) sampledAt = time.sampledAt;
          return {
            topic: row.topic,
            partition: row.partition,
            committedOffset: BigInt(row.committed_offset) >= 0n ? row.committed_offset : null,
            endOffset: row.end_offset,
            offsetLag: lag?.toString() ?? null,
            timeLagMs: time?.timeLagMs ?? null,
          };
        });
        return {
          source,
          groupId,
          state: stateOf.get(at(sourceId, groupId)) ?? "Unknown",
          members: (membersByGroup.get(at(sourceId, groupId)) ?? []).map((m) => ({
            memberId: m.member_id,
            clientId: m.client_id,
            clientHost: m.client_host,
            partitions: m.assigned.filter((a) => a.topic === name).map((a) => a.partition).sort((a, b) => a - b),
          })),
          offsetLag: unknown === rows.length ? null : total.toString(),
          unknownLagPartitions: unknown,
          maxTimeLagMs: maxTimeLag,
          sampledAt: (sampledAt as Date | null)?.toISOString() ?? null,
          partitions,
        };
      });
      return {
        source,
        topic: name,
        kind: topic?.kind ?? null,
        of: topic?.of ?? null,
        matchedBy: [...(matched.get(key) ?? [])].sort(),
        eventTypes: [...new Set(ofTopic.map((p) => p.event_type).filter((t) => t !== ""))].sort(),
        producers: ofTopic.map((p) => ({
          producer: p.producer,
          eventType: p.event_type,
          count: p.count,
          firstSeenAt: p.first_seen_at.toISOString(),
          lastSeenAt: p.last_seen_at.toISOString(),
        })),
        groups: consuming,
        queues: queuesByChannel.get(key) ?? [],
      };
    });

    const inAnswer = producers.filter((p) => matched.has(at(p.source_id, p.topic)));
    const relevantProducers = "type" in query ? inAnswer.filter((p) => p.event_type === query.type) : inAnswer;
    return {
      query,
      topics: answerTopics,
      producers: [...new Set(relevantProducers.map((p) => p.producer).filter((p) => p !== ""))].sort(),
      groups: [...new Set(answerTopics.flatMap((t) => t.groups.map((g) => g.groupId)))].sort(),
      queues: [...new Set(answerTopics.flatMap((t) => t.queues.map((q) => q.id)))].sort(),
    };
  });
}
