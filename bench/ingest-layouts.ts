import { saveStandaloneResult } from "./results.ts";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { DEFAULT_EXTRACT_OPTIONS } from "../server/collector/extract/index.ts";
import { toEventRow } from "../server/collector/to-event-row.ts";
import { connectDatabase, ingestEvents, runMigrations, type Database, type EventRow } from "../server/db/index.ts";
import { findFreePort, makeTemporaryDataDir, startEmbeddedPostgres } from "../server/db/embedded.ts";
import { benchMessage } from "./collector.ts";

/**
 * Ingest speed: what the layout of the events table and the way rows are sent cost the
 * write path, with the schema's new identity (source_id smallint, channel, partition, position).
 * Self-contained: each variant gets a database of its own in one throw-away embedded PostgreSQL
 * (normal durability: fsync and synchronous_commit on), with its own CREATE TABLE statements; the
 * rows are the collector benchmark's ~1 KB JSON events (6 headers: traceparent, CloudEvents ce_*,
 * content-type; entity orderId) run through the collector's own extraction (toEventRow), so
 * every variant starts from the same EventRows and pays its own encoding.
 *
 * The variants take turns (A B C … A B C …), `--round` rows each per turn, so that other load on
 * the shared 2-core machine slows them alike: compare ratios, not absolute rates. Per variant:
 * rows/s over its turns (the wall time of build + COPY + commit), Node CPU µs per row (this
 * process, building and driving the COPY), PostgreSQL CPU µs per row (its backends; and every
 * postgres process, WAL writer and checkpointer included, which another variant's turn can
 * leave behind), and the cores busy during its turns.
 *
 * First, without the database: Node's CPU per row to build the COPY data (text as ingestEvents
 * builds it, binary), and per event for the collector's extraction (toEventRow) with and without
 * the build. Last, per layout: a timeline by entity and a header search (key=value) as that layout
 * answers them (p50 / p95 ms over 300 lookups; small tables, so this checks plans, not scale).
 *
 *   npx tsx bench/ingest-layouts.ts [--rows N] [--batch B] [--round R] [--variants a,b,...] [--no-reads] [--no-save]
 *
 * Layouts (LAYOUTS below): base-* (today's indexes), side-* (GINs replaced by side tables),
 * part-* (daily partitions), lookup (one narrow lookup table), lean* (the recommendation of
 * bench/ingest-layouts.md), pk-* (the floor), current (server/db's own ingestEvents).
 * Variant names are `layout@mode`; mode is `serial` (build a batch, write it, repeat; the
 * default), `pipelined` (build the next batch while the previous one is written, one connection)
 * or `two-conn` (two writers, each building and writing its own batches, two COPYs in flight).
 */

// ------------------------------------------------------------------ layouts

type Format = "text" | "binary";

export interface Layout {
  description: string;
  format: Format;
  /** How the value is stored: jsonb (parsed by PostgreSQL on write), or the received bytes (bytea, parsed when read). */
  value: "jsonb" | "bytea";
  /** How the headers are stored: jsonb (GIN-searchable), or the same JSON as text (searched through event_headers). */
  headers: "jsonb" | "text";
  /** Secondary indexes on events. */
  /**
   * today: the migrations' indexes (GIN over entity keys and headers). side: the same btrees, GINs
   * replaced by event_entities and event_headers. lookup: one narrow table event_lookup (kind,
   * name, value, ts) for entity keys, message keys, trace ids and selected headers, one btree;
   * events keep their primary key, a BRIN on the timestamp and the two partial indexes.
   */
  indexes: "today" | "side" | "lookup" | "lean" | "primary-key-only";
  /**
   * lean: the first entity key in a column of its own, btree (entity_key, ts) on events (an index
   * entry instead of a side-table row); further keys in event_entities; the timestamp btree, or a
   * BRIN with `brin`; the other btrees as today; selected headers in event_headers.
   */
  brin?: boolean;
  /** lookup only: keep the btrees (event_type, ts) and (channel, ts) too. */
  typeAndChannelIndexes?: boolean;
  /** event_headers rows: none, every header, or only those not already derived into a column. */
  headerRows: "none" | "all" | "underived" | "selective";
  /** Daily range partitions on the timestamp (the primary key then includes it). */
  partitioned: boolean;
  /** Idempotency: the primary key, or a per-partition stored-position watermark (no unique index). */
  idempotency: "primary-key" | "watermark";
  /** Run server/db's ingestEvents on the migrated schema instead (old identity: topic, offset). */
  current?: boolean;
}

const base: Omit<Layout, "description"> = {
  format: "text",
  value: "jsonb",
  headers: "jsonb",
  indexes: "today",
  headerRows: "none",
  partitioned: false,
  idempotency: "primary-key",
};

export const LAYOUTS: Record<string, Layout> = {
  current: { ...base, current: true, description: "server/db ingestEvents on the migrated schema (topic/offset identity), dead letters and aggregates included" },
  "base-text": { ...base, description: "today's events DDL with the new identity, text COPY built as ingestEvents builds it" },
  "base-binary": { ...base, format: "binary", description: "same DDL, binary COPY" },
  "base-binary-raw": { ...base, format: "binary", value: "bytea", description: "today's indexes, value as received bytes (bytea) instead of jsonb" },
  "side-binary": {
    ...base,
    format: "binary",
    headers: "text",
    indexes: "side",
    headerRows: "underived",
    description: "GINs replaced by event_entities (entity_key, ts) and event_headers (key, value, ts) for headers not derived into columns; headers as text; value jsonb",
  },
  "side-binary-raw": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "side",
    headerRows: "underived",
    description: "as side-binary, value as bytea",
  },
  "side-allh-binary-raw": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "side",
    headerRows: "all",
    description: "as side-binary-raw, every header in event_headers",
  },
  "side-noh-binary-raw": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "side",
    headerRows: "none",
    description: "as side-binary-raw without event_headers (event_entities only)",
  },
  "part-binary-raw": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "side",
    headerRows: "underived",
    partitioned: true,
    description: "as side-binary-raw, events and side tables in daily range partitions, PK (source_id, channel, partition, position, ts)",
  },
  "part-wm-binary-raw": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "side",
    headerRows: "underived",
    partitioned: true,
    idempotency: "watermark",
    description: "as part-binary-raw without a unique index: a stored-position watermark per partition, locked and advanced in the batch's transaction",
  },
  lookup: {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "lookup",
    headerRows: "selective",
    partitioned: true,
    description:
      "daily partitions, PK (identity, ts), BRIN (ts), partial indexes; event_lookup btree (kind, name, value, ts) for entity, key, trace id and headers neither derived nor low-cardinality; value bytea, headers text",
  },
  "lookup+type": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "lookup",
    typeAndChannelIndexes: true,
    headerRows: "selective",
    partitioned: true,
    description: "as lookup, plus btrees (event_type, ts) and (channel, ts)",
  },
  lean: {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "lean",
    headerRows: "selective",
    partitioned: true,
    description:
      "daily partitions, PK (identity, ts); entity_key column + btree (entity_key, ts) (more keys in event_entities); btrees ts, (channel, ts), (event_type, ts), trace, hash key; event_headers for headers neither derived nor low-cardinality; value bytea, headers text",
  },
  "lean-brin": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "lean",
    brin: true,
    headerRows: "selective",
    partitioned: true,
    description: "as lean, BRIN instead of the btree on the timestamp",
  },
  "lean-noh": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "lean",
    headerRows: "none",
    partitioned: true,
    description: "as lean without event_headers",
  },
  "pk-binary-raw": {
    ...base,
    format: "binary",
    value: "bytea",
    headers: "text",
    indexes: "primary-key-only",
    description: "floor: primary key only, value bytea, headers text, no side tables",
  },
};

