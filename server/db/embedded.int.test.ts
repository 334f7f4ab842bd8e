import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { findFreePort, makeTemporaryDataDir, startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded.ts";

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function canConnect(url: string): Promise<boolean> {
  return query(url, "SELECT 1").then(
    () => true,
    () => false,
  );
}

describe("startEmbeddedPostgres", () => {
  const dataDir = makeTemporaryDataDir("eventscope-embedded-test-");
  const started: EmbeddedPostgres[] = [];
  afterAll(async () => {
    for (const server of started.reverse()) await server.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it("initialises a data directory, reuses a server already running on it, and keeps data across restarts", async () => {
    const port = await findFreePort();
    const first = await startEmbeddedPostgres({ dataDir, port, database: "eventscope" });
    started.push(first);
    expect(first).toMatchObject({ owned: true, port, dataDir });
    expect(first.url).toBe(`postgresql://postgres:eventscope@127.0.0.1:${port}/eventscope`);
    await query(first.url, "CREATE TABLE kept (value text); INSERT INTO kept VALUES ('still here')");

    // A second process on the same directory (or one whose starter was killed) reuses the server.
    const second = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), database: "other" });
    started.push(second);
    expect(second).toMatchObject({ owned: false, port });
    await second.stop();
    expect(await canConnect(first.url)).toBe(true);

    await first.stop();
    expect(await canConnect(first.url)).toBe(false);

    const third = await startEmbeddedPostgres({ dataDir, port, database: "eventscope" });
    started.push(third);
    expect(third.owned).toBe(true);
    expect(await query(third.url, "SELECT value FROM kept")).toEqual([{ value: "still here" }]);
    await third.stop();
  });

  it("refuses a data directory that holds something else", async () => {
    const dir = makeTemporaryDataDir("eventscope-embedded-test-");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "precious.txt"), "do not delete");
    try {
      await expect(startEmbeddedPostgres({ dataDir: dir, port: await findFreePort() })).rejects.toThrow(
        /neither empty nor a PostgreSQL data directory/,
      );
      expect(fs.readFileSync(path.join(dir, "precious.txt"), "utf8")).toBe("do not delete");
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });
});
