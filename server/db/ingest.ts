import type pg from "pg";
import type { StoredFailure } from "../../lib/api-schemas/events.ts";
import type { StoredHeader } from "../../lib/api-schemas/headers.ts";
import { copyInto, JsonBytes, type CopyType } from "./copy-binary.ts";
import { DatabaseError, toDatabaseError } from "./errors.ts";
import { REPLAY_ID_HEADER, REPLAY_OF_HEADER } from "../../lib/dead-letter-conventions.ts";
import { jsonShapeEntries, sameJsonStructure } from "../../lib/json-shape.ts";
import type { JsonValue } from "../../lib/json-value.ts";
import { DEFAULT_ENTITY_KIND, placeOf, stepOfEvent } from "../../lib/flows.ts";
import { deliveryFingerprint } from "../../lib/delivery-marks.ts";
import { leavingSteps, queueFlowSteps, STEP_COLUMNS, type FlowInboxRow, type StoredStepRow } from "./flows.ts";

/**
 * The bulk ingest path: event rows into `events` (plus their dead letters and the per-type
 * aggregates: producers, event_type_schemas, event_type_fields) through `pg`, because Prisma's
 * createMany is an order of magnitude slower.
 *
 * One transaction per call, rows in (topic, partition, offset) order. First the cheap way: COPY
 * straight into `events`, then the batch's dead letters and aggregate counts. If any row is
 * already stored (a batch delivered again after a crash before the offset commit, a rebalance, a
 * second collector), the primary key refuses the COPY and the batch goes the careful way instead:
 * COPY into a session-local staging table, then one statement that inserts into `events` with
 * ON CONFLICT DO NOTHING and, for the rows that were new only, their dead letters and aggregate
 * counts. Either way each (topic, partition, offset) is stored once and counted once.
 *
 * The row shape is structurally a subset of the collector's ExtractedEvent
 * (server/collector/extract), so an ExtractedEvent can be passed as it is.
 */

export interface EventHeaderInput {
  key: string;
  /** null for a header whose value is null on the wire. */
  value: Buffer | null;
  /** The value as text when it is UTF-8 without NUL, else null (stored base64). */
  text: string | null;
}

/**
 * What failure headers say about a record (a dead letter's, or a prior failure's), as the collector
 * extracts it: the served shape (lib/api-schemas/events.ts), with the origin's time as a Date.
 */
export type FailureInfo = Omit<StoredFailure, "originTimestamp"> & { originTimestamp: Date | null };

/** A record batch the collector could not decode, stored as one row at its first offset. */
export interface UndecodableRange {
  /** The range's last offset (decimal int64); the row's own offset is its first. */
  toOffset: string;
  /** Records the batch header announced. */
  recordCount: number;
  codec: string;
  error: string;
  /** Fetches that failed this way before the collector moved on. */
  attempts: number;
  firstFailedAt: Date;
}

export interface EventRow {
  /** The source (sources.id) it was read from: with topic, partition and offset, its identity. */
  sourceId: number;
  /** The channel: a Kafka topic. */
  topic: string;
  partition: number;
  /** The position: a Kafka offset. Decimal int64 (kafkajs's form) or a bigint. */
  offset: string | bigint;
  /** null when the record had no readable timestamp: stored as the time of ingestion. */
  timestamp: Date | null;
  /** `wire`: the key's Schema Registry wire bytes, stored beside its decoded text (a replay sends them). */
  key: { kind: "text"; text: string; wire?: Buffer } | { kind: "bytes"; bytes: Buffer } | null;
  value:
    | { kind: "tombstone" }
    /**
     * `raw` is the JSON text as received, parsed into jsonb; for a value decoded from the Schema
     * Registry wire format (`schema`), the wire bytes, kept as they are (a replay sends them).
     */
    | { kind: "json"; json: unknown; raw: Buffer; schema?: { id: number } }
    | { kind: "bytes"; raw: Buffer; text: string | null; truncated: boolean };
  /** Key + value (before truncation) + header keys and values, in bytes. */
  sizeBytes: number;
  headers: readonly EventHeaderInput[];
  eventType: string | null;
  producer: string | null;
  entityKeys: readonly string[];
  /**
   * Each entity key's kind, position for position (lib/flows.ts): what flows group entities by.
   * Rows built without it (tests, tools) have kind `entity` (DEFAULT_ENTITY_KIND) for each key.
   */
  entityKinds?: readonly string[];
  trace: { traceId: string | null; parentSpanId: string | null };
  /** Set when the record is parked in a dead-letter queue: it gets a dead_letters row. */
  deadLetter: FailureInfo | null;
  /** Failure headers on a record that is not a dead letter (retry topic, re-sent message). */
  priorFailure?: FailureInfo | null;
  flags: readonly string[];
  /** Set on the row that stands for an undecodable record batch (flag `batch-undecodable`). */
  undecodable?: UndecodableRange | null;
}

export interface IngestResult {
  /** Rows that were new in `events` (the rest were already stored). */
  inserted: number;
  /** Dead letters inserted along with them. */
  deadLetters: number;
  /**
   * Partitions whose log was found to restart below what was stored (the topic was deleted and
   * created again): the stored rows of the previous incarnation from `fromOffset` on were deleted
   * before the batch was stored. Absent when there were none.
   */
  recreated?: RecreatedPartition[];
}

export interface RecreatedPartition {
  sourceId: number;
  topic: string;
  partition: number;
  /** Decimal int64: the batch's first offset on this partition; stored rows from here on were the old log's. */
  fromOffset: string;
  /** Rows of the previous incarnation deleted (their dead letters and replays went with them). */
  deletedRows: number;
}

/**
 * How rows reach `events` (figures: bench/db-ingest.ts):
 * - "copy" (default): COPY straight into events; if any row is already there, the batch is
 *   rolled back and goes the "staged-copy" way.
 * - "staged-copy": COPY into a staging table, then INSERT … SELECT … ON CONFLICT DO NOTHING.
 * - "insert": multi-row INSERT into the staging table, then the same.
 */
export type IngestMethod = "copy" | "staged-copy" | "insert";

export interface IngestOptions {
  method?: IngestMethod;
  /**
   * Mark the new rows' entities for the flows fold (server/db/flows.ts), in the transaction that
   * stores them. Default true; false only to measure what flows cost (bench/collector.ts).
   */
  flows?: boolean;
}

/**
 * Longest text (in characters) stored in columns that a btree index or a GIN entry holds (event
 * type, producer, entity keys, dead-letter origin and error class): PostgreSQL rejects index
 * entries over ~2.7 kB, and one such row would fail the whole batch; the producers key holds two
 * such columns, at up to 4 bytes a character. Longer event types and producers are cut; longer
 * entity keys are dropped (a cut key would match the wrong entity) and the row is flagged.
 * (Message keys have a hash index and no limit.)
 */