type Mode = "serial" | "pipelined" | "two-conn";
const MODES: readonly Mode[] = ["serial", "pipelined", "two-conn"];

/** What `npx tsx bench/ingest-layouts.ts` runs without --variants (about 6 minutes for 200k rows on the 2-core machine). */
export const DEFAULT_VARIANTS = [
  "current@serial",
  "base-text@serial",
  "base-binary@serial",
  "base-binary-raw@serial",
  "side-binary-raw@serial",
  "side-allh-binary-raw@serial",
  "side-noh-binary-raw@serial",
  "part-wm-binary-raw@serial",
  "lookup@serial",
  "lean@serial",
  "lean-brin@serial",
  "lean-noh@serial",
  "pk-binary-raw@serial",
  "base-text@two-conn",
  "lean@two-conn",
  "lean@pipelined",
  "pk-binary-raw@two-conn",
]

/** Headers whose values are shared by nearly every event (a search by them is a newest-first scan with a filter): not indexed by `selective`. */
const LOW_CARDINALITY_HEADERS = new Set(["content-type", "ce_specversion", "ce_datacontenttype"]);

/** Headers the extraction already turns into columns (trace_id, event_type, producer): no event_headers row needed to find them. */
const DERIVED_HEADERS = new Set(["traceparent", "tracestate", "ce_type", "ce_source", "event-type", "type", "producer", "service"]);

const IDENTITY = `source_id smallint NOT NULL, channel text NOT NULL, partition int NOT NULL, position bigint NOT NULL`;

export function ddl(layout: Layout): string[] {
  const statements: string[] = [`CREATE TYPE value_kind AS ENUM ('json', 'text', 'binary')`];
  const valueJson = layout.value === "jsonb" ? "jsonb" : "bytea";
  const headers = layout.headers === "jsonb" ? "jsonb NOT NULL DEFAULT '[]'" : "text NOT NULL";
  const unique = layout.idempotency === "primary-key";
  const pk = layout.partitioned ? `(source_id, channel, partition, position, "timestamp")` : `(source_id, channel, partition, position)`;
  statements.push(`CREATE TABLE events (
    ${IDENTITY},
    "timestamp" timestamptz(3) NOT NULL,
    key text, key_bytes bytea, value_kind value_kind, value_json ${valueJson}, value_text text, value_bytes bytea,
    headers ${headers}, size int NOT NULL, event_type text, entity_keys text[] DEFAULT ARRAY[]::text[],
    trace_id text, parent_span_id text, producer text, prior_failure jsonb, flags text[] DEFAULT ARRAY[]::text[],
    undecodable jsonb, schema_id int, ingested_at timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP${layout.indexes === "lean" ? ", entity_key text" : ""}
    ${unique ? `, PRIMARY KEY ${pk}` : ""}
  )${layout.partitioned ? ` PARTITION BY RANGE ("timestamp")` : ""}`);
  if (layout.indexes === "lookup") {
    const part = layout.partitioned ? ` PARTITION BY RANGE (ts)` : "";
    statements.push(
      `CREATE INDEX events_timestamp_brin ON events USING BRIN ("timestamp")`,
      `CREATE INDEX events_undecodable_idx ON events (channel, ingested_at DESC) WHERE undecodable IS NOT NULL`,
      `CREATE INDEX events_registry_pending_idx ON events (ingested_at) WHERE 'schema-registry-unavailable' = ANY(flags)`,
      `CREATE TABLE event_lookup (kind "char" NOT NULL, name text NOT NULL, value text NOT NULL, ts timestamptz(3) NOT NULL, ${IDENTITY})${part}`,
      `CREATE INDEX event_lookup_idx ON event_lookup (kind, name, value, ts)`,
    );
    if (layout.typeAndChannelIndexes) {
      statements.push(
        `CREATE INDEX events_channel_timestamp_idx ON events (channel, "timestamp" DESC)`,
        `CREATE INDEX events_event_type_timestamp_idx ON events (event_type, "timestamp" DESC)`,
      );
    }
  }
  if (layout.indexes === "today" || layout.indexes === "side" || layout.indexes === "lean") {
    statements.push(
      layout.brin ? `CREATE INDEX events_timestamp_brin ON events USING BRIN ("timestamp")` : `CREATE INDEX events_timestamp_idx ON events ("timestamp" DESC)`,
      `CREATE INDEX events_channel_timestamp_idx ON events (channel, "timestamp" DESC)`,
      `CREATE INDEX events_event_type_timestamp_idx ON events (event_type, "timestamp" DESC)`,
      `CREATE INDEX events_trace_idx ON events (trace_id, "timestamp") WHERE trace_id IS NOT NULL`,
      `CREATE INDEX events_undecodable_idx ON events (channel, ingested_at DESC) WHERE undecodable IS NOT NULL`,
      `CREATE INDEX events_registry_pending_idx ON events (ingested_at) WHERE 'schema-registry-unavailable' = ANY(flags)`,
    );
    statements.push(`CREATE INDEX events_key_idx ON events USING HASH (key)`);
  }
  if (layout.indexes === "today") {
    statements.push(
      `CREATE INDEX events_entity_keys_idx ON events USING GIN (entity_keys)`,
      `CREATE INDEX events_headers_idx ON events USING GIN (headers jsonb_path_ops)`,
    );
  }
  if (layout.indexes === "lean") statements.push(`CREATE INDEX events_entity_key_idx ON events (entity_key, "timestamp")`);
  if (layout.indexes === "side" || layout.indexes === "lean") {
    const part = layout.partitioned ? ` PARTITION BY RANGE (ts)` : "";
    statements.push(
      `CREATE TABLE event_entities (entity_key text NOT NULL, ts timestamptz(3) NOT NULL, ${IDENTITY})${part}`,
      `CREATE INDEX event_entities_key_ts_idx ON event_entities (entity_key, ts)`,
      `CREATE TABLE event_headers (key text NOT NULL, value text, ts timestamptz(3) NOT NULL, ${IDENTITY})${part}`,
      `CREATE INDEX event_headers_key_value_ts_idx ON event_headers (key, value, ts)`,
    );
  }
  if (layout.partitioned) {
    const day = 86_400_000;
    const today = Math.floor(Date.now() / day) * day;
    for (let d = -3; d <= 2; d++) {
      const from = new Date(today + d * day).toISOString();
      const to = new Date(today + (d + 1) * day).toISOString();
      const suffix = from.slice(0, 10).replaceAll("-", "");
      statements.push(`CREATE TABLE events_${suffix} PARTITION OF events FOR VALUES FROM ('${from}') TO ('${to}')`);
      if (layout.indexes === "lookup") {
        statements.push(`CREATE TABLE event_lookup_${suffix} PARTITION OF event_lookup FOR VALUES FROM ('${from}') TO ('${to}')`);
      }
      if (layout.indexes === "side" || layout.indexes === "lean") {
        statements.push(
          `CREATE TABLE event_entities_${suffix} PARTITION OF event_entities FOR VALUES FROM ('${from}') TO ('${to}')`,
          `CREATE TABLE event_headers_${suffix} PARTITION OF event_headers FOR VALUES FROM ('${from}') TO ('${to}')`,
        );
      }
    }
  }
  if (layout.idempotency === "watermark") {
    statements.push(`CREATE TABLE stored_positions (source_id smallint NOT NULL, channel text NOT NULL, partition int NOT NULL,
      next_position bigint NOT NULL, PRIMARY KEY (source_id, channel, partition))`);
  }
  return statements;
}

