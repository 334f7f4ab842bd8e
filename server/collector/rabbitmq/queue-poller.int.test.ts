import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../../scripts/support/ports.ts";
import { ensureSource, type SourceRow } from "../../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../../db/test-support.ts";
import { rabbitmqctl, type RabbitNode } from "../../rabbitmq/node.ts";
import { startTestRabbitNode } from "../../rabbitmq/test-support.ts";
import type { RabbitMqSourceConfig } from "../../sources-file.ts";
import { startRabbitQueuePoller } from "./queue-poller.ts";

/**
 * The queue poller against a real RabbitMQ node (3.10.8) and a real PostgreSQL: one queue per
 * health verdict, bindings, consumers with their connections' names and prefetch, lag and time lag.
 * The management plugin refreshes its counts every 5 s, so the health window here is 12 s.
 */

const WINDOW_MS = 12_000;

let node: RabbitNode;
let removeDataDir: () => void;
let db: TestDatabase;
let source: SourceRow;
let poller: { stop(): Promise<void> };
const connections: amqp.ChannelModel[] = [];
const timers: NodeJS.Timeout[] = [];
const logs: string[] = [];

async function connect(name: string): Promise<amqp.ChannelModel> {
  const connection = await amqp.connect(node.amqpUrl, { clientProperties: { connection_name: name } });
  connections.push(connection);
  return connection;
}

interface QueueRow {
  name: string;
  type: string;
  arguments: Record<string, unknown>;
  messages_ready: string;
  messages_unacknowledged: string;
  consumers: number;
  health_status: string | null;
  health_reason: string | null;
  deleted_at: Date | null;
}

async function queues(): Promise<Map<string, QueueRow>> {
  const { rows } = await db.pool.query<QueueRow>(
    `SELECT name, type, arguments, messages_ready::text, messages_unacknowledged::text, consumers, health_status, health_reason, deleted_at
     FROM rabbitmq_queues WHERE source_id = $1 AND vhost = '/'`,
    [source.id],
  );
  return new Map(rows.map((r) => [r.name, r]));
}

