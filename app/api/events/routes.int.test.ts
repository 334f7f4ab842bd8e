/**
 * The JSON API of timelines, traces, event search and single events, through the route handlers,
 * against a real database filled the way the collector fills it (ingestEvents and the admin
 * poller's functions); and, on the same data, that what the routes serve (these and the graph's and
 * a dead letter's) is exactly the shape their schemas in lib/api-schemas/ declare.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  getDatabase,
  ingestEvents,
  syncConsumerGroups,
  syncTopics,
  upsertCommittedOffsets,
  type EntityTimeline,
  type EventDetail,
  type EventRow,
  type EventSearchPage,
  type FailureInfo,
  type TraceEvents,
} from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import type { z } from "zod";
import { deadLetterDetailSchema } from "@/lib/api-schemas/dead-letters";
import { entityStateSchema, entityTimelineSchema, type EntityState } from "@/lib/api-schemas/entities";
import { eventDetailSchema, eventSearchPageSchema } from "@/lib/api-schemas/events";
import { flowGraphSchema, groupDetailSchema, topicDetailSchema } from "@/lib/api-schemas/graph";
import { traceEventsSchema } from "@/lib/api-schemas/traces";
import { GET as getDeadLetter } from "../dead-letters/[id]/route.ts";
import { GET as getEntity } from "../entities/[key]/route.ts";
import { GET as getGraph } from "../graph/route.ts";
import { GET as getGraphGroup } from "../graph/groups/[group]/route.ts";
import { GET as getGraphTopic } from "../graph/topics/[topic]/route.ts";
import { GET as getTrace } from "../traces/[traceId]/route.ts";
import { GET as getEventAt } from "./[topic]/[partition]/[offset]/route.ts";
import { GET as search } from "./route.ts";
import { GET as getSchemaHistory } from "../event-types/[type]/schemas/route.ts";
import { schemaHistorySchema } from "@/lib/api-schemas/schema-history";

const suffix = crypto.randomBytes(4).toString("hex");
const TOPIC = { orders: `orders-${suffix}`, inventory: `inventory-${suffix}`, payments: `payments-${suffix}`, dlq: `payments-${suffix}-dlq` };
const GROUP = { inventory: `inventory-service-${suffix}`, analytics: `analytics-${suffix}` };
const ORDER = `ord-${suffix}`;
const TRACE = crypto.randomBytes(16).toString("hex");
const START = Date.now() - 60_000;

function failure(overrides: Partial<FailureInfo>): FailureInfo {
  return {
    source: "headers", convention: "eventscope", originTopic: null, originPartition: null, originOffset: null, originTimestamp: null,
    originConsumerGroup: null, originTopicHint: null, errorClass: null, errorMessage: null, errorCause: null, stackTrace: null, attempts: null,
    ...overrides,
  };
}

function row(spec: { topic: string; offset: number; ms: number; type: string; producer: string; deadLetter?: FailureInfo; binary?: Buffer }): EventRow {
  const ceId = `${spec.type}-${suffix}`;
  const headers: [string, string][] = [
    ["traceparent", `00-${TRACE}-${crypto.randomBytes(8).toString("hex")}-01`],
    ["ce_type", spec.type],
    ["ce_id", ceId],
  ];
  const json = { type: spec.type, orderId: ORDER, note: "<script>alert(1)</script>" };
  const raw = spec.binary ?? Buffer.from(JSON.stringify(json));
  return {
    sourceId: 1,
    topic: spec.topic,
    partition: 0,
    offset: String(spec.offset),
    timestamp: new Date(START + spec.ms),
    key: { kind: "text", text: ORDER },
    value: spec.binary ? { kind: "bytes", raw, text: null, truncated: false } : { kind: "json", json, raw },
    sizeBytes: raw.length + 64,
    headers: headers.map(([key, value]) => ({ key, value: Buffer.from(value), text: value })),
    eventType: spec.type,
    producer: spec.producer,
    entityKeys: [ORDER],
    trace: { traceId: TRACE, parentSpanId: "00f067aa0ba902b7" },
    deadLetter: spec.deadLetter ?? null,
    flags: [],
  };
}

// The order's flow: placed, reserved, a payment that failed into the DLQ, and a binary audit record.
const placed = row({ topic: TOPIC.orders, offset: 0, ms: 0, type: "OrderPlaced", producer: "order-service" });
const reserved = row({ topic: TOPIC.inventory, offset: 0, ms: 40, type: "InventoryReserved", producer: "inventory-service" });
const payment = row({ topic: TOPIC.payments, offset: 0, ms: 80, type: "PaymentProcessed", producer: "payment-service" });
const deadLetter = row({
  topic: TOPIC.dlq, offset: 0, ms: 120, type: "PaymentProcessed", producer: "shipping-service",
  deadLetter: failure({ originTopic: TOPIC.payments, originPartition: 0, originOffset: "0", errorClass: "CardDeclined", errorMessage: "declined" }),
});
const binary = row({ topic: TOPIC.orders, offset: 1, ms: 160, type: "OrderAudited", producer: "order-service", binary: Buffer.from([0, 1, 2, 0xff]) });

let db: TestDatabase;
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  await ingestEvents(db, [placed, reserved, payment, deadLetter, binary]);
  const topic = (name: string, kind: "normal" | "dlq", end: number) => ({
    name, kind, of: null, internal: false, partitions: [{ partition: 0, leader: 1, endOffset: String(end), startOffset: "0" }],
  });
  const now = new Date();
  await syncTopics(db, 1, [topic(TOPIC.orders, "normal", 2), topic(TOPIC.inventory, "normal", 1), topic(TOPIC.payments, "normal", 1), topic(TOPIC.dlq, "dlq", 1)], { at: now });
  await syncConsumerGroups(
    db,
    1,
    [
      { groupId: GROUP.inventory, state: "Stable", protocolType: "consumer", protocol: "range", members: [] },
      { groupId: GROUP.analytics, state: "Stable", protocolType: "consumer", protocol: "range", members: [] },
    ],
    { at: now },
  );
  // inventory has read orders/0/0 (its next offset is 1); analytics has read nothing yet.
  await upsertCommittedOffsets(
    db,
    1,
    [
      { groupId: GROUP.inventory, topic: TOPIC.orders, partition: 0, committedOffset: "1" },
      { groupId: GROUP.analytics, topic: TOPIC.orders, partition: 0, committedOffset: "0" },
    ],
    { at: now },
  );
});

afterAll(async () => {
  await (await getDatabase()).close();
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
  await db?.drop();
});

async function call<T>(handler: (request: Request, context: never) => Promise<Response>, path: string, params: object = {}) {
  const response = await handler(new Request(`http://127.0.0.1${path}`), { params: Promise.resolve(params) } as never);
  return { status: response.status, body: (await response.json()) as T & { message?: string } };
}

const where = (e: { topic: string; partition: number; offset: string }) => `${e.topic}/${e.partition}/${e.offset}`;

describe("GET /api/entities/[key]", () => {
  it("lists the order's events across topics in time order, with each group's status", async () => {
    const { status, body } = await call<EntityTimeline>(getEntity, `/api/entities/${ORDER}`, { key: ORDER });
    expect(status).toBe(200);
    expect(body.events.map((e) => e.eventType)).toEqual(["OrderPlaced", "InventoryReserved", "PaymentProcessed", "PaymentProcessed", "OrderAudited"]);
    const first = body.events[0]!;
    expect(first.consumption).toEqual([
      expect.objectContaining({ groupId: GROUP.analytics, status: "behind", lag: "2" }),
      expect.objectContaining({ groupId: GROUP.inventory, status: "consumed" }),
    ]);
    expect(body.events[2]!.deadLetteredAs).toMatchObject([{ topic: TOPIC.dlq, errorClass: "CardDeclined" }]);
    expect(body.events[3]!.deadLetter).toMatchObject({ originTopic: TOPIC.payments, originOffset: "0" });
    expect(body.nextCursor).toBeNull();
  });

  it("pages by cursor without losing or repeating an event", async () => {
    const first = await call<EntityTimeline>(getEntity, `/api/entities/${ORDER}?limit=2`, { key: ORDER });
    expect(first.body.events).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call<EntityTimeline>(getEntity, `/api/entities/${ORDER}?limit=3&cursor=${first.body.nextCursor}`, { key: ORDER });
    expect([...first.body.events, ...second.body.events].map(where)).toEqual(
      [placed, reserved, payment, deadLetter, binary].map((e) => `${e.topic}/0/${e.offset}`),
    );
    expect(second.body.nextCursor).toBeNull();
  });

  it("answers 422 for a limit out of range or a cursor of another list, 404 for an entity without events", async () => {
    const limit = await call(getEntity, `/api/entities/${ORDER}?limit=1001`, { key: ORDER });
    expect(limit.status).toBe(422);
    expect(limit.body.message).toBe("limit: must be a whole number from 1 to 1000");
    const page = await call<EventSearchPage>(search, `/api/events?entity=${ORDER}&limit=1`);
    const foreign = await call(getEntity, `/api/entities/${ORDER}?cursor=${page.body.nextCursor}`, { key: ORDER });
    expect(foreign.status).toBe(422);
    expect(foreign.body.message).toMatch(/cursor/);
    expect((await call(getEntity, `/api/entities/ord-none-${suffix}`, { key: `ord-none-${suffix}` })).status).toBe(404);
  });

  it("answers ?at= with the state folded from the values up to then, and the events it rests on", async () => {
    const at = new Date(START + 50).toISOString();
    const { status, body } = await call<EntityState>(getEntity, `/api/entities/${ORDER}?at=${at}`, { key: ORDER });
    expect(status).toBe(200);
    expect(entityStateSchema.parse(body)).toEqual({
      entityKey: ORDER,
      at,
      state: { type: "InventoryReserved", orderId: ORDER, note: "<script>alert(1)</script>" },
      basedOn: [
        { source: "default", topic: TOPIC.orders, partition: 0, offset: "0", timestamp: new Date(START).toISOString(), eventType: "OrderPlaced" },
        { source: "default", topic: TOPIC.inventory, partition: 0, offset: "0", timestamp: new Date(START + 40).toISOString(), eventType: "InventoryReserved" },
      ],
    });
    const before = await call<EntityState>(getEntity, `/api/entities/${ORDER}?at=${new Date(START - 1).toISOString()}`, { key: ORDER });
    expect(before.body).toMatchObject({ state: {}, basedOn: [] });
    // The binary audit record changes nothing: only JSON objects are patches.
    const end = await call<EntityState>(getEntity, `/api/entities/${ORDER}?at=${new Date(START + 1_000).toISOString()}`, { key: ORDER });
    expect(end.body.basedOn.map((e) => e.eventType)).toEqual(["OrderPlaced", "InventoryReserved", "PaymentProcessed", "PaymentProcessed"]);
    expect(end.body.state).toEqual({ type: "PaymentProcessed", orderId: ORDER, note: "<script>alert(1)</script>" });
  });

  it("answers 422 for an ?at= that is no time, 404 for the state of an entity without events", async () => {
    const bad = await call(getEntity, `/api/entities/${ORDER}?at=yesterday`, { key: ORDER });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toMatch(/^at: must be an ISO 8601 time/);
    const none = await call(getEntity, `/api/entities/ord-none-${suffix}?at=${new Date(START).toISOString()}`, { key: `ord-none-${suffix}` });
    expect(none.status).toBe(404);
  });
});

describe("GET /api/traces/[traceId]", () => {
  it("returns every event of the trace, whatever the case of the id", async () => {
    const { status, body } = await call<TraceEvents>(getTrace, `/api/traces/${TRACE.toUpperCase()}`, { traceId: TRACE.toUpperCase() });
    expect(status).toBe(200);
    expect(body.traceId).toBe(TRACE);
    expect(body.events.map(where)).toEqual([placed, reserved, payment, deadLetter, binary].map((e) => `${e.topic}/0/${e.offset}`));
  });

  it("answers 422 for a malformed id and 404 for a trace no event carries", async () => {
    const bad = await call(getTrace, "/api/traces/1234", { traceId: "1234" });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toMatch(/32 hexadecimal characters/);
    const unknown = crypto.randomBytes(16).toString("hex");
    expect((await call(getTrace, `/api/traces/${unknown}`, { traceId: unknown })).status).toBe(404);
  });
});

describe("GET /api/events", () => {
  it("finds an event by a header value", async () => {
    const { status, body } = await call<EventSearchPage>(search, `/api/events?header=${encodeURIComponent(`ce_id=InventoryReserved-${suffix}`)}`);
    expect(status).toBe(200);
    expect(body.events.map(where)).toEqual([`${TOPIC.inventory}/0/0`]);
  });

  it("combines filters and pages newest first", async () => {
    const first = await call<EventSearchPage>(search, `/api/events?entity=${ORDER}&topic=${TOPIC.orders}&limit=1`);
    expect(first.body.events.map((e) => e.eventType)).toEqual(["OrderAudited"]);
    const second = await call<EventSearchPage>(search, `/api/events?entity=${ORDER}&topic=${TOPIC.orders}&limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.events.map((e) => e.eventType)).toEqual(["OrderPlaced"]);
    expect(second.body.nextCursor).toBeNull();
  });

  it("keeps to the time range", async () => {
    const from = new Date(START + 30).toISOString();
    const to = new Date(START + 100).toISOString();
    const { body } = await call<EventSearchPage>(search, `/api/events?entity=${ORDER}&from=${from}&to=${to}`);
    expect(body.events.map((e) => e.eventType)).toEqual(["PaymentProcessed", "InventoryReserved"]);
  });

  it("answers 422 with the reason for an inverted time range, a header filter without a name, a bad limit", async () => {
    const range = await call(search, "/api/events?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z");
    expect(range.status).toBe(422);
    expect(range.body.message).toMatch(/from must be before to/);
    const header = await call(search, "/api/events?header=%3DOrderPlaced");
    expect(header.status).toBe(422);
    expect(header.body.message).toMatch(/header: a header filter is name or name=value/);
    expect((await call(search, "/api/events?limit=501")).status).toBe(422);
  });
});

describe("GET /api/events/[topic]/[partition]/[offset]", () => {
  it("returns the whole event with its value and consumption", async () => {
    const { status, body } = await call<EventDetail>(getEventAt, "", { topic: TOPIC.orders, partition: "0", offset: "0" });
    expect(status).toBe(200);
    expect(body.value).toEqual({ kind: "json", json: { type: "OrderPlaced", orderId: ORDER, note: "<script>alert(1)</script>" } });
    expect(body.headers.map((h) => h.key)).toEqual(["traceparent", "ce_type", "ce_id"]);
    expect(body.consumption.map((c) => [c.groupId, c.status])).toEqual([
      [GROUP.analytics, "behind"],
      [GROUP.inventory, "consumed"],
    ]);
  });

  it("returns a binary value as base64 and a dead letter with its origin", async () => {
    const bin = await call<EventDetail>(getEventAt, "", { topic: TOPIC.orders, partition: "0", offset: "01" });
    expect(bin.body.value).toEqual({ kind: "binary", base64: Buffer.from([0, 1, 2, 0xff]).toString("base64") });
    const dlq = await call<EventDetail>(getEventAt, "", { topic: TOPIC.dlq, partition: "0", offset: "0" });
    expect(dlq.body.deadLetter).toMatchObject({ originTopic: TOPIC.payments, originPartition: 0, originOffset: "0", errorClass: "CardDeclined" });
  });

  it("answers 422 for a bad offset or partition and 404 for an event not stored", async () => {
    const offset = await call(getEventAt, "", { topic: TOPIC.orders, partition: "0", offset: "-1" });
    expect(offset.status).toBe(422);
    expect(offset.body.message).toBe("offset: must be a non-negative whole number");
    expect((await call(getEventAt, "", { topic: TOPIC.orders, partition: "9999999999", offset: "0" })).status).toBe(422);
    expect((await call(getEventAt, "", { topic: TOPIC.orders, partition: "0", offset: "7" })).status).toBe(404);
  });
});

/**
 * What a route serves parses with its schema and loses nothing: a field the query adds, drops,
 * renames or retypes without the schema fails here (parsing strips unknown fields, so the parsed
 * body would differ).
 */
