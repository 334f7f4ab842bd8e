import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import { lagKey, offsetLagOf, readCurrentLag, readGroupMembers, readLatestTimeLag } from "./group-lag.ts";
import type { PartitionLag } from "../../../lib/api-schemas/groups.ts";
import { groupBy, groupShown, runQuery, select, type Queryable } from "./shared.ts";
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
 */
export async function whoConsumes(db: Queryable, query: WhoConsumesQuery): Promise<WhoConsumesAnswer> {
  const value = "type" in query ? query.type : "topic" in query ? query.topic : query.service;
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError("say which event type, topic or service", { field: Object.keys(query)[0] ?? "query" });
  }
  return runQuery(`finding who consumes ${value}`, async () => {
    const matched = new Map<string, Set<TopicMatch>>();
    const match = (topic: string, how: TopicMatch) => matched.set(topic, (matched.get(topic) ?? new Set()).add(how));

    if ("type" in query) {
      const rows = await select<{ topic: string }>(db, Prisma.sql`
        SELECT DISTINCT topic FROM producers WHERE event_type = ${query.type}::text`);
      for (const row of rows) match(row.topic, "type");
    } else if ("topic" in query) {
      const rows = await select<{ found: boolean }>(db, Prisma.sql`
        SELECT EXISTS (SELECT 1 FROM topics WHERE name = ${query.topic}::text)
            OR EXISTS (SELECT 1 FROM producers WHERE topic = ${query.topic}::text) AS found`);
      if (rows[0]?.found) match(query.topic, "topic");
    } else {
      // What it produces; and what its groups read: the group id is the service's name, or its
      // members' client id is.
      const rows = await select<{ topic: string; how: TopicMatch }>(db, Prisma.sql`
        SELECT DISTINCT topic, 'produced-by-service' AS how FROM producers WHERE producer = ${query.service}::text
        UNION
        SELECT DISTINCT c.topic, 'consumed-by-service' AS how
        FROM committed_offsets c
        JOIN consumer_groups g ON g.group_id = c.group_id AND g.deleted_at IS NULL AND ${groupShown(db, Prisma.sql`g.group_id`)}
        WHERE c.group_id = ${query.service}::text
           OR c.group_id IN (SELECT group_id FROM group_members WHERE client_id = ${query.service}::text)`);
      for (const row of rows) match(row.topic, row.how);
    }

    const topicNames = [...matched.keys()].sort();
    if (topicNames.length === 0) return { query, topics: [], producers: [], groups: [] };

    const [topics, producers, lagRows] = await Promise.all([
      select<{ name: string; kind: TopicConsumers["kind"]; of: string | null }>(db, Prisma.sql`
        SELECT name, kind::text AS kind, "of" FROM topics WHERE name = ANY(${topicNames}::text[])`),
      select<{ topic: string; event_type: string; producer: string; count: string; first_seen_at: Date; last_seen_at: Date }>(
        db,
        Prisma.sql`
          SELECT topic, event_type, producer, count::text AS count, first_seen_at, last_seen_at
          FROM producers WHERE topic = ANY(${topicNames}::text[])
          ORDER BY topic, count DESC, producer, event_type`,
      ),
      readCurrentLag(db, { topics: topicNames }),
    ]);
    const groupIds = [...new Set(lagRows.map((r) => r.group_id))];
    const [groups, members, timeLags] = await Promise.all([
      select<{ group_id: string; state: string }>(db, Prisma.sql`
        SELECT group_id, state FROM consumer_groups WHERE group_id = ANY(${groupIds}::text[])`),
      readGroupMembers(db, groupIds, topicNames),
      readLatestTimeLag(db, groupIds),
    ]);

    const stateOf = new Map(groups.map((g) => [g.group_id, g.state]));
    const lagByTopic = groupBy(lagRows, (row) => row.topic);
    const membersByGroup = groupBy(members, (m) => m.group_id);
    const producersByTopic = groupBy(producers, (p) => p.topic);
    const answerTopics: TopicConsumers[] = topicNames.map((name) => {
      const topic = topics.find((t) => t.name === name);
      const ofTopic = producersByTopic.get(name) ?? [];
      const byGroup = groupBy(lagByTopic.get(name) ?? [], (row) => row.group_id);
      const consuming: ConsumingGroup[] = [...byGroup.entries()].map(([groupId, rows]) => {
        let total = 0n;
        let unknown = 0;
        let maxTimeLag: number | null = null;
        let sampledAt: Date | null = null;
        const partitions = rows.map((row): PartitionLag => {
          const lag = offsetLagOf(row);
          if (lag === null) unknown += 1;
          else total += lag;
          const time = timeLags.get(lagKey(groupId, row.topic, row.partition));
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
          groupId,
          state: stateOf.get(groupId) ?? "Unknown",
          members: (membersByGroup.get(groupId) ?? []).map((m) => ({
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
        topic: name,
        kind: topic?.kind ?? null,
        of: topic?.of ?? null,
        matchedBy: [...(matched.get(name) ?? [])].sort(),
        eventTypes: [...new Set(ofTopic.map((p) => p.event_type).filter((t) => t !== ""))].sort(),
        producers: ofTopic.map((p) => ({
          producer: p.producer,
          eventType: p.event_type,
          count: p.count,
          firstSeenAt: p.first_seen_at.toISOString(),
          lastSeenAt: p.last_seen_at.toISOString(),
        })),
        groups: consuming,
      };
    });

    const relevantProducers =
      "type" in query ? producers.filter((p) => p.event_type === query.type) : producers;
    return {
      query,
      topics: answerTopics,
      producers: [...new Set(relevantProducers.map((p) => p.producer).filter((p) => p !== ""))].sort(),
      groups: [...new Set(answerTopics.flatMap((t) => t.groups.map((g) => g.groupId)))].sort(),
    };
  });
}
