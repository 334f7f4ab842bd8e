/**
 * The flows API through its route handlers against a real database: what an empty store answers,
 * and a kind's flow once the collector's events of it are stored and folded (foldFlows, as the
 * collector runs it), each answer exactly the shape lib/api-schemas/flows.ts declares.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDatabase } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { flowKindsSchema } from "@/lib/api-schemas/flows";
import { GET as listKinds } from "./route.ts";
import { GET as getFlow } from "./[kind]/route.ts";
import { GET as listEntities } from "./[kind]/entities/route.ts";

let db: TestDatabase;
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
});

afterAll(async () => {
  await (await getDatabase()).close();
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
  await db?.drop();
});

async function call(handler: (request: Request, context: never) => Promise<Response>, path: string, kind?: string) {
  const response = await handler(new Request(`http://127.0.0.1${path}`), { params: Promise.resolve({ kind }) } as never);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { message?: string } };
}

describe("the flows API on an empty store", () => {
  it("lists no kind", async () => {
    const answer = await call(listKinds, "/api/flows");
    expect(answer.status).toBe(200);
    expect(flowKindsSchema.strict().parse(answer.body)).toEqual({ kinds: [] });
  });

  it("answers 404 for a kind no entity has, on the flow and its entities", async () => {
    const flow = await call(getFlow, "/api/flows/orderId", "orderId");
    expect(flow.status).toBe(404);
    expect(flow.body.message).toMatch(/no entity of kind orderId is stored/);
    const entities = await call(listEntities, "/api/flows/orderId/entities", "orderId");
    expect(entities.status).toBe(404);
  });

  it("answers 422 for a bad window or step before looking", async () => {
    const flow = await call(getFlow, "/api/flows/orderId?window=30d", "orderId");
    expect(flow.status).toBe(422);
    expect(flow.body.message).toMatch(/window must be one of 1h, 24h, 7d/);
    const entities = await call(listEntities, "/api/flows/orderId/entities?step=OrderPlaced", "orderId");
    expect(entities.status).toBe(422);
    expect(entities.body.message).toMatch(/step: is not a step id/);
  });
});