export const MAX_INDEXED_TEXT = 256;

/** Flags that ingest itself adds, next to the extraction flags. */
export const INGEST_FLAGS = {
  "entity-key-too-long": `An entity key longer than ${MAX_INDEXED_TEXT} characters was not indexed.`,
  "timestamp-invalid":
    "(also set by extraction) The record's timestamp is missing or outside years 1-9999: stored as the time of ingestion.",
  "store-degraded":
    "PostgreSQL refused the row as extracted: it was stored with its value and headers as bytes and without derived fields.",
} as const;

// --- rows → cells ------------------------------------------------------------------------------

type Cell = string | number | Buffer | JsonBytes | readonly string[] | null;

/** Staging columns, in COPY order: the events columns, then the dead letter's. */
const EVENT_COLUMNS = [
  "source_id",
  "channel",
  "partition",
  "position",
  '"timestamp"',
  "key",
  "key_bytes",
  "value_kind",
  "value_json",
  "value_text",
  "value_bytes",
  "headers",
  "size",
  "event_type",
  "entity_keys",
  "entity_kinds",
  "trace_id",
  "parent_span_id",
  "producer",
  "prior_failure",
  "flags",
  "undecodable",
  "schema_id",
  "delivery_fingerprint",
] as const;

/** Each event column's type, for COPY binary (the staging table's DDL below says the same). */
const EVENT_COLUMN_TYPES: Record<(typeof EVENT_COLUMNS)[number], CopyType> = {
  source_id: "int2",
  channel: "text",
  partition: "int4",
  position: "int8",
  '"timestamp"': "timestamptz",
  key: "text",
  key_bytes: "bytea",
  // An enum's binary form is its label.
  value_kind: "text",
  value_json: "jsonb",
  value_text: "text",
  value_bytes: "bytea",
  headers: "jsonb",
  size: "int4",
  event_type: "text",
  entity_keys: "text[]",
  entity_kinds: "text[]",
  trace_id: "text",
  parent_span_id: "text",
  producer: "text",
  prior_failure: "jsonb",
  flags: "text[]",
  undecodable: "jsonb",
  schema_id: "int4",
  delivery_fingerprint: "int4",
};

const DEAD_LETTER_COLUMNS = [
  "recognized_by",
  "convention",
  "origin_topic",
  "origin_partition",
  "origin_offset",
  "origin_timestamp",
  "origin_group",
  "origin_topic_hint",
  "error_class",
  "error_message",
  "error_cause",
  "error_stack",
  "attempts",
  "replay_id",
] as const;

const DEAD_LETTER_COLUMN_TYPES: Record<(typeof DEAD_LETTER_COLUMNS)[number], CopyType> = {
  recognized_by: "text",
  convention: "text",
  origin_topic: "text",
  origin_partition: "int4",
  origin_offset: "int8",
  origin_timestamp: "timestamptz",
  origin_group: "text",
  origin_topic_hint: "text",
  error_class: "text",
  error_message: "text",
  error_cause: "text",
  error_stack: "text",
  attempts: "int4",
  replay_id: "text",
};

/** COPY column types of events, and of the staging table (events' columns, then the dead letter's). */
const EVENT_COPY_TYPES: readonly CopyType[] = EVENT_COLUMNS.map((column) => EVENT_COLUMN_TYPES[column]);
const STAGING_COPY_TYPES: readonly CopyType[] = [
  ...EVENT_COPY_TYPES,
  ...DEAD_LETTER_COLUMNS.map((column) => DEAD_LETTER_COLUMN_TYPES[column]),
];

/**
 * The event columns a dead letter keeps its own copy of (it outlives its event's retention: the
 * inbox, replay and the audit need its key, value and headers after the event is gone).
 */
const DEAD_LETTER_COPIED_COLUMNS = [
  "key",
  "key_bytes",
  "value_kind",
  "value_json",
  "value_text",
  "value_bytes",
  "headers",
  "flags",
  "event_type",
  "entity_keys",
  "producer",
  "schema_id",
] as const satisfies readonly (typeof EVENT_COLUMNS)[number][];
const DEAD_LETTER_COPIED_CELLS = DEAD_LETTER_COPIED_COLUMNS.map((column) => EVENT_COLUMNS.indexOf(column));

const STAGING_TABLE = "eventscope_ingest_staging";
const STAGING_DDL = `CREATE TEMP TABLE IF NOT EXISTS ${STAGING_TABLE} (
  source_id smallint, channel text, partition int, position bigint, "timestamp" timestamptz, key text, key_bytes bytea,
  value_kind value_kind, value_json jsonb, value_text text, value_bytes bytea, headers jsonb,
  size int, event_type text, entity_keys text[], entity_kinds text[], trace_id text, parent_span_id text,
  producer text, prior_failure jsonb, flags text[], undecodable jsonb, schema_id int, delivery_fingerprint int,
  dl_recognized_by text, dl_convention text, dl_origin_topic text, dl_origin_partition int,
  dl_origin_offset bigint, dl_origin_timestamp timestamptz, dl_origin_group text,
  dl_origin_topic_hint text, dl_error_class text, dl_error_message text, dl_error_cause text,
  dl_error_stack text, dl_attempts int, dl_replay_id text
) ON COMMIT DELETE ROWS`;

const COLUMN_COUNT = EVENT_COLUMNS.length + DEAD_LETTER_COLUMNS.length;

/**
 * After the stored columns, one cell that is not stored: the shape of a plain JSON value with an
 * event type (lib/json-shape.ts), its `path\ttype` entries joined by newlines (values of one type
 * mostly share one shape: recordUsage counts each distinct shape once), for event_type_fields;
 * else null.
 */
const SHAPE_CELL = COLUMN_COUNT;
/** Then one more: the row's flow step (lib/flows.ts stepOfEvent), or null without entities. */
const STEP_CELL = COLUMN_COUNT + 1;
const CELL = {
  sourceId: 0,
  topic: 1,
  partition: 2,
  offset: 3,
  timestamp: 4,
  eventType: EVENT_COLUMNS.indexOf("event_type"),
  priorFailure: EVENT_COLUMNS.indexOf("prior_failure"),
  entityKeys: EVENT_COLUMNS.indexOf("entity_keys"),
  entityKinds: EVENT_COLUMNS.indexOf("entity_kinds"),
  producer: EVENT_COLUMNS.indexOf("producer"),
  schemaId: EVENT_COLUMNS.indexOf("schema_id"),
  fingerprint: EVENT_COLUMNS.indexOf("delivery_fingerprint"),
} as const;

