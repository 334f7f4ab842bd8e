import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowGraphSchema, type FlowGraph } from "../../../lib/api-schemas/graph.ts";
import { QUEUE_TIME_LAG_UNKNOWN } from "../../../lib/api-schemas/groups.ts";
import { syncTopics } from "../cluster-state.ts";
import {
  ensureSource,
  getFlowGraph,
  ingestEvents,
  recordDefaultExchangeRoutes,
  syncRabbitVhost,
  type EventRow,
  type FailureInfo,
  type RabbitConsumerSnapshot,
  type RabbitQueueSnapshot,
  type RabbitVhostSnapshot,
  type SourceRow,
} from "../index.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";

/**
 * The overview graph with a RabbitMQ source beside a Kafka one, as the demo runs them:
 * notification-service produces on Kafka and publishes e-mail jobs to the exchange `email`,
 * `email.jobs` is bound to it and consumed, refusals are dead-lettered through `email.dlx` into
 * `email.dead`. RabbitMQ's state is written as the queue poller writes it (syncRabbitVhost).
 */

let db: TestDatabase;
let kafka: SourceRow;
let rabbit: SourceRow;
const NOW = new Date();
const ago = (ms: number) => new Date(NOW.getTime() - ms);

function event(sourceId: number, channel: string, offset: number, type: string, producer: string, deadLetter: FailureInfo | null = null): EventRow {
  const json = { type, orderId: `ord-${offset}` };
  return {
    sourceId, topic: channel, partition: 0, offset: String(offset), timestamp: ago(10_000),
    key: null, value: { kind: "json", json, raw: Buffer.from(JSON.stringify(json)) }, sizeBytes: 40, headers: [],
    eventType: type, producer, entityKeys: [], trace: { traceId: null, parentSpanId: null }, deadLetter, flags: [],
  };
}

const refused: FailureInfo = {
  source: "headers", convention: "rabbitmq", originTopic: "email", originPartition: null, originOffset: null, originTimestamp: null,
  originConsumerGroup: null, originTopicHint: null, errorClass: "rejected", errorMessage: null, errorCause: null, stackTrace: null, attempts: 1,
};

function queue(name: string, overrides: Partial<RabbitQueueSnapshot> = {}): RabbitQueueSnapshot {
  return {
    name, type: "classic", durable: true, autoDelete: false, exclusive: false, arguments: {}, state: "running",
    messagesReady: 0, messagesUnacknowledged: 0, consumers: 0, publishRate: null, deliverRate: null, ackRate: null, processedTotal: 0,
    headMessageAt: null, ...overrides,
  };
}

function consumer(queueName: string, connectionName: string | null, channel: number, overrides: Partial<RabbitConsumerSnapshot> = {}): RabbitConsumerSnapshot {
  const connection = `10.0.0.${channel}:5000 -> 10.0.0.9:5672`;
  return {
    queue: queueName, channel: `${connection} (${channel})`, consumerTag: `ctag-${queueName}-${channel}`, connection, connectionName,
    peerHost: "10.0.0.1", user: "guest", ackRequired: true, prefetchCount: 5, active: true, exclusive: false, ...overrides,
  };
}

const binding = (exchange: string, queueName: string, routingKey: string) => ({ exchange, queue: queueName, routingKey, propertiesKey: routingKey || "~", arguments: {} });

