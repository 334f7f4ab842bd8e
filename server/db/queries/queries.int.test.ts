/**
 * The read queries against a real PostgreSQL, on a small fixture stored the way the collector
 * stores it: events (and their dead letters) through ingestEvents, cluster state through the
 * admin poller's functions (syncTopics, syncConsumerGroups, upsertCommittedOffsets,
 * recordLagSamples). Each expectation is worked out by hand from the fixture below.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
import { recordLagSamples, syncConsumerGroups, syncTopics, upsertCommittedOffsets, type LagSampleInput } from "../cluster-state.ts";
import { updateGroupHealth } from "../group-health.ts";
import { ingestEvents, type EventRow, type FailureInfo } from "../ingest.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";
import {
  getEntityTimeline,
  getEvent,
  getFlowGraph,
  getLagHistory,
  getTraceEvents,
  groupDeadLetters,
  listDeadLetters,
  searchEvents,
  whoConsumes,
  type EventSummary,
} from "./index.ts";

const suffix = crypto.randomBytes(3).toString("hex");
const T = {
  orders: `orders-${suffix}`,
  payments: `payments-${suffix}`,
  shipments: `shipments-${suffix}`,
  ordersDlt: `orders-${suffix}.DLT`,
  paymentsDlq: `payments-${suffix}-dlq`,
};
const G = {
  inventory: `inventory-service-${suffix}`,
  notification: `notification-service-${suffix}`,
  analytics: `analytics-${suffix}`,
  payment: `payment-service-${suffix}`,
  gone: `gone-${suffix}`,
  late: `late-${suffix}`,
};
const ORDER_SERVICE = `order-service-${suffix}`;
const PAYMENT_SERVICE = `payment-service-${suffix}`;
const SHIPPING_SERVICE = `shipping-service-${suffix}`;
const NOTIFIER_CLIENT = `notifier-${suffix}`;
const trace = (n: number) => crypto.createHash("md5").update(`${suffix}-trace-${n}`).digest("hex");
const T1 = trace(1);
const T2 = trace(2);
const T3 = trace(3);

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const BASE = NOW.getTime() - 300_000;
const at = (ms: number) => new Date(BASE + ms);
const T_1 = new Date(NOW.getTime() - 40_000);
const T_2 = new Date(NOW.getTime() - 10_000);

function failure(overrides: Partial<FailureInfo>): FailureInfo {
  return {
    source: "headers",
    convention: "eventscope",
    originTopic: null,
    originPartition: null,
    originOffset: null,
    originTimestamp: null,
    originConsumerGroup: null,
    originTopicHint: null,
    errorClass: null,
    errorMessage: null,
    errorCause: null,
    stackTrace: null,
    attempts: null,
    ...overrides,
  };
}

function event(spec: {
  topic: string;
  partition: number;
  offset: number;
  time: Date;
  type: string;
  producer: string;
  entity: string;
  traceId?: string;
  headers?: [string, string][];
  deadLetter?: FailureInfo;
}): EventRow {
  const json = { type: spec.type, orderId: spec.entity };
  const raw = Buffer.from(JSON.stringify(json));
  const headers: [string, string][] = [
    ...(spec.traceId ? ([["traceparent", `00-${spec.traceId}-${"a".repeat(15)}${spec.offset}-01`]] as [string, string][]) : []),
    ["ce_type", spec.type],
    ...(spec.headers ?? []),
  ];
  return {
    sourceId: 1,
    topic: spec.topic,
    partition: spec.partition,
    offset: String(spec.offset),
    timestamp: spec.time,
    key: { kind: "text", text: spec.entity },
    value: { kind: "json", json, raw },
    sizeBytes: raw.length + 20,
    headers: headers.map(([key, value]) => ({ key, value: Buffer.from(value), text: value })),
    eventType: spec.type,
    producer: spec.producer,
    entityKeys: [spec.entity],
    trace: { traceId: spec.traceId ?? null, parentSpanId: spec.traceId ? `${"a".repeat(15)}${spec.offset}` : null },
    deadLetter: spec.deadLetter ?? null,
    flags: [],
  };
}

// The fixture. Letters name events in the expectations below.
const A = event({ topic: T.orders, partition: 0, offset: 0, time: at(0), type: "OrderPlaced", producer: ORDER_SERVICE, entity: "ord-1", traceId: T1 });
const B = event({ topic: T.payments, partition: 0, offset: 0, time: at(1000), type: "PaymentCaptured", producer: PAYMENT_SERVICE, entity: "ord-1", traceId: T1 });
// Same time as B: ties are ordered by topic (payments < shipments).
const C = event({ topic: T.shipments, partition: 0, offset: 0, time: at(1000), type: "ShipmentCreated", producer: SHIPPING_SERVICE, entity: "ord-1", traceId: T1 });
// A's dead letter, written by the inventory service (its producer identity is its group id).
const D = event({
  topic: T.ordersDlt, partition: 0, offset: 0, time: at(2000), type: "OrderPlaced", producer: G.inventory, entity: "ord-1", traceId: T1,
  deadLetter: failure({ originTopic: T.orders, originPartition: 0, originOffset: "0", errorClass: "StockError", errorMessage: "Out of stock: sku-1" }),
});
const E = event({ topic: T.orders, partition: 0, offset: 1, time: at(3000), type: "OrderPlaced", producer: ORDER_SERVICE, entity: "ord-2", traceId: T2 });
const F = event({
  topic: T.orders, partition: 0, offset: 2, time: new Date(NOW.getTime() - 20_000), type: "OrderCancelled", producer: ORDER_SERVICE, entity: "ord-1", traceId: T1,
  headers: [["x-reason", "customer"]],
});
const G0 = event({ topic: T.orders, partition: 1, offset: 0, time: at(500), type: "OrderPlaced", producer: ORDER_SERVICE, entity: "ord-3", traceId: T3 });
const H = event({ topic: T.orders, partition: 1, offset: 1, time: at(4000), type: "OrderPlaced", producer: ORDER_SERVICE, entity: "ord-4" });
const I = event({ topic: T.payments, partition: 0, offset: 1, time: at(3500), type: "PaymentCaptured", producer: PAYMENT_SERVICE, entity: "ord-2", traceId: T2 });
const DL2 = event({
  topic: T.ordersDlt, partition: 0, offset: 1, time: at(3100), type: "OrderPlaced", producer: G.inventory, entity: "ord-2",
  deadLetter: failure({ originTopic: T.orders, originPartition: 0, originOffset: "1", errorClass: "StockError", errorMessage: "out of STOCK: sku-9" }),
});
const DL3 = event({
  topic: T.ordersDlt, partition: 0, offset: 2, time: at(3200), type: "OrderPlaced", producer: G.payment, entity: "ord-3",
  deadLetter: failure({ originTopic: T.orders, originPartition: 1, originOffset: "0", originConsumerGroup: G.payment, errorClass: "PaymentError", errorMessage: "gateway down" }),
});
// Recognised by the DLQ's name only: no origin, a hint.
const DL4 = event({
  topic: T.ordersDlt, partition: 0, offset: 3, time: at(3300), type: "OrderPlaced", producer: "", entity: "ord-5",
  deadLetter: failure({ source: "topic-name", convention: null, originTopicHint: T.orders, errorMessage: "retried 500 times" }),
});
const DL5 = event({
  topic: T.paymentsDlq, partition: 0, offset: 0, time: at(3600), type: "PaymentCaptured", producer: SHIPPING_SERVICE, entity: "ord-2",
  deadLetter: failure({ originTopic: T.payments, originPartition: 0, originOffset: "1", errorClass: "CardDeclined", errorMessage: "declined: 50% of limit used" }),
});
const ALL = [A, B, C, D, E, F, G0, H, I, DL2, DL3, DL4, DL5];

const pos = (e: EventRow | EventSummary) => `${e.topic}/${e.partition}/${e.offset}`;

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await ingestEvents(db, ALL);
  await db.prisma.deadLetter.updateMany({ where: { channel: T.ordersDlt, position: 2n }, data: { status: "resolved" } });

  const topic = (name: string, kind: "normal" | "dlq", of: string | null, ends: number[]) => ({
    name, kind, of, internal: false,
    partitions: ends.map((end, partition) => ({ partition, leader: 1, endOffset: String(end), startOffset: "0" })),
  });
  // Two polls 30 s apart: orders grows by 3 records (0.1/s), payments by 1.
  await syncTopics(db, 1, [topic(T.orders, "normal", null, [1, 1, 0]), topic(T.payments, "normal", null, [1])], { at: T_1 });
  await syncTopics(
    db,
    1,
    [
      topic(T.orders, "normal", null, [3, 2, 0]),
      topic(T.payments, "normal", null, [2]),
      topic(T.shipments, "normal", null, [1]),
      topic(T.ordersDlt, "dlq", T.orders, [4]),
      topic(T.paymentsDlq, "dlq", T.payments, [1]),
    ],
    { at: T_2 },
  );
  const assigned = (topicName: string, partitions: number[]) => partitions.map((partition) => ({ topic: topicName, partition }));
  await syncConsumerGroups(db, 1, [{ groupId: G.gone, state: "Stable", protocolType: "consumer", protocol: "range", members: [] }], { at: T_1 });
  await upsertCommittedOffsets(db, 1, [{ groupId: G.gone, topic: T.orders, partition: 0, committedOffset: "5" }], { at: T_1 });
  await syncConsumerGroups(
    db,
    1,
    [
      { groupId: G.inventory, state: "Stable", protocolType: "consumer", protocol: "range", members: [{ memberId: "m-inv", clientId: G.inventory, clientHost: "/10.0.0.1", assignments: assigned(T.orders, [0, 1, 2]) }] },
      { groupId: G.notification, state: "Stable", protocolType: "consumer", protocol: "range", members: [{ memberId: "m-not", clientId: NOTIFIER_CLIENT, clientHost: "/10.0.0.2", assignments: assigned(T.orders, [0, 1, 2]) }] },
      { groupId: G.analytics, state: "Empty", protocolType: "consumer", protocol: null, members: [] },
      { groupId: G.payment, state: "Stable", protocolType: "consumer", protocol: "range", members: [{ memberId: "m-pay", clientId: G.payment, clientHost: "/10.0.0.3", assignments: assigned(T.payments, [0]) }] },
    ],
    { at: T_2, complete: true },
  );
  const committed = (groupId: string, topicName: string, offsets: number[]) =>
    offsets.map((offset, partition) => ({ groupId, topic: topicName, partition, committedOffset: String(offset) }));
  await upsertCommittedOffsets(
    db,
    1,
    [
      ...committed(G.inventory, T.orders, [1, 0, -1]),
      ...committed(G.notification, T.orders, [3, 2, -1]),
      ...committed(G.analytics, T.orders, [0, 0, -1]),
      ...committed(G.payment, T.payments, [2]),
    ],
    { at: T_2 },
  );
  const sample = (groupId: string, topicName: string, partition: number, committedOffset: number | null, end: number, timeLagMs: number | null = null): LagSampleInput => ({
    groupId, topic: topicName, partition, endOffset: String(end),
    committedOffset: committedOffset === null ? null : String(committedOffset),
    offsetLag: committedOffset === null ? null : String(Math.max(0, end - committedOffset)),
    timeLagMs: committedOffset === null ? null : timeLagMs,
  });
  await recordLagSamples(db, 1, [
    sample(G.inventory, T.orders, 0, 0, 1, 5_000), sample(G.inventory, T.orders, 1, 0, 1, 6_000), sample(G.inventory, T.orders, 2, null, 0),
    sample(G.notification, T.orders, 0, 1, 1, 0), sample(G.notification, T.orders, 1, 1, 1, 0),
    sample(G.analytics, T.orders, 0, 0, 1, 9_000), sample(G.analytics, T.orders, 1, 0, 1, 9_000),
    sample(G.payment, T.payments, 0, 1, 1, 0),
  ], { at: T_1 });
  await recordLagSamples(db, 1, [
    // inventory: partition 0 moves (lag 1 → 2), partition 1 is stuck at 0 with lag 1 → 2: STALL.
    sample(G.inventory, T.orders, 0, 1, 3, 15_000), sample(G.inventory, T.orders, 1, 0, 2, 20_000), sample(G.inventory, T.orders, 2, null, 0),
    sample(G.notification, T.orders, 0, 3, 3, 0), sample(G.notification, T.orders, 1, 2, 2, 0),
    sample(G.analytics, T.orders, 0, 0, 3, 40_000), sample(G.analytics, T.orders, 1, 0, 2, 40_000),
    sample(G.payment, T.payments, 0, 2, 2, 0),
  ], { at: T_2 });
  // What the admin poller does after each poll: judge every group over its recent samples.
  // Two samples 30 s apart cover a one-minute window (health judges only a covered window).
  await updateGroupHealth(db, 1, { at: NOW, windowMs: 60_000 });
  // A group seen after the last judgement has no health yet.
  await syncConsumerGroups(db, 1, [{ groupId: G.late, state: "Stable", protocolType: "consumer", protocol: "range", members: [] }], { at: NOW });
});

afterAll(async () => {
  await db?.drop();
});

describe("getEntityTimeline", () => {
  it("returns every event of the entity across topics in time order, ties by topic", async () => {
    const timeline = await getEntityTimeline(db, "ord-1");
    expect(timeline.events.map(pos)).toEqual([A, B, C, D, F].map(pos));
    expect(timeline.nextCursor).toBeNull();
    expect(timeline.events[0]).toMatchObject({ eventType: "OrderPlaced", producer: ORDER_SERVICE, traceId: T1, key: "ord-1", topicKind: "normal" });
    expect(timeline.events[0]!.headers.map((h) => h.key)).toEqual(["traceparent", "ce_type"]);
  });

  it("says per subscribed group whether it consumed the event, is behind (with its lag) or dead-lettered it", async () => {
    const timeline = await getEntityTimeline(db, "ord-1");
    const byPos = new Map(timeline.events.map((e) => [pos(e), e]));
    // A: orders/0/0. inventory committed 1 (> 0) but its dead letter D says it failed it;
    // notification committed 3; analytics committed 0 (not past 0), lag 3 - 0. The deleted group is gone.
    // Each with its members' client ids (the notifier's differs from its group id; analytics has none).
    expect(byPos.get(pos(A))!.consumption).toEqual([
      { groupId: G.analytics, state: "Empty", status: "behind", committedOffset: "0", lag: "3", clientIds: [] },
      { groupId: G.inventory, state: "Stable", status: "dead-lettered", committedOffset: "1", lag: "2", clientIds: [G.inventory] },
      { groupId: G.notification, state: "Stable", status: "consumed", committedOffset: "3", lag: "0", clientIds: [NOTIFIER_CLIENT] },
    ]);
    expect(byPos.get(pos(A))!.deadLetteredAs).toMatchObject([{ topic: T.ordersDlt, partition: 0, offset: "0", errorClass: "StockError", status: "new", producer: G.inventory }]);
    // F: orders/0/2. inventory committed 1 is not past 2.
    expect(byPos.get(pos(F))!.consumption.map((c) => [c.groupId, c.status])).toEqual([
      [G.analytics, "behind"],
      [G.inventory, "behind"],
      [G.notification, "consumed"],
    ]);
    expect(byPos.get(pos(B))!.consumption).toEqual([
      { groupId: G.payment, state: "Stable", status: "consumed", committedOffset: "2", lag: "0", clientIds: [G.payment] },
    ]);
    expect(byPos.get(pos(C))!.consumption).toEqual([]);
    // D is itself a dead letter: where it came from and why.
    expect(byPos.get(pos(D))).toMatchObject({
      topicKind: "dlq",
      deadLetter: { status: "new", recognizedBy: "headers", originTopic: T.orders, originPartition: 0, originOffset: "0", errorClass: "StockError" },
    });
    expect(byPos.get(pos(A))!.deadLetter).toBeNull();
  });

  it("a dead letter naming its group is attributed to that group only", async () => {
    // DL3 (origin orders/1/0, group payment-service) is written by payment-service, which does
    // not read orders: no group on orders/1 is marked; the reference is still listed.
    const timeline = await getEntityTimeline(db, "ord-3");
    const g = timeline.events.find((e) => pos(e) === pos(G0))!;
    expect(g.deadLetteredAs.map((d) => [d.offset, d.originGroup, d.status])).toEqual([["2", G.payment, "resolved"]]);
    expect(g.consumption.map((c) => [c.groupId, c.status])).toEqual([
      [G.analytics, "behind"],
      [G.inventory, "behind"],
      [G.notification, "consumed"],
    ]);
  });

  it("pages by cursor without duplicates or gaps", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await getEntityTimeline(db, "ord-1", { limit: 2, cursor });
      seen.push(...page.events.map(pos));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([A, B, C, D, F].map(pos));
  });

  it("answers an unknown entity with no events, and refuses malformed input", async () => {
    expect((await getEntityTimeline(db, "ord-none")).events).toEqual([]);
    await expect(getEntityTimeline(db, "ord-1", { cursor: "not-a-cursor!" })).rejects.toBeInstanceOf(ValidationError);
    await expect(getEntityTimeline(db, "ord-1", { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("getTraceEvents", () => {
  it("returns the events of a trace in time order, whatever the case of the id", async () => {
    const result = await getTraceEvents(db, T1.toUpperCase());
    expect(result.events.map(pos)).toEqual([A, B, C, D, F].map(pos));
    expect(result.truncated).toBe(false);
    expect(result.events[1]!.parentSpanId).toBe(`${"a".repeat(15)}0`);
    expect((await getTraceEvents(db, T2)).events.map(pos)).toEqual([E, I].map(pos));
  });

  it("refuses what is not a trace id", async () => {
    await expect(getTraceEvents(db, "xyz")).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("searchEvents", () => {
  it("filters by type, newest first", async () => {
    const page = await searchEvents(db, { type: "OrderPlaced", topic: T.orders });
    expect(page.events.map(pos)).toEqual([H, E, G0, A].map(pos));
  });

  it("filters by key, entity, trace, topic and time range", async () => {
    expect((await searchEvents(db, { key: "ord-2" })).events.map(pos)).toEqual([DL5, I, DL2, E].map(pos));
    expect((await searchEvents(db, { entity: "ord-3" })).events.map(pos)).toEqual([DL3, G0].map(pos));
    expect((await searchEvents(db, { traceId: T2 })).events.map(pos)).toEqual([I, E].map(pos));
    const range = await searchEvents(db, { topic: T.orders, from: at(500), to: at(3000) });
    expect(range.events.map(pos)).toEqual([G0].map(pos));
  });

  it("filters by header name, and by name and value", async () => {
    expect((await searchEvents(db, { header: { name: "x-reason" } })).events.map(pos)).toEqual([pos(F)]);
    expect((await searchEvents(db, { header: { name: "x-reason", value: "customer" } })).events.map(pos)).toEqual([pos(F)]);
    expect((await searchEvents(db, { header: { name: "x-reason", value: "other" } })).events).toEqual([]);
    expect((await searchEvents(db, { header: { name: "ce_type", value: "ShipmentCreated" } })).events.map(pos)).toEqual([pos(C)]);
  });

  it("pages through everything by cursor, without duplicates or gaps, equal timestamps included", async () => {
    const all = await searchEvents(db, { limit: 500 });
    expect(all.events).toHaveLength(ALL.length);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await searchEvents(db, { limit: 2, cursor });
      expect(page.events.length).toBeLessThanOrEqual(2);
      seen.push(...page.events.map(pos));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.events.map(pos));
    expect(new Set(seen).size).toBe(ALL.length);
  });

  it("refuses a cursor of another list", async () => {
    const timelinePage = await getEntityTimeline(db, "ord-1", { limit: 1 });
    await expect(searchEvents(db, { cursor: timelinePage.nextCursor! })).rejects.toThrow(/cursor/);
  });
});

describe("getEvent", () => {
  it("returns one event with its value, headers, dead letters and consumption", async () => {
    const a = await getEvent(db, T.orders, 0, "0");
    expect(a).toMatchObject({
      topic: T.orders,
      offset: "0",
      value: { kind: "json", json: { type: "OrderPlaced", orderId: "ord-1" } },
      valueBytesBase64: null,
      deadLetteredAs: [{ offset: "0", topic: T.ordersDlt }],
    });
    expect(a!.consumption.map((c) => c.status)).toEqual(["behind", "dead-lettered", "consumed"]);
    const d = await getEvent(db, T.ordersDlt, 0, 0n);
    expect(d!.deadLetter).toMatchObject({ originTopic: T.orders, errorMessage: "Out of stock: sku-1" });
    // A dead letter keeps its exact bytes for replay.
    expect(Buffer.from(d!.valueBytesBase64!, "base64").toString()).toBe(JSON.stringify({ type: "OrderPlaced", orderId: "ord-1" }));
  });

  it("returns null for an event that is not stored, and refuses a bad offset", async () => {
    expect(await getEvent(db, T.orders, 0, "99")).toBeNull();
    await expect(getEvent(db, T.orders, 0, "-1")).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("whoConsumes", () => {
  it("follows an event type to its topics, their groups, live members, lag and producers", async () => {
    const answer = await whoConsumes(db, { type: "OrderPlaced" });
    expect(answer.topics.map((t) => t.topic)).toEqual([T.ordersDlt, T.orders].sort());
    const orders = answer.topics.find((t) => t.topic === T.orders)!;
    // payment-service reads payments, not orders; the deleted group is gone.
    expect(orders.groups.map((g) => g.groupId)).toEqual([G.analytics, G.inventory, G.notification]);
    const inventory = orders.groups.find((g) => g.groupId === G.inventory)!;
    expect(inventory).toMatchObject({
      state: "Stable",
      members: [{ memberId: "m-inv", clientId: G.inventory, clientHost: "/10.0.0.1", partitions: [0, 1, 2] }],
      // orders/0: 3 - 1, orders/1: 2 - 0, orders/2: nothing committed.
      offsetLag: "4",
      unknownLagPartitions: 1,
      maxTimeLagMs: 20_000,
      sampledAt: T_2.toISOString(),
    });
    expect(inventory.partitions.map((p) => [p.partition, p.committedOffset, p.endOffset, p.offsetLag])).toEqual([
      [0, "1", "3", "2"],
      [1, "0", "2", "2"],
      [2, null, "0", null],
    ]);
    expect(orders.producers.map((p) => [p.producer, p.eventType, p.count])).toEqual(
      expect.arrayContaining([[ORDER_SERVICE, "OrderPlaced", "4"], [ORDER_SERVICE, "OrderCancelled", "1"]]),
    );
    expect(orders.eventTypes).toEqual(["OrderCancelled", "OrderPlaced"]);
    expect(answer.producers).toEqual([G.inventory, ORDER_SERVICE, G.payment].sort());
    expect(answer.groups).toEqual([G.analytics, G.inventory, G.notification].sort());
  });

  it("answers for a topic", async () => {
    const answer = await whoConsumes(db, { topic: T.payments });
    expect(answer.topics.map((t) => [t.topic, t.groups.map((g) => g.groupId)])).toEqual([[T.payments, [G.payment]]]);
    expect((await whoConsumes(db, { topic: "no-such-topic" })).topics).toEqual([]);
  });

  it("answers for a service: what it produces and, by group id or client id, what it consumes", async () => {
    const inventory = await whoConsumes(db, { service: G.inventory });
    expect(inventory.topics.map((t) => [t.topic, t.matchedBy])).toEqual(
      [
        [T.ordersDlt, ["produced-by-service"]],
        [T.orders, ["consumed-by-service"]],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    const notifier = await whoConsumes(db, { service: NOTIFIER_CLIENT });
    expect(notifier.topics.map((t) => [t.topic, t.matchedBy])).toEqual([[T.orders, ["consumed-by-service"]]]);
  });

  it("answers an unknown type with nothing, and refuses an empty one", async () => {
    expect(await whoConsumes(db, { type: "NoSuchType" })).toMatchObject({ topics: [], groups: [], producers: [] });
    await expect(whoConsumes(db, { type: " " })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("getFlowGraph", () => {
  it("draws producers → topics → groups with rates, lag, health and DLQ counts", async () => {
    const graph = await getFlowGraph(db, { now: NOW });
    const topic = (name: string) => graph.topics.find((t) => t.topic === name)!;
    // End offsets 2 → 5 over 30 s; 1 → 2 over 30 s.
    expect(topic(T.orders)).toMatchObject({ partitions: 3, endOffset: "5", messagesPerSecond: 0.1, kind: "normal" });
    expect(topic(T.payments).messagesPerSecond).toBe(0.03);
    expect(topic(T.shipments).messagesPerSecond).toBeNull();
    expect(topic(T.ordersDlt)).toMatchObject({ kind: "dlq", of: T.orders, deadLetters: { total: 4, new: 3 } });
    expect(topic(T.paymentsDlq).deadLetters).toEqual({ total: 1, new: 1 });

    const edge = (source: string, target: string) => graph.edges.find((e) => e.source === source && e.target === target);
    // order-service wrote F 20 s ago: the only active producer of orders gets the whole rate.
    expect(edge(`producer:${ORDER_SERVICE}`, `topic:${T.orders}`)).toMatchObject({ kind: "produces", messagesPerSecond: 0.1, estimated: false });
    // payment-service's last event is 5 minutes old: nothing over the last minute.
    expect(edge(`producer:${PAYMENT_SERVICE}`, `topic:${T.payments}`)!.messagesPerSecond).toBe(0);
    expect(edge(`producer:?${T.ordersDlt}`, `topic:${T.ordersDlt}`)).toBeDefined();
    expect(edge(`topic:${T.orders}`, `topic:${T.ordersDlt}`)).toMatchObject({ kind: "dead-letters" });
    expect(edge(`topic:${T.payments}`, `topic:${T.paymentsDlq}`)).toMatchObject({ kind: "dead-letters" });
    // inventory committed 0 → 1 on orders over 30 s.
    expect(edge(`topic:${T.orders}`, `group:${G.inventory}`)).toMatchObject({ kind: "consumes", messagesPerSecond: 0.03, lag: "4" });
    expect(edge(`topic:${T.payments}`, `group:${G.payment}`)).toMatchObject({ messagesPerSecond: 0.03, lag: "0" });
    expect(edge(`topic:${T.payments}`, `group:${G.inventory}`)).toBeUndefined();

    const group = (id: string) => graph.groups.find((g) => g.groupId === id)!;
    expect(graph.groups.map((g) => g.groupId)).not.toContain(G.gone);
    expect(group(G.analytics)).toMatchObject({ state: "Empty", members: 0, totalLag: "5", health: { status: "STOP" } });
    expect(group(G.analytics).health!.reason).toMatch(/no active members \(state Empty\) while lag is 3/);
    expect(group(G.analytics).health!.judgedAt).toBe(NOW.toISOString());
    expect(group(G.inventory)).toMatchObject({
      members: 1,
      clientIds: [G.inventory],
      totalLag: "4",
      unknownLagPartitions: 1,
      maxTimeLagMs: 20_000,
      health: { status: "STALL", reason: `partition 1 of ${T.orders}: committed offset 0 has not moved for 30 s while lag is 2` },
    });
    expect(group(G.notification)).toMatchObject({ clientIds: [NOTIFIER_CLIENT], totalLag: "0", health: { status: "OK" } });
    expect(group(G.late)).toMatchObject({ totalLag: null, health: null });
  });

  it("refuses a window it cannot measure", async () => {
    await expect(getFlowGraph(db, { windowMs: 10 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("getLagHistory", () => {
  it("buckets a group's samples per partition and in total", async () => {
    const history = await getLagHistory(db, G.inventory, { from: new Date(NOW.getTime() - 60_000), to: NOW, bucketMs: 15_000 });
    // Buckets start at from: T_1 (now - 40 s) falls in [now - 45 s, now - 30 s), T_2 in [now - 15 s, now).
    const b1 = new Date(NOW.getTime() - 45_000).toISOString();
    const b2 = new Date(NOW.getTime() - 15_000).toISOString();
    expect(history.partitions.map((p) => [p.topic, p.partition, p.points.map((x) => [x.at, x.offsetLag, x.committedOffset])])).toEqual([
      [T.orders, 0, [[b1, "1", "0"], [b2, "2", "1"]]],
      [T.orders, 1, [[b1, "1", "0"], [b2, "2", "0"]]],
      [T.orders, 2, [[b1, null, null], [b2, null, null]]],
    ]);
    expect(history.totals).toEqual([
      { at: b1, offsetLag: "2", timeLagMs: 6_000, unknownPartitions: 1 },
      { at: b2, offsetLag: "4", timeLagMs: 20_000, unknownPartitions: 1 },
    ]);
  });

  it("refuses more buckets than a chart needs, and an empty range", async () => {
    await expect(getLagHistory(db, G.inventory, { from: new Date(0), to: NOW, bucketMs: 1_000 })).rejects.toBeInstanceOf(ValidationError);
    await expect(getLagHistory(db, G.inventory, { from: NOW, to: NOW, bucketMs: 1_000 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("dead letters", () => {
  const dlPos = (d: { topic: string; partition: number; offset: string }) => `${d.topic}/${d.partition}/${d.offset}`;

  it("lists the inbox newest first and pages it by cursor", async () => {
    const all = await listDeadLetters(db);
    expect(all.deadLetters.map(dlPos)).toEqual([DL5, DL4, DL3, DL2, D].map(pos));
    expect(all.deadLetters[0]).toMatchObject({
      originTopic: T.payments, originPartition: 0, originOffset: "1", errorClass: "CardDeclined",
      status: "new", eventType: "PaymentCaptured", entityKeys: ["ord-2"], producer: SHIPPING_SERVICE,
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listDeadLetters(db, { limit: 2, cursor });
      seen.push(...page.deadLetters.map(dlPos));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.deadLetters.map(dlPos));
  });

  it("filters by status, topic (origin, hint or the DLQ itself), error text and time", async () => {
    expect((await listDeadLetters(db, { status: "resolved" })).deadLetters.map(dlPos)).toEqual([pos(DL3)]);
    expect((await listDeadLetters(db, { status: ["new"], topic: T.orders })).deadLetters.map(dlPos)).toEqual([DL4, DL2, D].map(pos));
    expect((await listDeadLetters(db, { topic: T.paymentsDlq })).deadLetters.map(dlPos)).toEqual([pos(DL5)]);
    expect((await listDeadLetters(db, { errorText: "stock" })).deadLetters.map(dlPos)).toEqual([DL2, D].map(pos));
    // % is a character here, not LIKE's wildcard: "500 times" does not match "50%".
    expect((await listDeadLetters(db, { errorText: "50%" })).deadLetters.map(dlPos)).toEqual([pos(DL5)]);
    expect((await listDeadLetters(db, { from: at(3100), to: at(3300) })).deadLetters.map(dlPos)).toEqual([DL3, DL2].map(pos));
    await expect(listDeadLetters(db, { status: "lost" as "new" })).rejects.toBeInstanceOf(ValidationError);
  });

  it("groups by original topic and error class with counts and ages", async () => {
    const groups = await groupDeadLetters(db);
    const simplified = groups.map((g) => [g.originTopic, g.originIsHint, g.errorClass, g.count, g.byStatus.new, g.byStatus.resolved, g.oldest, g.newest]);
    expect(simplified).toEqual([
      [T.payments, false, "CardDeclined", 1, 1, 0, at(3600).toISOString(), at(3600).toISOString()],
      [T.orders, true, null, 1, 1, 0, at(3300).toISOString(), at(3300).toISOString()],
      [T.orders, false, "PaymentError", 1, 0, 1, at(3200).toISOString(), at(3200).toISOString()],
      [T.orders, false, "StockError", 2, 2, 0, at(2000).toISOString(), at(3100).toISOString()],
    ]);
    expect(groups[3]!.dlqTopics).toEqual([T.ordersDlt]);
    expect((await groupDeadLetters(db, { status: "new", topic: T.orders })).map((g) => [g.errorClass, g.count])).toEqual([
      [null, 1],
      ["StockError", 2],
    ]);
  });
});