/** PostgreSQL text cannot hold NUL; anything else a JS string holds, it can. */
function cleanText(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}

function cleanOptional(text: string | null | undefined, max?: number): string | null {
  if (text === null || text === undefined) return null;
  const clean = cleanText(text);
  return max !== undefined && clean.length > max ? clean.slice(0, max) : clean;
}

function storedHeaders(headers: readonly EventHeaderInput[], forceBase64: boolean): StoredHeader[] {
  return headers.map((header) => {
    const key = cleanText(header.key);
    if (header.value === null) return { key, value: null, encoding: "utf8" };
    if (!forceBase64 && header.text !== null && !header.text.includes("\u0000")) {
      return { key, value: header.text, encoding: "utf8" };
    }
    return { key, value: header.value.toString("base64"), encoding: "base64" };
  });
}

/** The x-replay-id header of a dead letter: it is a replay that failed again. */
function replayIdOf(headers: readonly EventHeaderInput[]): string | null {
  for (let i = headers.length - 1; i >= 0; i--) {
    const header = headers[i]!;
    if (header.key.toLowerCase() === REPLAY_ID_HEADER && header.text) {
      return cleanOptional(header.text.trim(), MAX_INDEXED_TEXT);
    }
  }
  return null;
}

function jsonText(raw: Buffer, parsed: unknown): JsonBytes | string {
  // The text as received: jsonb then keeps big numbers exactly, and no JSON.stringify is needed.
  const bytes = new JsonBytes(raw);
  return bytes.bytes.length > 0 ? bytes : JSON.stringify(parsed);
}

function failureJson(failure: FailureInfo | null | undefined): string | null {
  if (!failure) return null;
  // Strings with NUL would be rejected by jsonb: clean each one.
  return JSON.stringify(failure, (_key, value: unknown) =>
    typeof value === "string" ? cleanText(value) : value,
  );
}

function undecodableJson(range: UndecodableRange | null | undefined): string | null {
  if (!range) return null;
  return JSON.stringify({
    toOffset: range.toOffset,
    recordCount: range.recordCount,
    codec: cleanText(range.codec),
    error: cleanText(range.error),
    attempts: range.attempts,
    firstFailedAt: range.firstFailedAt.toISOString(),
  });
}

/** A decimal int64: a header can claim any digits, and one out of range would fail the batch as bigint. */
function isInt64Text(text: string): boolean {
  return /^-?\d{1,19}$/.test(text) && BigInt(text) >= -(2n ** 63n) && BigInt(text) < 2n ** 63n;
}

/** Years 1..9999: what toISOString writes in a form PostgreSQL reads (int64 ms can be far beyond). */
const MIN_STORABLE_MS = Date.parse("0001-01-01T00:00:00.000Z");
const MAX_STORABLE_MS = Date.parse("9999-12-31T23:59:59.999Z");

function storableDate(date: Date | null | undefined): string | null {
  const ms = date?.getTime();
  if (ms === undefined || Number.isNaN(ms) || ms < MIN_STORABLE_MS || ms > MAX_STORABLE_MS) return null;
  return date!.toISOString();
}

/**
 * The delivery fingerprint ingest stores with a row (events.delivery_fingerprint, lib/delivery-marks.ts
 * deliveryFingerprint): the one owner of its inputs, so that anything else that meets the same
 * message (a RabbitMQ delivery copy, server/db/rabbitmq-deliveries.ts) gets the same number.
 */
export function fingerprintOfEventRow(row: EventRow): number {
  const key = row.key === null ? null : row.key.kind === "bytes" ? row.key.bytes : row.key.text.includes("\u0000") ? Buffer.from(row.key.text, "utf8") : row.key.text;
  return deliveryFingerprint({
    headers: row.headers,
    key,
    value: row.value.kind === "tombstone" ? null : row.value.raw,
    special: row.deadLetter !== null || row.headers.some((header) => header.key === REPLAY_OF_HEADER) || !!row.priorFailure,
  });
}