/** The vhost at a poll: processed grows on email.jobs (consumed), email.dead waits with nobody on it. */
function snapshot(processed: number): RabbitVhostSnapshot {
  return {
    vhost: "/",
    queues: [
      // Its dead-letter exchange set by a policy, as RabbitMQ recommends: drawn as one set by an argument.
      queue("email.jobs", {
        policy: "email-dead", policyDefinition: { "dead-letter-exchange": "email.dlx" }, messagesReady: 4, messagesUnacknowledged: 2, consumers: 3,
        publishRate: 3, deliverRate: 2.6, ackRate: 2.5, processedTotal: processed, headMessageAt: ago(30_000),
      }),
      queue("email.dead", { messagesReady: 5, publishRate: 0.2 }),
      queue("audit.all", { type: "quorum", publishRate: 4, ackRate: 4, consumers: 1, processedTotal: processed }),
    ],
    bindings: [
      binding("email", "email.jobs", "email.requested.#"),
      binding("email", "email.jobs", "email.retry.#"),
      binding("email.dlx", "email.dead", ""),
      binding("email", "audit.all", "#"),
      binding("billing", "audit.all", "bill.#"),
      // RabbitMQ's own exchange, bound but with nothing flowing through it.
      binding("amq.direct", "email.jobs", "legacy"),
    ],
    consumers: [
      consumer("email.jobs", "email-sender", 1),
      consumer("email.jobs", "email-sender", 2),
      consumer("email.jobs", "backup-sender", 3, { ackRequired: false, prefetchCount: 0 }),
      consumer("audit.all", null, 4),
    ],
    exchanges: [
      { name: "email", type: "topic", durable: true, autoDelete: false, internal: false, publishInRate: 3 },
      { name: "email.dlx", type: "fanout", durable: true, autoDelete: false, internal: false, publishInRate: 0.2 },
      { name: "billing", type: "direct", durable: true, autoDelete: false, internal: false, publishInRate: 1 },
      { name: "unused", type: "fanout", durable: true, autoDelete: false, internal: false, publishInRate: null },
      { name: "amq.direct", type: "direct", durable: true, autoDelete: false, internal: false, publishInRate: 0 },
      { name: "amq.topic", type: "topic", durable: true, autoDelete: false, internal: false, publishInRate: null },
    ],
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  kafka = await ensureSource(db, { name: "kafka-g", kind: "kafka" });
  rabbit = await ensureSource(db, { name: "rabbit-g", kind: "rabbitmq" });
  const partition = (end: number) => ({ partition: 0, leader: 1, endOffset: String(end), startOffset: "0" });
  await syncTopics(db, kafka.id, [{ name: "notifications", kind: "normal", of: null, internal: false, partitions: [partition(1)] }], { at: ago(40_000) });
  await syncTopics(db, kafka.id, [{ name: "notifications", kind: "normal", of: null, internal: false, partitions: [partition(3)] }], { at: ago(20_000) });
  await ingestEvents(db, [
    event(kafka.id, "notifications", 0, "NotificationSent", "notification-service"),
    event(kafka.id, "notifications", 1, "NotificationSent", "notification-service"),
    event(rabbit.id, "email", 0, "EmailRequested", "notification-service"),
    event(rabbit.id, "email", 1, "EmailRequested", "notification-service"),
    event(rabbit.id, "email", 2, "EmailRequested", "notification-service"),
    event(rabbit.id, "email", 3, "EmailSent", "email-sender"),
    event(rabbit.id, "email.dlx", 0, "EmailRequested", "notification-service", refused),
    // An exchange that was deleted since: its events stay, its node goes.
    event(rabbit.id, "retired", 0, "LegacyThing", "legacy-service"),
  ]);
  await syncRabbitVhost(db, rabbit.id, snapshot(10), { at: ago(20_000) });
  await syncRabbitVhost(db, rabbit.id, snapshot(40), { at: NOW });
});

afterAll(async () => {
  await db?.drop();
});

const edge = (graph: FlowGraph, source: string, target: string) => graph.edges.find((e) => e.source === source && e.target === target);