function expectServedAs<S extends z.ZodType>(schema: S, response: { status: number; body: unknown }): z.infer<S> {
  expect(response.status).toBe(200);
  const parsed = schema.parse(response.body);
  expect(parsed).toEqual(response.body);
  return parsed;
}

describe("GET /api/event-types/[type]/schemas", () => {
  it("answers the type's JSON shape, 404 for a type never seen and 422 for an empty one", async () => {
    const history = expectServedAs(schemaHistorySchema, await call(getSchemaHistory, "", { type: "OrderPlaced" }));
    expect(history.eventType).toBe("OrderPlaced");
    expect(history.json.fields.map((f) => f.path)).toContain("orderId");
    const missing = await call(getSchemaHistory, "", { type: `Nothing-${suffix}` });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/no events of type/);
    expect((await call(getSchemaHistory, "", { type: " " })).status).toBe(422);
  });

  it("the search takes a schema id, and refuses one that is not a whole number", async () => {
    expect((await call<EventSearchPage>(search, `/api/events?entity=${ORDER}&schemaId=4242`)).body.events).toEqual([]);
    const bad = await call(search, `/api/events?schemaId=abc`);
    expect(bad.status).toBe(422);
    expect(bad.body.message).toMatch(/schema id is a whole number/);
  });
});

