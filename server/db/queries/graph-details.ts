import { Prisma } from "@prisma/client";
import { NotFoundError, ValidationError } from "../../../lib/errors.ts";
import { LAG_HEALTH_STATUSES } from "../../../lib/lag-health.ts";
import { lagKey, offsetLagOf, readCurrentLag, readGroupMembers, readLatestTimeLag } from "./group-lag.ts";
import type { PartitionLag } from "../../../lib/api-schemas/groups.ts";
import { groupShown, runQuery, select, type Queryable } from "./shared.ts";
import { whoConsumes } from "./who-consumes.ts";
import { resolveSourceOf } from "../sources.ts";
import type { GroupDetail, TopicDetail } from "../../../lib/api-schemas/graph.ts";

/**
 * What the overview's side panel shows for one node of the flow graph: a topic with its
 * partitions, producers and consumers, or a consumer group with its members, their assignments
 * and its lag per partition. Small tables only (topics, partitions, producers, groups, committed
 * offsets, the latest lag sample); events are not read.
 */

function checkName(value: string, field: string): string {
  if (typeof value !== "string" || value.trim() === "" || value.length > 1000) {
    throw new ValidationError(`${field} must be 1 to 1000 characters`, { field });
  }
  return value;
}

/**
 * A topic of the graph; NotFoundError when Eventscope has never seen it. `options.source`: the
 * source's name, required when the topic is on several (resolveSourceOf).
 */
export async function getTopicDetail(db: Queryable, topic: string, options: { source?: string } = {}): Promise<TopicDetail> {
  checkName(topic, "topic");
  const source = await resolveSourceOf(db, "topic", topic, options.source);
  if (!source) throw new NotFoundError(`no topic named ${topic} has been seen`);
  return runQuery(`reading topic ${topic}`, async () => {
    const [rows, partitions, consumers, undecodable] = await Promise.all([
      select<{ kind: TopicDetail["kind"]; of: string | null }>(db, Prisma.sql`
        SELECT kind::text AS kind, "of" FROM topics WHERE source_id = ${source.id}::smallint AND name = ${topic}::text AND deleted_at IS NULL`),
      select<{ partition: number; start_offset: string; end_offset: string }>(db, Prisma.sql`
        SELECT partition, start_offset::text AS start_offset, end_offset::text AS end_offset
        FROM partitions WHERE source_id = ${source.id}::smallint AND topic = ${topic}::text ORDER BY partition`),
      whoConsumes(db, { topic }, { source: source.name }),
      // events_undecodable_idx
      select<{ partition: number; offset: string; undecodable: { toOffset: string; codec: string; error: string }; ingested_at: Date }>(
        db,
        Prisma.sql`
          SELECT partition, position::text AS "offset", undecodable, ingested_at FROM events
          WHERE channel = ${topic}::text AND undecodable IS NOT NULL AND source_id = ${source.id}::smallint
          ORDER BY ingested_at DESC LIMIT 20`,
      ),
    ]);
    const row = rows[0];
    if (!row) throw new NotFoundError(`no topic named ${topic} has been seen`);
    const answer = consumers.topics[0];
    return {
      source: source.name,
      topic,
      kind: row.kind,
      of: row.of,
      partitions: partitions.map((p) => ({ partition: p.partition, startOffset: p.start_offset, endOffset: p.end_offset })),
      eventTypes: answer?.eventTypes ?? [],
      producers: answer?.producers ?? [],
      consumers: answer?.groups ?? [],
      undecodable: undecodable.map((u) => ({
        partition: u.partition,
        fromOffset: u.offset,
        toOffset: u.undecodable.toOffset,
        codec: u.undecodable.codec,
        error: u.undecodable.error,
        storedAt: u.ingested_at.toISOString(),
      })),
    };
  });
}

/**
 * A consumer group of the graph; NotFoundError when it is unknown or deleted. `options.source`:
 * the source's name, required when the group id is on several (resolveSourceOf).
 */
export async function getGroupDetail(db: Queryable, groupId: string, options: { source?: string } = {}): Promise<GroupDetail> {
  checkName(groupId, "group");
  const source = await resolveSourceOf(db, "group", groupId, options.source);
  if (!source) throw new NotFoundError(`no consumer group named ${groupId} is known`);
  const sourceId = source.id;
  return runQuery(`reading consumer group ${groupId}`, async () => {
    const [groups, members, lagRows, timeLags] = await Promise.all([
      select<{ state: string; health_status: string | null; health_reason: string | null; health_at: Date | null }>(db, Prisma.sql`
        SELECT state, health_status, health_reason, health_at FROM consumer_groups g
        WHERE source_id = ${sourceId}::smallint AND group_id = ${groupId}::text AND deleted_at IS NULL
          AND ${groupShown(db, Prisma.sql`g.group_id`)}`),
      readGroupMembers(db, [groupId], undefined, { sourceId }),
      readCurrentLag(db, { groupIds: [groupId], sourceId }),
      readLatestTimeLag(db, [groupId], { sourceId }),
    ]);
    const group = groups[0];
    if (!group) throw new NotFoundError(`no consumer group named ${groupId} is known`);

    let total = 0n;
    let known = 0;
    const partitions = lagRows.map((row): PartitionLag => {
      const lag = offsetLagOf(row);
      if (lag !== null) {
        total += lag;
        known += 1;
      }
      const time = timeLags.get(lagKey(sourceId, groupId, row.topic, row.partition));
      return {
        topic: row.topic,
        partition: row.partition,
        committedOffset: BigInt(row.committed_offset) >= 0n ? row.committed_offset : null,
        endOffset: row.end_offset,
        offsetLag: lag?.toString() ?? null,
        timeLagMs: time?.timeLagMs ?? null,
      };
    });
    const status = LAG_HEALTH_STATUSES.find((s) => s === group.health_status);
    return {
      source: source.name,
      groupId,
      state: group.state,
      health: status && group.health_at ? { status, reason: group.health_reason ?? "", judgedAt: group.health_at.toISOString() } : null,
      members: members.map((m) => {
        const byTopic = new Map<string, number[]>();
        for (const a of m.assigned) byTopic.set(a.topic, [...(byTopic.get(a.topic) ?? []), a.partition]);
        return {
          memberId: m.member_id,
          clientId: m.client_id,
          clientHost: m.client_host,
          assignments: [...byTopic.entries()]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([topic, list]) => ({ topic, partitions: list.sort((a, b) => a - b) })),
        };
      }),
      totalLag: known > 0 ? total.toString() : null,
      partitions,
    };
  });
}
