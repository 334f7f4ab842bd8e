/**
 * Publishes to the default exchange (`sendToQueue`), collected from the firehose by a source with
 * `deliveries: firehose`, against a real RabbitMQ node and a real PostgreSQL: stored once under
 * channel amq.default with the queue as routing key, publishes to Eventscope's own queues (the
 * relay's own republishes among them) never stored nor relayed again, exactly once across a stop
 * and a start while messages flow, and nothing with tracing off. The test turns tracing on on its
 * own node, as a user would.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, expect, test } from "vitest";
import { uniqueName, waitUntil } from "../../broker/test-support.ts";
import { ensureSource } from "../../db/index.ts";
import { rabbitmqctl } from "../../rabbitmq/node.ts";
import { relayQueueName, streamQueueName } from "./bindings-plan.ts";
import { deliveriesQueueName } from "./firehose-deliveries.ts";
import { rabbitCollectorTestBed, startTestCollector } from "./test-bed.ts";
import { headerOf, rabbitSourceOf, storedRowsOf, type StoredAmqpRow } from "./test-support.ts";

const bed = rabbitCollectorTestBed();
const { running } = bed;

afterEach(async () => {
  await rabbitmqctl(bed.node, ["trace_off", "-p", "/"]);
});

const AUTH = { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` };

/** A work queue `<prefix>.work`, a topic exchange `<prefix>.orders`, and a collector with deliveries on that collects both and amq.default. */
async function setUp(prefix: string) {
  const queue = `${prefix}.work`;
  const exchange = `${prefix}.orders`;
  const setup = await bed.connection.createChannel();
  await setup.assertQueue(queue, { durable: true });
  await setup.assertExchange(exchange, "topic", { durable: true });
  await setup.bindQueue(queue, exchange, "order.#");
  await setup.close();
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const sourceConfig = {
    ...rabbitSourceOf(bed.node, prefix, prefix),
    exchangesInclude: new RegExp(`^(${escaped}\\.|amq\\.default$)`),
    deliveries: "firehose" as const,
  };
  const source = await ensureSource(bed.db, { name: prefix, kind: "rabbitmq" });
  const start = () => startTestCollector(bed, sourceConfig, source);
  return { queue, exchange, source, start };
}

/** Tracing on (as the user turns it on), a source named `<name>-…` set up, its collector started and collecting amq.default. */
async function collectingWithTracing(name: string) {
  await rabbitmqctl(bed.node, ["trace_on", "-p", "/"]);
  const prefix = uniqueName(name);
  const setup = await setUp(prefix);
  const collector = setup.start();
  await collecting(prefix, collector);
  return { ...setup, prefix, collector };
}

/** Waits until the collector reads the default exchange's stream and relays its copies. */
async function collecting(prefix: string, collector: ReturnType<Awaited<ReturnType<typeof setUp>>["start"]>) {
  await waitUntil("amq.default read", () => collector.stats().channels.includes("amq.default"), { timeoutMs: 30_000 });
  await waitUntil("the default exchange relayed", () => bed.logs.lines.some((line) => line.includes(`relaying ${relayQueueName(prefix, "/", "amq.default")} `)));
}

async function sendToQueue(queue: string, messages: number[], options: { appId?: string } = {}) {
  const channel = await bed.connection.createConfirmChannel();
  for (const seq of messages) {
    channel.sendToQueue(queue, Buffer.from(JSON.stringify({ orderId: `o-${seq}`, seq })), {
      contentType: "application/json",
      messageId: `m-${seq}`,
      appId: options.appId,
      headers: { seq },
    });
  }
  await channel.waitForConfirms();
  await channel.close();
}

const ofQueue = (rows: readonly StoredAmqpRow[], queue: string) => rows.filter((row) => row.channel === "amq.default" && row.key === queue);

async function queueInfo(name: string): Promise<{ messages?: number; consumers?: number }> {
  const response = await fetch(`${bed.node.managementUrl}/api/queues/%2F/${encodeURIComponent(name)}`, { headers: AUTH });
  return (await response.json()) as { messages?: number; consumers?: number };
}

