import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { whoConsumesAnswerSchema } from "../../../lib/api-schemas/who-consumes.ts";
import { ensureSource, ingestEvents, syncRabbitVhost, whoConsumes, type EventRow, type RabbitQueueSnapshot } from "../index.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";

/**
 * "Who consumes" on RabbitMQ: an event type seen on an exchange (the channel its events are stored
 * under: the exchange's name on vhost "/", `<vhost>/<exchange>` elsewhere) → the queues bound to
 * it → their consumers, with lag and health; and a service by its connections' names.
 */

let db: TestDatabase;
const suffix = crypto.randomBytes(3).toString("hex");
const TYPE = `OrderPlaced${suffix}`;

function event(sourceId: number, channel: string, offset: number): EventRow {
  const json = { orderId: `ord-${suffix}`, type: TYPE };
  return {
    sourceId, topic: channel, partition: 0, offset: String(offset), timestamp: new Date(),
    key: null, value: { kind: "json", json, raw: Buffer.from(JSON.stringify(json)) }, sizeBytes: 40, headers: [],
    eventType: TYPE, producer: "order-service", entityKeys: [], trace: { traceId: null, parentSpanId: null }, deadLetter: null, flags: [],
  };
}

function queue(name: string, overrides: Partial<RabbitQueueSnapshot> = {}): RabbitQueueSnapshot {
  return {
    name, type: "classic", durable: true, autoDelete: false, exclusive: false, arguments: {}, state: "running",
    messagesReady: 0, messagesUnacknowledged: 0, consumers: 1, publishRate: null, deliverRate: null, ackRate: null, processedTotal: 0,
    headMessageAt: null, ...overrides,
  };
}

const consumer = (queueName: string, connectionName: string, prefetchCount: number) => ({
  queue: queueName, channel: `${connectionName} (1)`, consumerTag: `ctag-${connectionName}`, connection: `${connectionName}-conn`,
  connectionName, peerHost: "127.0.0.1", user: "guest", ackRequired: true, prefetchCount, active: true, exclusive: false,
});

beforeAll(async () => {
  db = await createTestDatabase();
  const rabbit = await ensureSource(db, { name: "rabbit-wc", kind: "rabbitmq" });
  await ingestEvents(db, [event(rabbit.id, "orders", 0), event(rabbit.id, "staging/orders", 0)]);
  await syncRabbitVhost(db, rabbit.id, {
    vhost: "/",
    queues: [
      queue("billing.orders", { messagesReady: 2, messagesUnacknowledged: 1 }),
      queue("audit.all", { consumers: 0, messagesReady: 7 }),
      queue("unrelated"),
      queue("archive.orders"),
    ],
    bindings: [
      { exchange: "orders", queue: "billing.orders", routingKey: "order.placed", propertiesKey: "order.placed", arguments: {} },
      { exchange: "orders", queue: "billing.orders", routingKey: "order.paid", propertiesKey: "order.paid", arguments: {} },
      { exchange: "orders", queue: "audit.all", routingKey: "#", propertiesKey: "%23", arguments: {} },
      { exchange: "payments", queue: "unrelated", routingKey: "#", propertiesKey: "%23", arguments: {} },
      // Reached from orders through two exchange-to-exchange bindings.
      { exchange: "archive", queue: "archive.orders", routingKey: "", propertiesKey: "~", arguments: {} },
    ],
    consumers: [consumer("billing.orders", `billing-service-${suffix}`, 20), consumer("archive.orders", `archiver-${suffix}`, 1)],
    exchangeBindings: [
      { from: "orders", to: "orders.all", routingKey: "order.#", propertiesKey: "order.%23", arguments: {} },
      { from: "orders.all", to: "archive", routingKey: "", propertiesKey: "~", arguments: {} },
      // A loop is followed once each way round.
      { from: "archive", to: "orders.all", routingKey: "", propertiesKey: "~", arguments: {} },
    ],
  });
  await syncRabbitVhost(db, rabbit.id, {
    vhost: "staging",
    queues: [queue("billing.orders")],
    bindings: [{ exchange: "orders", queue: "billing.orders", routingKey: "order.*", propertiesKey: "order.*", arguments: {} }],
    consumers: [consumer("billing.orders", `staging-billing-${suffix}`, 5)],
  });
});

afterAll(async () => {
  await db?.drop();
});

describe("who consumes, on RabbitMQ", () => {
  it("answers an event type with the exchanges it was seen on, the queues bound to them and their consumers", async () => {
    const answer = whoConsumesAnswerSchema.parse(await whoConsumes(db, { type: TYPE }));
    expect(answer.topics.map((t) => [t.source, t.topic])).toEqual([
      ["rabbit-wc", "orders"],
      ["rabbit-wc", "staging/orders"],
    ]);
    const [root, staging] = answer.topics;
    expect(root!.queues.map((q) => [q.id, q.routingKeys, q.lag])).toEqual([
      ["rabbitmq:%2F/archive.orders", [""], "0"],
      ["rabbitmq:%2F/audit.all", ["#"], "7"],
      ["rabbitmq:%2F/billing.orders", ["order.paid", "order.placed"], "3"],
    ]);
    expect(root!.queues[1]).toMatchObject({ consumers: [], health: { status: "STOP" } });
    expect(root!.queues[2]!.consumers).toEqual([
      expect.objectContaining({ connectionName: `billing-service-${suffix}`, prefetchCount: 20, ackRequired: true }),
    ]);
    expect(staging!.queues.map((q) => [q.id, q.routingKeys, q.consumers.map((c) => c.connectionName)])).toEqual([
      ["rabbitmq:staging/billing.orders", ["order.*"], [`staging-billing-${suffix}`]],
    ]);
    expect(answer.queues).toEqual(["rabbitmq:%2F/archive.orders", "rabbitmq:%2F/audit.all", "rabbitmq:%2F/billing.orders", "rabbitmq:staging/billing.orders"]);
    expect(answer.producers).toEqual(["order-service"]);
  });

  it("answers a service by its connections' name: the exchanges bound to the queues it consumes", async () => {
    const answer = whoConsumesAnswerSchema.parse(await whoConsumes(db, { service: `billing-service-${suffix}` }));
    expect(answer.topics.map((t) => [t.topic, t.matchedBy])).toEqual([["orders", ["consumed-by-service"]]]);
  });

  it("follows exchange-to-exchange bindings: a service whose queue is bound two exchanges away consumes what was published to orders", async () => {
    const answer = whoConsumesAnswerSchema.parse(await whoConsumes(db, { service: `archiver-${suffix}` }));
    // What is published to any of the three reaches its queue.
    expect(answer.topics.map((t) => [t.topic, t.matchedBy])).toEqual([
      ["archive", ["consumed-by-service"]],
      ["orders", ["consumed-by-service"]],
      ["orders.all", ["consumed-by-service"]],
    ]);
    const orders = answer.topics.find((t) => t.topic === "orders")!;
    expect(orders.queues.find((q) => q.name === "archive.orders")!.consumers.map((c) => c.connectionName)).toEqual([`archiver-${suffix}`]);
  });
});
