import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { connectDatabase, ingestEvents, runMigrations, type Database, type EventRow } from "../server/db/index.ts";
import { makeTemporaryDataDir, findFreePort, startEmbeddedPostgres } from "../server/db/embedded.ts";

/**
 * How fast event rows reach the `events` table by each write path, into a fresh embedded
 * PostgreSQL with the real schema (all indexes):
 *   copy           COPY straight into events (+ dead letters + producer counts), falling back to
 *                  staged-copy when a row is already stored: server/db/ingest.ts's default
 *   staged-copy    COPY into the staging table, then INSERT … SELECT … ON CONFLICT DO NOTHING
 *   insert         multi-row INSERT into the staging table, then the same statement
 *   direct-insert  multi-row INSERT straight into events ON CONFLICT DO NOTHING (no staging,
 *                  no producer counts)
 *   prisma         Prisma createMany({ skipDuplicates }) (a tenth of the rows: it is slow)
 * plus `copy` again over rows that are all stored already (a redelivered batch: every batch
 * fails the direct COPY and is then skipped by the staging path).
 *
 *   npx tsx bench/db-ingest.ts [--rows N] [--batch B]
 *   BENCH_DB_METHODS=copy,staged-copy npx tsx bench/db-ingest.ts   (a subset)
 *
 * What each part of the events table costs the default (copy) path: `--costs` writes the same
 * batches, taking turns, into databases that differ from the real schema in one thing each (one
 * index dropped or added, every secondary index dropped, GIN without its pending list, jsonb
 * columns as text), so that a burst of other load on the shared machine slows them alike:
 *
 *   npx tsx bench/db-ingest.ts --costs [--rows N] [--batch B]
 *   BENCH_DB_VARIANTS=schema,-headers npx tsx bench/db-ingest.ts --costs   (a subset)
 */

export interface DbIngestFigures {
  rows: number;
  batchSize: number;
  avgValueBytes: number;
  methods: { method: string; rows: number; seconds: number; rowsPerSecond: number }[];
}

const VALUE_PAD = "x".repeat(760);

export function makeRows(count: number, topic: string): EventRow[] {
  const rows: EventRow[] = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const orderId = `ord-${(i % 50_000).toString().padStart(6, "0")}`;
    const traceId = (i * 2654435761).toString(16).padStart(32, "0").slice(-32);
    const spanId = (i * 40503 + 1).toString(16).padStart(16, "0").slice(-16);
    const traceparent = `00-${traceId}-${spanId}-01`;
    const json = {
      type: i % 3 === 0 ? "OrderPlaced" : i % 3 === 1 ? "PaymentCaptured" : "OrderShipped",
      orderId,
      customer: { id: `cust-${i % 977}`, email: `c${i % 977}@example.com` },
      amount: (i % 1000) + 0.5,
      items: [{ sku: `sku-${i % 31}`, quantity: 1 + (i % 3) }],
      note: VALUE_PAD,
    };
    const raw = Buffer.from(JSON.stringify(json));
    const headers = [
      { key: "traceparent", value: Buffer.from(traceparent), text: traceparent },
      { key: "ce_type", value: Buffer.from(json.type), text: json.type },
      { key: "ce_source", value: Buffer.from("order-service"), text: "order-service" },
      { key: "content-type", value: Buffer.from("application/json"), text: "application/json" },
    ];
    rows.push({
      sourceId: 1,
      topic,
      partition: i % 6,
      offset: String(Math.floor(i / 6)),
      timestamp: new Date(now - (count - i)),
      key: { kind: "text", text: orderId },
      value: { kind: "json", json, raw },
      sizeBytes: raw.length + orderId.length + 120,
      headers,
      eventType: json.type,
      producer: "order-service",
      entityKeys: [orderId],
      trace: { traceId, parentSpanId: spanId },
      deadLetter: null,
      flags: [],
    });
  }
  return rows;
}

async function directInsert(db: Database, rows: readonly EventRow[]): Promise<void> {
  const perStatement = Math.floor(65_535 / 16);
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => {
      const cells = [
        row.sourceId,
        row.topic,
        row.partition,
        String(row.offset),
        row.timestamp,
        row.key?.kind === "text" ? row.key.text : null,
        "json",
        row.value.kind === "json" ? row.value.raw.toString("utf8") : null,
        JSON.stringify(row.headers.map((h) => ({ key: h.key, value: h.text, encoding: "utf8" }))),
        row.sizeBytes,
        row.eventType,
        row.entityKeys,
        row.trace.traceId,
        row.trace.parentSpanId,
        row.producer,
        row.flags,
      ];
      return `(${cells.map((cell) => (params.push(cell), `$${params.length}`)).join(",")})`;
    });
    await db.pool.query(
      `INSERT INTO events (source_id, channel, partition, position, "timestamp", key, value_kind, value_json, headers, size,
         event_type, entity_keys, trace_id, parent_span_id, producer, flags)
       VALUES ${tuples.join(",")} ON CONFLICT DO NOTHING`,
      params,
    );
  }
}

