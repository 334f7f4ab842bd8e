import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepId } from "../../lib/flows.ts";
import { foldFlows, pendingFlowSteps, queueStoredFlowSteps, readFlowState, recomputeFlows } from "./flows.ts";
import { ingestEvents, type EventRow, type FailureInfo } from "./ingest.ts";
import { getEntityFlows, getFlow, listFlowEntities, listFlowKinds } from "./queries/flows.ts";
import { syncRabbitVhost } from "./rabbitmq-state.ts";
import { pruneOlderThan } from "./retention.ts";
import { ensureSource } from "./sources.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** 2026-12-05T10:00:00Z. */
const T0 = Date.UTC(2026, 11, 5, 10);
const NOW = new Date(T0 + 30 * 60_000);

let offset = 0;
function event(topic: string, type: string, producer: string, orderId: string, atMs: number, extra: Partial<EventRow> = {}): EventRow {
  const json = { orderId, type };
  const raw = Buffer.from(JSON.stringify(json));
  return {
    sourceId: 1,
    topic,
    partition: 0,
    offset: String(offset++),
    timestamp: new Date(atMs),
    key: { kind: "text", text: orderId },
    value: { kind: "json", json, raw },
    sizeBytes: raw.length,
    headers: [],
    eventType: type,
    producer,
    entityKeys: [orderId],
    entityKinds: ["orderId"],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: null,
    flags: [],
    ...extra,
  };
}

const failure: FailureInfo = {
  source: "headers",
  convention: "eventscope",
  originTopic: "payments",
  originPartition: 0,
  originOffset: "1",
  originTimestamp: null,
  originConsumerGroup: "payment-service",
  originTopicHint: null,
  errorClass: "GatewayTimeout",
  errorMessage: "card gateway timed out",
  errorCause: null,
  stackTrace: null,
  attempts: 3,
};

const placed = stepId({ role: "event", type: "OrderPlaced", producer: "order-service" });
const paid = stepId({ role: "event", type: "PaymentProcessed", producer: "payment-service" });
const shipped = stepId({ role: "event", type: "OrderShipped", producer: "shipping-service" });
const retried = stepId({ role: "retry", type: "PaymentRequested", producer: "payment-service" });
const parked = stepId({ role: "dead-letter", type: "PaymentRequested", producer: "payment-service" });

async function foldAll(): Promise<number> {
  let folded = 0;
  for (;;) {
    const result = await foldFlows(db, { batch: 2 });
    folded += result.steps;
    if (result.steps === 0) return folded;
  }
}

