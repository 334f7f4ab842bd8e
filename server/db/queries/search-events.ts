import { resolveSourceName, resolveSourceOf } from "../sources.ts";
import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import { isMaskedHeader } from "../../../lib/mask.ts";
import {
  eventSummaryColumns,
  checkDate,
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
import type { EventSearchPage } from "../../../lib/api-schemas/events.ts";

export interface SearchEventsFilters {
  /** An entity key (EVENTSCOPE_ENTITY_FIELDS value, or the message key when none). */
  entity?: string;
  /** The message key, as text. */
  key?: string;
  type?: string;
  topic?: string;
  /** A header by name (exact, case-sensitive as Kafka's), optionally with its UTF-8 value (exact). */
  header?: { name: string; value?: string };
  traceId?: string;
  /** A flag the event carries (events.flags); batch-undecodable reads events_undecodable_idx. */
  flag?: string;
  /** The Schema Registry id of the value (events.schema_id). */
  schemaId?: number;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
}

export interface SearchEventsOptions extends SearchEventsFilters {
  /**
   * A source's name: only its events. With `topic`, which source's topic (required when several
   * sources have a topic of that name: resolveSourceOf).
   */
  source?: string;
  cursor?: string;
  /** 1..500, default 50. */
  limit?: number;
}


const CURSOR_TAG = "search";

/**
 * How many of the newest events (those matching the other conditions) a search by header value
 * looks at first, to tell a common value from a rare one.
 */
const HEADER_PROBE_ROWS = 2_000;

/**
 * Event search, newest first, paged by keyset cursor on (timestamp, topic, partition, offset).
 * Every filter maps to an index, and PostgreSQL picks the most selective:
 * entity → events_entity_keys_idx (GIN), key → events_key_idx (hash), type →
 * events_event_type_timestamp_idx, topic → events_topic_timestamp_idx, header →
 * events_headers_idx (GIN jsonb_path_ops, `headers @> [{"key": …, "value": …}]`) for a value few
 * events hold, events_timestamp_idx for one the newest events carry (HEADER_PROBE_ROWS), trace →
 * events_trace_idx, flag batch-undecodable → events_undecodable_idx (other flags filter what the
 * other conditions select, as does a schema id), time range alone → events_timestamp_idx.
 */
export async function searchEvents(db: Queryable, options: SearchEventsOptions = {}): Promise<EventSearchPage> {
  const limit = checkLimit(options.limit, 50, 500);
  const before = options.cursor === undefined ? null : decodeEventCursor(CURSOR_TAG, options.cursor);
  const from = checkDate(options.from, "from");
  const to = checkDate(options.to, "to");
  const mask = maskRulesOf(db);
  const conditions: Prisma.Sql[] = [];
  let headerCondition: Prisma.Sql | undefined;
  if (options.entity !== undefined) conditions.push(Prisma.sql`e.entity_keys @> ARRAY[${options.entity}::text]`);
  if (options.key !== undefined) conditions.push(Prisma.sql`e.key = ${options.key}::text`);
  if (options.type !== undefined) conditions.push(Prisma.sql`e.event_type = ${options.type}::text`);
  if (options.topic !== undefined) {
    conditions.push(Prisma.sql`e.channel = ${options.topic}::text`);
    const source = await resolveSourceOf(db, "topic", options.topic, options.source);
    // A topic on one source only needs no source condition (events_topic_timestamp_idx has none).
    if (options.source !== undefined && source) conditions.push(Prisma.sql`e.source_id = ${source.id}::smallint`);
  } else if (options.source !== undefined) {
    conditions.push(Prisma.sql`e.source_id = ${(await resolveSourceName(db, options.source)).id}::smallint`);
  }
  if (options.schemaId !== undefined) conditions.push(Prisma.sql`e.schema_id = ${options.schemaId}::int`);
  if (options.header !== undefined) {
    if (options.header.name.length === 0) throw new ValidationError("the header name is empty", { field: "header" });
    if (options.header.value !== undefined && isMaskedHeader(options.header.name, mask)) {
      // Matching the stored value would confirm a guess of what every page shows as "***".
      throw new ValidationError(
        `the header ${options.header.name} is masked (EVENTSCOPE_MASK_FIELDS): it cannot be searched by its value, only by its name (header=${options.header.name})`,
        { field: "header" },
      );
    }
    // Stored headers are [{key, value, encoding}]; containment matches one element having both.
    const element =
      options.header.value === undefined
        ? { key: options.header.name }
        : { key: options.header.name, value: options.header.value };
    headerCondition = Prisma.sql`e.headers @> ${JSON.stringify([element])}::jsonb`;
  }
  if (options.traceId !== undefined) {
    const traceId = options.traceId.trim().toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(traceId)) throw new ValidationError("a trace id is 32 hexadecimal characters", { field: "traceId" });
    conditions.push(Prisma.sql`e.trace_id = ${traceId}::text`);
  }
  if (options.flag === "batch-undecodable") conditions.push(Prisma.sql`e.undecodable IS NOT NULL`);
  else if (options.flag !== undefined) conditions.push(Prisma.sql`${options.flag}::text = ANY(e.flags)`);
  if (from) conditions.push(Prisma.sql`e."timestamp" >= ${from}::timestamptz`);
  if (to) conditions.push(Prisma.sql`e."timestamp" < ${to}::timestamptz`);
  if (before) {
    conditions.push(Prisma.sql`(e."timestamp", e.channel, e.partition, e.position, e.source_id) <
      (${new Date(before.timestampMs)}::timestamptz, ${before.topic}::text, ${before.partition}::int, ${before.offset}::bigint,
       ${before.sourceId}::smallint)`);
  }
  const whereOf = (all: Prisma.Sql[]) => (all.length > 0 ? Prisma.sql`WHERE ${Prisma.join(all, " AND ")}` : Prisma.empty);
  const where = whereOf(headerCondition ? [...conditions, headerCondition] : conditions);

  return runQuery("searching events", async () => {
    // PostgreSQL keeps no statistics inside jsonb, so it guesses a header value matches 0.1% of the
    // events and, for a page of 50, prefers walking the time index and filtering. That is right
    // for a value most events carry (a service name, a content type): the page is among the
    // newest events. For a value a handful of events hold (a request id, a replay id) it reads
    // the whole table, and the GIN index is the way in (sorting by an expression the time index
    // cannot provide makes it so); for a common value that way costs a sort of every event
    // holding it. Which of the two a value is, the newest events matching the other conditions
    // say: a full page among them means walking the time index finds the page at once.
    let timeOrder = Prisma.sql`e."timestamp"`;
    if (headerCondition && options.header?.value !== undefined) {
      const [probe] = await select<{ matches: number }>(db, Prisma.sql`
        SELECT count(*) FILTER (WHERE ${headerCondition})::int AS matches
        FROM (SELECT e.headers FROM events e ${whereOf(conditions)} ORDER BY e."timestamp" DESC LIMIT ${HEADER_PROBE_ROWS}::int) e`);
      if ((probe?.matches ?? 0) <= limit) timeOrder = Prisma.sql`(e."timestamp" + interval '0 ms')`;
    }
    const rows = await select<EventSummaryRow>(db, Prisma.sql`
      SELECT ${eventSummaryColumns(mask)}
      FROM events e
      ${where}
      ORDER BY ${timeOrder} DESC, e.channel DESC, e.partition DESC, e.position DESC, e.source_id DESC
      LIMIT ${limit + 1}::int`);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      events: page.map((row) => toEventSummary(row, mask)),
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
