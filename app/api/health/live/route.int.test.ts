/**
 * GET /api/health/live through its route handler, with a real database and a real port where
 * nothing listens: what a load balancer sees, and that it sees nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort, getDatabase } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { GET } from "./route.ts";

let db: TestDatabase;
const saved = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await (await getDatabase()).close();
  if (saved === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = saved;
  await db?.drop();
});

async function live(): Promise<{ status: number; text: string }> {
  const response = await GET(new Request("http://127.0.0.1/api/health/live"), {});
  return { status: response.status, text: await response.text() };
}

describe("GET /api/health/live", () => {
  it("is down (503) while the database cannot be reached, and says nothing else", async () => {
    const port = await findFreePort();
    process.env.DATABASE_URL = `postgresql://eventscope:liveness-secret@127.0.0.1:${port}/eventscope`;
    expect(await live()).toEqual({ status: 503, text: '{"status":"down"}' });
  });

  it("is up (200) once it can, and says nothing else", async () => {
    process.env.DATABASE_URL = db.url;
    expect(await live()).toEqual({ status: 200, text: '{"status":"up"}' });
  });
});