test("publishes to the default exchange are stored once, under amq.default with the queue as routing key; their deliveries join them", async () => {
  const { prefix, queue, exchange, source, collector } = await collectingWithTracing("dxstore");
  await waitUntil("deliveries being read", () => bed.logs.lines.some((line) => line.includes(`from ${deliveriesQueueName(prefix, "/")}`)));

  await sendToQueue(queue, [1, 2, 3], { appId: "mailer" });
  // An RPC reply to a server-named queue (here one that does not exist: copied and stored all the same).
  const replyTo = `amq.gen-${prefix}`;
  await sendToQueue(replyTo, [50]);
  // A publish to a collected exchange is stored under that exchange, not under amq.default too.
  const publisher = await bed.connection.createConfirmChannel();
  publisher.publish(exchange, "order.placed", Buffer.from(JSON.stringify({ orderId: "o-9", seq: 9 })), { headers: { seq: 9 } });
  await publisher.waitForConfirms();
  await publisher.close();

  const rows = await waitUntil("four events stored", async () => {
    const found = await storedRowsOf(bed.db, source.id);
    return ofQueue(found, queue).length >= 3 && ofQueue(found, replyTo).length === 1 && found.some((row) => row.channel === exchange) ? found : null;
  }, { describe: () => collector.stats() });
  const defaults = ofQueue(rows, queue);
  expect(defaults.map((row) => headerOf(row, "seq"))).toEqual(["1", "2", "3"]);
  for (const row of defaults) {
    expect(row.producer).toBe("mailer");
    expect(headerOf(row, "amqp.message_id")).toMatch(/^m-\d$/);
    expect(row.entity_keys).toEqual([expect.stringMatching(/o-\d/)]);
  }
  expect(rows.filter((row) => row.channel === "amq.default")).toHaveLength(4);
  expect(rows.filter((row) => row.channel === exchange)).toHaveLength(1);
  // The queue it was addressed to, for the overview graph's amq.default → queue edge; not a
  // server-named queue, which has a new name each time.
  const routes = await waitUntil("the route recorded", async () => {
    const { rows: found } = await bed.db.pool.query<{ vhost: string; queue: string }>("SELECT vhost, queue FROM rabbitmq_default_routes WHERE source_id = $1", [source.id]);
    return found.length > 0 ? found : null;
  });
  expect(routes).toEqual([{ vhost: "/", queue }]);

  // Consumed from the work queue: each delivery joins its amq.default event.
  const consumer = await bed.connection.createChannel();
  let consumed = 0;
  await consumer.consume(queue, (message) => {
    if (message === null) return;
    consumer.ack(message);
    consumed += 1;
  });
  await waitUntil("four consumed", () => consumed >= 4);
  await consumer.close();
  const deliveries = await waitUntil("four deliveries stored", async () => {
    const { rows: found } = await bed.db.pool.query<{ channel: string; routing_key: string; joined: boolean }>(
      `SELECT d.channel, d.routing_key,
         EXISTS (SELECT 1 FROM events e WHERE e.source_id = d.source_id AND e.channel = d.channel AND e.delivery_fingerprint = d.fingerprint) AS joined
       FROM rabbitmq_deliveries d WHERE d.source_id = $1 AND d.queue = $2 ORDER BY d.id`,
      [source.id, queue],
    );
    return found.length >= 4 ? found : null;
  });
  expect(deliveries.filter((d) => d.channel === "amq.default")).toEqual(
    Array.from({ length: 3 }, () => ({ channel: "amq.default", routing_key: queue, joined: true })),
  );
});

