import { resolveSourceName } from "../sources.ts";
import { Prisma } from "@prisma/client";
import {
  DEAD_LETTER_STATUS_VALUES,
  type DeadLetterGroup,
  type DeadLetterPage,
} from "../../../lib/api-schemas/dead-letters.ts";
import { ValidationError } from "../../../lib/errors.ts";
import { isMasking, type MaskRules } from "../../../lib/mask.ts";
import { checkDate, checkLimit, decodeIdCursor, encodeIdCursor, iso, maskRulesOf, redactedSql, runQuery, select, sourceNameSql, type Queryable } from "./shared.ts";

/** The statuses are the API's (lib/api-schemas/dead-letters.ts): one list for both. */
export const DEAD_LETTER_STATUSES = DEAD_LETTER_STATUS_VALUES;
export type DeadLetterStatusName = (typeof DEAD_LETTER_STATUSES)[number];

export interface DeadLetterFilters {
  /** One status or several. */
  status?: DeadLetterStatusName | readonly DeadLetterStatusName[];
  /** The original topic (from headers, else the hint from the DLQ's name) or the DLQ topic itself. */
  topic?: string;
  /**
   * Case-insensitive substring of the error class or message; with masking on, of the message as
   * it is shown (masked values redacted), so the filter cannot confirm a guess of one.
   */
  errorText?: string;
  /** On the dead letter's timestamp; from inclusive, to exclusive. */
  from?: Date;
  to?: Date;
  /** A source's name: only its dead letters (an unknown name is a ValidationError naming the known ones). */
  source?: string;
}

export interface ListDeadLettersOptions extends DeadLetterFilters {
  cursor?: string;
  /** 1..500, default 50. */
  limit?: number;
}

const CURSOR_TAG = "dead-letters";
const MAX_GROUPS = 1_000;

async function filterConditions(db: Queryable, filters: DeadLetterFilters, mask: MaskRules): Promise<Prisma.Sql[]> {
  const conditions: Prisma.Sql[] = [];
  if (filters.source !== undefined) {
    conditions.push(Prisma.sql`d.source_id = ${(await resolveSourceName(db, filters.source)).id}::smallint`);
  }
  if (filters.status !== undefined) {
    const statuses: readonly string[] = typeof filters.status === "string" ? [filters.status] : filters.status;
    const bad = statuses.filter((s) => !(DEAD_LETTER_STATUSES as readonly string[]).includes(s));
    if (bad.length > 0 || statuses.length === 0) {
      throw new ValidationError(`status must be one of ${DEAD_LETTER_STATUSES.join(", ")}`, { field: "status" });
    }
    conditions.push(Prisma.sql`d.status = ANY(${[...statuses]}::dead_letter_status[])`);
  }
  if (filters.topic !== undefined) {
    conditions.push(Prisma.sql`(d.origin_topic = ${filters.topic}::text
      OR (d.origin_topic IS NULL AND d.origin_topic_hint = ${filters.topic}::text)
      OR d.channel = ${filters.topic}::text)`);
  }
  if (filters.errorText !== undefined && filters.errorText.trim() !== "") {
    // LIKE's wildcards in the user's text are literal characters.
    const pattern = `%${filters.errorText.trim().replace(/[\\%_]/g, "\\$&")}%`;
    const stored = Prisma.sql`d.error_message ILIKE ${pattern}::text`;
    // With masking on, the message as shown. Redacting only puts "***" in place of substrings, so
    // a text without "*" that matches what is shown matches the stored message too: that cheap
    // test goes first.
    const shown = Prisma.sql`${redactedSql(Prisma.sql`d.error_message`, mask, "d")} ILIKE ${pattern}::text`;
    const messageMatches = !isMasking(mask)
      ? stored
      : filters.errorText.includes("*")
        ? shown
        : Prisma.sql`(${stored} AND ${shown})`;
    conditions.push(Prisma.sql`(d.error_class ILIKE ${pattern}::text OR ${messageMatches})`);
  }
  const from = checkDate(filters.from, "from");
  const to = checkDate(filters.to, "to");
  if (from) conditions.push(Prisma.sql`d."timestamp" >= ${from}::timestamptz`);
  if (to) conditions.push(Prisma.sql`d."timestamp" < ${to}::timestamptz`);
  return conditions;
}

const whereOf = (conditions: Prisma.Sql[]) =>
  conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty;

/** A dead letter's row as the inbox reads it (the detail reads more of it). */
export interface DeadLetterRow {
  id: string;
  /** The source's name. */
  source: string;
  topic: string;
  partition: number;
  offset: string;
  timestamp: Date;
  recognized_by: string;
  convention: string | null;
  origin_topic: string | null;
  origin_partition: number | null;
  origin_offset: string | null;
  origin_timestamp: Date | null;
  origin_group: string | null;
  origin_topic_hint: string | null;
  error_class: string | null;
  error_message: string | null;
  attempts: number | null;
  status: DeadLetterStatusName;
  status_changed_at: Date | null;
  replay_id: string | null;
  event_type: string | null;
  entity_keys: string[] | null;
  producer: string | null;
}