const EVENT_COLUMNS = `source_id, channel, partition, position, "timestamp", key, key_bytes, value_kind, value_json, value_text,
  value_bytes, headers, size, event_type, entity_keys, trace_id, parent_span_id, producer, prior_failure, flags, undecodable, schema_id`;
const SIDE_COLUMNS = `source_id, channel, partition, position`;

// ------------------------------------------------------------------ the rows (as the collector extracts them)

export function makeBenchRows(count: number, channel: string): EventRow[] {
  return makeBenchRowsFrom(count, channel)(0, count);
}

/** Rows [from, to) of `count`, made on demand (positions per partition follow from the index: i % 3, i / 3). */
function makeBenchRowsFrom(count: number, channel = "orders"): (from: number, to: number) => EventRow[] {
  const now = Date.now();
  return (from, to) => {
    const rows: EventRow[] = [];
    for (let i = from; i < to; i++) {
      const m = benchMessage(i);
      const message = { key: Buffer.from(m.key), value: m.value, headers: m.headers, timestamp: String(now - count + i), attributes: 0, offset: String(Math.floor(i / 3)) };
      rows.push(toEventRow(1, channel, m.partition, message, DEFAULT_EXTRACT_OPTIONS));
    }
    return rows;
  };
}

// ------------------------------------------------------------------ text COPY (as server/db/ingest.ts builds it)

function cleanText(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}
function cleanOptional(text: string | null | undefined, max?: number): string | null {
  if (text === null || text === undefined) return null;
  const clean = cleanText(text);
  return max !== undefined && clean.length > max ? clean.slice(0, max) : clean;
}

function storedHeadersJson(row: EventRow): string {
  return JSON.stringify(
    row.headers.map((header) => {
      const key = cleanText(header.key);
      if (header.value === null) return { key, value: null, encoding: "utf8" };
      if (header.text !== null && !header.text.includes("\u0000")) return { key, value: header.text, encoding: "utf8" };
      return { key, value: header.value.toString("base64"), encoding: "base64" };
    }),
  );
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const copyEscape = (text: string) => (COPY_SPECIAL.test(text) ? text.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]!) : text);
const arrayLiteral = (items: readonly string[]) => `{${items.map((item) => `"${item.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;

type Cell = string | number | Buffer | readonly string[] | null;
function copyCell(cell: Cell): string {
  if (cell === null) return "\\N";
  if (typeof cell === "number") return String(cell);
  if (typeof cell === "string") return copyEscape(cell);
  if (Buffer.isBuffer(cell)) return `\\\\x${cell.toString("hex")}`;
  return copyEscape(arrayLiteral(cell as readonly string[]));
}

/** The cells of ingest.ts's toCells for the JSON-value path (what the benchmark's rows take). */
function textCells(row: EventRow, sourceId: number): Cell[] {
  const flags = new Set(row.flags);
  const timestamp = row.timestamp!.toISOString();
  const keyText = row.key?.kind === "text" && !row.key.text.includes("\u0000") ? row.key.text : null;
  let valueJson: string | null = null;
  if (row.value.kind === "json") {
    const text = row.value.raw.toString("utf8");
    valueJson = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
  const entityKeys = row.entityKeys.map(cleanText).filter((k) => k.length <= 256);
  return [
    sourceId,
    row.topic,
    row.partition,
    String(row.offset),
    timestamp,
    keyText,
    null,
    row.value.kind === "json" ? "json" : "binary",
    valueJson,
    null,
    row.value.kind === "json" ? null : (row.value as { raw: Buffer }).raw,
    storedHeadersJson(row),
    row.sizeBytes,
    cleanOptional(row.eventType, 256),
    entityKeys,
    cleanOptional(row.trace.traceId, 64),
    cleanOptional(row.trace.parentSpanId, 64),
    cleanOptional(row.producer, 256),
    null,
    [...flags].map(cleanText),
    null,
    null,
  ];
}

// ------------------------------------------------------------------ binary COPY

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TEXT_OID = 25;
const BINARY_HEADER = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);

