/**
 * The demo services' delivery faults at high rates, for a short run, as their own process against
 * the embedded broker over TCP, the embedded schema registry and a real PostgreSQL. The test reads
 * the topics and the consumer group's offsets itself, as any Kafka client would: a payments event
 * delivered twice, unchanged; an order whose events sit on two partitions of `orders`;
 * order-service paused in its group while its lag grows, then caught up.
 */
import { randomUUID } from "node:crypto";
import type { Admin, Consumer, IHeaders } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { waitUntil } from "../broker/test-support.ts";
import { loadConfig } from "../config.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { createKafka } from "../kafka/index.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "../registry/index.ts";
import { headerText } from "./events.ts";
import { startDemoServices, type DemoServicesProcess } from "./test-support.ts";

/** order-service stalls STALL_LENGTH_S seconds every STALL_EVERY_S, the first one STALL_EVERY_S after start. */
const STALL_EVERY_S = 15;
const STALL_LENGTH_S = 5;

interface Record {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: IHeaders;
  timestamp: string;
}

let broker: RunningBroker;
let registry: RunningSchemaRegistry;
let db: TestDatabase;
let demo: DemoServicesProcess | undefined;
let reader: Consumer | undefined;
let admin: Admin | undefined;
const records: Record[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: () => {} });
  registry = await startSchemaRegistry({ port: 0 });
  db = await createTestDatabase({ migrate: false });
  demo = await startDemoServices({ kafka: broker.address, databaseUrl: db.url, registryUrl: registry.url }, [
    ...["--rate", "5", "--decline-rate", "0", "--transient-rate", "0", "--malformed-rate", "0", "--shipping-failure-rate", "0"],
    ...["--outage-every", "0", "--schema-change", "none", "--analytics-delay-ms", "0"],
    ...["--duplicate-rate", "0.3", "--rekey-rate", "0.5"],
    ...["--stall-every", String(STALL_EVERY_S), "--stall-length", String(STALL_LENGTH_S)],
  ]);
  const kafka = createKafka(loadConfig({ KAFKA_BROKERS: broker.address }), { clientId: "delivery-faults-test" });
  admin = kafka.admin();
  await admin.connect();
  reader = kafka.consumer({ groupId: `delivery-faults-test-${randomUUID()}` });
  await reader.connect();
  await reader.subscribe({ topics: ["orders", "payments"], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ topic, partition, message }) => {
      records.push({
        topic,
        partition,
        offset: Number(message.offset),
        key: message.key?.toString("utf8") ?? null,
        value: message.value ?? Buffer.alloc(0),
        headers: message.headers ?? {},
        timestamp: message.timestamp,
      });
    },
  });
}, 120_000);

afterAll(async () => {
  demo?.kill();
  await reader?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await db?.drop();
  await broker?.stop();
  await registry?.stop();
});

const describeRun = () => ({ demo: (demo?.output() ?? "").slice(-3_000), records: records.length });

const ceIdOf = (record: Record) => headerText(record.headers.ce_id);

/** Headers as comparable pairs, in the order they were written, each value's bytes in hex. */
const headerPairs = (headers: IHeaders) =>
  Object.entries(headers).map(([name, value]) => [name, [value ?? []].flat().map((part) => Buffer.from(part).toString("hex"))]);

/** order-service's offset lag on `payments`, summed over the partitions. */
async function orderServiceLag(): Promise<number> {
  const [committed] = await admin!.fetchOffsets({ groupId: "order-service", topics: ["payments"] });
  const ends = await admin!.fetchTopicOffsets("payments");
  let lag = 0;
  for (const end of ends) {
    const offset = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
    // No committed offset yet: the group reads from the beginning.
    lag += Math.max(0, Number(end.high) - (offset >= 0 ? offset : Number(end.low)));
  }
  return lag;
}

const occurrences = (text: string, line: string) => text.split(line).length - 1;

