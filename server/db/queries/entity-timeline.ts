import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import {
  consumptionColumns,
  toConsumption,
  type ConsumptionJson,
} from "./consumption.ts";
import {
  eventSummaryColumns,
  redactedSql,
  checkLimit,
  decodeEventCursor,
  encodeEventCursor,
  maskRulesOf,
  runQuery,
  select,
  toEventSummary,
  type EventSummaryRow,
  type Queryable,
} from "./shared.ts";
import type { MaskRules } from "../../../lib/mask.ts";
import { getEntityFlows } from "./flows.ts";
import type { EntityTimeline } from "../../../lib/api-schemas/entities.ts";
import type { DeadLetterInfo, TimelineEvent } from "../../../lib/api-schemas/events.ts";

export interface EntityTimelineOptions {
  cursor?: string;
  /** Events per page: 1..1000, default 200. */
  limit?: number;
}

const CURSOR_TAG = "timeline";

export type TimelineRow = EventSummaryRow & ConsumptionJson & {
  topic_kind: string | null;
  dl_id: string | null;
  dl_status: DeadLetterInfo["status"] | null;
  dl_source: string | null;
  dl_convention: string | null;
  dl_origin_topic: string | null;
  dl_origin_partition: number | null;
  dl_origin_offset: string | null;
  dl_origin_topic_hint: string | null;
  dl_origin_group: string | null;
  dl_error_class: string | null;
  dl_error_message: string | null;
  dl_attempts: number | null;
  dl_replay_id: string | null;
};

/** Columns of a TimelineRow: the summary, the topic's kind and the event's own dead letter. */
export function timelineColumns(mask: MaskRules): Prisma.Sql {
  return Prisma.sql`${eventSummaryColumns(mask)}, t.kind::text AS topic_kind,
  dl.id AS dl_id, dl.status AS dl_status, dl.recognized_by AS dl_source, dl.convention AS dl_convention,
  dl.origin_topic AS dl_origin_topic, dl.origin_partition AS dl_origin_partition,
  dl.origin_offset AS dl_origin_offset, dl.origin_topic_hint AS dl_origin_topic_hint,
  dl.origin_group AS dl_origin_group, dl.error_class AS dl_error_class,
  left(${redactedSql(Prisma.sql`dl.error_message`, mask, "e")}, 2000) AS dl_error_message, dl.attempts AS dl_attempts,
  dl.replay_id AS dl_replay_id`;
}

/** Joins for timelineColumns, after `FROM events e`. */
export const TIMELINE_JOINS = Prisma.sql`
  LEFT JOIN topics t ON t.source_id = e.source_id AND t.name = e.channel
  LEFT JOIN dead_letters dl ON dl.source_id = e.source_id AND dl.channel = e.channel AND dl.partition = e.partition
    AND dl.position = e.position`;

/** Time order, then topic, partition, offset: how timelines and traces list events. */
export const PAGE_TIME_ORDER = Prisma.sql`ORDER BY page."timestamp", page.topic, page.partition, page."offset", page.source_id`;

/**
 * One statement for a page of events with their consumption status: `page` selects
 * timelineColumns and is limited; it is materialised first, so the per-event lookups run for
 * the page's rows only, never for every row that matched before the LIMIT.
 */
export function withConsumption(db: Queryable, page: Prisma.Sql, mask: MaskRules, orderBy: Prisma.Sql = PAGE_TIME_ORDER): Prisma.Sql {
  return Prisma.sql`WITH page AS MATERIALIZED (${page}) SELECT page.*, ${consumptionColumns(db, mask)} FROM page ${orderBy}`;
}

function toTopicKind(kind: string | null): TimelineEvent["topicKind"] {
  return kind === "normal" || kind === "dlq" || kind === "retry" ? kind : null;
}

export function toDeadLetterInfo(row: TimelineRow): DeadLetterInfo | null {
  if (row.dl_id === null) return null;
  return {
    id: row.dl_id,
    status: row.dl_status ?? "new",
    recognizedBy: row.dl_source ?? "headers",
    convention: row.dl_convention,
    originTopic: row.dl_origin_topic,
    originPartition: row.dl_origin_partition,
    originOffset: row.dl_origin_offset,
    originTopicHint: row.dl_origin_topic_hint,
    originGroup: row.dl_origin_group,
    errorClass: row.dl_error_class,
    errorMessage: row.dl_error_message,
    attempts: row.dl_attempts,
    replayId: row.dl_replay_id,
  };
}

export function toTimelineEvent(row: TimelineRow, mask: MaskRules): TimelineEvent {
  const summary = toEventSummary(row, mask);
  return { ...summary, topicKind: toTopicKind(row.topic_kind), deadLetter: toDeadLetterInfo(row), ...toConsumption(summary, row) };
}

/**
 * Every event whose entity keys contain `entityKey`, across topics, in time order (then topic,
 * partition, offset), each with its consumption status per subscribed group and the dead letters
 * that reference it. Retries, dead letters and replays of the entity are events of it too (they
 * carry the same entity field), so they appear in place.
 *
 * Index: events_entity_keys_idx (GIN) for `entity_keys @> ARRAY[key]`; the page is then sorted,
 * which is cheap for one entity's events.
 */
export async function getEntityTimeline(
  db: Queryable,
  entityKey: string,
  options: EntityTimelineOptions = {},
): Promise<EntityTimeline> {
  if (entityKey.length === 0) throw new ValidationError("the entity key is empty", { field: "entityKey" });
  const limit = checkLimit(options.limit, 200, 1000);
  const after = options.cursor === undefined ? null : decodeEventCursor(CURSOR_TAG, options.cursor);
  return runQuery(`reading the timeline of ${entityKey}`, async () => {
    const afterCondition = after
      ? Prisma.sql`AND (e."timestamp", e.channel, e.partition, e.position, e.source_id) >
          (${new Date(after.timestampMs)}::timestamptz, ${after.topic}::text, ${after.partition}::int, ${after.offset}::bigint,
           ${after.sourceId}::smallint)`
      : Prisma.empty;
    const mask = maskRulesOf(db);
    const rows = await select<TimelineRow>(
      db,
      withConsumption(
        db,
        Prisma.sql`
        SELECT ${timelineColumns(mask)}
        FROM events e ${TIMELINE_JOINS}
        WHERE e.entity_keys @> ARRAY[${entityKey}::text] ${afterCondition}
        ORDER BY e."timestamp", e.channel, e.partition, e.position, e.source_id
        LIMIT ${limit + 1}::int`,
        mask,
      ),
    );
    const page = rows.slice(0, limit);
    const events = page.map((row) => toTimelineEvent(row, mask));
    const last = page.at(-1);
    return {
      entityKey,
      flows: after === null && events.length > 0 ? await getEntityFlows(db, entityKey) : [],
      events,
      nextCursor:
        rows.length > limit && last
          ? encodeEventCursor(CURSOR_TAG, {
              timestampMs: last.timestamp.getTime(),
              topic: last.topic,
              partition: last.partition,
              offset: last.offset,
              sourceId: last.source_id,
            })
          : null,
    };
  });
}