async function prismaCreateMany(db: Database, rows: readonly EventRow[]): Promise<void> {
  await db.prisma.event.createMany({
    skipDuplicates: true,
    data: rows.map((row) => ({
      sourceId: row.sourceId,
      channel: row.topic,
      partition: row.partition,
      position: BigInt(row.offset),
      timestamp: row.timestamp ?? new Date(),
      key: row.key?.kind === "text" ? row.key.text : null,
      valueKind: "json" as const,
      valueJson: row.value.kind === "json" ? (row.value.json as object) : undefined,
      headers: row.headers.map((h) => ({ key: h.key, value: h.text, encoding: "utf8" })),
      size: row.sizeBytes,
      eventType: row.eventType,
      entityKeys: [...row.entityKeys],
      traceId: row.trace.traceId,
      parentSpanId: row.trace.parentSpanId,
      producer: row.producer,
      flags: [...row.flags],
    })),
  });
}

const ALL_METHODS = ["copy", "staged-copy", "insert", "direct-insert", "prisma", "copy-redelivered"] as const;
type BenchMethod = (typeof ALL_METHODS)[number];

/**
 * The methods take turns, one batch each, into a database each: on a shared machine a burst of
 * other work then slows every method alike instead of whichever ran during it. copy-redelivered
 * re-sends, one round behind, the batches that copy stored.
 */
export async function runDbIngestBenchmark(options: { rows?: number; batchSize?: number } = {}): Promise<DbIngestFigures> {
  const count = options.rows ?? 200_000;
  const batchSize = options.batchSize ?? 2_000;
  const selected = (process.env.BENCH_DB_METHODS?.split(",") ?? [...ALL_METHODS]).filter((m): m is BenchMethod =>
    (ALL_METHODS as readonly string[]).includes(m),
  );
  if (selected.includes("copy-redelivered") && !selected.includes("copy")) selected.unshift("copy");
  const dataDir = makeTemporaryDataDir("eventscope-bench-pg-");
  const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort() });
  const rows = makeRows(count, "orders");
  const figures: DbIngestFigures = {
    rows: count,
    batchSize,
    avgValueBytes: Math.round(rows.reduce((sum, row) => sum + (row.value.kind === "json" ? row.value.raw.length : 0), 0) / count),
    methods: [],
  };
  const adminDb = connectDatabase(server.adminUrl);
  const databases = new Map<BenchMethod, Database>();
  try {
    for (const method of selected) {
      if (method === "copy-redelivered") continue;
      const name = `bench_${method.replaceAll("-", "_")}`;
      await adminDb.pool.query(`CREATE DATABASE ${name}`);
      const url = server.adminUrl.replace(/\/postgres$/, `/${name}`);
      await runMigrations(url);
      databases.set(method, connectDatabase(url, { maxConnections: 2 }));
    }
    if (selected.includes("copy-redelivered")) databases.set("copy-redelivered", databases.get("copy")!);
    // Prisma is an order of magnitude slower: it gets a tenth of the rows (at most 20k).
    const limits = new Map<BenchMethod, number>(selected.map((m) => [m, m === "prisma" ? Math.min(20_000, Math.ceil(count / 10)) : count]));
    const nanos = new Map<BenchMethod, bigint>(selected.map((m) => [m, 0n]));
    for (let start = 0; start < count + batchSize; start += batchSize) {
      for (const method of selected) {
        // copy-redelivered runs one round behind copy, over the batch copy stored last round.
        const from = method === "copy-redelivered" ? start - batchSize : start;
        if (from < 0 || from >= limits.get(method)!) continue;
        const batch = rows.slice(from, Math.min(from + batchSize, limits.get(method)!));
        const db = databases.get(method)!;
        const began = process.hrtime.bigint();
        if (method === "copy" || method === "copy-redelivered") await ingestEvents(db, batch, { method: "copy" });
        else if (method === "staged-copy" || method === "insert") await ingestEvents(db, batch, { method });
        else if (method === "direct-insert") await directInsert(db, batch);
        else await prismaCreateMany(db, batch);
        nanos.set(method, nanos.get(method)! + (process.hrtime.bigint() - began));
      }
    }
    for (const method of selected) {
      const n = limits.get(method)!;
      const stored = Number((await databases.get(method)!.pool.query("SELECT count(*) FROM events")).rows[0].count);
      if (stored !== n) throw new Error(`${method}: expected ${n} rows, found ${stored}`);
      const seconds = Number(nanos.get(method)!) / 1e9;
      const rowsPerSecond = Math.round(n / seconds);
      figures.methods.push({ method, rows: n, seconds: Math.round(seconds * 100) / 100, rowsPerSecond });
      process.stdout.write(`db-ingest: ${method.padEnd(16)} ${String(n).padStart(8)} rows in ${seconds.toFixed(2)} s: ${rowsPerSecond} rows/s\n`);
    }
  } finally {
    for (const db of new Set(databases.values())) await db.close();
    await adminDb.close();
    await server.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
  return figures;
}

// --- what each part of the schema costs ---------------------------------------------------------

const SECONDARY_INDEXES = [
  "events_entity_keys_idx",
  "events_headers_idx",
  "events_key_idx",
  "events_timestamp_idx",
  "events_topic_timestamp_idx",
  "events_event_type_timestamp_idx",
  "events_trace_idx",
] as const;