/**
 * The dead-letter inbox, newest first, filtered, paged by keyset cursor on (timestamp, id).
 * Indexes: dead_letters_timestamp_id_idx for the whole inbox, dead_letters_status_timestamp_idx
 * by status, dead_letters_origin_topic_error_class_status_idx by origin. (The error text filter
 * is a substring match, checked on the rows those leave.)
 */
export async function listDeadLetters(db: Queryable, options: ListDeadLettersOptions = {}): Promise<DeadLetterPage> {
  const limit = checkLimit(options.limit, 50, 500);
  const mask = maskRulesOf(db);
  const conditions = await filterConditions(db, options, mask);
  if (options.cursor !== undefined) {
    const before = decodeIdCursor(CURSOR_TAG, options.cursor);
    conditions.push(Prisma.sql`(d."timestamp", d.id) < (${new Date(before.timestampMs)}::timestamptz, ${before.id}::bigint)`);
  }
  return runQuery("listing dead letters", async () => {
    const rows = await select<DeadLetterRow>(db, Prisma.sql`
      SELECT d.id, ${sourceNameSql(Prisma.sql`d.source_id`)} AS source, d.channel AS topic, d.partition, d.position AS "offset",
        d."timestamp", d.recognized_by, d.convention, d.origin_topic,
        d.origin_partition, d.origin_offset, d.origin_timestamp, d.origin_group, d.origin_topic_hint,
        d.error_class, left(${redactedSql(Prisma.sql`d.error_message`, mask, "d")}, 500) AS error_message, d.attempts, d.status, d.status_changed_at,
        d.replay_id, d.event_type, d.entity_keys, d.producer
      FROM dead_letters d
      ${whereOf(conditions)}
      ORDER BY d."timestamp" DESC, d.id DESC
      LIMIT ${limit + 1}::int`);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      deadLetters: page.map((row) => ({
        id: row.id,
        source: row.source,
        topic: row.topic,
        partition: row.partition,
        offset: row.offset,
        timestamp: row.timestamp.toISOString(),
        recognizedBy: row.recognized_by,
        convention: row.convention,
        originTopic: row.origin_topic,
        originPartition: row.origin_partition,
        originOffset: row.origin_offset,
        originTimestamp: iso(row.origin_timestamp),
        originGroup: row.origin_group,
        originTopicHint: row.origin_topic_hint,
        errorClass: row.error_class,
        errorMessage: row.error_message,
        attempts: row.attempts,
        status: row.status,
        statusChangedAt: iso(row.status_changed_at),
        replayId: row.replay_id,
        eventType: row.event_type,
        entityKeys: row.entity_keys ?? [],
        producer: row.producer,
      })),
      nextCursor:
        rows.length > limit && last ? encodeIdCursor(CURSOR_TAG, last.timestamp.getTime(), last.id) : null,
    };
  });
}

/**
 * The inbox grouped by source, original topic and error class, with counts per status and the oldest and
 * newest dead letter of each group; busiest-recent first. Index: by origin as above; the
 * grouping reads the filtered dead letters, which is the inbox, not the events.
 */
export async function groupDeadLetters(db: Queryable, filters: DeadLetterFilters = {}): Promise<DeadLetterGroup[]> {
  const conditions = await filterConditions(db, filters, maskRulesOf(db));
  return runQuery("grouping dead letters", async () => {
    const rows = await select<{
      source: string;
      origin_topic: string | null;
      origin_is_hint: boolean;
      error_class: string | null;
      count: number;
      new: number;
      replayed: number;
      resolved: number;
      discarded: number;
      oldest: Date;
      newest: Date;
      dlq_topics: string[];
    }>(
      db,
      Prisma.sql`
      SELECT ${sourceNameSql(Prisma.sql`d.source_id`)} AS source, coalesce(d.origin_topic, d.origin_topic_hint) AS origin_topic,
        bool_and(d.origin_topic IS NULL AND d.origin_topic_hint IS NOT NULL) AS origin_is_hint,
        d.error_class,
        count(*)::int AS count,
        (count(*) FILTER (WHERE d.status = 'new'))::int AS new,
        (count(*) FILTER (WHERE d.status = 'replayed'))::int AS replayed,
        (count(*) FILTER (WHERE d.status = 'resolved'))::int AS resolved,
        (count(*) FILTER (WHERE d.status = 'discarded'))::int AS discarded,
        min(d."timestamp") AS oldest, max(d."timestamp") AS newest,
        array_agg(DISTINCT d.channel ORDER BY d.channel) AS dlq_topics
      FROM dead_letters d
      ${whereOf(conditions)}
      GROUP BY d.source_id, coalesce(d.origin_topic, d.origin_topic_hint), d.error_class
      ORDER BY max(d."timestamp") DESC, count(*) DESC
      LIMIT ${MAX_GROUPS}::int`,
    );
    return rows.map((row) => ({
      source: row.source,
      originTopic: row.origin_topic,
      originIsHint: row.origin_is_hint,
      errorClass: row.error_class,
      count: row.count,
      byStatus: { new: row.new, replayed: row.replayed, resolved: row.resolved, discarded: row.discarded },
      oldest: row.oldest.toISOString(),
      newest: row.newest.toISOString(),
      dlqTopics: row.dlq_topics,
    }));
  });
}
