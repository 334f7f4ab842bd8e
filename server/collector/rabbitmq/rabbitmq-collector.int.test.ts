/**
 * The RabbitMQ collector (bindings mode) against a real RabbitMQ node and a real PostgreSQL:
 * what it stores of each kind of exchange, exactly once across a restart, dead letters through a
 * collected DLX, hostile messages, and a broker restart (last: it stops the node).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import amqp from "amqplib";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { uniqueName, waitUntil } from "../../broker/test-support.ts";
import type { Config } from "../../config.ts";
import { ensureSource } from "../../db/index.ts";
import type { TestDatabase } from "../../db/test-support.ts";
import { rabbitmqctl, startRabbitNode, type RabbitNode } from "../../rabbitmq/node.ts";
import type { LogCollector } from "../test-support.ts";
import { streamQueueName } from "./bindings-plan.ts";
import { startRabbitMqCollector, type RunningRabbitMqCollector } from "./rabbitmq-collector.ts";
import { rabbitCollectorTestBed } from "./test-bed.ts";
import { headerOf, rabbitSourceOf, sequenceOf, storedRowsOf, type StoredAmqpRow } from "./test-support.ts";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

const bed = rabbitCollectorTestBed();
const { running } = bed;
// The file's names for the bed's fields, set once its hooks have run.
let node: RabbitNode;
let db: TestDatabase;
let connection: amqp.ChannelModel;
let config: Config;
let logs: LogCollector;
beforeAll(() => void ({ node, db, connection, config } = bed));
beforeEach(() => void (logs = bed.logs));

/** A source named after the test, collecting the exchanges named `<prefix>.…`; started in this process. */
async function collect(prefix: string, options: { refreshMs?: number } = {}) {
  const sourceConfig = rabbitSourceOf(node, prefix, prefix);
  const source = await ensureSource(db, { name: prefix, kind: "rabbitmq" });
  const start = () => {
    const collector = startRabbitMqCollector(config, sourceConfig, {
      db,
      source,
      log: logs.log,
      refreshMs: options.refreshMs ?? 500,
      healthIntervalMs: 300,
      reconnectMaxMs: 2_000,
      flushMs: 50,
    });
    running.push(collector);
    return collector;
  };
  return { source, start };
}

/** Waits until the collector reads a stream for each of `channels`. */
async function untilReading(collector: RunningRabbitMqCollector, channels: string[]): Promise<void> {
  await waitUntil(`streams read for ${channels.join(", ")}`, () => channels.every((c) => collector.stats().channels.includes(c)), {
    timeoutMs: 30_000,
    describe: () => collector.stats(),
  });
}

/** One exchange `<prefix>.<name>` of `type`, and a collector reading it; `setup` is a channel for the test's own declarations. */
async function collectOneExchange(prefix: string, name: string, type: string) {
  const exchange = `${prefix}.${name}`;
  const setup = await connection.createChannel();
  await setup.assertExchange(exchange, type, { durable: true });
  const { source, start } = await collect(prefix);
  const collector = start();
  await untilReading(collector, [exchange]);
  return { exchange, setup, source, start, collector };
}

async function untilStored(sourceId: number, count: number, timeoutMs = 30_000): Promise<StoredAmqpRow[]> {
  let last: StoredAmqpRow[] = [];
  await waitUntil(
    `${count} events stored`,
    async () => {
      last = await storedRowsOf(db, sourceId);
      return last.length >= count;
    },
    { timeoutMs, intervalMs: 100, describe: () => `${last.length} stored` },
  );
  return last;
}

async function publishAll(channel: amqp.ConfirmChannel, messages: { exchange: string; routingKey: string; body: Buffer | string; options?: amqp.Options.Publish }[]) {
  for (const m of messages) channel.publish(m.exchange, m.routingKey, Buffer.isBuffer(m.body) ? m.body : Buffer.from(m.body), m.options);
  await channel.waitForConfirms();
}

/** `count` numbered JSON messages to one exchange (header `seq` from `from`). */
function sequence(exchange: string, routingKey: string, from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    exchange,
    routingKey,
    body: JSON.stringify({ orderId: `o-${from + i}`, seq: from + i }),
    options: { contentType: "application/json", headers: { seq: from + i }, messageId: `${exchange}-${from + i}` },
  }));
}