beforeAll(async () => {
  [{ node, removeDataDir }, db] = await Promise.all([startTestRabbitNode(), createTestDatabase()]);
  source = await ensureSource(db, { name: "rabbit-test", kind: "rabbitmq" });

  const setup = await (await connect("test-setup")).createChannel();
  await setup.assertExchange("orders", "topic", { durable: true });
  await setup.assertExchange("orders.dlx", "fanout", { durable: true });
  await setup.assertExchange("orders.archive", "fanout", { durable: true });
  await setup.bindExchange("orders.archive", "orders", "order.#");
  await setup.assertQueue("orders.work", { durable: true, arguments: { "x-dead-letter-exchange": "orders.dlx" } });
  await setup.bindQueue("orders.work", "orders", "order.#");
  await setup.bindQueue("orders.work", "orders", "refund.issued");
  // A dead-letter exchange set by a policy, as RabbitMQ recommends; orders.work's own argument overrules it.
  await setup.assertQueue("orders.parked", { durable: true });
  await rabbitmqctl(node, ["set_policy", "-p", "/", "park", "^orders\\.(parked|work)$", JSON.stringify({ "dead-letter-exchange": "orders.parking", "dead-letter-routing-key": "parked" }), "--apply-to", "queues"]);
  await setup.assertQueue("orders.dlq", { durable: true });
  await setup.bindQueue("orders.dlq", "orders.dlx", "");
  await setup.assertQueue("orders.acked", { durable: true });
  await setup.assertQueue("orders.idle", { durable: true });
  await setup.assertQueue("orders.held", { durable: true, arguments: { "x-queue-type": "quorum" } });
  await setup.assertQueue("orders.growing", { durable: true });
  await setup.assertQueue("orders.audit", { durable: true, arguments: { "x-queue-type": "stream" } });
  await setup.assertQueue("scratch.tmp", { durable: false });
  // As the collector declares its own: never the user's, never listed.
  await setup.assertQueue("eventscope.rabbit-test.orders", { durable: true, arguments: { "x-queue-type": "stream" } });
  await setup.bindQueue("eventscope.rabbit-test.orders", "orders", "#");

  // A consumer that acks at once: an empty queue.
  const billing = await (await connect("billing-service")).createChannel();
  await billing.prefetch(10);
  await billing.consume("orders.acked", (message) => message && billing.ack(message));
  for (let i = 0; i < 5; i++) setup.sendToQueue("orders.acked", Buffer.from(`{"n":${i}}`));

  // Messages and nobody consuming them, stamped two minutes ago: STOP, with a time lag.
  const stamped = Math.floor(Date.now() / 1000) - 120;
  for (let i = 0; i < 3; i++) setup.sendToQueue("orders.idle", Buffer.from(`{"n":${i}}`), { timestamp: stamped });

  // A consumer that holds what it gets and never acks: STALL; no timestamps, so no time lag.
  const shipping = await (await connect("shipping-service")).createChannel();
  await shipping.prefetch(5);
  await shipping.consume("orders.held", () => undefined, { consumerTag: "shipping-1" });
  for (let i = 0; i < 8; i++) setup.sendToQueue("orders.held", Buffer.from(`{"n":${i}}`));

  // Published faster than its consumer acks: WARN.
  const slow = await (await connect("analytics-service")).createChannel();
  await slow.prefetch(1);
  await slow.consume("orders.growing", (message) => {
    if (message) timers.push(setTimeout(() => slow.ack(message), 1_000));
  });
  timers.push(setInterval(() => setup.sendToQueue("orders.growing", Buffer.from("{}"), { timestamp: Math.floor(Date.now() / 1000) }), 300));
  // Published into the exchange orders with a key nothing is bound to: its publish rate, and no queue's.
  timers.push(setInterval(() => setup.publish("orders", "nothing.bound", Buffer.from("{}")), 100));

  const config: RabbitMqSourceConfig = {
    name: "rabbit-test",
    kind: "rabbitmq",
    amqpUrl: node.amqpUrl,
    managementUrl: node.managementUrl,
    username: "guest",
    password: "guest",
    vhosts: ["/"],
    exchangesInclude: undefined,
    exchangesExclude: undefined,
    queuesInclude: undefined,
    queuesExclude: /^scratch\./,
    collect: "bindings",
    deliveries: "off",
    unroutable: "collect",
    entityFields: ["orderId"],
  };
  poller = startRabbitQueuePoller({ source, config, db, log: (line) => logs.push(line), pollMs: 1_000, healthWindowMs: WINDOW_MS });
}, 120_000);

afterAll(async () => {
  for (const timer of timers) clearInterval(timer);
  await poller?.stop();
  for (const connection of connections) await connection.close().catch(() => undefined);
  await node?.stop();
  removeDataDir?.();
  await db?.drop();
}, 120_000);

