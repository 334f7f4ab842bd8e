/**
 * The demo services as their own process against the embedded broker over TCP, the embedded
 * schema registry and a real PostgreSQL, watched by Eventscope's collector (decoding through the
 * registry) and admin poller in this process: what a user of `npm run demo` sees through the
 * server/db queries, the spans the services' OpenTelemetry SDK exported, replays through
 * server/replay, the Avro payments and their compatible schema change, and the services' own
 * `demo` tables.
 */
import fs from "node:fs";
import path from "node:path";
import type { Admin, Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { makeTempDir, waitUntil } from "../broker/test-support.ts";
import { startAdminPoller } from "../collector/admin-poller.ts";
import { startCollector, type RunningCollector } from "../collector/collector.ts";
import { createKafka, partitionCountOf } from "../kafka/index.ts";
import { LogCollector } from "../collector/test-support.ts";
import { loadConfig, type Config } from "../config.ts";
import {
  getEntityTimeline,
  getTraceEvents,
  listDeadLetters,
  whoConsumes,
  type DeadLetterListItem,
  type TimelineEvent,
} from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startDemoServices, type DemoServicesProcess } from "./test-support.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "../registry/index.ts";
import { replayDeadLetter } from "../replay/index.ts";
import { createReplayAdmin, createReplayProducer } from "../replay/producer.ts";
import type { ExportedSpan } from "../telemetry/index.ts";


let broker: RunningBroker;
let registry: RunningSchemaRegistry;
let db: TestDatabase;
let config: Config;
let collector: RunningCollector | undefined;
let poller: { stop(): Promise<void> } | undefined;
let demo: DemoServicesProcess | undefined;
let replayProducer: Producer | undefined;
let replayAdmin: Admin | undefined;
const logs = new LogCollector();
const tempDir = makeTempDir("eventscope-demo-test");
const spansFile = path.join(tempDir, "spans.jsonl");
/** Seconds after start when the services roll out the compatible payments schema change. */
const SCHEMA_CHANGE_AFTER_S = 12;

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: (line) => logs.log(`broker: ${line}`) });
  registry = await startSchemaRegistry({ port: 0 });
  db = await createTestDatabase();
  config = loadConfig({ KAFKA_BROKERS: broker.address, EVENTSCOPE_POLL_MS: "500", SCHEMA_REGISTRY_URL: registry.url });
  collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, topicRefreshMs: 500, healthIntervalMs: 1_000 });
  poller = startAdminPoller({ source: { id: 1, name: "default" }, kafka: createKafka(config, { clientId: "demo-test-poller" }), db, config, log: logs.log });

  demo = await startDemoServices({ kafka: broker.address, databaseUrl: db.url, registryUrl: registry.url }, [
    ...["--schema-change", "compatible", "--schema-change-after", String(SCHEMA_CHANGE_AFTER_S)],
    ...["--rate", "3", "--decline-rate", "0.2", "--transient-rate", "0.1", "--malformed-rate", "0.1"],
    ...["--outage-every", "8", "--outage-length", "3", "--max-attempts", "3", "--analytics-delay-ms", "0"],
    ...["--spans-file", spansFile],
    // Without the delivery faults: this run asserts that no event is emitted twice and that an
    // order's events share its key (delivery-faults.int.test.ts runs them).
    ...["--duplicate-rate", "0", "--rekey-rate", "0", "--stall-every", "0"],
    // No failed shipments: a replayed payment that was captured would otherwise sometimes be
    // refunded (the shipment failed) before the replay test reads its status.
    ...["--shipping-failure-rate", "0"],
  ]);
}, 120_000);