function toCells(row: EventRow, now: Date, degraded: boolean): Cell[] {
  const flags = new Set(row.flags);
  let timestamp = storableDate(row.timestamp);
  if (timestamp === null) {
    // Stored at the time of ingestion instead; the flag says the time is not the record's.
    timestamp = now.toISOString();
    flags.add("timestamp-invalid");
  }

  let keyText: string | null = null;
  let keyBytes: Buffer | null = null;
  if (row.key?.kind === "text" && !row.key.text.includes("\u0000")) {
    keyText = row.key.text;
    keyBytes = row.key.wire ?? null;
  }
  else if (row.key?.kind === "text") keyBytes = Buffer.from(row.key.text, "utf8");
  else if (row.key?.kind === "bytes") keyBytes = row.key.bytes;

  let valueKind: string | null = null;
  let valueJson: JsonBytes | string | null = null;
  let valueText: string | null = null;
  let valueBytes: Buffer | null = null;
  const value = row.value;
  if (value.kind === "json" && !degraded) {
    valueKind = "json";
    // A wire-format value's raw bytes are not JSON text: its decoded reading is stored instead
    // (NUL in strings cleaned, as jsonb cannot hold it).
    valueJson = value.schema
      ? JSON.stringify(value.json, (_key, item: unknown) => (typeof item === "string" ? cleanText(item) : item))
      : jsonText(value.raw, value.json);
    // A dead letter is replayed byte for byte; jsonb would normalise spacing and key order. A
    // decoded wire-format value keeps its wire bytes: the JSON is Eventscope's reading of them.
    if (row.deadLetter || value.schema) valueBytes = value.raw;
  } else if (value.kind === "json") {
    valueKind = "binary";
    valueBytes = value.raw;
  } else if (value.kind === "bytes") {
    if (value.text !== null && !value.truncated && !value.text.includes("\u0000") && !degraded) {
      valueKind = "text";
      valueText = value.text;
    } else {
      valueKind = "binary";
      valueBytes = value.raw;
    }
  }

  const entityKeys: string[] = [];
  const entityKinds: string[] = [];
  if (!degraded) {
    for (let i = 0; i < row.entityKeys.length; i++) {
      const clean = cleanText(row.entityKeys[i]!);
      if (clean.length > MAX_INDEXED_TEXT) flags.add("entity-key-too-long");
      else {
        entityKeys.push(clean);
        entityKinds.push(cleanOptional(row.entityKinds?.[i], MAX_INDEXED_TEXT) ?? DEFAULT_ENTITY_KIND);
      }
    }
  }
  if (degraded) flags.add("store-degraded");

  const dl = row.deadLetter;
  const replay = row.headers.some((header) => header.key === REPLAY_OF_HEADER);
  const priorFailure = degraded ? null : failureJson(row.priorFailure);
  const fingerprint = degraded ? null : fingerprintOfEventRow(row);
  const cells: Cell[] = [
    row.sourceId,
    row.topic,
    row.partition,
    String(row.offset),
    timestamp,
    keyText,
    keyBytes,
    valueKind,
    valueJson,
    valueText,
    valueBytes,
    JSON.stringify(storedHeaders(row.headers, degraded)),
    row.sizeBytes,
    degraded ? null : cleanOptional(row.eventType, MAX_INDEXED_TEXT),
    entityKeys,
    entityKinds,
    degraded ? null : cleanOptional(row.trace.traceId, 64),
    degraded ? null : cleanOptional(row.trace.parentSpanId, 64),
    degraded ? null : cleanOptional(row.producer, MAX_INDEXED_TEXT),
    priorFailure,
    [...flags].map(cleanText),
    undecodableJson(row.undecodable),
    value.kind === "json" && value.schema ? value.schema.id : null,
    fingerprint,
  ];
  const shape =
    !degraded && value.kind === "json" && !value.schema && row.eventType !== null
      ? shapeText(row.eventType, value.json as JsonValue, value.raw.length)
      : null;
  // From the cells as stored, so that a recomputation over the stored events finds the same step.
  const step =
    entityKeys.length === 0
      ? null
      : stepOfEvent({
          deadLetter: dl !== null,
          replay,
          retry: priorFailure !== null,
          eventType: cells[CELL.eventType] as string | null,
          channel: row.topic,
          producer: cells[CELL.producer] as string | null,
        });
  if (!dl) {
    for (let i = 0; i < DEAD_LETTER_COLUMNS.length; i++) cells.push(null);
    cells.push(shape, step);
    return cells;
  }
  cells.push(
    dl.source,
    cleanOptional(dl.convention, MAX_INDEXED_TEXT),
    cleanOptional(dl.originTopic, MAX_INDEXED_TEXT),
    dl.originPartition !== null && Number.isInteger(dl.originPartition) && dl.originPartition >= 0 && dl.originPartition < 2 ** 31
      ? dl.originPartition
      : null,
    dl.originOffset !== null && isInt64Text(dl.originOffset) ? dl.originOffset : null,
    storableDate(dl.originTimestamp),
    cleanOptional(dl.originConsumerGroup, MAX_INDEXED_TEXT),
    cleanOptional(dl.originTopicHint, MAX_INDEXED_TEXT),
    cleanOptional(dl.errorClass, MAX_INDEXED_TEXT),
    cleanOptional(dl.errorMessage),
    cleanOptional(dl.errorCause),
    cleanOptional(dl.stackTrace),
    dl.attempts !== null && Number.isSafeInteger(dl.attempts) && Math.abs(dl.attempts) < 2 ** 31
      ? dl.attempts
      : null,
    replayIdOf(row.headers),
    shape,
    step,
  );
  return cells;
}

/**
 * Each event type's last plain JSON value and its shape: values of one type mostly share a
 * structure, and comparing with the last one (sameJsonStructure) costs a sixth of building the
 * shape (bench/json-shape.ts). Every row still gets its exact shape. Bounded: values over 64 KiB
 * are not kept, and the map is cleared when it holds MAX_REMEMBERED_SHAPES types.
 */
const lastShapeByType = new Map<string, { value: JsonValue; shape: string }>();
const MAX_REMEMBERED_SHAPES = 4_096;
const MAX_REMEMBERED_VALUE_BYTES = 64 * 1024;

function shapeText(eventType: string, value: JsonValue, bytes: number): string {
  const last = lastShapeByType.get(eventType);
  if (last !== undefined && sameJsonStructure(last.value, value)) return last.shape;
  const shape = cleanText(jsonShapeEntries(value).join("\n"));
  if (bytes <= MAX_REMEMBERED_VALUE_BYTES) {
    if (lastShapeByType.size >= MAX_REMEMBERED_SHAPES) lastShapeByType.clear();
    lastShapeByType.set(eventType, { value, shape });
  }
  return shape;
}

// --- COPY ---------------------------------------------------------------------------------------

async function stageByCopy(client: pg.PoolClient, rows: readonly Cell[][]): Promise<void> {
  await copyInto(client, STAGING_TABLE, rows, STAGING_COPY_TYPES, (cells, column) => cells[column] ?? null);
}

// --- multi-row INSERT -----------------------------------------------------------------------------

/** PostgreSQL allows 65535 bind parameters per statement. */
const INSERT_ROWS_PER_STATEMENT = Math.floor(65_535 / COLUMN_COUNT);

async function stageByInsert(client: pg.PoolClient, rows: readonly Cell[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += INSERT_ROWS_PER_STATEMENT) {
    const chunk = rows.slice(start, start + INSERT_ROWS_PER_STATEMENT);
    const params: unknown[] = [];
    const tuples = chunk.map((cells) => {
      const placeholders = cells.slice(0, COLUMN_COUNT).map((cell) => {
        params.push(cell);
        return `$${params.length}`;
      });
      return `(${placeholders.join(",")})`;
    });
    await client.query(`INSERT INTO ${STAGING_TABLE} VALUES ${tuples.join(",")}`, params);
  }
}

// --- staging → events ---------------------------------------------------------------------------

const eventColumns = EVENT_COLUMNS.join(", ");
const MERGE_SQL = `
WITH inserted AS (
  INSERT INTO events (${eventColumns})
  SELECT ${eventColumns} FROM ${STAGING_TABLE}
  ORDER BY source_id, channel, partition, position
  ON CONFLICT DO NOTHING
  RETURNING source_id, channel, partition, position
), dead AS (
  INSERT INTO dead_letters (source_id, channel, partition, position, "timestamp", ${DEAD_LETTER_COPIED_COLUMNS.join(", ")}, ${DEAD_LETTER_COLUMNS.join(", ")})
  SELECT DISTINCT ON (s.source_id, s.channel, s.partition, s.position) s.source_id, s.channel, s.partition, s.position, s."timestamp",
    ${DEAD_LETTER_COPIED_COLUMNS.map((column) => `s.${column}`).join(", ")},
    ${DEAD_LETTER_COLUMNS.map((column) => `s.dl_${column}`).join(", ")}
  FROM inserted i
  JOIN ${STAGING_TABLE} s ON s.source_id = i.source_id AND s.channel = i.channel AND s.partition = i.partition AND s.position = i.position
  WHERE s.dl_recognized_by IS NOT NULL
  ORDER BY s.source_id, s.channel, s.partition, s.position
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM inserted)::int AS inserted, (SELECT count(*) FROM dead)::int AS dead_letters,
  (SELECT coalesce(array_agg(source_id || ' ' || partition || ' ' || position || ' ' || channel), '{}') FROM inserted) AS positions`;

