/**
 * Deliveries from RabbitMQ's firehose (`deliveries: firehose`) against a real RabbitMQ node and a
 * real PostgreSQL: what is stored of each delivery (queue, redelivered, joined to the stored
 * event), Eventscope's own queues left out, nothing stored twice when copies are handed over again
 * after a stop between commit and acknowledgement, and tracing off reported, not failed on.
 * The test turns tracing on on its own node, as a user would.
 */
import type pg from "pg";
import { afterEach, expect, test } from "vitest";
import { uniqueName, waitUntil } from "../../broker/test-support.ts";
import { ensureSource, getDeadLetter, getEntityTimeline } from "../../db/index.ts";
import type { TestDatabase } from "../../db/test-support.ts";
import { rabbitmqctl } from "../../rabbitmq/node.ts";
import { createRabbitReplayPublisher } from "../../replay/rabbitmq.ts";
import { replayDeadLetter } from "../../replay/replay.ts";
import { deliveriesQueueName } from "./firehose-deliveries.ts";
import { startRabbitMqCollector } from "./rabbitmq-collector.ts";
import { rabbitCollectorTestBed, startTestCollector } from "./test-bed.ts";
import { rabbitSourceOf, storedRowsOf } from "./test-support.ts";

const bed = rabbitCollectorTestBed();
const { running } = bed;

afterEach(async () => {
  await rabbitmqctl(bed.node, ["trace_off", "-p", "/"]);
});

interface DeliveryRow {
  queue: string;
  exchange: string;
  routing_key: string;
  channel: string;
  fingerprint: number;
  redelivered: boolean;
  replay_id: string | null;
  connection: string | null;
  /** The stored event it joins to on (source, channel, fingerprint), by its `seq` header. */
  seq: string | null;
}

async function deliveriesOf(sourceId: number): Promise<DeliveryRow[]> {
  const { rows } = await bed.db.pool.query<DeliveryRow>(
    `SELECT d.queue, d.exchange, d.routing_key, d.channel, d.fingerprint, d.redelivered, d.replay_id, d.connection,
       (SELECT h->>'value' FROM events e, jsonb_array_elements(e.headers) h
        WHERE e.source_id = d.source_id AND e.channel = d.channel AND e.delivery_fingerprint = d.fingerprint AND d.fingerprint <> 0 AND h->>'key' = 'seq'
        LIMIT 1) AS seq
     FROM rabbitmq_deliveries d WHERE d.source_id = $1 ORDER BY d.id`,
    [sourceId],
  );
  return rows;
}

/** A topic exchange `<prefix>.orders`, a queue `<prefix>.work` bound to it, and a collector with deliveries on. */
async function setUp(prefix: string, dbForCollector: Pick<TestDatabase, "pool" | "prisma"> = bed.db) {
  const exchange = `${prefix}.orders`;
  const queue = `${prefix}.work`;
  const setup = await bed.connection.createChannel();
  await setup.assertExchange(exchange, "topic", { durable: true });
  await setup.assertQueue(queue, { durable: true });
  await setup.bindQueue(queue, exchange, "order.#");
  await setup.close();
  const sourceConfig = { ...rabbitSourceOf(bed.node, prefix, prefix), deliveries: "firehose" as const };
  const source = await ensureSource(bed.db, { name: prefix, kind: "rabbitmq" });
  const start = (database = dbForCollector) => startTestCollector(bed, sourceConfig, source, database);
  return { exchange, queue, source, start };
}

async function publish(exchange: string, messages: { seq: number; id?: string }[]) {
  const channel = await bed.connection.createConfirmChannel();
  for (const { seq, id } of messages) {
    channel.publish(exchange, "order.placed", Buffer.from(JSON.stringify({ orderId: `o-${seq}`, seq })), {
      contentType: "application/json",
      headers: { seq, ...(id ? { ce_id: id } : {}) },
    });
  }
  await channel.waitForConfirms();
  await channel.close();
}

/** Consumes `queue`: each message's first delivery is nacked with requeue, the second acked. */
async function consumeWithOneRequeue(queue: string, count: number): Promise<void> {
  const channel = await bed.connection.createChannel();
  let acked = 0;
  await channel.consume(queue, (message) => {
    if (message === null) return;
    if (!message.fields.redelivered) channel.nack(message, false, true);
    else {
      channel.ack(message);
      acked += 1;
    }
  });
  await waitUntil(`${count} messages acked from ${queue}`, () => acked >= count, { timeoutMs: 15_000 });
  await channel.close();
}