describe("the flow graph with RabbitMQ", () => {
  it("draws publishers → exchanges → queues → consumers beside Kafka, one node per service", async () => {
    const graph = flowGraphSchema.parse(await getFlowGraph(db, { now: NOW }));
    // notification-service produces on Kafka and publishes on RabbitMQ: one node.
    expect(graph.producers.filter((p) => p.producer === "notification-service").map((p) => p.id)).toEqual(["producer:notification-service"]);
    expect(edge(graph, "producer:notification-service", "topic:notifications")).toMatchObject({ kind: "produces" });
    // The exchange's publish rate, 3/s, split between its publishers by their share of its events (3 : 1).
    expect(edge(graph, "producer:notification-service", "exchange:email")).toMatchObject({ kind: "produces", messagesPerSecond: 2.25, estimated: true });
    expect(edge(graph, "producer:email-sender", "exchange:email")).toMatchObject({ messagesPerSecond: 0.75, estimated: true });
    // A dead letter keeps its original publisher, but RabbitMQ put it into email.dlx: drawn from the queue (below).
    expect(graph.edges.filter((e) => e.target === "exchange:email.dlx").map((e) => e.source)).toEqual(["queue:email.jobs"]);

    // Exchanges: collected, bound to a drawn queue, or a dead-letter exchange. Not unused ones, not
    // amq.* with nothing flowing, never the default exchange, nor one deleted since its messages came.
    expect(graph.exchanges.map((e) => [e.id, e.type, e.messagesPerSecond, e.deadLetterExchange])).toEqual([
      ["exchange:billing", "direct", 1, false],
      ["exchange:email", "topic", 3, false],
      ["exchange:email.dlx", "fanout", 0.2, true],
    ]);
    expect(graph.producers.map((p) => p.producer)).not.toContain("legacy-service");
    expect(graph.exchanges.find((e) => e.exchange === "email")).toMatchObject({ source: "rabbit-g", vhost: "/", channel: "email", eventTypes: ["EmailRequested", "EmailSent"] });

    // Bindings: one edge per exchange and queue, every routing key on it; the queue's publish rate.
    expect(edge(graph, "exchange:email", "queue:email.jobs")).toMatchObject({
      kind: "routes",
      routingKeys: ["email.requested.#", "email.retry.#"],
      messagesPerSecond: 3,
      estimated: false,
    });
    expect(edge(graph, "exchange:email.dlx", "queue:email.dead")).toMatchObject({ kind: "routes", routingKeys: [""], messagesPerSecond: 0.2 });
    // audit.all is fed by two exchanges: its 4/s shared by their publish rates (3 : 1), estimated.
    expect(edge(graph, "exchange:email", "queue:audit.all")).toMatchObject({ messagesPerSecond: 3, estimated: true });
    expect(edge(graph, "exchange:billing", "queue:audit.all")).toMatchObject({ routingKeys: ["bill.#"], messagesPerSecond: 1, estimated: true });
    expect(graph.edges.filter((e) => e.source.startsWith("exchange:amq."))).toEqual([]);

    // The dead-letter exchange of email.jobs.
    expect(edge(graph, "queue:email.jobs", "exchange:email.dlx")).toMatchObject({ kind: "dead-letters", messagesPerSecond: 0.2 });
  });

  it("gives each queue its lag, time lag, consumers, type and health, and flags the DLQ with its dead letters", async () => {
    const graph = await getFlowGraph(db, { now: NOW });
    const queue = (name: string) => graph.queues.find((q) => q.name === name)!;
    expect(graph.queues.map((q) => q.id)).toEqual(["queue:audit.all", "queue:email.dead", "queue:email.jobs"]);
    expect(queue("email.jobs")).toMatchObject({
      queueId: "rabbitmq:%2F/email.jobs",
      type: "classic",
      ready: "4",
      unacknowledged: "2",
      lag: "6",
      consumers: 3,
      timeLagMs: 30_000,
      timeLagUnknownReason: null,
      health: { status: "OK" },
      deadLetters: null,
    });
    expect(queue("email.dead")).toMatchObject({
      lag: "5",
      consumers: 0,
      timeLagMs: null,
      timeLagUnknownReason: QUEUE_TIME_LAG_UNKNOWN,
      health: { status: "STOP" },
      deadLetters: { total: 1, new: 1 },
    });
    expect(queue("email.dead").health!.reason).toContain("no consumers");
    expect(queue("audit.all").type).toBe("quorum");
  });

  it("draws one consumer node per connection name, the queue's rate split among them, with the queue's lag", async () => {
    const graph = await getFlowGraph(db, { now: NOW });
    expect(graph.consumers.map((c) => [c.id, c.consumers, c.channels, c.prefetch, c.autoAck, c.named])).toEqual([
      ["consumer:10.0.0.4:5000 -> 10.0.0.9:5672", 1, 1, [5], false, false],
      ["consumer:backup-sender", 1, 1, [0], true, true],
      ["consumer:email-sender", 2, 2, [5], false, true],
    ]);
    // backup-sender does not ack: the deliver rate (2.6/s) is what is consumed, shared 2 : 1 by consumers.
    expect(edge(graph, "queue:email.jobs", "consumer:email-sender")).toMatchObject({ kind: "consumes", messagesPerSecond: 1.73, estimated: true, lag: "6" });
    expect(edge(graph, "queue:email.jobs", "consumer:backup-sender")).toMatchObject({ messagesPerSecond: 0.87, estimated: true, lag: "6" });
    // A queue with one service on it: its ack rate, whole.
    expect(edge(graph, "queue:audit.all", "consumer:10.0.0.4:5000 -> 10.0.0.9:5672")).toMatchObject({ messagesPerSecond: 4, estimated: false, lag: "0" });
  });

  it("keeps drawing a service whose consumers all left, not attached, with the lag it leaves behind", async () => {
    const labels = (consumers: number) => ({
      vhost: "ops",
      queues: [queue("labels", { messagesReady: consumers === 0 ? 9 : 0, consumers })],
      bindings: [],
      consumers: consumers === 0 ? [] : [consumer("labels", "label-printer", 7)],
      exchanges: [],
    });
    // A source of its own, so that the other tests' counts stay as they are.
    const ops = await ensureSource(db, { name: "rabbit-ops", kind: "rabbitmq" });
    await syncRabbitVhost(db, ops.id, labels(1), { at: ago(10_000) });
    await syncRabbitVhost(db, ops.id, labels(0), { at: NOW });
    const graph = await getFlowGraph(db, { now: NOW });
    expect(graph.consumers.find((c) => c.id === "consumer:label-printer")).toMatchObject({ consumers: 0, channels: 0, named: true });
    expect(edge(graph, "queue:ops/labels", "consumer:label-printer")).toMatchObject({ kind: "consumes", messagesPerSecond: 0, lag: "9" });
    // The other vhost's services are as they were.
    expect(graph.consumers.find((c) => c.id === "consumer:email-sender")).toMatchObject({ consumers: 2 });
  });

  it("filters by source: a RabbitMQ source's nodes and the producers publishing to them, or the Kafka source's alone", async () => {
    const onRabbit = await getFlowGraph(db, { now: NOW, source: "rabbit-g" });
    expect(onRabbit.topics).toEqual([]);
    expect(onRabbit.exchanges.map((e) => e.exchange)).toEqual(["billing", "email", "email.dlx"]);
    expect(onRabbit.queues).toHaveLength(3);
    expect(onRabbit.consumers).toHaveLength(3);
    expect(onRabbit.producers.map((p) => p.id)).toEqual(["producer:email-sender", "producer:notification-service"]);
    expect(onRabbit.edges.some((e) => e.target === "topic:notifications")).toBe(false);

    const onKafka = await getFlowGraph(db, { now: NOW, source: "kafka-g" });
    expect([onKafka.exchanges, onKafka.queues, onKafka.consumers]).toEqual([[], [], []]);
    expect(onKafka.topics.map((t) => t.topic)).toEqual(["notifications"]);
    expect(onKafka.producers.map((p) => p.id)).toEqual(["producer:notification-service"]);
  });

  it("draws the default exchange as amq.default (direct) once its publishes are collected: publishers → it → the queues they were addressed to", async () => {
    const source = await ensureSource(db, { name: "rabbit-d", kind: "rabbitmq" });
    await ingestEvents(db, [
      event(source.id, "amq.default", 0, "LabelRequested", "mailer"),
      event(source.id, "amq.default", 1, "LabelRequested", "mailer"),
    ]);
    await syncRabbitVhost(
      db,
      source.id,
      { vhost: "/", queues: [queue("labels.work", { publishRate: 2 })], bindings: [], consumers: [], exchanges: [] },
      { at: NOW },
    );
    // As the collector records them: a queue that exists, and one that does not (any more).
    await recordDefaultExchangeRoutes(db, source.id, "/", ["labels.work", "gone.work"], NOW);

    const graph = flowGraphSchema.parse(await getFlowGraph(db, { now: NOW, source: "rabbit-d" }));
    expect(graph.exchanges.map((e) => [e.id, e.exchange, e.type, e.eventTypes])).toEqual([["exchange:amq.default", "amq.default", "direct", ["LabelRequested"]]]);
    expect(edge(graph, "producer:mailer", "exchange:amq.default")).toMatchObject({ kind: "produces" });
    expect(edge(graph, "exchange:amq.default", "queue:labels.work")).toMatchObject({ kind: "routes", routingKeys: ["labels.work"], messagesPerSecond: 2 });
    expect(graph.edges.filter((e) => e.source === "exchange:amq.default").map((e) => e.target)).toEqual(["queue:labels.work"]);
  });

  it("draws exchange-to-exchange bindings: the exchanges a drawn one routes on into, with the bindings' keys, and their queues", async () => {
    const source = await ensureSource(db, { name: "rabbit-e", kind: "rabbitmq" });
    await ingestEvents(db, [event(source.id, "orders", 0, "OrderPlaced", "order-service")]);
    const fanout = (name: string) => ({ name, type: "fanout", durable: true, autoDelete: false, internal: false, publishInRate: null });
    await syncRabbitVhost(
      db,
      source.id,
      {
        vhost: "/",
        queues: [queue("archive.q", { consumers: 1, publishRate: 1 })],
        bindings: [binding("archive", "archive.q", "")],
        consumers: [consumer("archive.q", "archiver", 1)],
        exchanges: [{ ...fanout("orders"), type: "topic" }, fanout("orders.all"), fanout("archive"), fanout("unrelated")],
        // orders.all has neither messages nor queues: drawn as the way from orders to archive.
        exchangeBindings: [
          { from: "orders", to: "orders.all", routingKey: "order.#", propertiesKey: "order.%23", arguments: {} },
          { from: "orders", to: "orders.all", routingKey: "refund.#", propertiesKey: "refund.%23", arguments: {} },
          { from: "orders.all", to: "archive", routingKey: "", propertiesKey: "~", arguments: {} },
        ],
      },
      { at: NOW },
    );
    const graph = flowGraphSchema.parse(await getFlowGraph(db, { now: NOW, source: "rabbit-e" }));
    expect(graph.exchanges.map((e) => e.id)).toEqual(["exchange:archive", "exchange:orders", "exchange:orders.all"]);
    expect(edge(graph, "exchange:orders", "exchange:orders.all")).toMatchObject({ kind: "routes", routingKeys: ["order.#", "refund.#"], messagesPerSecond: null });
    expect(edge(graph, "exchange:orders.all", "exchange:archive")).toMatchObject({ kind: "routes", routingKeys: [""] });
    expect(edge(graph, "exchange:archive", "queue:archive.q")).toMatchObject({ kind: "routes", routingKeys: [""] });
    expect(edge(graph, "queue:archive.q", "consumer:archiver")).toMatchObject({ kind: "consumes" });
  });
});