// --- what the new rows add to the per-type aggregates ---------------------------------------------

/**
 * Producers, the registry schemas each event type carried, and the shapes of each event type's
 * plain JSON values: counted for the rows that were new (so a redelivered batch counts nothing
 * twice), in the transaction that stores them. Keys are sorted, so concurrent writers lock
 * aggregate rows in the same order and wait for each other instead of deadlocking.
 */
const PRODUCERS_UPSERT = `
INSERT INTO producers AS p (source_id, topic, event_type, producer, count, first_seen_at, last_seen_at)
SELECT * FROM unnest($1::smallint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::timestamptz[])
ON CONFLICT (source_id, topic, event_type, producer) DO UPDATE SET
  count = p.count + excluded.count,
  first_seen_at = least(p.first_seen_at, excluded.first_seen_at),
  last_seen_at = greatest(p.last_seen_at, excluded.last_seen_at)`;

/** The first event's position follows first_seen_at: it changes only with an earlier first sighting. */
const FIRST_EVENT_UPDATE = (alias: string) => `
  first_source_id = CASE WHEN excluded.first_seen_at < ${alias}.first_seen_at THEN excluded.first_source_id ELSE ${alias}.first_source_id END,
  first_topic = CASE WHEN excluded.first_seen_at < ${alias}.first_seen_at THEN excluded.first_topic ELSE ${alias}.first_topic END,
  first_partition = CASE WHEN excluded.first_seen_at < ${alias}.first_seen_at THEN excluded.first_partition ELSE ${alias}.first_partition END,
  first_offset = CASE WHEN excluded.first_seen_at < ${alias}.first_seen_at THEN excluded.first_offset ELSE ${alias}.first_offset END,
  count = ${alias}.count + excluded.count,
  first_seen_at = least(${alias}.first_seen_at, excluded.first_seen_at),
  last_seen_at = greatest(${alias}.last_seen_at, excluded.last_seen_at)`;

const TYPE_SCHEMAS_UPSERT = `
INSERT INTO event_type_schemas AS t (event_type, source_id, schema_id, count, first_seen_at, last_seen_at, first_source_id, first_topic, first_partition, first_offset)
SELECT * FROM unnest($1::text[], $2::smallint[], $3::int[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::smallint[], $8::text[], $9::int[], $10::bigint[])
ON CONFLICT (event_type, source_id, schema_id) DO UPDATE SET${FIRST_EVENT_UPDATE("t")}`;

const TYPE_FIELDS_UPSERT = `
INSERT INTO event_type_fields AS t (event_type, path, json_type, count, first_seen_at, last_seen_at, first_source_id, first_topic, first_partition, first_offset)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::smallint[], $8::text[], $9::int[], $10::bigint[])
ON CONFLICT (event_type, path, json_type) DO UPDATE SET${FIRST_EVENT_UPDATE("t")}`;

interface Tally {
  parts: string[];
  count: number;
  /** ISO 8601 strings of one format order like the times they name. */
  first: string;
  last: string;
  firstAt: { sourceId: number; topic: string; partition: number; offset: string };
}

function tally(into: Map<string, Tally>, parts: string[], cells: Cell[]): void {
  const key = parts.join("\u0000");
  const timestamp = cells[CELL.timestamp] as string;
  const entry = into.get(key);
  const at = { sourceId: cells[CELL.sourceId] as number, topic: cells[CELL.topic] as string, partition: cells[CELL.partition] as number, offset: cells[CELL.offset] as string };
  if (!entry) {
    into.set(key, { parts, count: 1, first: timestamp, last: timestamp, firstAt: at });
    return;
  }
  entry.count += 1;
  if (timestamp < entry.first) {
    entry.first = timestamp;
    entry.firstAt = at;
  }
  if (timestamp > entry.last) entry.last = timestamp;
}

