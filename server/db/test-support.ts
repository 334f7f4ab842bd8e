import crypto from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { connectDatabase, type Database } from "./client.ts";
import type { EventRow } from "./ingest.ts";
import { runMigrations } from "./migrate.ts";

export interface TestDatabase extends Database {
  /** The database's name (random: eventscope_test_<hex>). */
  readonly name: string;
  /** Closes this file's connections and drops the database. */
  drop(): Promise<void>;
}

/** The run's PostgreSQL URL with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The PostgreSQL server of this test run (see test-global-setup.ts), as an admin URL. */
export function testServerUrl(): string {
  const url = inject("databaseAdminUrl");
  if (!url) {
    throw new Error(
      "no test database server: run integration tests through vitest's integration project (its globalSetup starts one)",
    );
  }
  return url;
}

/** Runs one statement on the run's server as its admin (roles, databases). */
export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database on the run's server with every migration applied: one per test file (call it
 * in beforeAll, drop() in afterAll). `migrate: false` gives an empty one, for migration tests.
 */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `eventscope_test_${crypto.randomBytes(6).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = withDatabase(testServerUrl(), name);
  if (options.migrate ?? true) await runMigrations(url);
  const database = connectDatabase(url, { maxConnections: 5, applicationName: "eventscope-test" });
  let dropped: Promise<void> | undefined;
  return {
    ...database,
    name,
    drop: () =>
      (dropped ??= (async () => {
        await database.close();
        // FORCE: a test that failed may have left connections (another process) behind.
        await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      })()),
  };
}

/** A row with nothing extracted (a short bytes value `m<offset>`), for tests about positions and times. */
export function bareEventRow(at: { sourceId?: number; topic: string; partition: number; offset: number; timestamp: Date }): EventRow {
  const raw = Buffer.from(`m${at.offset}`);
  return {
    sourceId: at.sourceId ?? 1,
    topic: at.topic,
    partition: at.partition,
    offset: String(at.offset),
    timestamp: at.timestamp,
    key: null,
    value: { kind: "bytes", raw, text: raw.toString(), truncated: false },
    sizeBytes: raw.length,
    headers: [],
    eventType: null,
    producer: null,
    entityKeys: [],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: null,
    flags: [],
  };
}
