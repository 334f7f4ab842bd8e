import { Prisma } from "@prisma/client";
import type pg from "pg";
import { NotFoundError, UnauthorizedError, ValidationError } from "../../../lib/errors.ts";
import { toDatabaseError } from "../errors.ts";
import type { EventSummary, StoredFailure } from "../../../lib/api-schemas/events.ts";
import type { StoredHeader } from "../../../lib/api-schemas/headers.ts";
import type { StoredGroupHealth } from "../../../lib/api-schemas/groups.ts";
import { LAG_HEALTH_STATUSES } from "../../../lib/lag-health.ts";
import { compileMaskRules, isMasking, MASKED, maskHeaders, maskValueText, NO_MASK, type MaskRules } from "../../../lib/mask.ts";

/**
 * What the read queries share: running SQL, the event summary every list returns, opaque keyset
 * cursors, input checks and error wrapping. Every value they return is plain and
 * JSON-serialisable: offsets and other int64s as decimal strings, times as ISO 8601 strings.
 */

/** What a read query needs of the database: the pg pool (Database has it). */
export interface Queryable {
  readonly pool: pg.Pool;
  /**
   * EVENTSCOPE_MASK_FIELDS (getDatabase() sets it from the configuration): every query that returns
   * message content (values, previews, headers) masks these fields (lib/mask.ts). Unset: nothing
   * is masked. Replay, which must send the original bytes, reads through withoutMasking(db).
   */
  readonly maskFields?: readonly string[];
  /**
   * EVENTSCOPE_COLLECTOR_GROUP (getDatabase() sets it): Eventscope's own consumer group, which reads
   * every topic and is nobody's consumer. Every query that answers about consumer groups leaves it
   * out through groupShown(), the same for pages and API. Unset: every group is shown.
   */
  readonly hiddenGroup?: string;
  /**
   * EVENTSCOPE_FLOW_TERMINAL_STEPS and EVENTSCOPE_STUCK_FACTOR (getDatabase() sets them): how the
   * flow queries tell completed, stuck and in-flight entities apart. Unset: none configured, 3.
   */
  readonly flowSettings?: { terminalSteps: readonly string[]; stuckFactor: number };
  /** EVENTSCOPE_STATE_IGNORE (getDatabase() sets it): fields an entity's folded state leaves out. */
  readonly stateIgnore?: readonly string[];
}

/**
 * The one rule that hides Eventscope's own consumer group (Queryable.hiddenGroup): a condition on
 * a group id column, TRUE when nothing is hidden.
 */
export function groupShown(db: Queryable, groupIdColumn: Prisma.Sql): Prisma.Sql {
  return db.hiddenGroup === undefined ? Prisma.sql`TRUE` : Prisma.sql`${groupIdColumn} <> ${db.hiddenGroup}::text`;
}

const compiledMasks = new WeakMap<readonly string[], MaskRules>();

/** The masking rules of a database handle (compiled once per list). */
export function maskRulesOf(db: Queryable): MaskRules {
  const fields = db.maskFields;
  if (!fields || fields.length === 0) return NO_MASK;
  let rules = compiledMasks.get(fields);
  if (!rules) {
    rules = compileMaskRules(fields);
    compiledMasks.set(fields, rules);
  }
  return rules;
}

/** The same database without masking: for replay, which sends what was stored byte for byte. */
export function withoutMasking(db: Queryable): Queryable {
  return { pool: db.pool };
}

/**
 * Runs a query written as a Prisma.sql tagged template (values become bind parameters; SQL is
 * never concatenated from input) on the pg pool. Not through prisma.$queryRaw: on this machine
 * Prisma's client engine adds ~4 ms per statement at the median and ~25 ms at p95 even for
 * `SELECT 1` (pg alone: 0.3 ms), and a timeline is three statements against a 20 ms budget.
 *
 * pg hands int8 and numeric back as strings (exact), timestamptz as Date, jsonb parsed, arrays as
 * arrays, bytea as Buffer.
 */
