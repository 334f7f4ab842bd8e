import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseError } from "./errors.ts";
import { readMigrations, runMigrations } from "./migrate.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";

const databases: TestDatabase[] = [];
async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrate: false });
  databases.push(db);
  return db;
}
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

async function tableNames(db: TestDatabase): Promise<string[]> {
  const { rows } = await db.pool.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  return rows.map((row) => row.tablename);
}

describe("runMigrations with the project's migrations", () => {
  const migrations = readMigrations();

  it("applies every migration to an empty database, then finds nothing left to do", async () => {
    const db = await emptyDatabase();
    const first = await runMigrations(db.url);
    expect(first).toEqual({ applied: migrations.map((m) => m.name), alreadyApplied: [] });
    expect(await tableNames(db)).toEqual(
      expect.arrayContaining(["events", "topics", "partitions", "consumer_groups", "lag_samples", "dead_letters", "replays", "audit_log", "collector_instances"]),
    );

    const second = await runMigrations(db.url);
    expect(second).toEqual({ applied: [], alreadyApplied: migrations.map((m) => m.name) });
  });

  it("applies each migration once when two runners start at the same moment", async () => {
    const db = await emptyDatabase();
    const results = await Promise.all([runMigrations(db.url), runMigrations(db.url), runMigrations(db.url)]);

    const appliedBy = results.map((r) => r.applied.length);
    expect(appliedBy.sort()).toEqual([0, 0, migrations.length]);
    const { rows } = await db.pool.query("SELECT name FROM eventscope_migrations ORDER BY name");
    expect(rows.map((row: { name: string }) => row.name)).toEqual(migrations.map((m) => m.name));
  });
});

describe("runMigrations with migrations of its own", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-migrations-"));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function writeMigration(name: string, sql: string): void {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, "migration.sql"), sql);
  }

  it("rolls a failing migration back whole, keeps the ones before it, and resumes once it is fixed", async () => {
    const db = await emptyDatabase();
    writeMigration("001_a", "CREATE TABLE a (id int);");
    writeMigration("002_b", "CREATE TABLE b (id int); INSERT INTO b VALUES (1); SELECT no_such_function();");

    const error = await runMigrations(db.url, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as Error).message).toMatch(/migration 002_b failed.*no_such_function/);
    expect(await tableNames(db)).toEqual(["a", "eventscope_migrations"]);

    writeMigration("002_b", "CREATE TABLE b (id int); INSERT INTO b VALUES (1);");
    expect(await runMigrations(db.url, { migrationsDir: dir })).toEqual({ applied: ["002_b"], alreadyApplied: ["001_a"] });
    expect(await tableNames(db)).toEqual(["a", "b", "eventscope_migrations"]);
  });

  it("refuses to go on when an applied migration was edited since", async () => {
    const db = await emptyDatabase();
    writeMigration("001_a", "CREATE TABLE a (id int);");
    await runMigrations(db.url, { migrationsDir: dir });
    writeMigration("001_a", "CREATE TABLE a (id bigint);");

    const error = await runMigrations(db.url, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).retriable).toBe(false);
    expect((error as Error).message).toMatch(/001_a was changed after it was applied/);
  });
});