/** Each variant: the statements that turn the migrated schema into it. */
const SCHEMA_VARIANTS: Record<string, readonly string[]> = {
  schema: [],
  ...Object.fromEntries(
    SECONDARY_INDEXES.map((index) => [`-${index.replace(/^events_|_idx$/g, "")}`, [`DROP INDEX ${index}`]]),
  ),
  // Dropped by migration 20261123092500: what it cost.
  "+parent_span": [`CREATE INDEX events_parent_span_idx ON events (parent_span_id) WHERE parent_span_id IS NOT NULL`],
  "primary-key-only": SECONDARY_INDEXES.map((index) => `DROP INDEX ${index}`),
  // The floor: no index at all, so nothing checks (topic, partition, offset) is stored once.
  "no-index": [...SECONDARY_INDEXES.map((index) => `DROP INDEX ${index}`), "ALTER TABLE events DROP CONSTRAINT events_pkey"],
  "gin-fastupdate-off": [
    "ALTER INDEX events_entity_keys_idx SET (fastupdate = off)",
    "ALTER INDEX events_headers_idx SET (fastupdate = off)",
  ],
  "primary-key-only+json-as-text": [
    ...SECONDARY_INDEXES.map((index) => `DROP INDEX ${index}`),
    "ALTER TABLE events ALTER COLUMN value_json TYPE text",
    "ALTER TABLE events ALTER COLUMN headers DROP DEFAULT",
    "ALTER TABLE events ALTER COLUMN headers TYPE text",
  ],
};

export interface SchemaCostFigures {
  rows: number;
  batchSize: number;
  variants: { variant: string; rowsPerSecond: number; microsPerRow: number; relativeToSchema: number; tableMiB: number }[];
}

export async function runSchemaCostBenchmark(options: { rows?: number; batchSize?: number } = {}): Promise<SchemaCostFigures> {
  const count = options.rows ?? 60_000;
  const batchSize = options.batchSize ?? 5_000;
  const selected = Object.keys(SCHEMA_VARIANTS).filter(
    (name) => !process.env.BENCH_DB_VARIANTS || process.env.BENCH_DB_VARIANTS.split(",").includes(name),
  );
  const dataDir = makeTemporaryDataDir("eventscope-bench-pg-");
  const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort() });
  const adminDb = connectDatabase(server.adminUrl);
  const databases = new Map<string, Database>();
  const rows = makeRows(count, "orders");
  const figures: SchemaCostFigures = { rows: count, batchSize, variants: [] };
  try {
    for (const [i, variant] of selected.entries()) {
      await adminDb.pool.query(`CREATE DATABASE bench_variant_${i}`);
      const url = server.adminUrl.replace(/\/postgres$/, `/bench_variant_${i}`);
      await runMigrations(url);
      const db = connectDatabase(url, { maxConnections: 2 });
      for (const sql of SCHEMA_VARIANTS[variant]!) await db.pool.query(sql);
      databases.set(variant, db);
    }
    const nanos = new Map(selected.map((variant) => [variant, 0n]));
    for (let start = 0; start < count; start += batchSize) {
      for (const variant of selected) {
        const began = process.hrtime.bigint();
        await ingestEvents(databases.get(variant)!, rows.slice(start, start + batchSize));
        nanos.set(variant, nanos.get(variant)! + (process.hrtime.bigint() - began));
      }
    }
    const schemaSeconds = nanos.has("schema") ? Number(nanos.get("schema")!) / 1e9 : Number.NaN;
    for (const variant of selected) {
      const seconds = Number(nanos.get(variant)!) / 1e9;
      const { rows: size } = await databases.get(variant)!.pool.query<{ bytes: string }>(
        "SELECT pg_total_relation_size('events')::text AS bytes",
      );
      const entry = {
        variant,
        rowsPerSecond: Math.round(count / seconds),
        microsPerRow: Math.round((seconds * 1e6) / count),
        relativeToSchema: Math.round((schemaSeconds / seconds) * 100) / 100,
        tableMiB: Math.round(Number(size[0]!.bytes) / 2 ** 20),
      };
      figures.variants.push(entry);
      process.stdout.write(
        `db-ingest costs: ${variant.padEnd(30)} ${String(entry.rowsPerSecond).padStart(6)} rows/s ${String(entry.microsPerRow).padStart(5)} µs/row  ×${entry.relativeToSchema.toFixed(2)} of the schema's speed  ${entry.tableMiB} MiB\n`,
      );
    }
  } finally {
    for (const db of databases.values()) await db.close();
    await adminDb.close();
    await server.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
  return figures;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const arg = (name: string) => {
    const index = process.argv.indexOf(name);
    return index > 0 ? Number(process.argv[index + 1]) : undefined;
  };
  const run = process.argv.includes("--costs") ? runSchemaCostBenchmark : runDbIngestBenchmark;
  run({ rows: arg("--rows"), batchSize: arg("--batch") }).then(
    (figures) => process.stdout.write(`${JSON.stringify(figures)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