/** A growing buffer of COPY BINARY tuples: int32 length + bytes per field, -1 for NULL. */
class BinaryCopyWriter {
  buf: Buffer;
  pos = 0;
  constructor(size = 1 << 20, header = true) {
    this.buf = Buffer.allocUnsafe(size);
    if (header) this.bytes(BINARY_HEADER);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
  private bytes(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
  tuple(fields: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(fields, this.pos);
    this.pos += 2;
  }
  nullField(): void {
    this.ensure(4);
    this.buf.writeInt32BE(-1, this.pos);
    this.pos += 4;
  }
  /** The one-byte "char" type. */
  char(v: number): void {
    this.ensure(5);
    this.buf.writeInt32BE(1, this.pos);
    this.buf[this.pos + 4] = v;
    this.pos += 5;
  }
  int2(v: number): void {
    this.ensure(6);
    this.buf.writeInt32BE(2, this.pos);
    this.buf.writeInt16BE(v, this.pos + 4);
    this.pos += 6;
  }
  int4(v: number): void {
    this.ensure(8);
    this.buf.writeInt32BE(4, this.pos);
    this.buf.writeInt32BE(v, this.pos + 4);
    this.pos += 8;
  }
  /** An int64 given as a number within ±2^53. */
  int8(v: number): void {
    this.ensure(12);
    this.buf.writeInt32BE(8, this.pos);
    const hi = Math.floor(v / 4294967296);
    this.buf.writeInt32BE(hi, this.pos + 4);
    this.buf.writeUInt32BE(v - hi * 4294967296, this.pos + 8);
    this.pos += 12;
  }
  /** timestamptz: microseconds since 2000-01-01 UTC. */
  timestamptz(ms: number): void {
    this.int8((ms - PG_EPOCH_MS) * 1000);
  }
  text(s: string | null): void {
    if (s === null) return this.nullField();
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, "utf8");
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
  }
  bytea(b: Buffer | null): void {
    if (b === null) return this.nullField();
    this.ensure(4 + b.length);
    this.buf.writeInt32BE(b.length, this.pos);
    b.copy(this.buf, this.pos + 4);
    this.pos += 4 + b.length;
  }
  /** jsonb: version byte 1, then the JSON text; `skip` bytes of the source left out (a BOM). */
  jsonbBytes(b: Buffer, skip = 0): void {
    const n = b.length - skip;
    this.ensure(5 + n);
    this.buf.writeInt32BE(n + 1, this.pos);
    this.buf[this.pos + 4] = 1;
    b.copy(this.buf, this.pos + 5, skip);
    this.pos += 5 + n;
  }
  jsonbText(s: string): void {
    this.ensure(5 + s.length * 3);
    const n = this.buf.write(s, this.pos + 5, "utf8");
    this.buf.writeInt32BE(n + 1, this.pos);
    this.buf[this.pos + 4] = 1;
    this.pos += 5 + n;
  }
  /** text[] with one dimension, no NULLs. */
  textArray(items: readonly string[]): void {
    let size = 20;
    for (const item of items) size += 4 + item.length * 3;
    this.ensure(4 + size);
    const start = this.pos;
    let p = start + 4;
    this.buf.writeInt32BE(items.length === 0 ? 0 : 1, p);
    this.buf.writeInt32BE(0, p + 4);
    this.buf.writeInt32BE(TEXT_OID, p + 8);
    p += 12;
    if (items.length > 0) {
      this.buf.writeInt32BE(items.length, p);
      this.buf.writeInt32BE(1, p + 4);
      p += 8;
      for (const item of items) {
        const n = this.buf.write(item, p + 4, "utf8");
        this.buf.writeInt32BE(n, p);
        p += 4 + n;
      }
    }
    this.buf.writeInt32BE(p - start - 4, start);
    this.pos = p;
  }
  /** The bytes written (a copy-free view); the writer is spent. */
  take(last: boolean): Buffer {
    if (last) {
      this.ensure(2);
      this.buf.writeInt16BE(-1, this.pos);
      this.pos += 2;
    }
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    return out;
  }
}

const EVENT_FIELDS = 22;

function binaryEvent(w: BinaryCopyWriter, row: EventRow, layout: Layout, sourceId: number): void {
  const lean = layout.indexes === "lean";
  w.tuple(lean ? EVENT_FIELDS + 1 : EVENT_FIELDS);
  w.int2(sourceId);
  w.text(row.topic);
  w.int4(row.partition);
  w.int8(Number(row.offset));
  w.timestamptz(row.timestamp!.getTime());
  w.text(row.key?.kind === "text" && !row.key.text.includes("\u0000") ? row.key.text : null);
  w.nullField();
  const value = row.value;
  w.text(value.kind === "json" ? "json" : "binary");
  if (value.kind === "json") {
    const skip = value.raw[0] === 0xef && value.raw[1] === 0xbb && value.raw[2] === 0xbf ? 3 : 0;
    if (layout.value === "jsonb") w.jsonbBytes(value.raw, skip);
    else w.bytea(skip ? value.raw.subarray(skip) : value.raw);
  } else w.nullField();
  w.nullField();
  w.bytea(value.kind === "json" || value.kind === "tombstone" ? null : value.raw);
  const headers = storedHeadersJson(row);
  if (layout.headers === "jsonb") w.jsonbText(headers);
  else w.text(headers);
  w.int4(row.sizeBytes);
  w.text(cleanOptional(row.eventType, 256));
  w.textArray(row.entityKeys.length === 1 && row.entityKeys[0]!.length <= 256 ? row.entityKeys : row.entityKeys.map(cleanText).filter((k) => k.length <= 256));
  w.text(cleanOptional(row.trace.traceId, 64));
  w.text(cleanOptional(row.trace.parentSpanId, 64));
  w.text(cleanOptional(row.producer, 256));
  w.nullField();
  w.textArray(row.flags.length === 0 ? row.flags : [...new Set(row.flags)].map(cleanText));
  w.nullField();
  w.nullField();
  if (lean) w.text(row.entityKeys[0] !== undefined && row.entityKeys[0].length <= 256 ? cleanText(row.entityKeys[0]) : null);
}

/** The side tables' trailing columns: ts and the event's identity. */
function binarySide(w: BinaryCopyWriter, row: EventRow, sourceId: number): void {
  w.timestamptz(row.timestamp!.getTime());
  w.int2(sourceId);
  w.text(row.topic);
  w.int4(row.partition);
  w.int8(Number(row.offset));
}

// ------------------------------------------------------------------ building a batch

export interface BuiltBatch {
  events: Buffer[] | string[];
  entities: Buffer[];
  headers: Buffer[];
  lookup: Buffer[];
  /** Rows of the batch actually sent (the watermark variant drops those already stored). */
  rows: readonly EventRow[];
}

const SOURCE_ID = 1;
const SLICE_ROWS = 500;

/** Builds the COPY data of a batch; with `yieldEvery`, gives the event loop a turn between slices (so a COPY in flight keeps streaming). */
export async function buildBatch(layout: Layout, rows: readonly EventRow[], yieldEvery: boolean): Promise<BuiltBatch> {
  if (layout.format === "text") {
    const chunks: string[] = [];
    let chunk = "";
    for (let i = 0; i < rows.length; i++) {
      chunk += textCells(rows[i]!, SOURCE_ID).map(copyCell).join("\t") + "\n";
      if (chunk.length > 256 * 1024) {
        chunks.push(chunk);
        chunk = "";
      }
      if (yieldEvery && i % SLICE_ROWS === SLICE_ROWS - 1) await yieldToLoop();
    }
    if (chunk) chunks.push(chunk);
    return { events: chunks, entities: [], headers: [], lookup: [], rows };
  }
  const events = new BinaryCopyWriter(rows.length * 1_700);
  const side = layout.indexes === "side" || layout.indexes === "lean";
  const lean = layout.indexes === "lean";
  const entities = side ? new BinaryCopyWriter(rows.length * 80) : null;
  const headers = side && layout.headerRows !== "none" ? new BinaryCopyWriter(rows.length * 200) : null;
  const lookup = layout.indexes === "lookup" ? new BinaryCopyWriter(rows.length * 300) : null;
  const lookupRow = (kind: number, name: string, value: string, row: EventRow) => {
    lookup!.tuple(8);
    lookup!.char(kind);
    lookup!.text(name);
    lookup!.text(value);
    binarySide(lookup!, row, SOURCE_ID);
  };
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    binaryEvent(events, row, layout, SOURCE_ID);
    if (entities) {
      for (let k = 0; k < row.entityKeys.length; k++) {
        const entityKey = row.entityKeys[k]!;
        if (entityKey.length > 256 || (lean && k === 0)) continue;
        entities.tuple(6);
        entities.text(entityKey);
        binarySide(entities, row, SOURCE_ID);
      }
    }
    if (headers) {
      for (const header of row.headers) {
        if (layout.headerRows !== "all" && DERIVED_HEADERS.has(header.key.toLowerCase())) continue;
        if (layout.headerRows === "selective" && LOW_CARDINALITY_HEADERS.has(header.key.toLowerCase())) continue;
        headers.tuple(7);
        headers.text(cleanText(header.key));
        headers.text(header.text === null ? null : header.text.length <= 256 ? cleanText(header.text) : null);
        binarySide(headers, row, SOURCE_ID);
      }
    }
    if (lookup) {
      for (const entityKey of row.entityKeys) if (entityKey.length <= 256) lookupRow(0x65 /* e */, "", cleanText(entityKey), row);
      if (row.key?.kind === "text" && row.key.text.length <= 256) lookupRow(0x6b /* k */, "", cleanText(row.key.text), row);
      if (row.trace.traceId) lookupRow(0x74 /* t */, "", cleanText(row.trace.traceId), row);
      for (const header of row.headers) {
        const name = header.key.toLowerCase();
        if (DERIVED_HEADERS.has(name) || LOW_CARDINALITY_HEADERS.has(name) || header.text === null || header.text.length > 256) continue;
        lookupRow(0x68 /* h */, cleanText(header.key), cleanText(header.text), row);
      }
    }
    if (yieldEvery && i % SLICE_ROWS === SLICE_ROWS - 1) await yieldToLoop();
  }
  return {
    events: [events.take(true)],
    lookup: lookup ? [lookup.take(true)] : [],
    entities: entities ? [entities.take(true)] : [],
    headers: headers ? [headers.take(true)] : [],
    rows,
  };
}