export async function select<T extends object>(db: Queryable, query: Prisma.Sql): Promise<T[]> {
  const result = await db.pool.query<T>(query.text, query.values as unknown[]);
  return result.rows;
}

export const PREVIEW_CHARS = 256;

/** `AND <column> = <id>` when a source is given, nothing when not (every source). */
export function ofSource(column: Prisma.Sql, sourceId: number | undefined): Prisma.Sql {
  return sourceId === undefined ? Prisma.empty : Prisma.sql`AND ${column} = ${sourceId}::smallint`;
}

/**
 * The name of the source whose id is in `sourceIdColumn` (e.g. e.source_id): the one place the
 * query layer turns a row's source id into the name every response carries. A lookup by primary
 * key in the tiny sources table, cheaper than a join that every query would have to repeat.
 */
export function sourceNameSql(sourceIdColumn: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`(SELECT s.name FROM sources s WHERE s.id = ${sourceIdColumn})`;
}

/**
 * The columns of an EventSummary, for `SELECT ${eventSummaryColumns(mask)} FROM events e`. The
 * texts of a prior failure are redacted (redactedSql) when fields are masked.
 */
export function eventSummaryColumns(mask: MaskRules): Prisma.Sql {
  const priorFailure = isMasking(mask)
    ? Prisma.sql`CASE WHEN e.prior_failure IS NULL THEN NULL ELSE e.prior_failure || jsonb_build_object(
        'errorMessage', ${redactedSql(Prisma.sql`e.prior_failure->>'errorMessage'`, mask, "e")},
        'errorCause', ${redactedSql(Prisma.sql`e.prior_failure->>'errorCause'`, mask, "e")},
        'stackTrace', ${redactedSql(Prisma.sql`e.prior_failure->>'stackTrace'`, mask, "e")}) END`
    : Prisma.sql`e.prior_failure`;
  return Prisma.sql`
  ${sourceNameSql(Prisma.sql`e.source_id`)} AS source, e.source_id, e.channel AS topic, e.partition, e.position AS "offset", e."timestamp", e.key,
  encode(e.key_bytes, 'base64') AS key_base64, e.value_kind::text AS value_kind,
  left(coalesce(e.value_json::text, e.value_text), ${PREVIEW_CHARS}::int) AS value_preview,
  e.headers, e.size, e.event_type, e.entity_keys, e.trace_id, e.parent_span_id, e.producer,
  e.flags, ${priorFailure} AS prior_failure, nullif(e.delivery_fingerprint, 0) AS delivery_fingerprint`;
}

/**
 * Error texts (a dead letter's message, cause and stack trace, a prior failure's) are free text
 * that services fill with whatever failed, often the very value that is masked. Shown with
 * masking on, every masked value of the record they belong to is replaced by "***" in them: the
 * values of masked JSON fields (each string, number or boolean under a masked field, as text) and
 * of masked headers (UTF-8 ones). PostgreSQL finds them in the stored jsonb (jsonpath, lax mode:
 * at any depth, through arrays; a dotted path may match a little more than masking does, never
 * less) and replaces them, longest first, as plain strings. Filters on error text match this
 * redacted text, so that they cannot confirm a guess of a masked value.
 *
 * `text`: the SQL text expression; `event`: the alias of the record's row, in `events` (e, de) or a
 * dead letter's own copy of it in `dead_letters` (d). Without masking, `text` itself.
 */
