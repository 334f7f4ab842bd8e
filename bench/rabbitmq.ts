/**
 * `npm run bench -- rabbitmq`: what collecting a RabbitMQ exchange costs the user's broker, and how
 * fast the collector stores its messages, on one real node (Debian's rabbitmq-server) and one
 * embedded PostgreSQL, in the same run:
 *
 *   without     the user's own system alone: one amqplib publisher on a confirm channel publishes
 *               N persistent ~1 KB JSON messages (message id, app id, type, timestamp, content
 *               type, a traceparent header) to a topic exchange that routes them to one durable
 *               classic queue, drained by one consumer that acknowledges each
 *   bound       the same, with the collector's stream queue bound to the exchange (bindings mode:
 *               every message also written to the stream) and the collector NOT running: the
 *               binding's cost on the broker alone; then, unbound, `without` once more (the run's
 *               noise; the percentages compare with the mean of the two)
 *   catch-up    the collector started with those N messages in its stream: events/s from its start
 *               until all N are in `events`, and CPU per event of the collector (it runs in this
 *               process, idle otherwise), PostgreSQL and the broker
 *   live        the publish pass again with the collector running and consuming concurrently (the
 *               collector and PostgreSQL then share the 2 cores with the broker), and how long
 *               until those N are stored too
 *   traced      `deliveries: firehose`'s cost on the broker: tracing on (`rabbitmqctl trace_on`, as
 *               the user runs it) and the collector's deliveries queue bound to amq.rabbitmq.trace
 *               (`deliver.#`), beside its stream, the collector stopped (as for `bound`): each
 *               delivery to the user's consumer is also copied into the deliveries queue; the
 *               copies it holds afterwards are counted
 *
 * Publish rates are N over the time from the first publish to the last confirm; delivery rates to
 * the last delivery to the user's consumer. `--messages N` sets N (default 100 000).
 */
import fs from "node:fs";
import path from "node:path";
import amqp from "amqplib";
import { loadConfig } from "../server/config.ts";
import { streamQueueName } from "../server/collector/rabbitmq/bindings-plan.ts";
import { deliveriesQueueName } from "../server/collector/rabbitmq/firehose-deliveries.ts";
import { startRabbitMqCollector, type RunningRabbitMqCollector } from "../server/collector/rabbitmq/rabbitmq-collector.ts";
import { rabbitSourceOf } from "../server/collector/rabbitmq/test-support.ts";
import { ensureSource, findFreePort, makeTemporaryDataDir, startEmbeddedPostgres, type Database, type EmbeddedPostgres } from "../server/db/index.ts";
import { rabbitmqctl, type RabbitNode } from "../server/rabbitmq/node.ts";
import { startTestRabbitNode } from "../server/rabbitmq/test-support.ts";
import { benchMessage, cpuMeter, createDatabase, type CpuSplit } from "./collector.ts";
import { consumeCount, publishConfirmed, PUBLISH_WINDOW, rabbitVersion } from "./rabbitmq-support.ts";
import type { BenchmarkOptions } from "./run.ts";

/** 100 000: persistent messages with confirms go at a few thousand per second here (2 cores, one disk). */
const DEFAULT_MESSAGES = 100_000;
const WARM_UP_MESSAGES = 20_000;
/** The user's consumer: unacknowledged deliveries at most. */
const CONSUMER_PREFETCH = 1_000;
const SOURCE = "bench";
const EXCHANGE = `${SOURCE}.orders`;
const USER_QUEUE = `${SOURCE}.orders.work`;
const STORE_TIMEOUT_MS = 10 * 60_000;

interface PublishPass {
  pass: string;
  messages: number;
  publishedPerSecond: number;
  deliveredPerSecond: number;
  seconds: number;
  cpu: CpuSplit;
}

interface StoreFigures {
  messages: number;
  seconds: number;
  eventsPerSecond: number;
  cpu: CpuSplit;
  /** CPU time per stored event, by process, in µs (the collector is this process). */
  cpuMicrosPerEvent: { collector: number; postgres: number; broker: number };
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number) => n.toLocaleString("en");