test("a publish by another client (Debian's python3-pika) to the default exchange is stored from the firehose copy with its properties and headers, non-UTF-8 bytes and an invalid traceparent included", async () => {
  const { queue, source } = await collectingWithTracing("dxpika");
  const script = `
import sys, pika
connection = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
channel = connection.channel()
channel.confirm_delivery()
queue = sys.argv[2]
channel.basic_publish("", queue, b'{"orderId":"py-7"}', pika.BasicProperties(
    content_type="application/json", message_id="py-m-7", app_id="python-mailer", type="LabelRequested", timestamp=1764970000,
    headers={"seq": 7, "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "latin1": b"caf\\xe9"}))
channel.basic_publish("", queue, bytes([0, 255, 254]), pika.BasicProperties(headers={"seq": 8, "traceparent": "00-NOT-A-TRACE-01"}))
connection.close()
`;
  await promisify(execFile)("/usr/bin/python3", ["-c", script, bed.node.amqpUrl, queue], { timeout: 30_000 });
  const rows = await waitUntil("two events stored", async () => {
    const found = ofQueue(await storedRowsOf(bed.db, source.id), queue);
    return found.length >= 2 ? found : null;
  });
  expect(rows.map((row) => headerOf(row, "seq"))).toEqual(["7", "8"]);
  expect(rows[0]).toMatchObject({ event_type: "LabelRequested", producer: "python-mailer", trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", entity_keys: ["py-7"] });
  expect(headerOf(rows[0]!, "amqp.message_id")).toBe("py-m-7");
  const latin1 = rows[0]!.headers.find((h) => h.key === "latin1");
  expect(latin1 && Buffer.from(latin1.value!, "base64")).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  // The binary body and the invalid traceparent: stored and flagged, nothing stops.
  expect(rows[1]!.value_bytes).toEqual(Buffer.from([0, 255, 254]));
  expect(rows[1]!.flags).toContain("traceparent-invalid");
});

test("publishes to Eventscope's own queues are never stored, and the relay's own republishes do not loop", async () => {
  const { prefix, queue, source } = await collectingWithTracing("dxloop");

  // Someone publishes straight into Eventscope's queues: one of its own, the relay queue itself, and
  // the default exchange's stream.
  const own = `eventscope.${prefix}:elsewhere`;
  const setup = await bed.connection.createChannel();
  await setup.assertQueue(own, { durable: false });
  await setup.close();
  await sendToQueue(own, [100]);
  await sendToQueue(relayQueueName(prefix, "/", "amq.default"), [101]);
  await sendToQueue(streamQueueName(prefix, "/", "amq.default"), [102]);
  await sendToQueue(queue, [1, 2]);
  await waitUntil("two events stored", async () => ofQueue(await storedRowsOf(bed.db, source.id), queue).length >= 2);
  const relay = relayQueueName(prefix, "/", "amq.default");
  await waitUntil("the relay queue drained", async () => (await queueInfo(relay)).messages === 0, { timeoutMs: 30_000, intervalMs: 500 });

  const count = async () => (await storedRowsOf(bed.db, source.id)).filter((row) => row.channel === "amq.default").length;
  const before = await count();
  // Every republish into the stream is traced in turn; were it relayed, the count would keep growing.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(await count()).toBe(before);
  const rows = (await storedRowsOf(bed.db, source.id)).filter((row) => row.channel === "amq.default");
  expect(rows.filter((row) => row.key?.startsWith("eventscope."))).toEqual([]);
  expect(rows.map((row) => headerOf(row, "seq"))).toEqual(["1", "2"]);
  expect((await queueInfo(relay)).messages).toBe(0);
});

test("exactly once across a stop and a start while messages flow", async () => {
  const { queue, source, start, collector: first } = await collectingWithTracing("dxonce");

  const total = 600;
  let sent = 0;
  const sending = (async () => {
    while (sent < total) {
      const batch = Array.from({ length: 20 }, (_, i) => sent + i + 1);
      await sendToQueue(queue, batch);
      sent += batch.length;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  await waitUntil("some stored", async () => ofQueue(await storedRowsOf(bed.db, source.id), queue).length >= 100, { timeoutMs: 30_000 });
  await first.stop();
  running.splice(running.indexOf(first), 1);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const second = start();
  await sending;
  const rows = await waitUntil(`${total} stored`, async () => {
    const found = ofQueue(await storedRowsOf(bed.db, source.id), queue);
    return found.length >= total ? found : null;
  }, { timeoutMs: 60_000, describe: () => second.stats() });
  const seqs = rows.map((row) => Number(headerOf(row, "seq")));
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(seqs.length).toBe(total);
  expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
});

test("with tracing off nothing of the default exchange is stored, and the source warns; turned on, publishes from then on are", async () => {
  const prefix = uniqueName("dxoff");
  const { queue, exchange, source, start } = await setUp(prefix);
  const collector = start();
  await collecting(prefix, collector);
  await waitUntil("the stream of the exchange read", () => collector.stats().channels.includes(exchange), { timeoutMs: 30_000 });
  await sendToQueue(queue, [1]);
  const publisher = await bed.connection.createConfirmChannel();
  publisher.publish(exchange, "order.placed", Buffer.from("{}"), { headers: { seq: 2 } });
  await publisher.waitForConfirms();
  await publisher.close();
  await waitUntil("the exchange's event stored", async () => (await storedRowsOf(bed.db, source.id)).some((row) => row.channel === exchange));
  const warnings = await waitUntil("a warning about tracing", async () => {
    const { rows } = await bed.db.pool.query<{ warnings: string[] }>(
      "SELECT warnings FROM collector_instances WHERE source_id = $1 ORDER BY updated_at DESC LIMIT 1",
      [source.id],
    );
    return rows[0]?.warnings.length ? rows[0].warnings : null;
  });
  expect(warnings).toEqual(["deliveries are not seen: tracing is off on vhost / (run rabbitmqctl trace_on -p /; Eventscope never turns it on)"]);
  // Turned on, what is published from then on is seen; what was published before it never is (the
  // relay keeps order: a copy of the first would be stored before the one after).
  await rabbitmqctl(bed.node, ["trace_on", "-p", "/"]);
  await sendToQueue(queue, [3]);
  const rows = await waitUntil("the publish after trace_on stored", async () => {
    const found = ofQueue(await storedRowsOf(bed.db, source.id), queue);
    return found.length > 0 ? found : null;
  });
  expect(rows.map((row) => headerOf(row, "seq"))).toEqual(["3"]);
});