describe("the served shapes are the schemas of lib/api-schemas", () => {
  it("the flow graph and its side panel", async () => {
    const graph = expectServedAs(flowGraphSchema, await call(getGraph, "/api/graph"));
    expect(graph.topics.find((t) => t.topic === TOPIC.dlq)).toMatchObject({ kind: "dlq", deadLetters: { total: 1, new: 1 } });
    expect(graph.groups.map((g) => g.groupId)).toEqual(expect.arrayContaining([GROUP.inventory, GROUP.analytics]));
    expect(graph.edges.length).toBeGreaterThan(0);
    const topic = expectServedAs(topicDetailSchema, await call(getGraphTopic, "", { topic: TOPIC.orders }));
    expect(topic.consumers.map((c) => c.groupId)).toEqual(expect.arrayContaining([GROUP.inventory, GROUP.analytics]));
    const group = expectServedAs(groupDetailSchema, await call(getGraphGroup, "", { group: GROUP.inventory }));
    expect(group.partitions.map((p) => [p.topic, p.committedOffset])).toEqual([[TOPIC.orders, "1"]]);
  });

  it("a dead letter with its record and origin", async () => {
    const { rows } = await db.pool.query<{ id: string }>(`SELECT id::text AS id FROM dead_letters WHERE channel = $1`, [TOPIC.dlq]);
    const id = rows[0]!.id;
    const detail = expectServedAs(deadLetterDetailSchema, await call(getDeadLetter, "", { id }));
    expect(detail).toMatchObject({ id, originTopic: TOPIC.payments, errorClass: "CardDeclined", originCollected: true, eventCollected: true });
    expect(detail.headers.map((h) => h.key)).toEqual(["traceparent", "ce_type", "ce_id"]);
  });

  it("timelines, traces, search and single events", async () => {
    expectServedAs(entityTimelineSchema, await call(getEntity, `/api/entities/${ORDER}`, { key: ORDER }));
    expectServedAs(traceEventsSchema, await call(getTrace, "", { traceId: TRACE }));
    expectServedAs(eventSearchPageSchema, await call(search, `/api/events?entity=${ORDER}`));
    expectServedAs(eventDetailSchema, await call(getEventAt, "", { topic: TOPIC.dlq, partition: "0", offset: "0" }));
    expectServedAs(eventDetailSchema, await call(getEventAt, "", { topic: TOPIC.orders, partition: "0", offset: "1" }));
  });
});