describe("the demo's delivery faults", () => {
  test("the saga's topics have several partitions", async () => {
    const { topics } = await admin!.fetchTopicMetadata({ topics: ["orders", "payments"] });
    expect(topics.map((topic) => [topic.name, topic.partitions.length]).sort()).toEqual([
      ["orders", 3],
      ["payments", 3],
    ]);
  });

  test("a payments event is delivered twice with the same key, value, headers and timestamp, and consumers skip the second", async () => {
    const [first, second] = await waitUntil(
      "a payments event delivered twice",
      () => {
        const byId = new Map<string, Record[]>();
        for (const record of records.filter((r) => r.topic === "payments")) {
          const id = ceIdOf(record)!;
          byId.set(id, [...(byId.get(id) ?? []), record]);
        }
        return [...byId.values()].find((twice) => twice.length === 2);
      },
      { timeoutMs: 60_000, intervalMs: 250, describe: describeRun },
    );
    expect(headerText(first!.headers.ce_type)).toBe("PaymentProcessed");
    expect(second!.key).toBe(first!.key);
    expect(second!.value.equals(first!.value)).toBe(true);
    expect(headerPairs(second!.headers)).toEqual(headerPairs(first!.headers));
    // The trace context is the first send's: the second send made no span of its own.
    expect(headerText(first!.headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(second!.timestamp).toBe(first!.timestamp);
    // Two records, one after the other on the order's partition.
    expect(second!.partition).toBe(first!.partition);
    expect(second!.offset).toBeGreaterThan(first!.offset);

    const eventId = ceIdOf(first!)!;
    await waitUntil(
      "order-service to skip the second delivery",
      async () =>
        (await db.pool.query(`SELECT duplicates FROM demo.processed_events WHERE consumer = 'order-service' AND event_id = $1`, [eventId]))
          .rows[0]?.duplicates === 1,
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    // Its effect happened once: one OrderConfirmed for the order.
    const confirmed = await waitUntil(
      "the order's OrderConfirmed",
      () => {
        const found = records.filter(
          (r) => r.topic === "orders" && headerText(r.headers.ce_type) === "OrderConfirmed" && r.value.toString("utf8").includes(`"${first!.key}"`),
        );
        return found.length > 0 ? found : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    expect(confirmed).toHaveLength(1);
  });

  test("an order's outcome keyed otherwise sits on another partition of orders than its OrderPlaced, with the same orderId", async () => {
    const spread = await waitUntil(
      "an order whose events on orders sit on two partitions",
      () => {
        const byOrder = new Map<string, Record[]>();
        for (const record of records.filter((r) => r.topic === "orders")) {
          const orderId = (JSON.parse(record.value.toString("utf8")) as { orderId: string }).orderId;
          byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), record]);
        }
        return [...byOrder.entries()].find(([, events]) => new Set(events.map((e) => e.partition)).size > 1);
      },
      { timeoutMs: 60_000, intervalMs: 250, describe: describeRun },
    );
    const [orderId, events] = spread;
    const placed = events.find((e) => headerText(e.headers.ce_type) === "OrderPlaced")!;
    const outcome = events.find((e) => e.partition !== placed.partition)!;
    expect(placed.key).toBe(orderId);
    expect(headerText(outcome.headers.ce_type)).toBe("OrderConfirmed");
    expect(outcome.key).toBe(`${orderId}:OrderConfirmed`);
    expect(JSON.parse(outcome.value.toString("utf8"))).toMatchObject({ orderId });
  });

  test(
    "order-service stalls: paused in its group while its lag grows, then it catches up",
    async () => {
      // A stall that starts from here on, seen from its beginning.
      const startsBefore = occurrences(demo!.output(), "order-service stall started");
      const endsBefore = occurrences(demo!.output(), "order-service stall ended");
      await waitUntil("a stall to start", () => occurrences(demo!.output(), "order-service stall started") > startsBefore, {
        timeoutMs: (STALL_EVERY_S + 10) * 1_000,
        intervalMs: 100,
        describe: describeRun,
      });
      const atStart = await orderServiceLag();
      const peak = await waitUntil(
        "order-service's lag to grow",
        async () => {
          const lag = await orderServiceLag();
          return lag >= atStart + 10 ? lag : null;
        },
        { timeoutMs: STALL_LENGTH_S * 1_000, intervalMs: 250, describe: describeRun },
      );
      // Still a member of its group: a paused consumer, not one that left.
      const { groups } = await admin!.describeGroups(["order-service"]);
      expect(groups[0]).toMatchObject({ groupId: "order-service", state: "Stable" });
      expect(groups[0]!.members.length).toBeGreaterThan(0);

      await waitUntil("the stall to end", () => occurrences(demo!.output(), "order-service stall ended") > endsBefore, {
        timeoutMs: (STALL_LENGTH_S + 5) * 1_000,
        intervalMs: 100,
        describe: describeRun,
      });
      const drained = await waitUntil(
        "order-service to catch up",
        async () => {
          const lag = await orderServiceLag();
          return lag <= 5 ? { lag } : null;
        },
        { timeoutMs: (STALL_EVERY_S - STALL_LENGTH_S) * 1_000, intervalMs: 250, describe: describeRun },
      );
      expect(drained.lag).toBeLessThan(peak);
    },
    (STALL_EVERY_S * 2 + 30) * 1_000,
  );
});