function sortedTallies(tallies: Map<string, Tally>): Tally[] {
  return [...tallies.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

async function recordUsage(client: pg.PoolClient, rows: readonly Cell[][]): Promise<void> {
  const producers = new Map<string, Tally>();
  const schemas = new Map<string, Tally>();
  const shapes = new Map<string, Tally>();
  for (const cells of rows) {
    const type = cells[CELL.eventType] as string | null;
    tally(producers, [String(cells[CELL.sourceId] as number), cells[CELL.topic] as string, type ?? "", (cells[CELL.producer] as string | null) ?? ""], cells);
    if (type === null) continue;
    const schemaId = cells[CELL.schemaId] as number | null;
    // A schema id is one registry's, and each source has its own.
    if (schemaId !== null) tally(schemas, [type, String(cells[CELL.sourceId] as number), String(schemaId)], cells);
    const shape = cells[SHAPE_CELL] as string | null;
    if (shape !== null) tally(shapes, [type, shape], cells);
  }
  // Each distinct shape's tally, spread over its paths.
  const fields = new Map<string, Tally>();
  for (const shape of shapes.values()) {
    const [type, entries] = shape.parts as [string, string];
    for (const entry of entries.split("\n")) {
      const tab = entry.lastIndexOf("\t");
      const parts = [type, entry.slice(0, tab), entry.slice(tab + 1)];
      const key = parts.join("\u0000");
      const known = fields.get(key);
      if (!known) {
        fields.set(key, { ...shape, parts, firstAt: shape.firstAt });
        continue;
      }
      known.count += shape.count;
      if (shape.first < known.first) {
        known.first = shape.first;
        known.firstAt = shape.firstAt;
      }
      if (shape.last > known.last) known.last = shape.last;
    }
  }
  const column = (list: Tally[], pick: (entry: Tally) => unknown) => list.map(pick);
  const firsts = (list: Tally[]) => [
    column(list, (e) => e.count),
    column(list, (e) => e.first),
    column(list, (e) => e.last),
    column(list, (e) => e.firstAt.sourceId),
    column(list, (e) => e.firstAt.topic),
    column(list, (e) => e.firstAt.partition),
    column(list, (e) => e.firstAt.offset),
  ];
  const producerList = sortedTallies(producers);
  if (producerList.length > 0) {
    await client.query(PRODUCERS_UPSERT, [
      column(producerList, (e) => Number(e.parts[0])),
      column(producerList, (e) => e.parts[1]),
      column(producerList, (e) => e.parts[2]),
      column(producerList, (e) => e.parts[3]),
      column(producerList, (e) => e.count),
      column(producerList, (e) => e.first),
      column(producerList, (e) => e.last),
    ]);
  }
  const schemaList = sortedTallies(schemas);
  if (schemaList.length > 0) {
    await client.query(TYPE_SCHEMAS_UPSERT, [
      column(schemaList, (e) => e.parts[0]),
      column(schemaList, (e) => Number(e.parts[1])),
      column(schemaList, (e) => Number(e.parts[2])),
      ...firsts(schemaList),
    ]);
  }
  const fieldList = sortedTallies(fields);
  if (fieldList.length > 0) {
    await client.query(TYPE_FIELDS_UPSERT, [
      column(fieldList, (e) => e.parts[0]),
      column(fieldList, (e) => e.parts[1]),
      column(fieldList, (e) => e.parts[2]),
      ...firsts(fieldList),
    ]);
  }
}

// --- the direct path: COPY straight into events ---------------------------------------------------

/** Identity (source, channel, partition, position) and timestamp: the first cells of a row. */
const IDENTITY_AND_TIME_CELLS = 5;
const DEAD_LETTER_ROW_COLUMNS = IDENTITY_AND_TIME_CELLS + DEAD_LETTER_COPIED_COLUMNS.length + DEAD_LETTER_COLUMNS.length;
const DEAD_LETTER_INSERT = `INSERT INTO dead_letters (source_id, channel, partition, position, "timestamp", ${DEAD_LETTER_COPIED_COLUMNS.join(", ")}, ${DEAD_LETTER_COLUMNS.join(", ")}) VALUES `;

/**
 * COPY the rows straight into events, then their dead letters and the aggregates (recordUsage). Fails with
 * unique_violation (23505) when any row is already stored (or being stored by another
 * transaction): the caller then takes the staging path, which skips those rows. Redelivery is the
 * exception, so most batches take this, the cheaper path.
 */
/** The flow steps of stored rows: one per (row, entity of it), for the fold's inbox. */
function flowStepsOf(rows: readonly Cell[][]): FlowInboxRow[] {
  const steps: FlowInboxRow[] = [];
  for (const cells of rows) {
    const step = cells[STEP_CELL] as string | null;
    if (step === null) continue;
    const keys = cells[CELL.entityKeys] as readonly string[];
    const kinds = cells[CELL.entityKinds] as readonly string[];
    const place = placeOf(cells[CELL.topic] as string, cells[CELL.partition] as number);
    const fingerprint = (cells[CELL.fingerprint] as number | null) ?? 0;
    for (let i = 0; i < keys.length; i++) {
      steps.push({ kind: kinds[i]!, key: keys[i]!, at: cells[CELL.timestamp] as string, step, sign: 1, place, fingerprint });
    }
  }
  return steps;
}

async function insertDirect(client: pg.PoolClient, rows: readonly Cell[][], flows: boolean): Promise<IngestResult> {
  await copyInto(client, `events (${eventColumns})`, rows, EVENT_COPY_TYPES, (cells, column) => cells[column] ?? null);

  const dead = rows.filter((cells) => cells[EVENT_COLUMNS.length] !== null);
  const perStatement = Math.floor(65_535 / DEAD_LETTER_ROW_COLUMNS);
  for (let start = 0; start < dead.length; start += perStatement) {
    const params: Cell[] = [];
    const tuples = dead.slice(start, start + perStatement).map((cells) => {
      const values = [...cells.slice(0, IDENTITY_AND_TIME_CELLS), ...DEAD_LETTER_COPIED_CELLS.map((i) => cells[i]!), ...cells.slice(EVENT_COLUMNS.length, COLUMN_COUNT)];
      return `(${values.map((value) => (params.push(value), `$${params.length}`)).join(",")})`;
    });
    await client.query(DEAD_LETTER_INSERT + tuples.join(","), params);
  }

  await recordUsage(client, rows);
  if (flows) await queueFlowSteps(client, flowStepsOf(rows));
  return { inserted: rows.length, deadLetters: dead.length };
}

// --- a topic deleted and created again ---------------------------------------------------------

/**
 * A redelivered record is the same record: same key, same size, same timestamp (CreateTime as the
 * producer set it, or LogAppendTime as the broker did; either is part of the stored batch). When a
 * staged row meets a stored row at the same (topic, partition, offset) that differs in any of
 * them, the partition's log is not the one that was stored: the topic was deleted and created
 * again (Kafka starts a new topic's offsets at 0 again; our broker speaks Metadata versions
 * without topic ids, so the offsets themselves are the only clue). A row stored with the time of
 * ingestion (flag timestamp-invalid) has no comparable timestamp.
 */
const RESET_PARTITIONS_SQL = `
SELECT s.source_id, s.channel AS topic, s.partition,
  (SELECT min(b.position) FROM ${STAGING_TABLE} b
   WHERE b.source_id = s.source_id AND b.channel = s.channel AND b.partition = s.partition)::text AS from_offset
FROM ${STAGING_TABLE} s
JOIN events e ON e.source_id = s.source_id AND e.channel = s.channel AND e.partition = s.partition AND e.position = s.position
WHERE e.size <> s.size
   OR e.key IS DISTINCT FROM s.key
   OR e.key_bytes IS DISTINCT FROM s.key_bytes
   OR (e."timestamp" <> s."timestamp"
       AND NOT 'timestamp-invalid' = ANY(e.flags) AND NOT 'timestamp-invalid' = ANY(s.flags))
GROUP BY s.source_id, s.channel, s.partition
ORDER BY s.source_id, s.channel, s.partition`;

/**
 * Finds partitions whose log restarted below what was stored (see RESET_PARTITIONS_SQL) and
 * deletes the previous incarnation's rows of each from the batch's first offset on: the batch and
 * what follows it are the new log from there (a partition is always read in order), while rows
 * below it are either the new log's, stored earlier, or were never reached by the new log. Only the
 * staging path runs this: a batch without any stored row cannot collide with an old incarnation.
 */
async function retirePreviousIncarnations(client: pg.PoolClient, flows: boolean): Promise<RecreatedPartition[]> {
  const { rows } = await client.query<{ source_id: number; topic: string; partition: number; from_offset: string }>(RESET_PARTITIONS_SQL);
  const recreated: RecreatedPartition[] = [];
  for (const row of rows) {
    // The previous incarnation's dead letters go with its events (and their replays with them):
    // the new log's records at those offsets are other records.
    const at = [row.source_id, row.topic, row.partition, row.from_offset];
    // Their steps leave their entities' paths (read before the dead letters go: they decide the step).
    if (flows) {
      const { rows: leaving } = await client.query<StoredStepRow>(
        `SELECT ${STEP_COLUMNS} FROM events e WHERE e.source_id = $1 AND e.channel = $2 AND e.partition = $3 AND e.position >= $4::bigint`,
        at,
      );
      await queueFlowSteps(client, leaving.flatMap((event) => leavingSteps(event)));
    }
    await client.query(`DELETE FROM dead_letters WHERE source_id = $1 AND channel = $2 AND partition = $3 AND position >= $4::bigint`, at);
    const { rowCount } = await client.query(
      `DELETE FROM events WHERE source_id = $1 AND channel = $2 AND partition = $3 AND position >= $4::bigint`,
      at,
    );
    recreated.push({ sourceId: row.source_id, topic: row.topic, partition: row.partition, fromOffset: row.from_offset, deletedRows: rowCount ?? 0 });
  }
  return recreated;
}

/** Connections that already have the staging table (it lives as long as the session). */
const clientsWithStaging = new WeakSet<pg.PoolClient>();

async function ingestCells(
  pool: pg.Pool,
  rows: readonly Cell[][],
  method: IngestMethod,
  flows: boolean,
): Promise<IngestResult> {
  const client = await pool.connect();
  let broken = false;
  const inTransaction = async (run: () => Promise<IngestResult>): Promise<IngestResult> => {
    await client.query("BEGIN");
    try {
      const result = await run();
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw error;
    }
  };
  try {
    if (method === "copy") {
      try {
        return await inTransaction(() => insertDirect(client, rows, flows));
      } catch (error) {
        // 23505 unique_violation: some rows are stored already; the staging path skips them.
        if (sqlState(error) !== "23505" || broken) throw error;
      }
    }
    if (!clientsWithStaging.has(client)) {
      await client.query(STAGING_DDL);
      clientsWithStaging.add(client);
    }
    return await inTransaction(async () => {
      if (method === "insert") await stageByInsert(client, rows);
      else await stageByCopy(client, rows);
      const recreated = await retirePreviousIncarnations(client, flows);
      const { rows: result } = await client.query<{ inserted: number; dead_letters: number; positions: string[] }>(MERGE_SQL);
      const inserted = new Set(result[0]!.positions);
      const insertedRows = rows.filter((cells) =>
        inserted.has(`${cells[CELL.sourceId] as number} ${cells[CELL.partition] as number} ${cells[CELL.offset] as string} ${cells[CELL.topic] as string}`),
      );
      await recordUsage(client, insertedRows);
      if (flows) await queueFlowSteps(client, flowStepsOf(insertedRows));
      return {
        inserted: result[0]!.inserted,
        deadLetters: result[0]!.dead_letters,
        ...(recreated.length > 0 ? { recreated } : {}),
      };
    });
  } catch (error) {
    // A connection that failed mid-COPY or lost its server must not go back to the pool.
    broken ||= isConnectionLevel(error);
    throw error;
  } finally {
    client.release(broken);
  }
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function isConnectionLevel(error: unknown): boolean {
  const code = sqlState(error);
  return code === undefined || code.startsWith("08") || code.startsWith("57");
}

/**
 * PostgreSQL refused something in the data (an invalid value class 22, a size limit class 54):
 * not worth retrying as is, but the other rows of the batch must still be stored.
 */
function isDataError(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && (code.startsWith("22") || code.startsWith("54"));
}

/**
 * Stores the rows; returns how many were new. Idempotent per (source, topic, partition, offset).
 * A retriable DatabaseError (server down, restarting, out of connections) means nothing of this
 * call was stored: retry the same rows later.
 */
export async function ingestEvents(
  db: { pool: pg.Pool },
  rows: readonly EventRow[],
  options: IngestOptions = {},
): Promise<IngestResult> {
  if (rows.length === 0) return { inserted: 0, deadLetters: 0 };
  const method = options.method ?? "copy";
  const flows = options.flows ?? true;
  const now = new Date();
  rows = sortByPosition(rows);
  try {
    return await ingestCells(db.pool, rows.map((row) => toCells(row, now, false)), method, flows);
  } catch (error) {
    if (!isDataError(error)) throw toDatabaseError(error, `storing ${rows.length} events`);
  }
  // Some row is unstorable as extracted. Find it by halving, so the rest of the batch is stored
  // normally, and store that row degraded (bytes only) instead of blocking the collector on it.
  return ingestHalves(db.pool, rows, method, now, flows);
}

/**
 * Rows in (source, topic, partition, offset) order: concurrent writers of overlapping batches then take
 * their row locks in the same order, and wait for each other instead of deadlocking.
 */
function sortByPosition(rows: readonly EventRow[]): readonly EventRow[] {
  const keyed = rows.map((row) => ({ row, offset: BigInt(row.offset) }));
  keyed.sort((a, b) =>
    a.row.sourceId !== b.row.sourceId
      ? a.row.sourceId - b.row.sourceId
      : a.row.topic < b.row.topic
      ? -1
      : a.row.topic > b.row.topic
        ? 1
        : a.row.partition - b.row.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0),
  );
  return keyed.map((entry) => entry.row);
}

async function ingestHalves(
  pool: pg.Pool,
  rows: readonly EventRow[],
  method: IngestMethod,
  now: Date,
  flows: boolean,
): Promise<IngestResult> {
  if (rows.length === 1) return ingestDegraded(pool, rows[0]!, method, now, flows);
  const middle = Math.ceil(rows.length / 2);
  let total: IngestResult = { inserted: 0, deadLetters: 0 };
  for (const half of [rows.slice(0, middle), rows.slice(middle)]) {
    let result: IngestResult;
    try {
      result = await ingestCells(pool, half.map((row) => toCells(row, now, false)), method, flows);
    } catch (error) {
      if (!isDataError(error)) throw toDatabaseError(error, `storing ${half.length} events`);
      result = await ingestHalves(pool, half, method, now, flows);
    }
    const recreated = [...(total.recreated ?? []), ...(result.recreated ?? [])];
    total = {
      inserted: total.inserted + result.inserted,
      deadLetters: total.deadLetters + result.deadLetters,
      ...(recreated.length > 0 ? { recreated } : {}),
    };
  }
  return total;
}

async function ingestDegraded(
  pool: pg.Pool,
  row: EventRow,
  method: IngestMethod,
  now: Date,
  flows: boolean,
): Promise<IngestResult> {
  try {
    return await ingestCells(pool, [toCells(row, now, true)], method, flows);
  } catch (error) {
    if (!isDataError(error)) throw toDatabaseError(error, "storing 1 event");
    throw new DatabaseError(
      `PostgreSQL refuses event ${row.topic}/${row.partition}/${String(row.offset)} even as bytes: ${
        (error as Error).message
      }`,
      { retriable: false, code: sqlState(error), cause: error },
    );
  }
}

// --- values decoded after the fact ---------------------------------------------------------------

/** The columns a later decoding of a stored record may change (a Schema Registry value, say). */
const REDECODED_COLUMNS = ["value_kind", "value_json", "value_text", "value_bytes", "event_type", "entity_keys", "entity_kinds", "producer", "flags", "schema_id"] as const;
const REDECODED_CELLS = REDECODED_COLUMNS.map((column) => EVENT_COLUMNS.indexOf(column));
/** Of those, the ones a dead letter keeps its own copy of: its copy gets the new reading too. */
const REDECODED_DEAD_LETTER_COLUMNS = REDECODED_COLUMNS.filter((column) => (DEAD_LETTER_COPIED_COLUMNS as readonly string[]).includes(column));
const REDECODED_DEAD_LETTER_CELLS = REDECODED_DEAD_LETTER_COLUMNS.map((column) => EVENT_COLUMNS.indexOf(column));

/**
 * Stores a new reading of records already stored (same topic, partition and offset): their value,
 * event type, entity keys, producer, flags and schema id, as extraction gives them now. Returns how
 * many rows changed. Key, headers and timestamp are the record's and stay as they are. A dead
 * letter's own copy of the record gets the new reading too (its inbox row, replay dialog and
 * search show it decoded). The aggregates follow: the producers row counted for the old reading
 * loses the record, the new reading is counted (recordUsage).
 */
export async function replaceDecodedEvents(db: { pool: pg.Pool }, rows: readonly EventRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const now = new Date();
  const sets = REDECODED_COLUMNS.map((column, i) => `${column} = $${i + 5}${column === "value_kind" ? "::value_kind" : ""}`).join(", ");
  const sql = `UPDATE events e SET ${sets} FROM (SELECT event_type, producer FROM events
      WHERE source_id = $1 AND channel = $2 AND partition = $3 AND position = $4::bigint FOR UPDATE) old
    WHERE e.source_id = $1 AND e.channel = $2 AND e.partition = $3 AND e.position = $4::bigint
    RETURNING coalesce(old.event_type, '') AS old_type, coalesce(old.producer, '') AS old_producer`;
  // The step the stored reading stood for, taken away from its entities before the new one counts.
  const stepSql = `SELECT ${STEP_COLUMNS} FROM events e
    WHERE e.source_id = $1 AND e.channel = $2 AND e.partition = $3 AND e.position = $4::bigint`;
  const deadLetterSets = REDECODED_DEAD_LETTER_COLUMNS.map((column, i) => `${column} = $${i + 5}${column === "value_kind" ? "::value_kind" : ""}`).join(", ");
  const deadLetterSql = `UPDATE dead_letters SET ${deadLetterSets} WHERE source_id = $1 AND channel = $2 AND partition = $3 AND position = $4::bigint`;
  let client: pg.PoolClient | undefined;
  try {
    client = await db.pool.connect();
    await client.query("BEGIN");
    const changed: Cell[][] = [];
    const leaving: FlowInboxRow[] = [];
    const uncounted = new Map<string, { sourceId: number; topic: string; type: string; producer: string; count: number }>();
    for (const row of sortByPosition(rows)) {
      const cells = toCells(row, now, false);
      const identity = cells.slice(0, IDENTITY_AND_TIME_CELLS - 1);
      const { rows: before } = await client.query<StoredStepRow>(stepSql, identity);
      const { rows: old } = await client.query<{ old_type: string; old_producer: string }>(sql, [
        ...identity,
        ...REDECODED_CELLS.map((i) => cells[i]),
      ]);
      if (old.length === 0) continue;
      await client.query(deadLetterSql, [...identity, ...REDECODED_DEAD_LETTER_CELLS.map((i) => cells[i])]);
      changed.push(cells);
      for (const row of before) leaving.push(...leavingSteps(row));
      const topic = cells[CELL.topic] as string;
      const sourceId = cells[CELL.sourceId] as number;
      const key = [sourceId, topic, old[0]!.old_type, old[0]!.old_producer].join("\u0000");
      const entry = uncounted.get(key) ?? { sourceId, topic, type: old[0]!.old_type, producer: old[0]!.old_producer, count: 0 };
      entry.count += 1;
      uncounted.set(key, entry);
    }
    for (const [, entry] of [...uncounted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const at = [entry.sourceId, entry.topic, entry.type, entry.producer];
      const where = "source_id = $1 AND topic = $2 AND event_type = $3 AND producer = $4";
      await client.query(`UPDATE producers SET count = greatest(count - $5, 0) WHERE ${where}`, [...at, entry.count]);
      await client.query(`DELETE FROM producers WHERE ${where} AND count = 0`, at);
    }
    await recordUsage(client, changed);
    await queueFlowSteps(client, [...leaving, ...flowStepsOf(changed)]);
    await client.query("COMMIT");
    return changed.length;
  } catch (error) {
    await client?.query("ROLLBACK").catch(() => undefined);
    throw toDatabaseError(error, "storing decoded events");
  } finally {
    client?.release();
  }
}

/** A stored record as it was received, for extracting it again. */
export interface StoredRecord {
  sourceId: number;
  topic: string;
  partition: number;
  offset: string;
  /** Epoch ms, decimal (kafkajs's form). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: StoredHeader[];
}

/**
 * Up to `limit` records of `topics` stored while the Schema Registry could not be reached (flag
 * schema-registry-unavailable), oldest first, as received. events_registry_pending_idx holds only
 * those rows (its predicate is this query's, literally, so the planner can use it).
 */
export async function listRecordsAwaitingRegistry(
  db: { pool: pg.Pool },
  sourceId: number,
  topics: readonly string[],
  limit: number,
): Promise<StoredRecord[]> {
  try {
    const { rows } = await db.pool.query<{
      topic: string;
      partition: number;
      offset: string;
      ms: string;
      key: string | null;
      key_bytes: Buffer | null;
      value_text: string | null;
      value_bytes: Buffer | null;
      headers: StoredHeader[];
    }>(
      `SELECT channel AS topic, partition, position::text AS "offset", (extract(epoch FROM "timestamp") * 1000)::bigint::text AS ms,
         key, key_bytes, value_text, value_bytes, headers
       FROM events WHERE 'schema-registry-unavailable' = ANY(flags) AND source_id = $3 AND channel = ANY($1::text[])
       ORDER BY ingested_at LIMIT $2`,
      [[...topics], limit, sourceId],
    );
    return rows.map((row) => ({
      sourceId,
      topic: row.topic,
      partition: row.partition,
      offset: row.offset,
      timestamp: row.ms,
      key: row.key_bytes ?? (row.key !== null ? Buffer.from(row.key, "utf8") : null),
      value: row.value_bytes ?? (row.value_text !== null ? Buffer.from(row.value_text, "utf8") : null),
      headers: Array.isArray(row.headers) ? row.headers : [],
    }));
  } catch (error) {
    throw toDatabaseError(error, "listing events stored while the schema registry was unavailable");
  }
}
