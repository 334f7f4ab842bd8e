import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { findFreePort, makeTemporaryDataDir, startEmbeddedPostgres } from "./embedded.ts";
import { defaultMigrationsDir } from "./migrate.ts";

/**
 * `npm run db:migration -- <name>`: writes prisma/migrations/<UTC timestamp>_<name>/migration.sql
 * with the SQL that takes the schema from the previous migration's snapshot to
 * prisma/schema.prisma, and stores the new snapshot (schema.snapshot.prisma) beside it.
 *
 * `prisma migrate dev` is not usable here (it fails on PostgreSQL 18 and wants to download
 * engines); `prisma migrate diff` between two datamodels works offline, but Prisma's JavaScript
 * engine still wants a database to talk to, so a throw-away embedded PostgreSQL is started for it.
 * Review the SQL, and append what Prisma cannot express (partial indexes, …) by hand.
 */
async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    throw new Error("usage: npm run db:migration -- <name> (lower-case letters, digits and _)");
  }
  const root = path.resolve(path.dirname(defaultMigrationsDir()), "..");
  const migrationsDir = defaultMigrationsDir();
  const schema = path.join(root, "prisma", "schema.prisma");
  const snapshots = fs
    .readdirSync(migrationsDir)
    .sort()
    .map((dir) => path.join(migrationsDir, dir, "schema.snapshot.prisma"))
    .filter((file) => fs.existsSync(file));
  const previous = snapshots.at(-1);

  const dataDir = makeTemporaryDataDir("eventscope-migration-");
  const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), ephemeral: true });
  let sql: string;
  try {
    sql = execFileSync(
      path.join(root, "node_modules", ".bin", "prisma"),
      [
        "migrate",
        "diff",
        ...(previous ? ["--from-schema-datamodel", previous] : ["--from-empty"]),
        "--to-schema-datamodel",
        schema,
        "--script",
      ],
      { cwd: root, encoding: "utf8", env: { ...process.env, DATABASE_URL: server.url }, stdio: ["ignore", "pipe", "inherit"] },
    );
  } finally {
    await server.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
  if (!sql.trim() || /^-- This is an empty migration\.?\s*$/.test(sql.trim())) {
    console.log("prisma/schema.prisma has not changed since the last migration: nothing written");
    return;
  }
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${name}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "migration.sql"), sql);
  fs.copyFileSync(schema, path.join(dir, "schema.snapshot.prisma"));
  console.log(`wrote ${path.relative(root, path.join(dir, "migration.sql"))}: review it before committing`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