export function redactedSql(text: Prisma.Sql, mask: MaskRules, event: "e" | "de" | "d"): Prisma.Sql {
  if (!isMasking(mask)) return text;
  const row = Prisma.raw(event);
  // Every name (a dotted entry also names a key spelt with its dots) and every dotted path; each
  // finds every scalar at or under the field. ".**" between segments: array levels do not count.
  const jsonPaths = [...[...mask.names].map((name) => [name]), ...mask.paths].map(
    (segments) => `$.**.${segments.map((segment) => JSON.stringify(segment)).join(".**.")}.** ? (@.type() != "object" && @.type() != "array")`,
  );
  const values = Prisma.sql`ARRAY(
    SELECT found.v FROM (
      SELECT CASE jsonb_typeof(j) WHEN 'string' THEN j #>> '{}' ELSE j::text END AS v
      FROM unnest(${jsonPaths}::jsonpath[]) AS p(path), jsonb_path_query(${row}.value_json, p.path) AS j
      UNION ALL
      SELECT h->>'value' FROM jsonb_array_elements(${row}.headers) AS h
      WHERE lower(h->>'key') = ANY(${[...mask.headerNames]}::text[]) AND h->>'encoding' = 'utf8'
    ) AS found
    WHERE found.v <> ''
    GROUP BY found.v ORDER BY length(found.v) DESC)`;
  return Prisma.sql`(WITH RECURSIVE secrets(list) AS (SELECT ${values}),
      redacted(i, t) AS (
        SELECT 0, ${text}
        UNION ALL
        SELECT r.i + 1, replace(r.t, s.list[r.i + 1], ${MASKED}::text) FROM redacted r, secrets s WHERE r.i < cardinality(s.list)
      )
    SELECT t FROM redacted ORDER BY i DESC LIMIT 1)`;
}

/**
 * A binary value as shown, base64. Values over EVENTSCOPE_MAX_VALUE_BYTES are stored cut, as
 * bytes: when those bytes are UTF-8 text that looks like JSON, its masked fields are masked
 * (maskValueText) and the masked text's bytes are shown instead. Otherwise the exact bytes.
 */
export function maskedBinaryBase64(bytes: Buffer, mask: MaskRules): string {
  if (isMasking(mask)) {
    const text = bytes.toString("utf8");
    const shown = maskValueText(text, mask);
    if (shown !== text) return Buffer.from(shown, "utf8").toString("base64");
  }
  return bytes.toString("base64");
}

export interface EventSummaryRow {
  source: string;
  source_id: number;
  topic: string;
  partition: number;
  offset: string;
  timestamp: Date;
  key: string | null;
  key_base64: string | null;
  value_kind: string | null;
  value_preview: string | null;
  headers: unknown;
  size: number;
  event_type: string | null;
  entity_keys: string[];
  trace_id: string | null;
  parent_span_id: string | null;
  producer: string | null;
  flags: string[];
  prior_failure: unknown;
  delivery_fingerprint: number | null;
}

function isValueKind(kind: string | null): kind is EventSummary["valueKind"] & string {
  return kind === "json" || kind === "text" || kind === "binary";
}