describe("flows maintained by the fold", () => {
  it("counts paths from events that arrive out of order, and equals a recomputation after each fold", async () => {
    // ord-3's payment arrives before its order; ord-2's retry copy and dead letter come last.
    await ingestEvents(db, [
      event("orders", "OrderPlaced", "order-service", "ord-1", T0 + 1_000),
      event("payments", "PaymentProcessed", "payment-service", "ord-1", T0 + 1_100),
      event("payments", "PaymentProcessed", "payment-service", "ord-3", T0 + 3_200),
      event("orders", "OrderPlaced", "order-service", "ord-2", T0 + 2_000),
    ]);
    expect(await foldAll()).toBe(4);
    expect(await readFlowState(db)).toEqual(await recomputeFlows(db));

    await ingestEvents(db, [
      event("orders", "OrderPlaced", "order-service", "ord-3", T0 + 3_000),
      event("shipments", "OrderShipped", "shipping-service", "ord-1", T0 + 1_400),
      event("payments-retry", "PaymentRequested", "payment-service", "ord-2", T0 + 3_000, { priorFailure: failure }),
      event("payments-dlq", "PaymentRequested", "payment-service", "ord-2", T0 + 4_000, { deadLetter: failure }),
    ]);
    expect(await foldAll()).toBe(4);
    expect(await readFlowState(db)).toEqual(await recomputeFlows(db));

    const flow = await getFlow(db, "orderId", { window: "24h", now: NOW });
    // Worked out by hand: three orders placed; ord-1 and ord-3 paid (100 ms and 200 ms later),
    // ord-1 shipped 300 ms after payment; ord-2 retried after 1 s and parked 1 s after that.
    expect(flow).toMatchObject({ kind: "orderId", window: "24h", entities: 3, pending: 0, from: new Date(T0 - 24 * 3_600_000).toISOString() });
    const steps = Object.fromEntries(flow!.steps.map((s) => [s.id, { entities: s.entities, starts: s.starts, ends: s.ends, latency: s.latency }]));
    expect(steps).toEqual({
      [placed]: { entities: 3, starts: 3, ends: 0, latency: null },
      [paid]: { entities: 2, starts: 0, ends: 1, latency: { p50Ms: 99, p95Ms: 197, p99Ms: 197, count: 2 } },
      [shipped]: { entities: 1, starts: 0, ends: 1, latency: { p50Ms: 279, p95Ms: 279, p99Ms: 279, count: 1 } },
      [retried]: { entities: 1, starts: 0, ends: 0, latency: { p50Ms: 939, p95Ms: 939, p99Ms: 939, count: 1 } },
      [parked]: { entities: 1, starts: 0, ends: 1, latency: { p50Ms: 939, p95Ms: 939, p99Ms: 939, count: 1 } },
    });
    const edges = Object.fromEntries(flow!.edges.map((e) => [`${e.from} → ${e.to}`, { entities: e.entities, share: e.share }]));
    expect(edges).toEqual({
      [`${placed} → ${paid}`]: { entities: 2, share: 2 / 3 },
      [`${placed} → ${retried}`]: { entities: 1, share: 1 / 3 },
      [`${paid} → ${shipped}`]: { entities: 1, share: 1 / 2 },
      [`${retried} → ${parked}`]: { entities: 1, share: 1 },
    });
    // ord-1 400 ms, ord-3 200 ms, ord-2 2 s end to end.
    expect(flow!.endToEnd).toEqual({ p50Ms: 395, p95Ms: 1878, p99Ms: 1878, count: 3 });

    expect(await listFlowKinds(db)).toEqual({ kinds: [{ kind: "orderId", entities: 3, lastAt: new Date(T0 + 4_000).toISOString() }] });
  });

  it("lists the entities behind a step and an edge, newest first, page by page", async () => {
    const behindPaid = await listFlowEntities(db, "orderId", { window: "24h", step: paid }, { now: NOW });
    expect(behindPaid!.entities.map((e) => e.entityKey)).toEqual(["ord-3", "ord-1"]);
    const behindEdge = await listFlowEntities(db, "orderId", { window: "24h", from: paid, to: shipped }, { now: NOW });
    expect(behindEdge!.entities).toEqual([
      {
        entityKey: "ord-1",
        outcome: "completed",
        firstAt: new Date(T0 + 1_000).toISOString(),
        lastAt: new Date(T0 + 1_400).toISOString(),
        steps: 3,
        lastStep: { id: shipped, role: "event", type: "OrderShipped", producer: "shipping-service" },
        stuck: null,
      },
    ]);
    // A step no event has had (no replay was stored): nobody behind it, as step or as edge.
    const replayed = stepId({ role: "replay", type: "OrderPlaced", producer: "order-service" });
    expect((await listFlowEntities(db, "orderId", { window: "24h", step: replayed }, { now: NOW }))!.entities).toEqual([]);
    expect((await listFlowEntities(db, "orderId", { window: "24h", from: replayed, to: paid }, { now: NOW }))!.entities).toEqual([]);
    const first = await listFlowEntities(db, "orderId", { window: "24h", limit: 2 }, { now: NOW });
    expect(first!.entities.map((e) => e.entityKey)).toEqual(["ord-2", "ord-3"]);
    const second = await listFlowEntities(db, "orderId", { window: "24h", limit: 2, cursor: first!.nextCursor! }, { now: NOW });
    expect(second!.entities.map((e) => e.entityKey)).toEqual(["ord-1"]);
    expect(second!.nextCursor).toBeNull();
    // Outside the window: a day later nothing is recent.
    const later = await listFlowEntities(db, "orderId", { window: "1h" }, { now: new Date(T0 + 48 * 3_600_000) });
    expect(later!.entities).toEqual([]);
  });

  it("answers null for a kind nobody has, and counts nothing twice when a batch is stored again", async () => {
    expect(await getFlow(db, "customerId", { window: "24h", now: NOW })).toBeNull();
    expect(await listFlowEntities(db, "customerId", { window: "24h" })).toBeNull();
    const again = event("orders", "OrderPlaced", "order-service", "ord-1", T0 + 1_000, { offset: "0" });
    const result = await ingestEvents(db, [again]);
    expect(result.inserted).toBe(0);
    await foldAll();
    expect(await readFlowState(db)).toEqual(await recomputeFlows(db));
    expect((await getFlow(db, "orderId", { window: "24h", now: NOW }))!.entities).toBe(3);
  });

  it("tells completed, compensated, dead-lettered, stuck and in-flight entities apart, and says what a stuck one waits for", async () => {
    // ord-4: a payment failure answered by releasing the stock.
    await ingestEvents(db, [
      event("orders", "OrderPlaced", "order-service", "ord-4", T0 + 5_000),
      event("payments", "PaymentFailed", "payment-service", "ord-4", T0 + 5_100),
      event("inventory", "InventoryReleased", "inventory-service", "ord-4", T0 + 5_300),
    ]);
    await foldAll();
    expect(await readFlowState(db)).toEqual(await recomputeFlows(db));
    await db.pool.query(
      `INSERT INTO consumer_groups (source_id, group_id, state, health_status, health_reason) VALUES (1, 'shipping-service', 'Stable', 'STALL', 'no commits for 5 min, lag 12')`,
    );
    // shipping-service also consumes a RabbitMQ queue; its consumer has gone since (the queue keeps its name).
    const rabbit = await ensureSource(db, { name: "shop-rabbit", kind: "rabbitmq" });
    const labels = {
      name: "shipping.labels", type: "classic", durable: true, autoDelete: false, exclusive: false, arguments: {}, state: "running",
      messagesReady: 12, messagesUnacknowledged: 0, consumers: 1, publishRate: null, deliverRate: null, ackRate: null, processedTotal: 0, headMessageAt: null,
    };
    const labelConsumer = {
      queue: "shipping.labels", channel: "c (1)", consumerTag: "ctag-1", connection: "127.0.0.1:50000 -> 127.0.0.1:5672", connectionName: "shipping-service",
      peerHost: "127.0.0.1", user: "guest", ackRequired: true, prefetchCount: 10, active: true, exclusive: false,
    };
    await syncRabbitVhost(db, rabbit.id, { vhost: "/", queues: [labels], bindings: [], consumers: [labelConsumer] }, { at: new Date(NOW.getTime() - 60_000) });
    await syncRabbitVhost(db, rabbit.id, { vhost: "/", queues: [{ ...labels, consumers: 0 }], bindings: [], consumers: [] }, { at: NOW });

    // Half an hour on: ord-1 ended where every entity that got there ends (OrderShipped), ord-2
    // sits in a dead-letter queue, ord-4 was compensated, and ord-3 has waited 30 min at
    // PaymentProcessed, whose usual next step (OrderShipped) takes 279 ms at p99: 3 × that is
    // below the 30 s floor, so it is stuck after 30 s.
    const flow = (await getFlow(db, "orderId", { window: "24h", now: NOW }))!;
    expect(flow.outcomes).toEqual({ completed: 1, compensated: 1, deadLettered: 1, stuck: 1, inFlight: 0 });
    expect(flow.outcomeHours).toEqual([{ hour: new Date(T0).toISOString(), completed: 1, compensated: 1, deadLettered: 1, open: 1 }]);
    const paidStep = flow.steps.find((s) => s.id === paid)!;
    expect(paidStep).toMatchObject({ terminal: false, usualNext: shipped, stuckAfterMs: 30_000 });
    expect(flow.steps.find((s) => s.id === shipped)).toMatchObject({ terminal: true, stuckAfterMs: null });

    const stuck = await listFlowEntities(db, "orderId", { window: "24h", outcome: "stuck" }, { now: NOW });
    expect(stuck!.entities).toEqual([
      {
        entityKey: "ord-3",
        outcome: "stuck",
        firstAt: new Date(T0 + 3_000).toISOString(),
        lastAt: new Date(T0 + 3_200).toISOString(),
        steps: 2,
        lastStep: { id: paid, role: "event", type: "PaymentProcessed", producer: "payment-service" },
        stuck: {
          forMs: NOW.getTime() - (T0 + 3_200),
          nextStep: { id: shipped, role: "event", type: "OrderShipped", producer: "shipping-service" },
          usualP99Ms: 279,
          stuckAfterMs: 30_000,
          groups: [
            { kind: "kafka-group", source: "default", groupId: "shipping-service", healthStatus: "STALL", healthReason: "no commits for 5 min, lag 12" },
            { kind: "rabbitmq-queue", source: "shop-rabbit", groupId: "rabbitmq:%2F/shipping.labels", healthStatus: "STOP", healthReason: expect.any(String) },
          ],
        },
      },
    ]);
    const keys = async (outcome: "completed" | "compensated" | "dead-lettered" | "in-flight", now = NOW) =>
      (await listFlowEntities(db, "orderId", { window: "24h", outcome }, { now }))!.entities.map((e) => [e.entityKey, e.outcome]);
    expect(await keys("completed")).toEqual([["ord-1", "completed"]]);
    expect(await keys("compensated")).toEqual([["ord-4", "compensated"]]);
    expect(await keys("dead-lettered")).toEqual([["ord-2", "dead-lettered"]]);
    expect(await keys("in-flight")).toEqual([]);
    // On its timeline, each entity says how it fares in its kind's flow.
    expect(await getEntityFlows(db, "ord-3", { now: NOW })).toEqual([
      {
        kind: "orderId",
        ...stuck!.entities[0]!,
        // Every step so far happened once per order.
        onceSteps: flow.steps.filter((s) => s.role === "event").map((s) => ({ type: s.type, producer: s.producer })),
        // Four orders are too few to say a step always follows another.
        alwaysAfter: [],
      },
    ]);
    expect((await getEntityFlows(db, "ord-4", { now: NOW })).map((f) => [f.kind, f.outcome])).toEqual([["orderId", "compensated"]]);
    expect(await getEntityFlows(db, "ord-404", { now: NOW })).toEqual([]);
    // Ten seconds after its payment, ord-3 was still in flight.
    const early = new Date(T0 + 13_200);
    expect(await keys("in-flight", early)).toEqual([["ord-3", "in-flight"]]);
    expect((await getFlow(db, "orderId", { window: "24h", now: early }))!.outcomes).toMatchObject({ stuck: 0, inFlight: 1 });
  });

  it("judges an entity done by its way into its last step: a notification after a payment does not end an order", async () => {
    // Parcels are notified about after their payment and after their confirmation; p-3 got only
    // the first notification, so most that came that way went on: it is not done, it is stuck.
    const parcel = (type: string, producer: string, key: string, atMs: number) =>
      event("parcels", type, producer, key, atMs, { entityKeys: [key], entityKinds: ["parcelId"] });
    const rows = ["p-1", "p-2", "p-3"].flatMap((key, i) => {
      const t = T0 + 10_000 + i * 1_000;
      const head = [parcel("ParcelPlaced", "parcel-service", key, t), parcel("ParcelPaid", "billing", key, t + 100), parcel("CustomerNotified", "notifier", key, t + 150)];
      return key === "p-3" ? head : [...head, parcel("ParcelConfirmed", "parcel-service", key, t + 300), parcel("CustomerNotified", "notifier", key, t + 350)];
    });
    await ingestEvents(db, rows);
    await foldAll();
    expect(await readFlowState(db)).toEqual(await recomputeFlows(db));
    const flow = (await getFlow(db, "parcelId", { window: "24h", now: NOW }))!;
    const notified = flow.steps.find((s) => s.type === "CustomerNotified")!;
    // Every parcel ended at CustomerNotified, but only the way in from ParcelConfirmed ends them.
    expect(notified).toMatchObject({ terminal: true, completesAfter: [flow.steps.find((s) => s.type === "ParcelConfirmed")!.id] });
    expect(flow.outcomes).toEqual({ completed: 2, compensated: 0, deadLettered: 0, stuck: 1, inFlight: 0 });
    const stuck = await listFlowEntities(db, "parcelId", { window: "24h", outcome: "stuck" }, { now: NOW });
    expect(stuck!.entities.map((e) => [e.entityKey, e.stuck?.nextStep.type])).toEqual([["p-3", "ParcelConfirmed"]]);
    const completed = await listFlowEntities(db, "parcelId", { window: "24h", outcome: "completed" }, { now: NOW });
    expect(completed!.entities.map((e) => e.entityKey)).toEqual(["p-2", "p-1"]);
  });

  it("counts duplicate deliveries by topic and producer and partition splits by topic, equal to a recomputation", async () => {
    const id = (value: string) => [{ key: "ce_id", value: Buffer.from(value), text: value }];
    // dup-1: its OrderPlaced (one ce_id) delivered twice, 2 s apart, then its key changed and its
    // OrderShipped landed on partition 3 of orders. dup-2: no ids, the same payment bytes twice
    // within a minute (a duplicate) and then a third time two minutes later (another payment).
    await ingestEvents(db, [
      event("orders", "OrderPlaced", "order-service", "dup-1", T0 + 10_000, { headers: id("evt-a") }),
      event("orders", "OrderPlaced", "order-service", "dup-1", T0 + 12_000, { headers: id("evt-a") }),
      event("payments", "PaymentProcessed", "payment-service", "dup-1", T0 + 13_000, { headers: id("evt-b") }),
      event("orders", "OrderShipped", "shipping-service", "dup-1", T0 + 14_000, { headers: id("evt-c"), partition: 3 }),
      event("payments", "PaymentProcessed", "payment-service", "dup-2", T0 + 20_000),
      event("payments", "PaymentProcessed", "payment-service", "dup-2", T0 + 50_000),
      event("payments", "PaymentProcessed", "payment-service", "dup-2", T0 + 170_000),
      // A retry copy and a dead letter carry the original's id: steps, not duplicates.
      event("payments-retry", "PaymentRequested", "payment-service", "dup-1", T0 + 15_000, { headers: id("evt-b"), priorFailure: failure }),
      event("payments-retry", "PaymentRequested", "payment-service", "dup-1", T0 + 16_000, { headers: id("evt-b"), priorFailure: failure }),
    ]);
    await foldAll();
    expect(await readFlowState(db)).toEqual(await recomputeFlows(db));
    const flow = (await getFlow(db, "orderId", { window: "24h", now: NOW }))!;
    expect(flow.delivery.duplicates).toEqual([
      { topic: "orders", step: placed, type: "OrderPlaced", producer: "order-service", count: 1 },
      { topic: "payments", step: paid, type: "PaymentProcessed", producer: "payment-service", count: 1 },
    ]);
    expect(flow.delivery.partitionSplits).toEqual([{ topic: "orders", entities: 1 }]);
    // dup-2's third payment (another one) is a repeat; its duplicate is not.
    expect(flow.steps.find((s) => s.id === paid)!.repeats).toBe(1);

    // The duplicate's record read again (a batch delivered again) is the same record: nothing counts twice.
    await ingestEvents(db, [event("orders", "OrderPlaced", "order-service", "dup-1", T0 + 12_000, { headers: id("evt-a"), offset: String(offset - 8) })]);
    await foldAll();
    expect(await readFlowState(db)).toEqual(await recomputeFlows(db));
  });

  it("lets entities and hourly counters go with retention, like the events", async () => {
    // Everything above happened in the hour from T0: a cutoff two hours later takes it all.
    const result = await pruneOlderThan(db, { data: new Date(T0 + 2 * 3_600_000), audit: new Date(0) });
    expect(result).toMatchObject({ ran: true, flowEntities: 9 });
    expect(result.flowCounts).toBeGreaterThan(0);
    expect(await getFlow(db, "orderId", { window: "7d", now: NOW })).toBeNull();
    expect(await listFlowKinds(db)).toEqual({ kinds: [] });
  });
});