describe("bindings mode", () => {
  test("messages to a topic, a fanout, a direct and a headers exchange are stored once each, extracted, at their stream offsets; the user's queues keep theirs", async () => {
    const prefix = uniqueName("kinds");
    const ex = { topic: `${prefix}.orders`, fanout: `${prefix}.audit`, direct: `${prefix}.payments`, headers: `${prefix}.shipping` };
    const setup = await connection.createChannel();
    await setup.assertExchange(ex.topic, "topic", { durable: true });
    await setup.assertExchange(ex.fanout, "fanout", { durable: true });
    await setup.assertExchange(ex.direct, "direct", { durable: true });
    await setup.assertExchange(ex.headers, "headers", { durable: true });
    // The user's own queues and bindings.
    const userQueues = { topic: `${prefix}.orders.work`, fanout: `${prefix}.audit.work`, direct: `${prefix}.payments.work`, headers: `${prefix}.shipping.work` };
    for (const queue of Object.values(userQueues)) await setup.assertQueue(queue, { durable: true });
    await setup.bindQueue(userQueues.topic, ex.topic, "order.*");
    await setup.bindQueue(userQueues.fanout, ex.fanout, "");
    await setup.bindQueue(userQueues.direct, ex.direct, "payment.charged");
    await setup.bindQueue(userQueues.direct, ex.direct, "payment.failed");
    await setup.bindQueue(userQueues.headers, ex.headers, "", { "x-match": "any", region: "eu" });

    const { source, start } = await collect(prefix);
    const collector = start();
    await untilReading(collector, Object.values(ex));

    const publisher = await connection.createConfirmChannel();
    const timestamp = 1_764_970_000;
    await publishAll(publisher, [
      {
        exchange: ex.topic,
        routingKey: "order.placed",
        body: '{"orderId":"o-1","total":12.5}',
        options: {
          messageId: "m-1",
          appId: "order-service",
          type: "OrderPlaced",
          timestamp,
          contentType: "application/json",
          headers: { traceparent: TRACEPARENT },
        },
      },
      {
        exchange: ex.fanout,
        routingKey: "",
        body: '{"orderId":"o-2"}',
        options: {
          messageId: "m-2",
          timestamp: timestamp + 1,
          contentType: "application/json",
          headers: { ce_specversion: "1.0", ce_id: "ce-2", ce_type: "AuditRecorded", ce_source: "audit-service", ce_time: "2026-12-05T10:00:00Z" },
        },
      },
      { exchange: ex.direct, routingKey: "payment.charged", body: '{"orderId":"o-3"}', options: { appId: "payment-service", type: "PaymentCharged", contentType: "application/json", timestamp } },
      { exchange: ex.direct, routingKey: "payment.failed", body: '{"orderId":"o-4"}', options: { appId: "payment-service", type: "PaymentFailed", contentType: "application/json", timestamp } },
      { exchange: ex.headers, routingKey: "", body: '{"orderId":"o-5"}', options: { type: "ShipmentBooked", contentType: "application/json", headers: { region: "eu" }, timestamp } },
      // A headers exchange's message no binding of the user's matches: still routed to the stream.
      { exchange: ex.headers, routingKey: "", body: '{"orderId":"o-6"}', options: { type: "ShipmentBooked", contentType: "application/json", headers: { region: "us" }, timestamp } },
    ]);

    const rows = await untilStored(source.id, 6);
    // Nothing more arrives later (no copy stored twice).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await storedRowsOf(db, source.id)).toHaveLength(6);

    const byChannel = (channel: string) => rows.filter((row) => row.channel === channel);
    const [placed] = byChannel(ex.topic);
    expect(placed).toMatchObject({
      position: "0",
      key: "order.placed",
      event_type: "OrderPlaced",
      producer: "order-service",
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      entity_keys: ["o-1"],
      value_json: { orderId: "o-1", total: 12.5 },
    });
    expect(headerOf(placed!, "amqp.message_id")).toBe("m-1");
    expect(headerOf(placed!, "amqp.exchange")).toBe(ex.topic);
    // The stream's own offset header is the position, not part of the message.
    expect(placed!.headers.map((h) => h.key)).not.toContain("x-stream-offset");

    expect(byChannel(ex.fanout)[0]).toMatchObject({ position: "0", event_type: "AuditRecorded", producer: "audit-service", entity_keys: ["o-2"] });
    expect(byChannel(ex.direct).map((row) => [row.position, row.key, row.event_type, row.producer])).toEqual([
      ["0", "payment.charged", "PaymentCharged", "payment-service"],
      ["1", "payment.failed", "PaymentFailed", "payment-service"],
    ]);
    expect(byChannel(ex.headers).map((row) => [row.position, row.entity_keys])).toEqual([
      ["0", ["o-5"]],
      ["1", ["o-6"]],
    ]);

    // The user's queues received their messages untouched: the collector reads only its own queues.
    const reader = await connection.createChannel();
    const counts = Object.fromEntries(
      await Promise.all(Object.entries(userQueues).map(async ([kind, queue]) => [kind, (await reader.checkQueue(queue)).messageCount])),
    );
    expect(counts).toEqual({ topic: 1, fanout: 1, direct: 2, headers: 1 });
    const got = await reader.get(userQueues.topic, { noAck: true });
    expect(got && got.content.toString()).toBe('{"orderId":"o-1","total":12.5}');
    expect(got && got.properties.headers).toEqual({ traceparent: TRACEPARENT });

    // A new exchange, and a new routing key of a direct exchange, are picked up by the refresh.
    await setup.assertExchange(`${prefix}.later`, "topic", { durable: true });
    await setup.bindQueue(userQueues.direct, ex.direct, "payment.refunded");
    await untilReading(collector, [`${prefix}.later`]);
    const ownDirectKeys = async () => {
      const bindings = (await (await fetch(`${node.managementUrl}/api/exchanges/%2F/${encodeURIComponent(ex.direct)}/bindings/source`, {
        headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
      })).json()) as { destination: string; routing_key: string }[];
      return bindings.filter((b) => b.destination.startsWith("eventscope.")).map((b) => b.routing_key).sort();
    };
    await waitUntil("the new direct key bound", async () => (await ownDirectKeys()).includes("payment.refunded"));
    await publishAll(publisher, [
      { exchange: `${prefix}.later`, routingKey: "x", body: "{}" },
      { exchange: ex.direct, routingKey: "payment.refunded", body: "{}" },
    ]);
    const after = await untilStored(source.id, 8);
    expect(after.filter((row) => row.channel === ex.direct).map((row) => row.key)).toEqual(["payment.charged", "payment.failed", "payment.refunded"]);

    // A key no other queue binds any more is unbound from the stream by the refresh.
    await setup.unbindQueue(userQueues.direct, ex.direct, "payment.failed");
    await waitUntil("the dropped direct key unbound", async () => !(await ownDirectKeys()).includes("payment.failed"), { describe: ownDirectKeys });
    expect(await ownDirectKeys()).toEqual(["payment.charged", "payment.refunded"]);

    // The health row names this source's collector.
    await waitUntil("a health row", async () => (await db.prisma.collectorInstance.findUnique({ where: { instanceId: collector.instanceId } }))?.lastStoredAt);
    const health = await db.prisma.collectorInstance.findUnique({ where: { instanceId: collector.instanceId } });
    expect(health).toMatchObject({ sourceId: source.id, lastError: null });
  });

  test("unroutable messages: stored by default; an alternate exchange still gets them; with unroutable: leave a mandatory publisher still has them returned", async () => {
    const prefix = uniqueName("unrouted");
    const orders = `${prefix}.orders`;
    const shipping = `${prefix}.shipping`;
    const unrouted = `${prefix}.unrouted`;
    const setup = await connection.createChannel();
    await setup.assertExchange(unrouted, "fanout", { durable: true });
    await setup.assertQueue(`${unrouted}.q`, { durable: true });
    await setup.bindQueue(`${unrouted}.q`, unrouted, "");
    await setup.assertExchange(orders, "topic", { durable: true, alternateExchange: unrouted });
    await setup.assertQueue(`${orders}.q`, { durable: true });
    await setup.bindQueue(`${orders}.q`, orders, "order.*");
    await setup.assertExchange(shipping, "headers", { durable: true });
    await setup.assertQueue(`${shipping}.q`, { durable: true });
    await setup.bindQueue(`${shipping}.q`, shipping, "", { "x-match": "any", region: "eu" });
    const orderId = (row: StoredAmqpRow) => (row.value_json as { orderId: string }).orderId;

    const run = async (unroutable: "collect" | "leave", tag: string) => {
      const source = await ensureSource(db, { name: `${prefix}-${unroutable}`, kind: "rabbitmq" });
      const collector = startRabbitMqCollector(config, { ...rabbitSourceOf(node, source.name, prefix), unroutable }, { db, source, log: logs.log, refreshMs: 500, flushMs: 50 });
      running.push(collector);
      await untilReading(collector, [orders, shipping, unrouted]);
      const publisher = await connection.createConfirmChannel();
      const returned: string[] = [];
      publisher.on("return", (message: amqp.Message) => returned.push(message.content.toString()));
      await publishAll(publisher, [
        { exchange: orders, routingKey: "order.placed", body: `{"orderId":"routed-${tag}"}` },
        // No binding of orders matches: to its alternate exchange, whatever the mode.
        { exchange: orders, routingKey: "refund.issued", body: `{"orderId":"alternate-${tag}"}` },
        { exchange: shipping, routingKey: "", body: `{"orderId":"eu-${tag}"}`, options: { headers: { region: "eu" } } },
        // No binding of shipping matches, and it has no alternate exchange.
        { exchange: shipping, routingKey: "", body: `{"orderId":"unrouted-${tag}"}`, options: { headers: { region: "us" }, mandatory: true } },
      ]);
      await publisher.close();
      const count = unroutable === "collect" ? 4 : 3;
      await untilStored(source.id, count);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await collector.stop();
      // Its streams stay bound when it stops (it resumes from them): gone, they route nothing more.
      for (const exchange of [orders, shipping, unrouted]) await setup.deleteQueue(streamQueueName(source.name, "/", exchange));
      return { returned, stored: (await storedRowsOf(db, source.id)).map((row) => [row.channel, orderId(row)]).sort() };
    };

    // By default Eventscope's stream takes what no binding of the user's matches: it is stored,
    // and so no longer unroutable for a mandatory publisher.
    expect(await run("collect", "1")).toEqual({
      returned: [],
      stored: [
        [orders, "routed-1"],
        [shipping, "eu-1"],
        [shipping, "unrouted-1"],
        [unrouted, "alternate-1"],
      ],
    });
    // With unroutable: leave, the stream mirrors the user's bindings: unroutable stays unroutable.
    expect(await run("leave", "2")).toEqual({
      returned: ['{"orderId":"unrouted-2"}'],
      stored: [
        [orders, "routed-2"],
        [shipping, "eu-2"],
        [unrouted, "alternate-2"],
      ],
    });
    // The alternate exchange got the unroutable message of orders both times.
    expect((await setup.checkQueue(`${unrouted}.q`)).messageCount).toBe(2);
  });

  test("exactly once across a stop in the middle of a stream and a start", async () => {
    const { exchange, source, start, collector: first } = await collectOneExchange(uniqueName("restart"), "orders", "topic");
    const publisher = await connection.createConfirmChannel();
    // Published while the collector stores, so that it stops in the middle.
    const publishing = publishAll(publisher, sequence(exchange, "order.placed", 0, 5_000));
    await waitUntil("some stored", async () => (await storedRowsOf(db, source.id)).length > 0, { timeoutMs: 30_000, intervalMs: 20 });
    await first.stop();
    await publishing;
    const atStop = (await storedRowsOf(db, source.id)).length;
    await publishAll(publisher, sequence(exchange, "order.placed", 5_000, 1_000));

    const second = start();
    const rows = await untilStored(source.id, 6_000, 60_000);
    expect(atStop).toBeLessThan(6_000);
    expect(rows.map((row) => Number(row.position))).toEqual(Array.from({ length: 6_000 }, (_, i) => i));
    expect(sequenceOf(rows, exchange)).toEqual(Array.from({ length: 6_000 }, (_, i) => i));
    await second.stop();
  });

  test("a message routed on by an exchange-to-exchange binding is stored once, under the exchange it was published to, across a restart", async () => {
    const prefix = uniqueName("e2e");
    const orders = `${prefix}.orders`;
    const shipping = `${prefix}.shipping`;
    const setup = await connection.createChannel();
    await setup.assertExchange(orders, "topic", { durable: true });
    await setup.assertExchange(shipping, "fanout", { durable: true });
    await setup.bindExchange(shipping, orders, "order.shipped");
    await setup.assertQueue(`${shipping}.q`, { durable: true });
    await setup.bindQueue(`${shipping}.q`, shipping, "");
    const { source, start } = await collect(prefix);
    const first = start();
    await untilReading(first, [orders, shipping]);
    const publisher = await connection.createConfirmChannel();
    // Three reach shipping through orders, one stays in orders, two are published to shipping itself.
    await publishAll(publisher, [...sequence(orders, "order.shipped", 0, 3), ...sequence(orders, "order.placed", 3, 1), ...sequence(shipping, "", 4, 2)]);
    const rows = await untilStored(source.id, 6);
    // Nothing more arrives: a copy from shipping's stream would be a seventh row.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await storedRowsOf(db, source.id)).map((row) => [row.channel, row.key])).toEqual(rows.map((row) => [row.channel, row.key]));
    expect(sequenceOf(rows, orders)).toEqual([0, 1, 2, 3]);
    expect(sequenceOf(rows, shipping)).toEqual([4, 5]);
    // The user's queue got all five that reached shipping.
    expect((await setup.checkQueue(`${shipping}.q`)).messageCount).toBe(5);

    // Started again, the streams' bindings are the listing's: shipping's copies are still left to orders.
    await first.stop();
    await publishAll(publisher, [...sequence(orders, "order.shipped", 6, 2), ...sequence(shipping, "", 8, 1)]);
    const second = start();
    await untilStored(source.id, 9);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await storedRowsOf(db, source.id);
    expect(sequenceOf(after, orders)).toEqual([0, 1, 2, 3, 6, 7]);
    expect(sequenceOf(after, shipping)).toEqual([4, 5, 8]);
    await second.stop();
  });

  test("dead letters through a collected DLX: rejected, expired, over max length and over the delivery limit, each with its reason and origin", async () => {
    const prefix = uniqueName("dlx");
    const work = `${prefix}.orders`;
    const dlx = `${prefix}.dlx`;
    const setup = await connection.createChannel();
    await setup.assertExchange(work, "direct", { durable: true });
    await setup.assertExchange(dlx, "fanout", { durable: true });
    // The DLQ that nobody consumes: dead letters are still collected, from the DLX's stream.
    await setup.assertQueue(`${prefix}.dlq`, { durable: true });
    await setup.bindQueue(`${prefix}.dlq`, dlx, "");
    const queues = {
      rejected: { name: `${prefix}.work`, args: {} },
      expired: { name: `${prefix}.ttl`, args: {} },
      maxlen: { name: `${prefix}.short`, args: { "x-max-length": 1 } },
      delivery_limit: { name: `${prefix}.quorum`, args: { "x-queue-type": "quorum", "x-delivery-limit": 1 } },
    };
    for (const [reason, queue] of Object.entries(queues)) {
      await setup.assertQueue(queue.name, { durable: true, arguments: { "x-dead-letter-exchange": dlx, ...queue.args } });
      await setup.bindQueue(queue.name, work, reason);
    }
    const { source, start } = await collect(prefix);
    const collector = start();
    await untilReading(collector, [work, dlx]);

    const publisher = await connection.createConfirmChannel();
    const message = (reason: string, n: number, options: amqp.Options.Publish = {}) => ({
      exchange: work,
      routingKey: reason,
      body: JSON.stringify({ orderId: `${reason}-${n}` }),
      options: { contentType: "application/json", messageId: `${reason}-${n}`, ...options },
    });
    await publishAll(publisher, [
      message("rejected", 1),
      message("expired", 1, { expiration: "1" }),
      message("maxlen", 1),
      message("maxlen", 2), // pushes maxlen-1 out of the queue (drop-head)
      message("delivery_limit", 1),
    ]);
    const consumer = await connection.createChannel();
    const rejected = await waitUntil("a message in the work queue", () => consumer.get(queues.rejected.name));
    consumer.nack(rejected, false, false);
    // A quorum queue drops a message delivered more than x-delivery-limit times.
    await waitUntil(
      "the quorum queue dead-letters its message",
      async () => {
        const got = await consumer.get(queues.delivery_limit.name);
        if (got) consumer.nack(got, false, true);
        return (await consumer.checkQueue(queues.delivery_limit.name)).messageCount === 0 && got === false;
      },
      { timeoutMs: 20_000 },
    );
    // The expired message is dead-lettered when it reaches the head of its queue (it is the only one).
    let seen: unknown[] = [];
    await waitUntil(
      "four dead letters",
      async () => {
        const { rows } = await db.pool.query("SELECT channel, position, key, flags, headers FROM events WHERE source_id = $1 AND channel = $2", [source.id, dlx]);
        seen = rows;
        const { rows: stored } = await db.pool.query("SELECT 1 FROM dead_letters WHERE source_id = $1", [source.id]);
        return stored.length >= 4;
      },
      { describe: () => seen },
    );
    const { rows: deadLetters } = await db.pool.query<{ channel: string; origin_topic: string; origin_group: string; error_class: string; error_message: string; key: string }>(
      `SELECT channel, origin_topic, origin_group, error_class, error_message, key FROM dead_letters WHERE source_id = $1 ORDER BY error_class`,
      [source.id],
    );
    expect(deadLetters.map((d) => [d.channel, d.origin_topic, d.origin_group, d.error_class, d.key])).toEqual([
      [dlx, work, queues.delivery_limit.name, "delivery_limit", "delivery_limit"],
      [dlx, work, queues.expired.name, "expired", "expired"],
      [dlx, work, queues.maxlen.name, "maxlen", "maxlen"],
      [dlx, work, queues.rejected.name, "rejected", "rejected"],
    ]);
    // The originals are events of the work exchange, not dead letters.
    const rows = await storedRowsOf(db, source.id);
    expect(rows.filter((row) => row.channel === work)).toHaveLength(5);
    expect(rows.filter((row) => row.channel === dlx)).toHaveLength(4);
    // The user's DLQ keeps its dead letters: the collector reads its own queues only.
    expect((await setup.checkQueue(`${prefix}.dlq`)).messageCount).toBe(4);
  });

  test("a dead-letter exchange set by a policy (as RabbitMQ recommends) is collected alike; a queue's own argument overrules the policy", async () => {
    const prefix = uniqueName("policy");
    const work = `${prefix}.orders`;
    const byPolicy = `${prefix}.dlx`;
    const byArgument = `${prefix}.own-dlx`;
    const setup = await connection.createChannel();
    await setup.assertExchange(work, "direct", { durable: true });
    for (const dlx of [byPolicy, byArgument]) {
      await setup.assertExchange(dlx, "fanout", { durable: true });
      await setup.assertQueue(`${dlx}.q`, { durable: true });
      await setup.bindQueue(`${dlx}.q`, dlx, "");
    }
    await setup.assertQueue(`${prefix}.plain`, { durable: true });
    await setup.bindQueue(`${prefix}.plain`, work, "plain");
    await setup.assertQueue(`${prefix}.own`, { durable: true, arguments: { "x-dead-letter-exchange": byArgument } });
    await setup.bindQueue(`${prefix}.own`, work, "own");
    // Dead letters through the default exchange, straight to a queue: nothing can see them.
    await setup.assertQueue(`${prefix}.direct`, { durable: true, arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": `${byPolicy}.q` } });
    // Both work queues match the policy; the queue that names its own DLX keeps it.
    await rabbitmqctl(node, ["set_policy", "-p", "/", `${prefix}-dead-letters`, `^${prefix}\\.(plain|own)$`, JSON.stringify({ "dead-letter-exchange": byPolicy }), "--apply-to", "queues"]);
    try {
      const { source, start } = await collect(prefix);
      const collector = start();
      await untilReading(collector, [work, byPolicy, byArgument]);
      await publishAll(await connection.createConfirmChannel(), [
        { exchange: work, routingKey: "plain", body: JSON.stringify({ orderId: "p-1" }), options: { messageId: "p-1" } },
        { exchange: work, routingKey: "own", body: JSON.stringify({ orderId: "o-1" }), options: { messageId: "o-1" } },
      ]);
      const consumer = await connection.createChannel();
      for (const queue of [`${prefix}.plain`, `${prefix}.own`]) consumer.nack(await waitUntil(`a message in ${queue}`, () => consumer.get(queue)), false, false);
      let deadLetters: { channel: string; origin_group: string; error_class: string; key: string }[] = [];
      await waitUntil(
        "two dead letters",
        async () => {
          ({ rows: deadLetters } = await db.pool.query(
            `SELECT channel, origin_group, error_class, key FROM dead_letters WHERE source_id = $1 ORDER BY key`,
            [source.id],
          ));
          return deadLetters.length >= 2;
        },
        { describe: () => deadLetters },
      );
      expect(deadLetters).toEqual([
        { channel: byArgument, origin_group: `${prefix}.own`, error_class: "rejected", key: "own" },
        { channel: byPolicy, origin_group: `${prefix}.plain`, error_class: "rejected", key: "plain" },
      ]);
      // Each exactly once: a relay (not a stream, which RabbitMQ routes no dead letter to) for both exchanges.
      expect((await storedRowsOf(db, source.id)).filter((row) => row.channel !== work)).toHaveLength(2);

      // The queue whose dead letters cannot be collected is named in the source's health, until it goes.
      const warnings = async () =>
        (await db.pool.query<{ warnings: string[] }>("SELECT warnings FROM collector_instances WHERE source_id = $1 ORDER BY updated_at DESC LIMIT 1", [source.id]))
          .rows[0]?.warnings ?? [];
      expect(await waitUntil("a warning", async () => ((await warnings()).length > 0 ? warnings() : null))).toEqual([
        `dead letters of queue ${prefix}.direct (vhost /) are not collected: they dead-letter through the default exchange, which nothing can be bound to and the firehose does not copy; give them a named dead-letter exchange`,
      ]);
      await setup.deleteQueue(`${prefix}.direct`);
      await waitUntil("the warning gone", async () => (await warnings()).length === 0, { timeoutMs: 10_000 });
    } finally {
      await rabbitmqctl(node, ["clear_policy", "-p", "/", `${prefix}-dead-letters`]);
    }
  });

  test("hostile messages (binary body, a 60 KB header, an invalid traceparent, bytes that are not UTF-8) are stored and flagged, and the stream goes on", async () => {
    const { exchange, source } = await collectOneExchange(uniqueName("hostile"), "events", "fanout");
    const publisher = await connection.createConfirmChannel();
    await publishAll(publisher, [
      { exchange, routingKey: "", body: Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x01]), options: { headers: { seq: 0 } } },
      // amqplib encodes no header table over 64 KB: the 100 KB header is published with pika (below).
      { exchange, routingKey: "", body: "{}", options: { headers: { seq: 1, big: "x".repeat(60_000) } } },
      { exchange, routingKey: "", body: "{}", options: { headers: { seq: 2, traceparent: "00-NOT-A-TRACE-01" } } },
      { exchange, routingKey: "", body: "{}", options: { headers: { seq: 3, raw: Buffer.from([0xc3, 0x28, 0xff, 0x00]) } } },
      { exchange, routingKey: "", body: '{"orderId":"o-after"}', options: { contentType: "application/json", headers: { seq: 4 } } },
    ]);
    const rows = await untilStored(source.id, 5);
    expect(sequenceOf(rows, exchange)).toEqual([0, 1, 2, 3, 4]);
    expect(rows[0]!.value_bytes).toEqual(Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x01]));
    expect(headerOf(rows[1]!, "big")).toHaveLength(60_000);
    expect(rows[2]!.flags).toContain("traceparent-invalid");
    expect(rows[2]!.trace_id).toBeNull();
    const raw = rows[3]!.headers.find((h) => h.key === "raw");
    expect(raw && Buffer.from(raw.value!, "base64")).toEqual(Buffer.from([0xc3, 0x28, 0xff, 0x00]));
    expect(rows[4]!.entity_keys).toEqual(["o-after"]);
  });

  test("messages published by another client (Debian's python3-pika) are stored and extracted alike, a 100 KB header and non-UTF-8 header bytes included", async () => {
    const { exchange, source } = await collectOneExchange(uniqueName("pika"), "orders", "topic");
    // pika sends Python bytes as a long string, byte for byte: here not UTF-8.
    const script = `
import sys, pika
connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
channel = connection.channel()
channel.confirm_delivery()
exchange = sys.argv[2]
channel.basic_publish(exchange, "order.placed", b'{"orderId":"p-1"}', pika.BasicProperties(
    content_type="application/json", message_id="py-1", app_id="python-shop", type="OrderPlaced", timestamp=1764970000,
    headers={"traceparent": "${TRACEPARENT}", "seq": 0}))
channel.basic_publish(exchange, "order.shipped", b'{"orderId":"p-1"}', pika.BasicProperties(
    content_type="application/json", headers={"ce_specversion": "1.0", "ce_id": "e-2", "ce_type": "OrderShipped", "ce_source": "shipping-py", "seq": 1}))
channel.basic_publish(exchange, "order.noted", b"{}", pika.BasicProperties(headers={"seq": 2, "big": "y" * 100000, "latin1": b"caf\\xe9"}))
connection.close()
`;
    await promisify(execFile)("/usr/bin/python3", ["-c", script, node.amqpUrl, exchange], { timeout: 30_000 });
    const rows = await untilStored(source.id, 3);
    expect(sequenceOf(rows, exchange)).toEqual([0, 1, 2]);
    expect(rows[0]).toMatchObject({ key: "order.placed", event_type: "OrderPlaced", producer: "python-shop", trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", entity_keys: ["p-1"] });
    expect(headerOf(rows[0]!, "amqp.message_id")).toBe("py-1");
    expect(rows[1]).toMatchObject({ event_type: "OrderShipped", producer: "shipping-py", entity_keys: ["p-1"] });
    expect(headerOf(rows[2]!, "big")).toHaveLength(100_000);
    // Bytes that are not UTF-8 are kept exactly, as bytes.
    const latin1 = rows[2]!.headers.find((h) => h.key === "latin1");
    expect(latin1).toMatchObject({ encoding: "base64" });
    expect(Buffer.from(latin1!.value!, "base64")).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  });

  test("a user with only the documented permissions (monitoring; configure and write on eventscope.*, write on amq.default) collects events and dead letters", async () => {
    const prefix = uniqueName("perms");
    const user = `${prefix}-user`;
    await rabbitmqctl(node, ["add_user", user, "secret-pw"]);
    await rabbitmqctl(node, ["set_user_tags", user, "monitoring"]);
    await rabbitmqctl(node, ["set_permissions", "-p", "/", user, "^eventscope\\..*", "^(eventscope\\..*|amq\\.default)$", ".*"]);
    const setup = await connection.createChannel();
    await setup.assertExchange(`${prefix}.orders`, "topic", { durable: true });
    await setup.assertExchange(`${prefix}.dlx`, "fanout", { durable: true });
    await setup.assertQueue(`${prefix}.work`, { durable: true, arguments: { "x-dead-letter-exchange": `${prefix}.dlx` } });
    await setup.bindQueue(`${prefix}.work`, `${prefix}.orders`, "#");
    const source = await ensureSource(db, { name: prefix, kind: "rabbitmq" });
    const collector = startRabbitMqCollector(config, { ...rabbitSourceOf(node, prefix, prefix), username: user, password: "secret-pw" }, { db, source, log: logs.log, refreshMs: 500, flushMs: 50 });
    running.push(collector);
    await untilReading(collector, [`${prefix}.orders`, `${prefix}.dlx`]);
    const publisher = await connection.createConfirmChannel();
    await publishAll(publisher, [{ exchange: `${prefix}.orders`, routingKey: "order.placed", body: '{"orderId":"o-1"}', options: { contentType: "application/json" } }]);
    const message = await waitUntil("the message in the work queue", () => setup.get(`${prefix}.work`));
    setup.nack(message, false, false);
    const rows = await untilStored(source.id, 2);
    expect(rows.map((row) => row.channel)).toEqual([`${prefix}.dlx`, `${prefix}.orders`]);
    const { rows: deadLetters } = await db.pool.query("SELECT error_class FROM dead_letters WHERE source_id = $1", [source.id]);
    expect(deadLetters).toEqual([{ error_class: "rejected" }]);
    expect(logs.text()).not.toMatch(/ACCESS_REFUSED|403/);
  });

  // Last: it stops the node and starts it again on the same data.
  test("a RabbitMQ restart: the collector reconnects by itself, resumes from the stored positions, and stores everything once", async () => {
    const { exchange, source, collector } = await collectOneExchange(uniqueName("outage"), "orders", "topic");
    let publisher = await connection.createConfirmChannel();
    await publishAll(publisher, sequence(exchange, "order.placed", 0, 200));
    await untilStored(source.id, 200);

    await node.stop();
    await waitUntil("the outage noticed", () => logs.lines.some((line) => line.includes("unavailable")), { timeoutMs: 30_000 });
    const restarted = await startRabbitNode({
      dataDir: node.dataDir,
      nodeName: node.nodeName,
      amqpPort: node.amqpPort,
      managementPort: node.managementPort,
      streamPort: node.streamPort,
      distPort: node.distPort,
      epmdPort: node.epmdPort,
    });
    // The bed stops and closes what it holds after the file.
    node = bed.node = restarted;
    connection = bed.connection = await amqp.connect(node.amqpUrl);
    connection.on("error", () => {});
    publisher = await connection.createConfirmChannel();
    await waitUntil("the collector reconnected", () => logs.lines.some((line) => line.includes("reachable again")), { timeoutMs: 60_000 });
    // Reading its stream again: a publish before the stream has recovered on the node is routed to
    // no queue (the broker's recovery, which the user's own queues go through as well).
    await waitUntil("the stream read again", () => logs.lines.filter((line) => line.includes(`into channel ${exchange} `)).length >= 2, { timeoutMs: 60_000 });
    await publishAll(publisher, sequence(exchange, "order.placed", 200, 300));
    const rows = await untilStored(source.id, 500, 60_000).catch(async (error: Error) => {
      const seqs = new Set(sequenceOf(await storedRowsOf(db, source.id), exchange));
      throw new Error(`${error.message}; missing seq ${Array.from({ length: 500 }, (_, i) => i).filter((i) => !seqs.has(i)).join(",")}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await storedRowsOf(db, source.id)).length).toBe(500);
    expect(sequenceOf(rows, exchange)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // Said once per outage, once on recovery.
    expect(logs.lines.filter((line) => line.includes("unavailable (reconnecting")).length).toBe(1);
    expect(logs.lines.filter((line) => line.includes("reachable again")).length).toBe(1);
    await waitUntil("the health row clear of the outage", async () => {
      const row = await db.prisma.collectorInstance.findUnique({ where: { instanceId: collector.instanceId } });
      return row !== null && row.lastError === null;
    });
  }, 180_000);
});