async function healthOf(sourceId: number): Promise<{ warnings: string[]; deliveries: boolean } | undefined> {
  const { rows } = await bed.db.pool.query<{ warnings: string[]; deliveries: boolean }>(
    "SELECT warnings, deliveries FROM collector_instances WHERE source_id = $1 ORDER BY updated_at DESC LIMIT 1",
    [sourceId],
  );
  return rows[0];
}

test("tracing off is reported as a warning naming the command, and collection goes on; turned on, the warning goes", async () => {
  const prefix = uniqueName("fhoff");
  const { exchange, source, start } = await setUp(prefix);
  const collector = start();
  const health = await waitUntil("a warning about tracing", async () => {
    const row = await healthOf(source.id);
    return row && row.warnings.length > 0 ? row : null;
  });
  expect(health.deliveries).toBe(true);
  expect(health.warnings).toEqual([
    "deliveries are not seen: tracing is off on vhost / (run rabbitmqctl trace_on -p /; Eventscope never turns it on)",
  ]);
  // Messages are still stored (bindings mode), and the collector did not turn tracing on.
  await waitUntil("the stream read", () => collector.stats().channels.includes(exchange), { timeoutMs: 30_000 });
  await publish(exchange, [{ seq: 1 }]);
  await waitUntil("one event stored", async () => (await storedRowsOf(bed.db, source.id)).length === 1);
  const vhost = (await (await fetch(`${bed.node.managementUrl}/api/vhosts/%2F`, { headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` } })).json()) as { tracing: boolean };
  expect(vhost.tracing).toBe(false);

  await rabbitmqctl(bed.node, ["trace_on", "-p", "/"]);
  await waitUntil("the warning cleared", async () => (await healthOf(source.id))?.warnings.length === 0, { timeoutMs: 10_000 });
});

test("each delivery is stored with its queue and redelivered flag, joined to the stored event; Eventscope's own queues are left out", async () => {
  await rabbitmqctl(bed.node, ["trace_on", "-p", "/"]);
  const prefix = uniqueName("fhdeliver");
  const { exchange, queue, source, start } = await setUp(prefix);
  const collector = start();
  await waitUntil("the stream and the deliveries queue read", () => collector.stats().channels.includes(exchange), { timeoutMs: 30_000 });
  await waitUntil("deliveries being read", () => bed.logs.lines.some((line) => line.includes(`from ${deliveriesQueueName(prefix, "/")}`)));

  // One message with a CloudEvents id, one without any id (joined by its content).
  await publish(exchange, [{ seq: 1, id: `${prefix}-evt-1` }, { seq: 2 }]);
  await consumeWithOneRequeue(queue, 2);
  await waitUntil("two events stored", async () => (await storedRowsOf(bed.db, source.id)).length === 2);
  const rows = await waitUntil("four deliveries stored", async () => {
    const found = await deliveriesOf(source.id);
    return found.length >= 4 ? found : null;
  }, { describe: () => collector.stats() });

  expect(rows).toHaveLength(4);
  for (const seq of ["1", "2"]) {
    const ofMessage = rows.filter((row) => row.seq === seq);
    expect(ofMessage.map((row) => row.redelivered).sort()).toEqual([false, true]);
    for (const row of ofMessage) {
      expect(row).toMatchObject({ queue, exchange, routing_key: "order.placed", channel: exchange, replay_id: null });
      expect(row.connection).toMatch(/ -> /);
    }
  }
  // The collector's own reading of its streams is traced too (deliver.eventscope.…): ignored.
  expect(rows.some((row) => row.queue.startsWith("eventscope."))).toBe(false);
  expect(collector.stats().deliveries.ignored).toBeGreaterThan(0);
  // The copies of the collector's own deliveries queue are not traced again (no feedback loop).
  expect(collector.stats().deliveries.ignored).toBeLessThan(50);
});

test("copies handed over again after a stop between commit and acknowledgement are not stored twice", async () => {
  await rabbitmqctl(bed.node, ["trace_on", "-p", "/"]);
  const prefix = uniqueName("fhonce");
  // A database whose delivery inserts commit and then never answer: the collector cannot acknowledge.
  let committed = 0;
  const pool = new Proxy(bed.db.pool, {
    get(target, property, receiver) {
      if (property !== "query") return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<pg.Pool["query"]>) => {
        const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
        if (typeof args[0] === "string" && args[0].startsWith("INSERT INTO rabbitmq_deliveries")) {
          committed += 1;
          return new Promise(() => {});
        }
        return result;
      };
    },
  });
  const { exchange, queue, source, start } = await setUp(prefix, { pool, prisma: bed.db.prisma });
  const first = start();
  await waitUntil("the stream read", () => first.stats().channels.includes(exchange), { timeoutMs: 30_000 });
  await waitUntil("deliveries being read", () => bed.logs.lines.some((line) => line.includes(`from ${deliveriesQueueName(prefix, "/")}`)));
  await publish(exchange, [{ seq: 1, id: `${prefix}-evt-1` }, { seq: 2, id: `${prefix}-evt-2` }, { seq: 3 }]);
  await consumeWithOneRequeue(queue, 3);
  await waitUntil("six deliveries committed", async () => committed > 0 && (await deliveriesOf(source.id)).length >= 6);
  // Not acknowledged: the copies wait in the deliveries queue as unacknowledged.
  await first.stop();
  running.splice(running.indexOf(first), 1);

  const waiting = async () =>
    (await (
      await fetch(`${bed.node.managementUrl}/api/queues/%2F/${encodeURIComponent(deliveriesQueueName(prefix, "/"))}`, {
        headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
      })
    ).json()) as { messages?: number; consumers?: number };
  await waitUntil("the copies back in the queue", async () => ((await waiting()).messages ?? 0) >= 6, { timeoutMs: 30_000, intervalMs: 500 });

  const second = start(bed.db);
  await waitUntil("the copies handed over again and acknowledged", async () => {
    const queue = await waiting();
    return queue.consumers === 1 && queue.messages === 0;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  expect(second.stats().deliveries.stored).toBe(0);
  const rows = await deliveriesOf(source.id);
  expect(rows.filter((row) => row.queue === queue)).toHaveLength(6);
  expect(rows.filter((row) => row.seq !== null)).toHaveLength(6);
});

test("the timeline shows each event's queues; a replayed dead letter that its queue delivers becomes delivered", async () => {
  await rabbitmqctl(bed.node, ["trace_on", "-p", "/"]);
  const prefix = uniqueName("fhreplay");
  const exchange = `${prefix}.orders`;
  const dlx = `${prefix}.dlx`;
  const queue = `${prefix}.work`;
  const dlq = `${prefix}.dlq`;
  const order = `${prefix}-ord`;
  const setup = await bed.connection.createChannel();
  await setup.assertExchange(exchange, "topic", { durable: true });
  await setup.assertExchange(dlx, "fanout", { durable: true });
  await setup.assertQueue(dlq, { durable: true });
  await setup.bindQueue(dlq, dlx, "");
  await setup.assertQueue(queue, { durable: true, arguments: { "x-dead-letter-exchange": dlx } });
  await setup.bindQueue(queue, exchange, "order.#");
  await setup.close();
  const source = await ensureSource(bed.db, { name: prefix, kind: "rabbitmq" });
  const sourceConfig = { ...rabbitSourceOf(bed.node, prefix, prefix), deliveries: "firehose" as const };
  running.push(startRabbitMqCollector(bed.config, sourceConfig, { db: bed.db, source, log: bed.logs.log, refreshMs: 500, healthIntervalMs: 300, flushMs: 50 }));
  await waitUntil("deliveries being read", () => bed.logs.lines.some((line) => line.includes(`from ${deliveriesQueueName(prefix, "/")}`)), { timeoutMs: 30_000 });
  await waitUntil("the exchanges collected", () => bed.logs.lines.some((line) => line.includes(`relaying`)) && bed.logs.lines.some((line) => line.includes(`into channel ${exchange} `)), { timeoutMs: 30_000 });

  // The service: rejects the order the first time (dead-lettered), takes a replay.
  const service = await bed.connection.createChannel();
  await service.consume(queue, (message) => {
    if (message === null) return;
    if (message.properties.headers?.["x-replay-id"] === undefined) service.nack(message, false, false);
    else service.ack(message);
  });
  const body = Buffer.from(JSON.stringify({ orderId: order, seq: 1 }));
  const publisher = await bed.connection.createConfirmChannel();
  publisher.publish(exchange, "order.placed", body, { contentType: "application/json", headers: { ce_id: `${prefix}-evt-1` } });
  await publisher.waitForConfirms();
  await publisher.close();

  const deadLetterId = await waitUntil("the dead letter stored", async () => {
    const { rows } = await bed.db.pool.query<{ id: string }>("SELECT id::text AS id FROM dead_letters WHERE source_id = $1", [source.id]);
    return rows[0]?.id ?? null;
  }, { timeoutMs: 30_000 });
  const placed = await waitUntil("the order's delivery on the timeline", async () => {
    const timeline = await getEntityTimeline(bed.db, order);
    const event = timeline.events.find((e) => e.topic === exchange);
    return event?.queueConsumption?.queues.length ? { timeline, event } : null;
  });
  expect(placed.event.queueConsumption).toEqual({
    observed: true,
    queues: [{ queue, deliveries: 1, redeliveries: 0, lastAt: expect.any(String) }],
  });
  // The dead letter itself: nothing reads the DLQ, and the firehose says so.
  expect(placed.timeline.events.find((e) => e.topic === dlx)?.queueConsumption).toEqual({ observed: true, queues: [] });

  const replayPublisher = await createRabbitReplayPublisher({ name: prefix, amqpUrl: `amqp://127.0.0.1:${bed.node.amqpPort}`, username: "guest", password: "guest" }, "/");
  try {
    const refuse = () => Promise.reject(new Error("no Kafka in this test"));
    const sent = await replayDeadLetter(
      { db: bed.db, producer: refuse, partitionCount: refuse, rabbitmq: async () => ({ publisher: replayPublisher, username: "guest" }) },
      { deadLetterId, actor: "alice" },
    );
    expect(sent.status).toBe("sent");
  } finally {
    await replayPublisher.close();
  }
  const replay = await waitUntil("the replay delivered", async () => {
    const detail = await getDeadLetter(bed.db, deadLetterId);
    return detail?.replays[0]?.outcome === "delivered" ? detail.replays[0] : null;
  }, { timeoutMs: 30_000, describe: async () => (await getDeadLetter(bed.db, deadLetterId))?.replays });
  expect(replay).toMatchObject({ consumption: "deliveries", deliveredTo: [queue] });
  // The replayed copy on the timeline: delivered from the queue, by its x-replay-id.
  const replayed = await waitUntil("the replay on the timeline", async () => {
    const events = (await getEntityTimeline(bed.db, order)).events.filter((e) => e.topic === exchange);
    return events.length === 2 && events[1]!.queueConsumption?.queues.length ? events[1] : null;
  });
  expect(replayed.queueConsumption?.queues).toEqual([{ queue, deliveries: 1, redeliveries: 0, lastAt: expect.any(String) }]);
  await service.close();
});

test("without deliveries mode, a RabbitMQ event's consumption is not observed", async () => {
  const prefix = uniqueName("fhbindings");
  const exchange = `${prefix}.orders`;
  const setup = await bed.connection.createChannel();
  await setup.assertExchange(exchange, "topic", { durable: true });
  await setup.close();
  const source = await ensureSource(bed.db, { name: prefix, kind: "rabbitmq" });
  const collector = startRabbitMqCollector(bed.config, rabbitSourceOf(bed.node, prefix, prefix), { db: bed.db, source, log: bed.logs.log, refreshMs: 500, healthIntervalMs: 300, flushMs: 50 });
  running.push(collector);
  await waitUntil("the stream read", () => collector.stats().channels.includes(exchange), { timeoutMs: 30_000 });
  await publish(exchange, [{ seq: 7 }]);
  const order = "o-7";
  const event = await waitUntil("the event on the timeline", async () => (await getEntityTimeline(bed.db, order)).events.find((e) => e.topic === exchange) ?? null);
  expect(event.queueConsumption).toEqual({ observed: false, queues: [] });
});