describe("flows of events stored without them", () => {
  let bare: TestDatabase;
  beforeAll(async () => {
    // A database of its own: the events above are counted already, and would count twice.
    bare = await createTestDatabase();
  });
  afterAll(async () => {
    await bare?.drop();
  });

  it("queues the stored events' steps for the fold, which then equals a recomputation", async () => {
    // Stored with flows off: out of order, a customer as a second entity, a retry copy, a dead
    // letter, and three events in the same millisecond (the keyset must not lose or repeat ties).
    await ingestEvents(
      bare,
      [
        event("payments", "PaymentProcessed", "payment-service", "ord-3", T0 + 3_200),
        event("orders", "OrderPlaced", "order-service", "ord-1", T0 + 1_000, { entityKeys: ["ord-1", "cust-1"], entityKinds: ["orderId", "customerId"] }),
        event("payments", "PaymentProcessed", "payment-service", "ord-1", T0 + 1_100),
        event("orders", "OrderPlaced", "order-service", "ord-2", T0 + 2_000, { entityKeys: ["ord-2", "cust-1"], entityKinds: ["orderId", "customerId"] }),
        event("orders", "OrderPlaced", "order-service", "ord-3", T0 + 2_000),
        event("shipments", "OrderShipped", "shipping-service", "ord-1", T0 + 2_000),
        event("payments-retry", "PaymentRequested", "payment-service", "ord-2", T0 + 3_000, { priorFailure: failure }),
        event("payments-dlq", "PaymentRequested", "payment-service", "ord-2", T0 + 4_000, { deadLetter: failure }),
        event("page-views", "PageViewed", "web-frontend", "none", T0 + 5_000, { entityKeys: [], entityKinds: [] }),
      ],
      { flows: false },
    );
    expect(await pendingFlowSteps(bare)).toBe(0);
    expect((await getFlow(bare, "orderId", { window: "24h", now: NOW }))).toBeNull();

    const progress: number[] = [];
    const queued = await queueStoredFlowSteps(bare, { chunk: 2, onChunk: (q) => progress.push(q.events) });
    expect(queued).toEqual({ events: 8, steps: 10 });
    expect(progress.at(-1)).toBe(8);
    let folded = 0;
    for (;;) {
      const result = await foldFlows(bare, { batch: 3 });
      folded += result.steps;
      if (result.steps === 0) break;
    }
    expect(folded).toBe(10);

    const state = await readFlowState(bare);
    expect(state).toEqual(await recomputeFlows(bare));
    expect(state.entities.size).toBe(4);
    expect(state.entities.get("customerId\u0000cust-1")?.eventCount).toBe(2);
    expect(await listFlowKinds(bare)).toEqual({
      kinds: [
        { kind: "orderId", entities: 3, lastAt: new Date(T0 + 4_000).toISOString() },
        { kind: "customerId", entities: 1, lastAt: new Date(T0 + 2_000).toISOString() },
      ],
    });
    expect((await getFlow(bare, "orderId", { window: "24h", now: NOW }))!.steps.find((s) => s.id === placed)).toMatchObject({ entities: 3, starts: 3 });
  });
});