describe("the RabbitMQ queue poller", () => {
  it("judges each queue: STOP without consumers, STALL without acks, WARN when growing, OK when consumed", async () => {
    const verdicts = await pollUntil(
      "every queue judged as expected",
      async () => {
        const rows = await queues();
        const status = (name: string) => rows.get(name)?.health_status;
        return status("orders.idle") === "STOP" &&
          status("orders.held") === "STALL" &&
          status("orders.growing") === "WARN" &&
          status("orders.acked") === "OK"
          ? rows
          : undefined;
      },
      90_000,
      500,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; stored: ${JSON.stringify([...(await queues()).values()], null, 1)}; log: ${logs.join(" | ")}`);
    });
    expect(verdicts.get("orders.idle")!.health_reason).toBe("queue orders.idle: no consumers while 3 messages wait");
    expect(verdicts.get("orders.held")!.health_reason).toMatch(/^queue orders\.held: 1 consumer but nothing acked for 1\d s while lag is 8$/);
    expect(verdicts.get("orders.growing")!.health_reason).toMatch(/^queue orders\.growing: lag grew from \d+ to \d+ over 1\d s$/);
  });

  it("stores types, arguments (the dead-letter exchange) and counts; leaves out excluded queues and Eventscope's own", async () => {
    const rows = await queues();
    expect([...rows.keys()].sort()).toEqual(["orders.acked", "orders.audit", "orders.dlq", "orders.growing", "orders.held", "orders.idle", "orders.parked", "orders.work"]);
    expect(rows.get("orders.work")!.arguments).toEqual({ "x-dead-letter-exchange": "orders.dlx" });
    expect(rows.get("orders.held")!.type).toBe("quorum");
    expect(rows.get("orders.audit")!.type).toBe("stream");
    expect(rows.get("orders.audit")!.health_reason).toBe("queue orders.audit: a stream keeps what its consumers read: its message count is its length, not a lag");
    expect(rows.get("orders.idle")!.type).toBe("classic");
    // The consumer holds its prefetch unacknowledged, the rest waits ready.
    expect(rows.get("orders.held")).toMatchObject({ messages_ready: "3", messages_unacknowledged: "5", consumers: 1 });
    expect(rows.get("orders.idle")).toMatchObject({ messages_ready: "3", messages_unacknowledged: "0", consumers: 0 });
  });

  it("stores where each queue dead-letters: its own argument, else its policy's, named", async () => {
    const { rows } = await db.pool.query(
      `SELECT name, dead_letter_exchange, dead_letter_routing_key, dead_letter_policy FROM rabbitmq_queues
       WHERE source_id = $1 AND name IN ('orders.work', 'orders.parked', 'orders.dlq') ORDER BY name`,
      [source.id],
    );
    expect(rows).toEqual([
      { name: "orders.dlq", dead_letter_exchange: null, dead_letter_routing_key: null, dead_letter_policy: null },
      { name: "orders.parked", dead_letter_exchange: "orders.parking", dead_letter_routing_key: "parked", dead_letter_policy: "park" },
      // RabbitMQ takes each key from the arguments when they have it, from the policy otherwise.
      { name: "orders.work", dead_letter_exchange: "orders.dlx", dead_letter_routing_key: "parked", dead_letter_policy: null },
    ]);
  });

  it("samples lag = ready + unacknowledged, and time lag from the head message's timestamp or unknown without one", async () => {
    const { rows } = await db.pool.query<{ queue: string; lag: string; time_lag_ms: string | null }>(
      `SELECT DISTINCT ON (queue) queue, (messages_ready + messages_unacknowledged)::text AS lag, time_lag_ms::text
       FROM rabbitmq_queue_samples WHERE source_id = $1 ORDER BY queue, sampled_at DESC`,
      [source.id],
    );
    const latest = new Map(rows.map((r) => [r.queue, r]));
    expect(latest.get("orders.held")).toEqual({ queue: "orders.held", lag: "8", time_lag_ms: null });
    expect(latest.get("orders.idle")!.lag).toBe("3");
    expect(Number(latest.get("orders.idle")!.time_lag_ms)).toBeGreaterThanOrEqual(120_000);
    expect(Number(latest.get("orders.idle")!.time_lag_ms)).toBeLessThan(600_000);
    expect(latest.get("orders.acked")).toEqual({ queue: "orders.acked", lag: "0", time_lag_ms: "0" });
    // Its messages are stamped as they are published: the head (the one its consumer holds) is under a minute old.
    expect(Number(latest.get("orders.growing")!.time_lag_ms)).toBeGreaterThanOrEqual(0);
    expect(Number(latest.get("orders.growing")!.time_lag_ms)).toBeLessThan(60_000);
    expect(latest.get("orders.growing")!.time_lag_ms).not.toBeNull();
  });

  it("stores bindings with their routing keys, without the default exchange's", async () => {
    const { rows } = await db.pool.query<{ exchange: string; queue: string; routing_key: string }>(
      `SELECT exchange, queue, routing_key FROM rabbitmq_bindings WHERE source_id = $1 ORDER BY queue, exchange, routing_key`,
      [source.id],
    );
    expect(rows).toEqual([
      { exchange: "orders.dlx", queue: "orders.dlq", routing_key: "" },
      { exchange: "orders", queue: "orders.work", routing_key: "order.#" },
      { exchange: "orders", queue: "orders.work", routing_key: "refund.issued" },
    ]);
  });

  it("stores exchange-to-exchange bindings with their routing keys", async () => {
    const { rows } = await db.pool.query(
      `SELECT from_exchange, to_exchange, routing_key FROM rabbitmq_exchange_bindings WHERE source_id = $1 AND vhost = '/'`,
      [source.id],
    );
    expect(rows).toEqual([{ from_exchange: "orders", to_exchange: "orders.archive", routing_key: "order.#" }]);
  });

  it("stores consumers with their connection's client-provided name, prefetch and ack mode", async () => {
    const { rows } = await db.pool.query<{ queue: string; consumer_tag: string; connection_name: string | null; prefetch_count: number; ack_required: boolean; connection: string }>(
      `SELECT queue, consumer_tag, connection_name, prefetch_count, ack_required, connection FROM rabbitmq_consumers WHERE source_id = $1 ORDER BY queue`,
      [source.id],
    );
    expect(rows.map(({ queue, connection_name, prefetch_count, ack_required }) => ({ queue, connection_name, prefetch_count, ack_required }))).toEqual([
      { queue: "orders.acked", connection_name: "billing-service", prefetch_count: 10, ack_required: true },
      { queue: "orders.growing", connection_name: "analytics-service", prefetch_count: 1, ack_required: true },
      { queue: "orders.held", connection_name: "shipping-service", prefetch_count: 5, ack_required: true },
    ]);
    expect(rows.find((r) => r.queue === "orders.held")!.consumer_tag).toBe("shipping-1");
    expect(rows[0]!.connection).toMatch(/^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
  });

  it("stores the exchanges with their type and the rate published into them, without the default exchange", async () => {
    type ExchangeRow = { name: string; type: string; internal: boolean; publish_in_rate: number | null };
    const exchanges = async () =>
      new Map(
        (
          await db.pool.query<ExchangeRow>(`SELECT name, type, internal, publish_in_rate FROM rabbitmq_exchanges WHERE source_id = $1 AND vhost = '/'`, [
            source.id,
          ])
        ).rows.map((r) => [r.name, r]),
      );
    // The management plugin averages rates over its 5 s sampling: wait for the first non-zero one.
    const rows = await pollUntil("a publish rate on orders", async () => {
      const found = await exchanges();
      return (found.get("orders")?.publish_in_rate ?? 0) > 0 ? found : undefined;
    }, 30_000, 500);
    expect(rows.get("orders")).toMatchObject({ type: "topic", internal: false });
    // About 10 messages/s (one every 100 ms), as RabbitMQ averages it.
    expect(rows.get("orders")!.publish_in_rate).toBeGreaterThan(2);
    expect(rows.get("orders")!.publish_in_rate).toBeLessThan(30);
    expect(rows.get("orders.dlx")).toMatchObject({ type: "fanout" });
    // RabbitMQ's own are stored (the graph decides what to draw); the default exchange is not.
    expect(rows.get("amq.topic")).toMatchObject({ type: "topic" });
    expect(rows.has("")).toBe(false);
  });

  it("marks a deleted queue and forgets its consumers", async () => {
    const channel = await connections[0]!.createChannel();
    await channel.deleteQueue("orders.acked");
    await pollUntil("orders.acked marked deleted", async () => ((await queues()).get("orders.acked")?.deleted_at ? true : undefined), 20_000);
    const { rows } = await db.pool.query(`SELECT 1 FROM rabbitmq_consumers WHERE source_id = $1 AND queue = 'orders.acked'`, [source.id]);
    expect(rows).toEqual([]);
  });
});
