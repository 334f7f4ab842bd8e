import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { findFreePort, makeTemporaryDataDir, startEmbeddedPostgres } from "./embedded.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * A PostgreSQL URL with the right to create databases: the embedded server of this run, or
     * DATABASE_URL when it is set (CI's second pass against Debian's PostgreSQL).
     */
    databaseAdminUrl: string;
  }
}

/**
 * vitest globalSetup of the integration project: ONE PostgreSQL per test run. With DATABASE_URL
 * set, that server is used; else an embedded PostgreSQL 18 in a fresh temporary directory on a
 * free port, with durability off (its data is thrown away), stopped when the run ends. Each test
 * file then makes its own database with createTestDatabase() (server/db/test-support.ts).
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const databaseUrl = process.env.DATABASE_URL?.trim();
  if (databaseUrl) {
    // Say which server the run uses: a green run against the wrong one would prove nothing.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string }>("SELECT version()");
      process.stdout.write(`integration tests use DATABASE_URL: ${rows[0]?.version ?? "unknown version"}\n`);
    } finally {
      await client.end();
    }
    project.provide("databaseAdminUrl", databaseUrl);
    return;
  }
  const dataDir = makeTemporaryDataDir("eventscope-test-pg-");
  const removeDataDir = () => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  let server;
  try {
    server = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), ephemeral: true });
  } catch (error) {
    removeDataDir();
    throw error;
  }
  project.provide("databaseAdminUrl", server.adminUrl);
  return async () => {
    await server.stop();
    removeDataDir();
  };
}
