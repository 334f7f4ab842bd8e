/**
 * The demo's payments schema change at its worst: `--schema-change breaking` registers a version
 * that BACKWARD compatibility forbids (a new required field). The embedded registry reports its
 * level but enforces none, so it registers; every consumer of `payments` must keep working, as
 * they decode each record with its writer's schema, and the collector must keep decoding it.
 * (demo.int.test.ts covers the compatible change with the rest of the saga.)
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { waitUntil } from "../broker/test-support.ts";
import { startCollector, type RunningCollector } from "../collector/collector.ts";
import { LogCollector } from "../collector/test-support.ts";
import { loadConfig } from "../config.ts";
import { getEntityTimeline } from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startDemoServices, type DemoServicesProcess } from "./test-support.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "../registry/index.ts";

const SCHEMA_CHANGE_AFTER_S = 4;

let broker: RunningBroker;
let registry: RunningSchemaRegistry;
let db: TestDatabase;
let collector: RunningCollector | undefined;
let demo: DemoServicesProcess | undefined;
const logs = new LogCollector();

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: (line) => logs.log(`broker: ${line}`) });
  registry = await startSchemaRegistry({ port: 0 });
  db = await createTestDatabase();
  const config = loadConfig({ KAFKA_BROKERS: broker.address, EVENTSCOPE_POLL_MS: "500", SCHEMA_REGISTRY_URL: registry.url });
  collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, topicRefreshMs: 500, healthIntervalMs: 1_000 });

  // Declines (inventory-service reads PaymentFailed) and failed shipments (refunds, which
  // notification-service reads), no outages or malformed orders: every order ends.
  demo = await startDemoServices({ kafka: broker.address, databaseUrl: db.url, registryUrl: registry.url }, [
    ...["--schema-change", "breaking", "--schema-change-after", String(SCHEMA_CHANGE_AFTER_S)],
    ...["--rate", "4", "--decline-rate", "0.2", "--transient-rate", "0", "--malformed-rate", "0"],
    ...["--shipping-failure-rate", "0.3", "--outage-every", "0", "--analytics-delay-ms", "0"],
  ]);
}, 120_000);

afterAll(async () => {
  demo?.kill();
  await collector?.stop();
  await db?.drop();
  await broker?.stop();
  await registry?.stop();
});

const describeRun = () => ({ demo: (demo?.output() ?? "").slice(-3_000), collector: logs.text().slice(-2_000) });

async function registryGet<T>(pathname: string): Promise<T> {
  const response = await fetch(`${registry.url}${pathname}`);
  if (!response.ok) throw new Error(`GET ${pathname}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
}

/** An order, its payments event of `type` written with schema `schemaId`, whose order reached `where`. */
async function orderPaidWith(schemaId: number, type: string, where: string): Promise<{ orderId: string; value: Record<string, unknown> }> {
  return waitUntil(
    `a ${type} written with schema ${schemaId} whose order is in ${where}`,
    async () => {
      const { rows } = await db.pool.query<{ key: string; value_json: Record<string, unknown>; value_bytes: Buffer }>(
        `SELECT key, value_json, value_bytes FROM events
          WHERE channel = 'payments' AND event_type = $1 AND schema_id = $2 AND flags = '{}' AND key IN (SELECT order_id FROM ${where})
          LIMIT 1`,
        [type, schemaId],
      );
      const row = rows[0];
      if (!row) return null;
      expect(row.value_bytes.readUInt32BE(1)).toBe(schemaId);
      return { orderId: row.key, value: row.value_json };
    },
    { timeoutMs: 60_000, intervalMs: 500, describe: describeRun },
  );
}

describe("a breaking payments schema change in the demo", () => {
  test("registers under payments-value although BACKWARD forbids it, and the payments are written with it", async () => {
    await waitUntil("the schema change to be rolled out", () => /schema change rolled out \(breaking\)/.test(demo!.output()), {
      timeoutMs: (SCHEMA_CHANGE_AFTER_S + 30) * 1_000,
      describe: describeRun,
    });
    expect(await registryGet<number[]>("/subjects/payments-value/versions")).toEqual([1, 2]);
    const [first, second] = await Promise.all([
      registryGet<{ id: number; schema: string }>("/subjects/payments-value/versions/1"),
      registryGet<{ id: number; schema: string }>("/subjects/payments-value/versions/2"),
    ]);
    expect(second.id).not.toBe(first.id);
    // The level the producer's client set on the subject: the change is one it forbids.
    expect(await registryGet("/config/payments-value")).toEqual({ compatibilityLevel: "BACKWARD" });
    const fieldsOf = (schema: string) => (JSON.parse(schema) as { fields: AvroField[] }).fields;
    expect(fieldsOf(first.schema).some((field) => field.name === "cardLast4")).toBe(false);
    const added = fieldsOf(second.schema).find((field) => field.name === "cardLast4");
    expect(added).toEqual(expect.objectContaining({ type: "string" }));
    expect(added).not.toHaveProperty("default");
    expect(demo!.output()).toContain(`payments are written with schema id ${second.id}, registered under payments-value`);
  });

  test("every consumer of payments keeps working: shipped, refunded and declined orders under the new schema", async () => {
    const { id: before } = await registryGet<{ id: number }>("/subjects/payments-value/versions/1");
    const { id: after } = await registryGet<{ id: number }>("/subjects/payments-value/versions/2");
    // Written before the change and read after it, as well as written after it.
    await orderPaidWith(before, "PaymentProcessed", "demo.orders WHERE status = 'shipped'");

    // shipping-service and order-service read PaymentProcessed.
    const shipped = await orderPaidWith(after, "PaymentProcessed", "demo.orders WHERE status = 'shipped'");
    expect(shipped.value).toMatchObject({ orderId: shipped.orderId, status: "CAPTURED", cardLast4: expect.stringMatching(/^\d{4}$/) });
    // The demo's tables say shipped as OrderShipped is sent: the collector stores it a moment later,
    // and each topic at its own pace (OrderConfirmed may come in after OrderShipped).
    const types = await waitUntil(
      "the order's OrderConfirmed and OrderShipped on its timeline",
      async () => {
        const found = (await getEntityTimeline(db, shipped.orderId)).events.map((e) => e.eventType);
        return found.includes("OrderShipped") && found.includes("OrderConfirmed") ? found : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: describeRun },
    );
    expect(types).toEqual(expect.arrayContaining(["PaymentProcessed", "OrderConfirmed", "OrderShipped"]));

    // inventory-service reads PaymentFailed: the stock goes back, the order is cancelled.
    const declined = await orderPaidWith(
      after,
      "PaymentFailed",
      "demo.reservations WHERE status = 'released' AND order_id IN (SELECT order_id FROM demo.orders WHERE status = 'cancelled')",
    );
    expect(declined.value).toMatchObject({ status: "DECLINED", reason: "card declined" });

    // notification-service reads PaymentRefunded: the customer is told.
    const refunded = await orderPaidWith(
      after,
      "PaymentRefunded",
      "demo.notifications WHERE template = 'payment-refunded'",
    );
    expect(refunded.value).toMatchObject({ status: "REFUNDED", cardLast4: expect.stringMatching(/^\d{4}$/) });
    expect(demo!.output()).not.toMatch(/handling payments\/\d+@\d+ failed/);
  });
});