/** `mask`: maskRulesOf(db), required so that no list forgets EVENTSCOPE_MASK_FIELDS. */
export function toEventSummary(row: EventSummaryRow, mask: MaskRules): EventSummary {
  const headers = Array.isArray(row.headers) ? (row.headers as StoredHeader[]) : [];
  return {
    source: row.source,
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    timestamp: row.timestamp.toISOString(),
    key: row.key,
    // encode(…, 'base64') wraps lines every 76 characters.
    keyBase64: row.key_base64?.replace(/\n/g, "") ?? null,
    valueKind: isValueKind(row.value_kind) ? row.value_kind : null,
    valuePreview: row.value_preview === null ? null : maskValueText(row.value_preview, mask),
    headers: [...maskHeaders(headers, mask)],
    size: row.size,
    eventType: row.event_type,
    producer: row.producer,
    entityKeys: row.entity_keys,
    traceId: row.trace_id,
    parentSpanId: row.parent_span_id,
    flags: row.flags,
    priorFailure: isObject(row.prior_failure) ? (row.prior_failure as StoredFailure) : null,
    deliveryFingerprint: row.delivery_fingerprint,
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

export function decimal(value: bigint | number | string | null | undefined): string | null {
  return value === null || value === undefined ? null : value.toString();
}

// --- cursors ----------------------------------------------------------------------------------------

/**
 * Keyset cursors: the sort key of the last row of a page, so the next page starts right after it
 * (`(timestamp, topic, partition, offset, source) > cursor`: the source last, so two sources' records at
 * the same time, topic, partition and offset both come), never an OFFSET that rescans what came
 * before and shifts when rows arrive. Opaque to clients: base64url of a small JSON array, tagged
 * with the list it belongs to so a cursor of one list is refused by another.
 */
export interface EventPosition {
  timestampMs: number;
  topic: string;
  partition: number;
  offset: string;
  /** sources.id. */
  sourceId: number;
}

export function encodeEventCursor(tag: string, position: EventPosition): string {
  return Buffer.from(
    JSON.stringify([tag, position.timestampMs, position.topic, position.partition, position.offset, position.sourceId]),
  ).toString("base64url");
}

export function decodeEventCursor(tag: string, cursor: string): EventPosition {
  const parsed = parseCursor(cursor);
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 6 ||
    parsed[0] !== tag ||
    !Number.isSafeInteger(parsed[1]) ||
    typeof parsed[2] !== "string" ||
    !Number.isInteger(parsed[3]) ||
    typeof parsed[4] !== "string" ||
    !/^\d{1,19}$/.test(parsed[4]) ||
    !Number.isInteger(parsed[5])
  ) {
    throw new ValidationError("the cursor is malformed or belongs to another list", { field: "cursor" });
  }
  return { timestampMs: parsed[1] as number, topic: parsed[2], partition: parsed[3] as number, offset: parsed[4], sourceId: parsed[5] as number };
}

export function encodeIdCursor(tag: string, timestampMs: number, id: string): string {
  return Buffer.from(JSON.stringify([tag, timestampMs, id])).toString("base64url");
}

/** `idPattern`: what the id must look like; default a decimal int64 (a row id). */
export function decodeIdCursor(tag: string, cursor: string, idPattern = /^\d{1,19}$/): { timestampMs: number; id: string } {
  const parsed = parseCursor(cursor);
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    parsed[0] !== tag ||
    !Number.isSafeInteger(parsed[1]) ||
    typeof parsed[2] !== "string" ||
    !idPattern.test(parsed[2])
  ) {
    throw new ValidationError("the cursor is malformed or belongs to another list", { field: "cursor" });
  }
  return { timestampMs: parsed[1] as number, id: parsed[2] };
}

function parseCursor(cursor: string): unknown {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

// --- input checks -------------------------------------------------------------------------------------

export function checkLimit(limit: number | undefined, fallback: number, max: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(`limit must be a whole number from 1 to ${max}`, { field: "limit" });
  }
  return limit;
}

export function checkDate(value: Date | undefined, field: string): Date | undefined {
  if (value !== undefined && Number.isNaN(value.getTime())) {
    throw new ValidationError(`${field} is not a valid time`, { field });
  }
  return value;
}

export function checkOffset(value: string | bigint | number, field = "offset"): string {
  const text = typeof value === "string" ? value.trim() : value.toString();
  if (!/^\d{1,19}$/.test(text) || BigInt(text) > 9_223_372_036_854_775_807n) {
    throw new ValidationError(`${field} must be a non-negative 64-bit integer`, { field });
  }
  return text;
}

/** Runs a query; anything but our own request errors becomes a DatabaseError saying what failed. */
export async function runQuery<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ValidationError || error instanceof NotFoundError || error instanceof UnauthorizedError) throw error;
    throw toDatabaseError(error, what);
  }
}

/** Items grouped by a key, in their order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The health columns a poller writes (consumer_groups and rabbitmq_queues have the same three). */
export interface StoredHealthColumns {
  health_status: string | null;
  health_reason: string | null;
  health_at: Date | null;
}

/** Health as a poller stored it. */
export function storedHealth(row: StoredHealthColumns): StoredGroupHealth | null {
  const status = LAG_HEALTH_STATUSES.find((s) => s === row.health_status);
  return status && row.health_at ? { status, reason: row.health_reason ?? "", judgedAt: row.health_at.toISOString() } : null;
}