/** Message i: bench/collector.ts's ~1 KB JSON event, as an instrumented AMQP publisher sends it. */
function publishMessage(channel: amqp.ConfirmChannel, i: number, onConfirm: (error: unknown) => void): boolean {
  const m = benchMessage(i);
  const type = String(m.headers.ce_type);
  return channel.publish(
    EXCHANGE,
    `order.${type}`,
    m.value,
    {
      persistent: true,
      messageId: `evt-${i}`,
      appId: "order-service",
      type,
      timestamp: Math.floor(Date.now() / 1000),
      contentType: "application/json",
      headers: { traceparent: String(m.headers.traceparent) },
    },
    onConfirm,
  );
}

async function publishPass(node: RabbitNode, pgDataDir: string, pass: string, first: number, messages: number): Promise<PublishPass> {
  const connection = await amqp.connect(node.amqpUrl);
  try {
    const { deliveredAll } = await consumeCount(await connection.createChannel(), USER_QUEUE, messages, { noAck: false, prefetch: CONSUMER_PREFETCH });
    const publisher = await connection.createConfirmChannel();
    const meter = cpuMeter(node.pid, pgDataDir);
    const started = performance.now();
    await publishConfirmed(publisher, messages, (i, onConfirm) => publishMessage(publisher, first + i, onConfirm));
    const publishedAt = performance.now();
    await deliveredAll;
    const deliveredAt = performance.now();
    const seconds = (deliveredAt - started) / 1000;
    const figures: PublishPass = {
      pass,
      messages,
      publishedPerSecond: Math.round(messages / ((publishedAt - started) / 1000)),
      deliveredPerSecond: Math.round(messages / seconds),
      seconds: Math.round(seconds * 10) / 10,
      cpu: meter(seconds),
    };
    say(
      `  ${pass.padEnd(9)} ${fmt(figures.publishedPerSecond)} msg/s published (confirmed), ${fmt(figures.deliveredPerSecond)} msg/s delivered, ` +
        `${figures.seconds} s; cores: ${JSON.stringify(figures.cpu)}`,
    );
    return figures;
  } finally {
    await connection.close().catch(() => {});
  }
}