// ------------------------------------------------------------------ writing a batch

async function copyInto(client: pg.PoolClient, sql: string, chunks: readonly (Buffer | string)[]): Promise<void> {
  if (chunks.length === 0) return;
  await pipeline(Readable.from(chunks), client.query(copyFrom(sql)));
}

export async function writeBatch(client: pg.PoolClient, layout: Layout, built: BuiltBatch): Promise<void> {
  const binary = layout.format === "binary" ? " WITH (FORMAT binary)" : "";
  await client.query("BEGIN");
  try {
    let batch = built;
    let advance: { partition: number; next: number }[] = [];
    if (layout.idempotency === "watermark") {
      // The rows' partitions, locked in order (two writers of one partition wait for each other),
      // then rows below the stored watermark are dropped, and the watermark moves past the batch.
      const last = new Map<number, number>();
      for (const row of built.rows) last.set(row.partition, Math.max(last.get(row.partition) ?? -1, Number(row.offset)));
      const partitions = [...last.keys()].sort((a, b) => a - b);
      const channel = built.rows[0]!.topic;
      await client.query(
        `INSERT INTO stored_positions SELECT $1, $2, p, 0 FROM unnest($3::int[]) p ON CONFLICT DO NOTHING`,
        [SOURCE_ID, channel, partitions],
      );
      const { rows: stored } = await client.query<{ partition: number; next_position: string }>(
        `SELECT partition, next_position FROM stored_positions WHERE source_id = $1 AND channel = $2 AND partition = ANY($3::int[])
         ORDER BY partition FOR UPDATE`,
        [SOURCE_ID, channel, partitions],
      );
      const floor = new Map(stored.map((r) => [r.partition, Number(r.next_position)]));
      if (built.rows.some((row) => Number(row.offset) < floor.get(row.partition)!)) {
        batch = await buildBatch(layout, built.rows.filter((row) => Number(row.offset) >= floor.get(row.partition)!), false);
      }
      advance = partitions.map((p) => ({ partition: p, next: last.get(p)! + 1 }));
      if (batch.rows.length > 0) await copyAll(client, layout, batch, binary);
      await client.query(
        `UPDATE stored_positions s SET next_position = greatest(s.next_position, a.next)
         FROM unnest($3::int[], $4::bigint[]) AS a(partition, next)
         WHERE s.source_id = $1 AND s.channel = $2 AND s.partition = a.partition`,
        [SOURCE_ID, channel, advance.map((a) => a.partition), advance.map((a) => a.next)],
      );
    } else {
      await copyAll(client, layout, batch, binary);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

async function copyAll(client: pg.PoolClient, layout: Layout, built: BuiltBatch, binary: string): Promise<void> {
  await copyInto(client, `COPY events (${EVENT_COLUMNS}${layout.indexes === "lean" ? ", entity_key" : ""}) FROM STDIN${binary}`, built.events);
  await copyInto(client, `COPY event_entities (entity_key, ts, ${SIDE_COLUMNS}) FROM STDIN${binary}`, built.entities);
  await copyInto(client, `COPY event_headers (key, value, ts, ${SIDE_COLUMNS}) FROM STDIN${binary}`, built.headers);
  await copyInto(client, `COPY event_lookup (kind, name, value, ts, ${SIDE_COLUMNS}) FROM STDIN${binary}`, built.lookup);
}

// ------------------------------------------------------------------ CPU meters (/proc)

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

function postgresPids(dataDir: string): number[] {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const pids = [postmaster];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

const sumCpu = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);

/** CPU of the postmaster and its children since the call, per process (a backend that exits meanwhile drops out, one that starts counts from 0). */
function postgresMeter(dataDir: string): () => number {
  const start = new Map(postgresPids(dataDir).map((pid) => [pid, processCpuSeconds(pid)]));
  return () => postgresPids(dataDir).reduce((sum, pid) => sum + processCpuSeconds(pid) - (start.get(pid) ?? 0), 0);
}

// ------------------------------------------------------------------ the benchmark

interface VariantState {
  name: string;
  layout: Layout;
  mode: Mode;
  db: Database;
  /** The connections this variant writes on, held for the whole run (their backends are metered). */
  clients: pg.PoolClient[];
  backendPids: number[];
  nanos: bigint;
  nodeMicros: number;
  backendSeconds: number;
  postgresSeconds: number;
  rows: number;
}

export interface IngestLayoutFigures {
  rows: number;
  batchSize: number;
  roundRows: number;
  build: { format: string; microsPerRow: number }[];
  variants: {
    variant: string;
    description: string;
    rowsPerSecond: number;
    ratioToBaseline: number;
    nodeMicrosPerRow: number;
    postgresBackendMicrosPerRow: number;
    postgresAllMicrosPerRow: number;
    coresBusy: { node: number; postgres: number };
    tableMiB: number;
  }[];
  reads?: { variant: string; timelineP50Ms: number; timelineP95Ms: number; headerP50Ms: number; headerP95Ms: number }[];
}

async function runTurn(state: VariantState, rows: readonly EventRow[], batchSize: number): Promise<void> {
  const batches: EventRow[][] = [];
  for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize) as EventRow[]);
  if (state.layout.current) {
    for (const batch of batches) await ingestEvents(state.db, batch);
    return;
  }
  const layout = state.layout;
  if (state.mode === "serial") {
    for (const batch of batches) await writeBatch(state.clients[0]!, layout, await buildBatch(layout, batch, false));
  } else if (state.mode === "pipelined") {
    let next = await buildBatch(layout, batches[0]!, false);
    for (let i = 0; i < batches.length; i++) {
      const writing = writeBatch(state.clients[0]!, layout, next);
      if (i + 1 < batches.length) next = await buildBatch(layout, batches[i + 1]!, true);
      await writing;
    }
  } else {
    let taken = 0;
    await Promise.all(
      state.clients.map(async (client) => {
        while (taken < batches.length) {
          const batch = batches[taken++]!;
          await writeBatch(client, layout, await buildBatch(layout, batch, true));
        }
      }),
    );
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Timeline by entity and search by header name=value, as each layout answers them (value parsed in Node as the event page would). */
async function measureReads(state: VariantState, samples: number): Promise<{ timeline: number[]; header: number[] }> {
  const client = state.clients[0]!;
  const timeline: number[] = [];
  const header: number[] = [];
  const layout = state.layout;
  const idCols = layout.current ? `e.topic, e.partition, e."offset"` : `e.channel, e.partition, e.position`;
  for (let s = 0; s < samples; s++) {
    const entity = `ord-${((s * 7919) % 50_000).toString().padStart(6, "0")}`;
    const ceId = `evt-${(s * 104_729) % 100_000}`;
    let began = performance.now();
    let result;
    if (layout.indexes === "lookup") {
      result = await client.query(
        `SELECT ${idCols}, e."timestamp", e.headers, e.value_json FROM event_lookup x
         JOIN events e ON e.source_id = x.source_id AND e.channel = x.channel AND e.partition = x.partition AND e.position = x.position AND e."timestamp" = x.ts
         WHERE x.kind = 'e' AND x.name = '' AND x.value = $1 ORDER BY x.ts LIMIT 50`,
        [entity],
      );
    } else if (layout.indexes === "lean") {
      // The first entity key from events' own index, further keys through event_entities.
      result = await client.query(
        `(SELECT ${idCols}, e."timestamp", e.headers, e.value_json FROM events e WHERE e.entity_key = $1 ORDER BY e."timestamp" LIMIT 50)
         UNION ALL
         (SELECT ${idCols}, e."timestamp", e.headers, e.value_json FROM event_entities x
          JOIN events e ON e.source_id = x.source_id AND e.channel = x.channel AND e.partition = x.partition AND e.position = x.position AND e."timestamp" = x.ts
          WHERE x.entity_key = $1 ORDER BY x.ts LIMIT 50)
         ORDER BY 4 LIMIT 50`,
        [entity],
      );
    } else if (layout.indexes === "side") {
      const join = layout.partitioned ? ` AND e."timestamp" = x.ts` : "";
      result = await client.query(
        `SELECT ${idCols}, e."timestamp", e.headers, e.value_json FROM event_entities x
         JOIN events e ON e.source_id = x.source_id AND e.channel = x.channel AND e.partition = x.partition AND e.position = x.position${join}
         WHERE x.entity_key = $1 ORDER BY x.ts LIMIT 50`,
        [entity],
      );
    } else {
      result = await client.query(
        `SELECT ${idCols}, e."timestamp", e.headers, e.value_json FROM events e WHERE e.entity_keys @> ARRAY[$1::text] ORDER BY e."timestamp" LIMIT 50`,
        [entity],
      );
    }
    for (const row of result.rows as { value_json: unknown; headers: unknown }[]) {
      if (Buffer.isBuffer(row.value_json)) JSON.parse(row.value_json.toString("utf8"));
      if (typeof row.headers === "string") JSON.parse(row.headers);
    }
    timeline.push(performance.now() - began);
    began = performance.now();
    if (layout.indexes === "lookup") {
      await client.query(
        `SELECT ${idCols}, e."timestamp" FROM event_lookup x
         JOIN events e ON e.source_id = x.source_id AND e.channel = x.channel AND e.partition = x.partition AND e.position = x.position AND e."timestamp" = x.ts
         WHERE x.kind = 'h' AND x.name = $1 AND x.value = $2 ORDER BY x.ts DESC LIMIT 50`,
        ["ce_id", ceId],
      );
    } else if ((layout.indexes === "side" || layout.indexes === "lean") && layout.headerRows !== "none") {
      const join = layout.partitioned ? ` AND e."timestamp" = x.ts` : "";
      await client.query(
        `SELECT ${idCols}, e."timestamp" FROM event_headers x
         JOIN events e ON e.source_id = x.source_id AND e.channel = x.channel AND e.partition = x.partition AND e.position = x.position${join}
         WHERE x.key = $1 AND x.value = $2 ORDER BY x.ts DESC LIMIT 50`,
        ["ce_id", ceId],
      );
    } else if (layout.headers === "jsonb" && layout.indexes === "today") {
      await client.query(`SELECT ${idCols}, e."timestamp" FROM events e WHERE e.headers @> $1::jsonb ORDER BY e."timestamp" DESC LIMIT 50`, [
        JSON.stringify([{ key: "ce_id", value: ceId }]),
      ]);
    } else {
      header.push(Number.NaN);
      continue;
    }
    header.push(performance.now() - began);
  }
  return { timeline, header };
}

export async function runIngestLayoutsBenchmark(
  options: { rows?: number; batchSize?: number; roundRows?: number; variants?: readonly string[]; reads?: boolean } = {},
): Promise<IngestLayoutFigures> {
  const count = options.rows ?? 200_000;
  const batchSize = options.batchSize ?? 5_000;
  const roundRows = options.roundRows ?? 20_000;
  const names = options.variants ?? DEFAULT_VARIANTS;
  for (const name of names) {
    const [layout, mode = "serial"] = name.split("@");
    if (!LAYOUTS[layout!] || !MODES.includes(mode as Mode)) throw new Error(`unknown variant ${name} (layouts: ${Object.keys(LAYOUTS).join(", ")}; modes: ${MODES.join(", ")})`);
  }
  const print = (line: string) => process.stdout.write(`${line}\n`);
  print(`ingest-layouts: ${count} rows, ${batchSize} a write, ${roundRows} a turn, variants ${names.join(", ")}`);
  // Rows are made per round and dropped after it: a heap holding every row would make V8's full
  // collections (triggered by the COPY buffers' external memory) land on whichever variant runs.
  const sample = makeBenchRows(Math.min(count, 20_000), "orders");
  const figures: IngestLayoutFigures = { rows: count, batchSize, roundRows, build: [], variants: [] };

  // Node's cost of building the COPY data alone (no database): best of three passes.
  for (const [format, layout] of [
    ["text (as ingestEvents)", LAYOUTS["base-text"]!],
    ["binary, value jsonb, headers jsonb", LAYOUTS["base-binary"]!],
    ["binary, value bytea, headers text, side tables", LAYOUTS["side-binary-raw"]!],
  ] as const) {
    let best = Infinity;
    for (let pass = 0; pass < 3; pass++) {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < sample.length; i += batchSize) await buildBatch(layout, sample.slice(i, i + batchSize), false);
      const cpu = process.cpuUsage(cpu0);
      best = Math.min(best, (cpu.user + cpu.system) / sample.length);
    }
    figures.build.push({ format, microsPerRow: Math.round(best * 10) / 10 });
    print(`  build only, ${format}: ${best.toFixed(1)} µs/row (Node CPU)`);
  }
  // The collector's per-event Node work after kafkajs: extraction (toEventRow) and the build, from
  // messages as kafkajs hands them over; garbage collection included (process CPU).
  {
    const messages = Array.from({ length: sample.length }, (_, i) => {
      const m = benchMessage(i);
      return { partition: m.partition, message: { key: Buffer.from(m.key), value: m.value, headers: m.headers, timestamp: String(Date.now()), attributes: 0, offset: String(Math.floor(i / 3)) } };
    });
    for (const [what, layout] of [
      ["extraction only", null],
      ["extraction + text build", LAYOUTS["base-text"]!],
      ["extraction + binary build (lean layout)", LAYOUTS.lean!],
    ] as const) {
      let best = Infinity;
      for (let pass = 0; pass < 3; pass++) {
        const cpu0 = process.cpuUsage();
        for (let i = 0; i < messages.length; i += batchSize) {
          const batch = messages.slice(i, i + batchSize).map(({ partition, message }) => toEventRow(1, "orders", partition, message, DEFAULT_EXTRACT_OPTIONS));
          if (layout) await buildBatch(layout, batch, false);
        }
        const cpu = process.cpuUsage(cpu0);
        best = Math.min(best, (cpu.user + cpu.system) / messages.length);
      }
      figures.build.push({ format: what, microsPerRow: Math.round(best * 10) / 10 });
      print(`  ${what}: ${best.toFixed(1)} µs/event (Node CPU)`);
    }
  }

  const dataDir = makeTemporaryDataDir("eventscope-bench-layouts-pg-");
  const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort() });
  const admin = connectDatabase(server.adminUrl);
  const states: VariantState[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const [layoutName, mode = "serial"] = name.split("@") as [string, Mode | undefined];
      const layout = LAYOUTS[layoutName]!;
      const dbName = `bench_layout_${i}`;
      await admin.pool.query(`CREATE DATABASE ${dbName}`);
      const url = server.adminUrl.replace(/\/postgres$/, `/${dbName}`);
      if (layout.current) await runMigrations(url);
      const db = connectDatabase(url, { maxConnections: 3 });
      if (!layout.current) for (const sql of ddl(layout)) await db.pool.query(sql);
      const clients = layout.current ? [] : await Promise.all(Array.from({ length: mode === "two-conn" ? 2 : 1 }, () => db.pool.connect()));
      const backendPids: number[] = [];
      for (const client of clients) backendPids.push((await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid);
      states.push({ name, layout, mode: mode as Mode, db, clients, backendPids, nanos: 0n, nodeMicros: 0, backendSeconds: 0, postgresSeconds: 0, rows: 0 });
    }
    await admin.pool.query("CHECKPOINT");
    const all = makeBenchRowsFrom(count);
    for (let start = 0; start < count; start += roundRows) {
      const turnRows = all(start, Math.min(count, start + roundRows));
      for (const state of states) {
        const postgresCpu = postgresMeter(dataDir);
        const backend0 = sumCpu(state.backendPids);
        const cpu0 = process.cpuUsage();
        const began = process.hrtime.bigint();
        await runTurn(state, turnRows, batchSize);
        state.nanos += process.hrtime.bigint() - began;
        const cpu = process.cpuUsage(cpu0);
        state.nodeMicros += cpu.user + cpu.system;
        state.postgresSeconds += postgresCpu();
        state.backendSeconds += state.layout.current ? 0 : sumCpu(state.backendPids) - backend0;
        state.rows += turnRows.length;
      }
      print(`  ${Math.min(count, start + roundRows)} rows each`);
    }
    const baseline = states.find((s) => s.name === "base-text@serial") ?? states[0]!;
    const baselineRate = baseline.rows / (Number(baseline.nanos) / 1e9);
    print("");
    print(`${"variant".padEnd(28)} ${"rows/s".padStart(7)} ${"×base".padStart(6)} ${"node µs".padStart(8)} ${"pg be µs".padStart(9)} ${"pg all µs".padStart(9)} ${"cores n+pg".padStart(11)} ${"MiB".padStart(5)}`);
    for (const state of states) {
      const seconds = Number(state.nanos) / 1e9;
      const rate = state.rows / seconds;
      const { rows: size } = await state.db.pool.query<{ bytes: string }>(
        `SELECT coalesce(sum(pg_total_relation_size(r.oid)), 0)::text AS bytes FROM pg_class r WHERE r.relkind IN ('r') AND r.relnamespace = 'public'::regnamespace
           AND r.relname NOT IN ('eventscope_migrations')`,
      );
      const entry = {
        variant: state.name,
        description: state.layout.description,
        rowsPerSecond: Math.round(rate),
        ratioToBaseline: Math.round((rate / baselineRate) * 100) / 100,
        nodeMicrosPerRow: Math.round(state.nodeMicros / state.rows),
        postgresBackendMicrosPerRow: Math.round((state.backendSeconds * 1e6) / state.rows),
        postgresAllMicrosPerRow: Math.round((state.postgresSeconds * 1e6) / state.rows),
        coresBusy: {
          node: Math.round((state.nodeMicros / 1e6 / seconds) * 100) / 100,
          postgres: Math.round((state.postgresSeconds / seconds) * 100) / 100,
        },
        tableMiB: Math.round(Number(size[0]!.bytes) / 2 ** 20),
      };
      figures.variants.push(entry);
      print(
        `${state.name.padEnd(28)} ${String(entry.rowsPerSecond).padStart(7)} ${entry.ratioToBaseline.toFixed(2).padStart(6)} ${String(entry.nodeMicrosPerRow).padStart(8)} ${String(
          entry.postgresBackendMicrosPerRow,
        ).padStart(9)} ${String(entry.postgresAllMicrosPerRow).padStart(9)} ${`${entry.coresBusy.node}+${entry.coresBusy.postgres}`.padStart(11)} ${String(entry.tableMiB).padStart(5)}`,
      );
    }
    if (options.reads !== false) {
      figures.reads = [];
      print("");
      print(`reads (${count} rows; timeline by entity, 50 oldest, value parsed in Node; header ce_id=value, 50 newest): p50 / p95 ms`);
      const seen = new Set<string>();
      for (const state of states) {
        const [layoutName] = state.name.split("@");
        // Without an entity index (primary-key-only) a timeline is a sequential scan: not measured.
        if (seen.has(layoutName!) || state.clients.length === 0 || state.layout.indexes === "primary-key-only") continue;
        seen.add(layoutName!);
        await state.db.pool.query("VACUUM ANALYZE");
        await measureReads(state, 30);
        const { timeline, header } = await measureReads(state, 300);
        timeline.sort((a, b) => a - b);
        header.sort((a, b) => a - b);
        const r = (x: number) => Math.round(x * 100) / 100;
        const entry = {
          variant: layoutName!,
          timelineP50Ms: r(percentile(timeline, 50)),
          timelineP95Ms: r(percentile(timeline, 95)),
          headerP50Ms: r(percentile(header, 50)),
          headerP95Ms: r(percentile(header, 95)),
        };
        figures.reads.push(entry);
        print(`  ${layoutName!.padEnd(26)} timeline ${entry.timelineP50Ms} / ${entry.timelineP95Ms}   header ${entry.headerP50Ms} / ${entry.headerP95Ms}`);
      }
    }
  } finally {
    for (const state of states) {
      for (const client of state.clients) client.release();
      await state.db.close();
    }
    await admin.close();
    await server.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
  return figures;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const number = (name: string) => (flag(name) !== undefined ? Number(flag(name)) : undefined);
  const result = await runIngestLayoutsBenchmark({
    rows: number("--rows"),
    batchSize: number("--batch"),
    roundRows: number("--round"),
    variants: flag("--variants")?.split(","),
    reads: !args.includes("--no-reads"),
  });
  if (args.includes("--no-save")) return;
  saveStandaloneResult("ingest-layouts", result, (line) => process.stdout.write(`${line}\n`));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
