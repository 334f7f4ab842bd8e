/**
 * The flows API through its route handlers against a real database: what an empty store answers,
 * and a kind's flow once the collector's events of it are stored and folded (foldFlows, as the
 * collector runs it), each answer exactly the shape lib/api-schemas/flows.ts declares.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import crypto from "node:crypto";
import { foldFlows, getDatabase, ingestEvents, type EventRow } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { flowEntitiesSchema, flowKindsSchema, flowSchema } from "@/lib/api-schemas/flows";
import { stepId } from "@/lib/flows";
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

const suffix = crypto.randomBytes(3).toString("hex");
const START = Date.now() - 10 * 60_000;
let offset = 0;

function event(type: string, producer: string, orderId: string, ms: number): EventRow {
  const json = { orderId, type };
  const raw = Buffer.from(JSON.stringify(json));
  return {
    sourceId: 1, topic: `orders-${suffix}`, partition: 0, offset: String(offset++), timestamp: new Date(START + ms),
    key: { kind: "text", text: orderId }, value: { kind: "json", json, raw }, sizeBytes: raw.length, headers: [],
    eventType: type, producer, entityKeys: [orderId], entityKinds: ["orderId"], trace: { traceId: null, parentSpanId: null }, deadLetter: null, flags: [],
  };
}

const PLACED = stepId({ role: "event", type: "OrderPlaced", producer: "order-service" });
const PAID = stepId({ role: "event", type: "PaymentProcessed", producer: "payment-service" });
const CANCELLED = stepId({ role: "event", type: "OrderCancelled", producer: "order-service" });

describe("the flows API once orders are stored and counted", () => {
  beforeAll(async () => {
    // Three orders placed; two paid 200 ms later, one cancelled after 5 s.
    await ingestEvents(db, [
      event("OrderPlaced", "order-service", `ord-1-${suffix}`, 0),
      event("OrderPlaced", "order-service", `ord-2-${suffix}`, 1_000),
      event("OrderPlaced", "order-service", `ord-3-${suffix}`, 2_000),
      event("PaymentProcessed", "payment-service", `ord-1-${suffix}`, 200),
      event("PaymentProcessed", "payment-service", `ord-2-${suffix}`, 1_200),
      event("OrderCancelled", "order-service", `ord-3-${suffix}`, 7_000),
    ]);
    while ((await foldFlows(db)).steps > 0);
  });

  it("lists the kind, and serves its pathway with shares and latencies", async () => {
    const kinds = await call(listKinds, "/api/flows");
    expect(flowKindsSchema.strict().parse(kinds.body).kinds).toEqual([{ kind: "orderId", entities: 3, lastAt: new Date(START + 7_000).toISOString() }]);

    const answer = await call(getFlow, "/api/flows/orderId?window=1h", "orderId");
    expect(answer.status).toBe(200);
    const flow = flowSchema.strict().parse(answer.body);
    expect(flow).toMatchObject({ kind: "orderId", window: "1h", entities: 3 });
    expect(flow.steps.find((s) => s.id === PLACED)).toMatchObject({ entities: 3, starts: 3, latency: null });
    expect(flow.steps.find((s) => s.id === PAID)).toMatchObject({ entities: 2, ends: 2 });
    const toPaid = flow.edges.find((e) => e.from === PLACED && e.to === PAID)!;
    expect(toPaid.entities).toBe(2);
    expect(toPaid.share).toBeCloseTo(2 / 3);
    // Latencies are bucketed (lib/flows.ts): within a bucket's width of 200 ms.
    expect(toPaid.latency!.p50Ms).toBeGreaterThan(160);
    expect(toPaid.latency!.p50Ms).toBeLessThan(240);
  });

  it("lists the entities behind a step and behind a transition, by pages", async () => {
    const atPaid = await call(listEntities, `/api/flows/orderId/entities?step=${encodeURIComponent(PAID)}&limit=1`, "orderId");
    expect(atPaid.status).toBe(200);
    const first = flowEntitiesSchema.strict().parse(atPaid.body);
    expect(first.entities).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const second = flowEntitiesSchema.parse(
      (await call(listEntities, `/api/flows/orderId/entities?step=${encodeURIComponent(PAID)}&limit=1&cursor=${first.nextCursor}`, "orderId")).body,
    );
    expect([...first.entities, ...second.entities].map((e) => e.entityKey).sort()).toEqual([`ord-1-${suffix}`, `ord-2-${suffix}`]);

    const edge = `from=${encodeURIComponent(PLACED)}&to=${encodeURIComponent(CANCELLED)}`;
    const cancelled = flowEntitiesSchema.parse((await call(listEntities, `/api/flows/orderId/entities?${edge}`, "orderId")).body);
    expect(cancelled.entities.map((e) => [e.entityKey, e.lastStep.type])).toEqual([[`ord-3-${suffix}`, "OrderCancelled"]]);
  });

  it("still answers 404 for a kind no entity has", async () => {
    expect((await call(getFlow, "/api/flows/customerId", "customerId")).status).toBe(404);
  });
});
