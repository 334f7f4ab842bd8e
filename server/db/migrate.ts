import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import pg from "pg";
import { DatabaseError, toDatabaseError } from "./errors.ts";

/**
 * Applies prisma/migrations/<timestamp>_<name>/migration.sql in name order, each once, each in
 * its own transaction, recording it in `eventscope_migrations`. Safe when several processes start
 * at once: they take a PostgreSQL advisory lock first, so one applies and the others then find
 * nothing left to do. (`prisma migrate deploy` is not used: it fails on PostgreSQL 18 here and
 * wants to download engines.)
 *
 * A migration must be valid inside a transaction (no CREATE INDEX CONCURRENTLY).
 */

/** Key of the advisory lock that serialises migration runs (any constant; "evscope" in ASCII). */
const MIGRATION_LOCK_KEY = 0x65767363_6f7065n;
const MIGRATIONS_TABLE = "eventscope_migrations";

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  /** Migrations this run applied, in order. */
  applied: string[];
  /** Migrations that were already there. */
  alreadyApplied: string[];
}

/** prisma/migrations, found from this file (tsx, vitest) or from the working directory (Next). */
export function defaultMigrationsDir(): string {
  const candidates = [
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "prisma", "migrations"),
    path.resolve(process.cwd(), "prisma", "migrations"),
  ];
  const found = candidates.find((dir) => fs.existsSync(dir));
  if (!found) throw new Error(`no migrations directory at ${candidates.join(" or ")}`);
  return found;
}

export function readMigrations(dir: string = defaultMigrationsDir()): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .flatMap((name) => {
      const file = path.join(dir, name, "migration.sql");
      if (!fs.existsSync(file)) return [];
      const sql = fs.readFileSync(file, "utf8");
      const checksum = crypto.createHash("sha256").update(sql).digest("hex");
      return [{ name, sql, checksum }];
    });
}

export async function runMigrations(
  databaseUrl: string,
  options: { migrationsDir?: string; log?: (line: string) => void } = {},
): Promise<MigrationResult> {
  const migrations = readMigrations(options.migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "eventscope-migrate" });
  client.on("error", () => {}); // a dropped connection surfaces as the failing query's error
  try {
    await client.connect();
    // Session-level: held across the per-migration transactions, released by unlock or disconnect.
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
         name text PRIMARY KEY,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ name: string; checksum: string }>(
      `SELECT name, checksum FROM ${MIGRATIONS_TABLE}`,
    );
    const done = new Map(rows.map((row) => [row.name, row.checksum]));
    const result: MigrationResult = { applied: [], alreadyApplied: [] };

    for (const migration of migrations) {
      const appliedChecksum = done.get(migration.name);
      if (appliedChecksum !== undefined) {
        if (appliedChecksum !== migration.checksum) {
          throw new DatabaseError(
            `migration ${migration.name} was changed after it was applied to this database: ` +
              "write a new migration instead (or, for a scratch database, drop it)",
            { retriable: false },
          );
        }
        result.alreadyApplied.push(migration.name);
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [
          migration.name,
          migration.checksum,
        ]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw toDatabaseError(error, `migration ${migration.name} failed`);
      }
      options.log?.(`applied migration ${migration.name}`);
      result.applied.push(migration.name);
    }
    const unknown = [...done.keys()].filter((name) => !migrations.some((m) => m.name === name));
    if (unknown.length > 0) {
      options.log?.(
        `warning: the database has migrations this code does not know (${unknown.join(", ")}): ` +
          "it was migrated by a newer Eventscope",
      );
    }
    return result;
  } catch (error) {
    throw toDatabaseError(error, "running migrations");
  } finally {
    await client.end().catch(() => {});
  }
}

/** `npm run db:migrate`: migrate DATABASE_URL, or the embedded database when it is unset. */
async function main(): Promise<void> {
  const { loadConfig } = await import("../config.ts");
  const { startEmbeddedPostgres } = await import("./embedded.ts");
  const config = loadConfig();
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres();
  const url = config.databaseUrl ?? embedded!.url;
  try {
    const result = await runMigrations(url, { log: (line) => console.log(line) });
    console.log(
      `database is up to date: ${result.applied.length} applied now, ` +
        `${result.alreadyApplied.length} already applied`,
    );
  } finally {
    await embedded?.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