afterAll(async () => {
  demo?.kill();
  await replayProducer?.disconnect().catch(() => {});
  await replayAdmin?.disconnect().catch(() => {});
  await Promise.allSettled([collector?.stop(), poller?.stop()]);
  await db?.drop();
  await broker?.stop();
  await registry?.stop();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

/** What the demo process and the collector said, for a failing wait. */
const describeRun = () => ({ demo: (demo?.output() ?? "").slice(-3_000), collector: logs.text().slice(-2_000) });

function typesOf(events: readonly TimelineEvent[]): string[] {
  return events.filter((e) => e.topic !== "payment-service-retry" && e.topic !== "payment-service-dlq").map((e) => e.eventType ?? "?");
}

/** An order of the demo (from its own tables) in a state, once the collector stored `types` for it. */
async function orderWhoseTimelineHas(where: string, types: string[]): Promise<{ orderId: string; events: TimelineEvent[] }> {
  return waitUntil(
    `an order (${where}) whose timeline has ${types.join(", ")}`,
    async () => {
      const { rows } = await db.pool.query<{ order_id: string }>(`SELECT order_id FROM ${where} ORDER BY updated_at LIMIT 5`);
      for (const { order_id: orderId } of rows) {
        const { events } = await getEntityTimeline(db, orderId);
        const seen = typesOf(events);
        if (types.every((type) => seen.includes(type))) return { orderId, events };
      }
      return null;
    },
    { timeoutMs: 45_000, intervalMs: 500, describe: describeRun },
  );
}

function readSpans(): ExportedSpan[] {
  return fs
    .readFileSync(spansFile, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ExportedSpan);
}

async function deadLetters(): Promise<DeadLetterListItem[]> {
  return (await listDeadLetters(db, { topic: "payment-service-dlq", limit: 500 })).deadLetters;
}

describe("the demo order saga, seen through Eventscope", () => {
  test("every service's consumer group exists and consumes its topics", async () => {
    const expected: Record<string, string[]> = {
      orders: ["inventory-service", "notification-service", "analytics"],
      inventory: ["order-service", "payment-service", "analytics"],
      payments: ["order-service", "inventory-service", "shipping-service", "notification-service", "analytics"],
      shipping: ["order-service", "inventory-service", "payment-service", "notification-service", "analytics"],
      notifications: ["analytics"],
      "payment-service-retry": ["payment-service"],
    };
    for (const [topic, groups] of Object.entries(expected)) {
      const answer = await waitUntil(
        `the groups consuming ${topic}`,
        async () => {
          const found = await whoConsumes(db, { topic });
          const ids = found.topics.flatMap((t) => t.groups.map((g) => g.groupId));
          return groups.every((group) => ids.includes(group)) ? found : null;
        },
        { timeoutMs: 30_000, intervalMs: 500, describe: describeRun },
      );
      const entry = answer.topics.find((t) => t.topic === topic)!;
      // Each group has a live member holding partitions of the topic.
      for (const group of groups) {
        const consuming = entry.groups.find((g) => g.groupId === group)!;
        expect(consuming.members.flatMap((m) => m.partitions).length, `${group} on ${topic}`).toBeGreaterThan(0);
      }
    }
    // Producers are named by CloudEvents ce_source.
    const orders = await waitUntil("OrderPlaced events", async () => {
      const answer = await whoConsumes(db, { topic: "orders" });
      return answer.producers.length > 0 ? answer : null;
    });
    expect(orders.producers).toEqual(["order-service"]);
    const reserved = await waitUntil("InventoryReserved events", async () => {
      const answer = await whoConsumes(db, { type: "InventoryReserved" });
      return answer.producers.length > 0 ? answer : null;
    });
    expect(reserved.producers).toEqual(["inventory-service"]);
  });

  test("a successful order is one trace from OrderPlaced to OrderShipped, the trace the SDK exported", async () => {
    const chain = ["OrderPlaced", "InventoryReserved", "PaymentProcessed", "OrderShipped"];
    const { orderId, events } = await orderWhoseTimelineHas("demo.orders WHERE status = 'shipped'", chain);
    const hops = chain.map((type) => events.find((e) => e.eventType === type)!);
    // In causal order, each hop a message of its service, with the order id as key.
    expect(hops.map((e) => e.topic)).toEqual(["orders", "inventory", "payments", "shipping"]);
    expect(hops.map((e) => e.producer)).toEqual(["order-service", "inventory-service", "payment-service", "shipping-service"]);
    expect(hops.map((e) => e.key)).toEqual([orderId, orderId, orderId, orderId]);
    for (let i = 1; i < hops.length; i++) expect(Date.parse(hops[i]!.timestamp)).toBeGreaterThanOrEqual(Date.parse(hops[i - 1]!.timestamp));
    const traceId = hops[0]!.traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(hops.map((e) => e.traceId)).toEqual([traceId, traceId, traceId, traceId]);

    const trace = await getTraceEvents(db, traceId!);
    expect(typesOf(trace.events)).toEqual(expect.arrayContaining(chain));
    expect(new Set(trace.events.flatMap((e) => e.entityKeys))).toEqual(new Set([orderId]));

    // The SDK exported a PRODUCER span for each hop, with the very span id that the message's
    // traceparent names as its parent; OrderPlaced's is the trace's root.
    const spans = await waitUntil(
      "the spans of the order's trace in the spans file",
      () => {
        const inTrace = readSpans().filter((span) => span.traceId === traceId);
        const ids = new Set(inTrace.map((span) => span.spanId));
        // The sends, and the spans they were sent in (a consumer span ends after its sends).
        const senders = hops.map((hop) => inTrace.find((span) => span.spanId === hop.parentSpanId));
        return senders.every((span) => span && (span.parentSpanId === null || ids.has(span.parentSpanId))) ? inTrace : null;
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    const senders = hops.map((hop) => spans.find((span) => span.spanId === hop.parentSpanId)!);
    expect(senders.map((span) => [span.kind, span.name])).toEqual([
      ["PRODUCER", "send orders"],
      ["PRODUCER", "send inventory"],
      ["PRODUCER", "send payments"],
      ["PRODUCER", "send shipping"],
    ]);
    expect(senders[0]!.parentSpanId).toBeNull();
    // Every later send happened inside the CONSUMER span of the message before it.
    for (const sender of senders.slice(1)) {
      const parent = spans.find((span) => span.spanId === sender.parentSpanId);
      expect(parent?.kind).toBe("CONSUMER");
    }
  });

  test("a declined card shows the compensation chain, in one trace", async () => {
    const chain = ["OrderPlaced", "InventoryReserved", "PaymentFailed", "InventoryReleased", "OrderCancelled"];
    const { orderId, events } = await orderWhoseTimelineHas(
      "demo.payments WHERE status = 'declined' AND order_id IN (SELECT order_id FROM demo.orders WHERE status = 'cancelled')",
      chain,
    );
    const seen = typesOf(events);
    expect(seen.filter((type) => chain.includes(type))).toEqual(chain);
    const failed = events.find((e) => e.eventType === "PaymentFailed")!;
    expect(failed.valuePreview).toContain("card declined");
    const cancelled = events.find((e) => e.eventType === "OrderCancelled")!;
    expect(cancelled.valuePreview).toContain("PaymentFailed");
    expect(new Set(events.filter((e) => chain.includes(e.eventType ?? "")).map((e) => e.traceId)).size).toBe(1);
    const { rows } = await db.pool.query(`SELECT status FROM demo.reservations WHERE order_id = $1`, [orderId]);
    expect(rows).toEqual([{ status: "released" }]);
  });

  test("dead letters of the gateway outage and of malformed orders are recognised, with origin inventory and their error", async () => {
    const found = await waitUntil(
      "an outage dead letter and a malformed-order dead letter",
      async () => {
        const list = await deadLetters();
        const outage = list.find((d) => d.errorClass === "GatewayUnavailableError");
        const malformed = list.find((d) => d.errorClass === "MalformedOrderError");
        return outage && malformed ? { outage, malformed } : null;
      },
      { timeoutMs: 45_000, intervalMs: 500, describe: describeRun },
    );
    for (const [dead, attempts, error] of [
      [found.outage, 3, /payment gateway unavailable/],
      [found.malformed, 1, /malformed order: card/],
    ] as const) {
      expect(dead).toMatchObject({ recognizedBy: "headers", convention: "eventscope", originTopic: "inventory", attempts, eventType: "InventoryReserved" });
      expect(dead.errorMessage).toMatch(error);
      // The origin headers point at the InventoryReserved record of the same order.
      const { rows } = await db.pool.query(
        `SELECT event_type, entity_keys FROM events WHERE channel = 'inventory' AND partition = $1 AND position = $2`,
        [dead.originPartition, dead.originOffset],
      );
      expect(rows).toEqual([{ event_type: "InventoryReserved", entity_keys: dead.entityKeys }]);
    }
  });

  test("replayed through Eventscope: an outage dead letter is charged once, a malformed order comes back with its replay id", async () => {
    // Replayed right after an outage ends, so that the replay meets the gateway up (an outage lasts
    // 3 s of every 8 s; a replay that meets one is retried and may be dead-lettered again).
    const ended = () => demo!.output().split("payment gateway outage ended").length - 1;
    const endedBefore = ended();
    await waitUntil("the next outage to end", () => ended() > endedBefore, { timeoutMs: 30_000, describe: describeRun });
    const list = await deadLetters();
    const outage = list.find((d) => d.errorClass === "GatewayUnavailableError" && d.replayId === null)!;
    const malformed = list.find((d) => d.errorClass === "MalformedOrderError" && d.replayId === null)!;
    const deps = {
      db,
      producer: () => (replayProducer ? Promise.resolve(replayProducer) : createReplayProducer(config).then((p) => (replayProducer = p))),
      partitionCount: async (topic: string) => partitionCountOf((replayAdmin ??= await createReplayAdmin(config)), topic),
    };

    sent(await replayDeadLetter(deps, { deadLetterId: outage.id, actor: "demo-test" }));
    const orderId = outage.entityKeys[0]!;
    const outcome = await waitUntil(
      "the replayed payment",
      async () => (await db.pool.query(`SELECT status FROM demo.payments WHERE order_id = $1`, [orderId])).rows[0],
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    expect(["captured", "declined"]).toContain(outcome.status);

    // A second replay of the same dead letter is a duplicate for payment-service: skipped, not charged.
    sent(await replayDeadLetter(deps, { deadLetterId: outage.id, actor: "demo-test", again: true, seen: 1 }));
    const eventId = await ceIdOf("inventory", outage.originPartition!, outage.originOffset!);
    await waitUntil(
      "payment-service to skip the second replay",
      async () =>
        (
          await db.pool.query(`SELECT duplicates FROM demo.processed_events WHERE consumer = 'payment-service' AND event_id = $1`, [eventId])
        ).rows[0]?.duplicates >= 1,
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    const payments = await db.pool.query(`SELECT count(*)::int AS n FROM demo.payments WHERE order_id = $1`, [orderId]);
    expect(payments.rows[0].n).toBe(1);
    const paymentEvents = await db.pool.query(
      `SELECT count(*)::int AS n FROM events WHERE channel = 'payments' AND entity_keys @> ARRAY[$1::text]
          AND event_type IN ('PaymentProcessed', 'PaymentFailed')`,
      [orderId],
    );
    expect(paymentEvents.rows[0].n).toBe(1);

    // The malformed order fails again and is back in the DLQ, naming the replay that sent it.
    const { replayId } = sent(await replayDeadLetter(deps, { deadLetterId: malformed.id, actor: "demo-test" }));
    const again = await waitUntil(
      "the malformed order back in the DLQ",
      async () => (await deadLetters()).find((d) => d.replayId === replayId),
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    expect(again).toMatchObject({ originTopic: "inventory", errorClass: "MalformedOrderError", entityKeys: malformed.entityKeys });
  });

  test("no consumer processed an event id twice: redelivered events are skipped", async () => {
    // A redelivery of an OrderShipped that was processed: the same record again on `shipping`.
    const { rows: shipped } = await db.pool.query<{ partition: number; offset: string; key: string; value: string; headers: { key: string; value: string }[] }>(
      `SELECT e.partition, e.position::text AS offset, e.key, e.value_json::text AS value, e.headers FROM events e
         JOIN demo.orders o ON o.order_id = e.key AND o.status = 'shipped'
        WHERE e.channel = 'shipping' AND e.event_type = 'OrderShipped' ORDER BY e.position LIMIT 1`,
    );
    const original = shipped[0]!;
    const eventId = await ceIdOf("shipping", original.partition, original.offset);
    const producer = createKafka(config, { clientId: "demo-test-redelivery" }).producer();
    await producer.connect();
    try {
      await producer.send({
        topic: "shipping",
        messages: [{ key: original.key, value: original.value, headers: Object.fromEntries(original.headers.map((h) => [h.key, h.value])) }],
      });
    } finally {
      await producer.disconnect();
    }
    await waitUntil(
      "order-service and notification-service to skip the redelivered OrderShipped",
      async () => {
        const { rows } = await db.pool.query<{ consumer: string }>(
          `SELECT consumer FROM demo.processed_events WHERE event_id = $1 AND duplicates = 1 ORDER BY consumer`,
          [eventId],
        );
        // (analytics, the deliberately slow consumer, may still be far behind.)
        return rows.map((row) => row.consumer).filter((name) => name !== "analytics").join() === "notification-service,order-service";
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    const notified = await db.pool.query(
      `SELECT count(*)::int AS n FROM demo.notifications WHERE order_id = $1 AND template = 'order-shipped'`,
      [original.key],
    );
    expect(notified.rows[0].n).toBe(1);

    // Across the whole run: no follow-up event was emitted twice (follow-up ids derive from their
    // cause, so processing an event twice would show as two records with one ce_id), except the
    // record this test sent again on purpose and the replays.
    const repeated = await waitUntil("the redelivered record to be collected", async () => {
      const { rows } = await db.pool.query<{ ce_id: string; n: number }>(
        `SELECT h->>'value' AS ce_id, count(*)::int AS n
           FROM events e, jsonb_array_elements(e.headers) h
          WHERE e.channel IN ('orders', 'inventory', 'payments', 'shipping', 'notifications') AND h->>'key' = 'ce_id'
            AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(e.headers) r WHERE r->>'key' = 'x-replay-id')
          GROUP BY 1 HAVING count(*) > 1`,
      );
      return rows.some((row) => row.ce_id === eventId) ? rows : null;
    });
    expect(repeated).toEqual([{ ce_id: eventId, n: 2 }]);
    const { rows: doubleCharges } = await db.pool.query(
      `SELECT key, count(*)::int AS n FROM events WHERE channel = 'payments' AND event_type = 'PaymentProcessed' GROUP BY key HAVING count(*) > 1`,
    );
    expect(doubleCharges).toEqual([]);
  });

  test("payments are Avro in the wire format under payments-value, decoded by the collector onto the order's timeline", async () => {
    const first = await subjectVersion(1);
    expect(JSON.parse(first.schema)).toMatchObject({ type: "record", name: "Payment", namespace: "eventscope.demo.payments" });
    const payment = await waitUntil(
      "a PaymentProcessed written with the first schema, collected",
      async () => (await paymentRows(`event_type = 'PaymentProcessed' AND schema_id = $1`, [first.id]))[0],
      { timeoutMs: 45_000, intervalMs: 500, describe: describeRun },
    );
    // Byte 0, then the registry's id as a big-endian 32-bit integer, then Avro binary (not JSON).
    expect(payment.value_bytes[0]).toBe(0);
    expect(payment.value_bytes.readUInt32BE(1)).toBe(first.id);
    expect(() => JSON.parse(payment.value_bytes.subarray(5).toString("utf8"))).toThrow();
    expect(payment.flags).toEqual([]);
    const orderId = payment.key;
    expect(payment.entity_keys).toEqual([orderId]);
    expect(payment.value_json).toMatchObject({ orderId, status: "CAPTURED", currency: "EUR", reason: null });
    expect(payment.value_json).not.toHaveProperty("cardLast4");
    expect(payment.headers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: "ce_type", value: "PaymentProcessed" }),
        expect.objectContaining({ key: "ce_source", value: "payment-service" }),
        expect.objectContaining({ key: "content-type", value: "application/avro" }),
      ]),
    );
    const { events } = await getEntityTimeline(db, orderId);
    expect(events.find((e) => e.topic === "payments")).toMatchObject({ eventType: "PaymentProcessed", key: orderId });
  });

  test("after --schema-change-after, payments carry the compatible version's id; every consumer reads them and the saga completes", async () => {
    await waitUntil("the schema change to be rolled out", () => /schema change rolled out \(compatible\)/.test(demo!.output()), {
      timeoutMs: (SCHEMA_CHANGE_AFTER_S + 60) * 1_000,
      describe: describeRun,
    });
    const [first, second] = [await subjectVersion(1), await subjectVersion(2)];
    expect(second.id).not.toBe(first.id);
    expect(demo!.output()).toContain(`payments are written with schema id ${second.id}, registered under payments-value`);
    const added = (JSON.parse(second.schema) as { fields: { name: string; type: unknown; default?: unknown }[] }).fields.find(
      (field) => field.name === "cardLast4",
    );
    expect(added).toEqual(expect.objectContaining({ type: ["null", "string"], default: null }));

    // An order paid under the new schema, shipped: order-service, shipping-service and
    // notification-service all read its PaymentProcessed.
    const { orderId, payment } = await waitUntil(
      "a PaymentProcessed with the new schema id whose order was shipped",
      async () => {
        const rows = await paymentRows(
          `event_type = 'PaymentProcessed' AND schema_id = $1 AND key IN (SELECT order_id FROM demo.orders WHERE status = 'shipped')`,
          [second.id],
        );
        return rows[0] ? { orderId: rows[0].key, payment: rows[0] } : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, describe: describeRun },
    );
    expect(payment.value_bytes.readUInt32BE(1)).toBe(second.id);
    expect(payment.value_json).toMatchObject({ orderId, status: "CAPTURED", cardLast4: expect.stringMatching(/^\d{4}$/) });
    // The demo's tables say shipped as OrderShipped is sent: the collector stores it a moment later.
    const types = await waitUntil(
      "the order's OrderShipped on its timeline",
      async () => {
        const found = typesOf((await getEntityTimeline(db, orderId)).events);
        return found.includes("OrderShipped") ? found : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    expect(types).toEqual(expect.arrayContaining(["PaymentProcessed", "OrderConfirmed", "OrderShipped"]));
    const { rows: consumers } = await db.pool.query<{ consumer: string }>(
      `SELECT consumer FROM demo.processed_events p JOIN events e ON e.channel = p.topic AND e.partition = p.partition AND e.position = p."offset"
        WHERE e.channel = 'payments' AND e.key = $1 AND e.event_type = 'PaymentProcessed' ORDER BY consumer`,
      [orderId],
    );
    expect(consumers.map((row) => row.consumer)).toEqual(expect.arrayContaining(["order-service", "shipping-service"]));
    // No payments value stayed undecodable, before or after the change.
    const { rows: undecoded } = await db.pool.query(`SELECT flags FROM events WHERE channel = 'payments' AND (schema_id IS NULL OR flags <> '{}')`);
    expect(undecoded).toEqual([]);
  });

  test("SIGTERM stops the services cleanly", async () => {
    demo!.child.kill("SIGTERM");
    expect(await demo!.exited).toBe(0);
    expect(demo!.output()).toContain("stopped");
  });
});

/** A version of payments-value as the registry serves it. */
async function subjectVersion(version: number): Promise<{ id: number; version: number; schema: string }> {
  const response = await fetch(`${registry.url}/subjects/payments-value/versions/${version}`);
  if (!response.ok) throw new Error(`payments-value version ${version}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: number; version: number; schema: string };
}

interface PaymentRow {
  key: string;
  entity_keys: string[];
  value_bytes: Buffer;
  value_json: Record<string, unknown>;
  schema_id: number | null;
  flags: string[];
  headers: { key: string; value: string }[];
}

/** Stored records of `payments` matching `where`, oldest first. */
async function paymentRows(where: string, params: unknown[]): Promise<PaymentRow[]> {
  const { rows } = await db.pool.query<PaymentRow>(
    `SELECT key, entity_keys, value_bytes, value_json, schema_id, flags, headers FROM events
      WHERE channel = 'payments' AND ${where} ORDER BY "timestamp" LIMIT 5`,
    params,
  );
  return rows;
}

/** The replay's details when it was sent; otherwise fails with its outcome. */
function sent<T extends { status: string }>(result: T): Extract<T, { status: "sent" }> {
  if (result.status !== "sent") throw new Error(`replay not sent: ${JSON.stringify(result)}`);
  return result as Extract<T, { status: "sent" }>;
}

/** The ce_id header of a stored record. */
async function ceIdOf(topic: string, partition: number, offset: string): Promise<string> {
  const { rows } = await db.pool.query<{ ce_id: string }>(
    `SELECT h->>'value' AS ce_id FROM events e, jsonb_array_elements(e.headers) h
      WHERE e.channel = $1 AND e.partition = $2 AND e.position = $3 AND h->>'key' = 'ce_id'`,
    [topic, partition, offset],
  );
  if (!rows[0]) throw new Error(`no ce_id on ${topic}/${partition}@${offset}`);
  return rows[0].ce_id;
}