/** Waits until `count` events of the source are in `events`: the collector's count first, then the table's. */
async function untilStored(db: Database, collector: RunningRabbitMqCollector, sourceId: number, count: number): Promise<void> {
  const deadline = Date.now() + STORE_TIMEOUT_MS;
  for (;;) {
    // Counting the table on every poll would load PostgreSQL: ask it once the collector says so.
    if (collector.stats().storedRows >= count) {
      const { rows } = await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE source_id = $1", [sourceId]);
      if (Number(rows[0]!.n) >= count) return;
    }
    if (Date.now() > deadline) throw new Error(`${count} events not stored within ${STORE_TIMEOUT_MS / 1000} s: ${JSON.stringify(collector.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function storeFigures(messages: number, seconds: number, cpu: CpuSplit): StoreFigures {
  const perEvent = (cores: number) => Math.round(((cores * seconds) / messages) * 1e7) / 10;
  return {
    messages,
    seconds: Math.round(seconds * 10) / 10,
    eventsPerSecond: Math.round(messages / seconds),
    cpu,
    cpuMicrosPerEvent: { collector: perEvent(cpu.benchProcess), postgres: perEvent(cpu.postgres), broker: perEvent(cpu.broker) },
  };
}

export async function runRabbitmqBenchmark(options: BenchmarkOptions) {
  const messages = options.messages ?? DEFAULT_MESSAGES;
  const pgDataDir = makeTemporaryDataDir("eventscope-bench-rabbitmq-pg-");
  let rabbit: Awaited<ReturnType<typeof startTestRabbitNode>> | undefined;
  let server: EmbeddedPostgres | undefined;
  let db: Database | undefined;
  let collector: RunningRabbitMqCollector | undefined;
  try {
    [rabbit, server] = await Promise.all([startTestRabbitNode(), findFreePort().then((port) => startEmbeddedPostgres({ dataDir: pgDataDir, port }))]);
    const { node } = rabbit;
    db = await createDatabase(server, "bench_rabbitmq");
    const version = await rabbitVersion(node);
    say(
      `RabbitMQ ${version}, ${fmt(messages)} persistent ~1 KB JSON messages per pass to a topic exchange routing to one durable classic queue; ` +
        `one publisher (confirms, ${PUBLISH_WINDOW} in flight), one consumer (acks, prefetch ${CONSUMER_PREFETCH})`,
    );

    const setup = await amqp.connect(node.amqpUrl);
    const channel = await setup.createChannel();
    await channel.assertExchange(EXCHANGE, "topic", { durable: true });
    await channel.assertQueue(USER_QUEUE, { durable: true });
    await channel.bindQueue(USER_QUEUE, EXCHANGE, "order.#");
    await setup.close();

    const config = loadConfig({});
    const sourceConfig = rabbitSourceOf(node, SOURCE, SOURCE);
    const source = await ensureSource(db, { name: SOURCE, kind: "rabbitmq" });
    const startCollector = () => startRabbitMqCollector(config, sourceConfig, { db: db!, source, log: (line) => say(`  [collector] ${line}`) });

    await publishPass(node, pgDataDir, "warm-up", 0, Math.min(messages, WARM_UP_MESSAGES));
    let next = WARM_UP_MESSAGES;
    const without = await publishPass(node, pgDataDir, "without 1", next, messages);
    next += messages;

    // The collector declares its stream and binds it (`#` on a topic exchange); stopped once it
    // reads the stream, it leaves the binding in place, as a collector that is down does.
    say("collector: declaring and binding its stream, then stopped...");
    collector = startCollector();
    const reading = collector;
    const bindDeadline = Date.now() + 60_000;
    while (!reading.stats().channels.includes(EXCHANGE)) {
      if (Date.now() > bindDeadline) throw new Error(`the collector did not read ${EXCHANGE}: ${JSON.stringify(reading.stats())}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await collector.stop();
    collector = undefined;
    const stream = streamQueueName(SOURCE, "/", EXCHANGE);

    const bound = await publishPass(node, pgDataDir, "bound", next, messages);
    next += messages;

    // Without the binding once more, to see the run's noise; the collector binds again at start.
    const unbinding = await amqp.connect(node.amqpUrl);
    await (await unbinding.createChannel()).unbindQueue(stream, EXCHANGE, "#");
    await unbinding.close();
    const without2 = await publishPass(node, pgDataDir, "without 2", next, messages);
    next += messages;

    say("collector catch-up (from the stream's first offset)...");
    let meter = cpuMeter(node.pid, pgDataDir);
    let started = performance.now();
    collector = startCollector();
    await untilStored(db, collector, source.id, messages);
    const catchUp = storeFigures(messages, (performance.now() - started) / 1000, meter((performance.now() - started) / 1000));
    say(`  ${fmt(catchUp.eventsPerSecond)} events/s (${catchUp.seconds} s); cores: ${JSON.stringify(catchUp.cpu)}`);

    say("publishing with the collector running...");
    meter = cpuMeter(node.pid, pgDataDir);
    started = performance.now();
    const live = await publishPass(node, pgDataDir, "live", next, messages);
    await untilStored(db, collector, source.id, 2 * messages);
    const liveSeconds = (performance.now() - started) / 1000;
    const liveStore = { ...storeFigures(messages, liveSeconds, meter(liveSeconds)), storedSecondsAfterLastDelivery: Math.round((liveSeconds - live.seconds) * 10) / 10 };
    say(`  all stored ${liveStore.storedSecondsAfterLastDelivery} s after the last delivery (${fmt(liveStore.eventsPerSecond)} events/s over the pass)`);
    await collector.stop();
    collector = undefined;

    // Deliveries mode: the user turns tracing on; the collector (deliveries: firehose) declares and
    // binds its deliveries queue, then is stopped, leaving it bound (its stream stays bound too).
    say("tracing on (rabbitmqctl trace_on -p /) and the collector's deliveries queue bound, then stopped...");
    await rabbitmqctl(node, ["trace_on", "-p", "/"]);
    let deliveriesRead = false;
    collector = startRabbitMqCollector(config, { ...sourceConfig, deliveries: "firehose" }, {
      db,
      source,
      log: (line) => {
        if (line.startsWith("reading deliveries of vhost /")) deliveriesRead = true;
        say(`  [collector] ${line}`);
      },
    });
    const tracedDeadline = Date.now() + 60_000;
    while (!deliveriesRead) {
      if (Date.now() > tracedDeadline) throw new Error(`the collector did not read its deliveries queue: ${JSON.stringify(collector.stats())}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await collector.stop();
    collector = undefined;
    const deliveriesQueue = deliveriesQueueName(SOURCE, "/");
    // What the stopped collector's own reading left (copies of its stream's deliveries) goes first.
    const counting = await amqp.connect(node.amqpUrl);
    await (await counting.createChannel()).purgeQueue(deliveriesQueue);
    const traced = await publishPass(node, pgDataDir, "traced", next, messages);
    next += messages;
    // The broker copies deliveries asynchronously: counted once the count stops growing (30 s at most).
    const countChannel = await counting.createChannel();
    let tracedCopies = (await countChannel.checkQueue(deliveriesQueue)).messageCount;
    for (const settleBy = Date.now() + 30_000; Date.now() < settleBy; ) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const count = (await countChannel.checkQueue(deliveriesQueue)).messageCount;
      if (count === tracedCopies) break;
      tracedCopies = count;
    }
    await counting.close();
    await rabbitmqctl(node, ["trace_off", "-p", "/"]);
    say(`  ${fmt(tracedCopies)} delivery copies in ${deliveriesQueue} (of ${fmt(messages)} deliveries)`);

    const withoutRate = Math.round((without.publishedPerSecond + without2.publishedPerSecond) / 2);
    const percent = (pass: PublishPass) => Math.round((pass.publishedPerSecond / withoutRate) * 100);
    const us = catchUp.cpuMicrosPerEvent;
    say("");
    say(
      `rabbitmq: publish ${fmt(withoutRate)} msg/s without Eventscope (mean of ${fmt(without.publishedPerSecond)} and ${fmt(without2.publishedPerSecond)}), ${fmt(bound.publishedPerSecond)} msg/s with its stream bound ` +
        `(${percent(bound)}%), ${fmt(live.publishedPerSecond)} msg/s with the collector also running (${percent(live)}%; it and PostgreSQL share the 2 cores with the broker), ` +
        `${fmt(traced.publishedPerSecond)} msg/s with tracing on and the deliveries queue bound beside the stream (${percent(traced)}%), same run`,
    );
    say(
      `rabbitmq collector catch-up: ${fmt(catchUp.eventsPerSecond)} events/s (${fmt(messages)} events, ` +
        `${Math.round((us.collector + us.postgres) * 10) / 10} µs CPU per event: collector ${us.collector}, PostgreSQL ${us.postgres}; broker ${us.broker})`,
    );
    return {
      rabbitmqVersion: version,
      messages,
      persistent: true,
      publishWindow: PUBLISH_WINDOW,
      consumerPrefetch: CONSUMER_PREFETCH,
      passes: { without, bound, without2, live, traced },
      /** The mean of the two passes without the binding, which the percentages compare with. */
      withoutPublishedPerSecond: withoutRate,
      boundPercentOfWithout: percent(bound),
      livePercentOfWithout: percent(live),
      tracedPercentOfWithout: percent(traced),
      /** Delivery copies the deliveries queue received during the traced pass (one per delivery expected). */
      tracedCopies,
      catchUp,
      liveStore,
    };
  } finally {
    await collector?.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await server?.stop();
    await rabbit?.node.stop();
    rabbit?.removeDataDir();
    fs.rmSync(path.dirname(pgDataDir), { recursive: true, force: true });
  }
}
