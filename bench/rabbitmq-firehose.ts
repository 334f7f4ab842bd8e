/**
 * `npm run bench -- rabbitmq-firehose`: what RabbitMQ's firehose (`rabbitmqctl trace_on`) costs the
 * broker, on one real node (Debian's rabbitmq-server) in the same run:
 *
 *   off        tracing off
 *   stream     tracing on, a stream queue bound to amq.rabbitmq.trace (`publish.#`, `deliver.#`);
 *              on 3.10 the copies are routed but never stored (see server/rabbitmq/README.md)
 *   (off and stream twice, interleaved, to show the noise)
 *   classic    tracing on, a classic queue bound the same way, which stores them (purged after)
 *   quorum     tracing on, a quorum queue bound the same way, which stores them too
 *
 * Each pass: one amqplib publisher on a confirm channel publishes N small (100-byte) transient
 * messages to a direct exchange bound to one classic queue, while one consumer (auto-ack) drains
 * it, so that each message is both published and delivered (two copies with tracing on). The
 * figure is N over the time from the first publish to the last confirm, and to the last delivery.
 * `--messages N` sets N (default 200 000).
 */
import { randomBytes } from "node:crypto";
import amqp from "amqplib";
import { rabbitmqctl, type RabbitNode } from "../server/rabbitmq/node.ts";
import { startTestRabbitNode } from "../server/rabbitmq/test-support.ts";
import { consumeCount, publishConfirmed, PUBLISH_WINDOW, queueDepth, rabbitVersion } from "./rabbitmq-support.ts";
import type { BenchmarkOptions } from "./run.ts";

const DEFAULT_MESSAGES = 200_000;
const PAYLOAD_BYTES = 100;

interface PassFigures {
  pass: string;
  messages: number;
  publishedPerSecond: number;
  deliveredPerSecond: number;
  seconds: number;
  /** Copies the bound trace queue held at the end of the pass. */
  traceCopies: number | null;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function runPass(node: RabbitNode, pass: string, messages: number, traceQueue: string | undefined): Promise<PassFigures> {
  // A fresh connection per pass: channels take the vhost's tracing state when they open.
  const connection = await amqp.connect(node.amqpUrl);
  try {
    const setup = await connection.createChannel();
    const exchange = `bench.${randomBytes(3).toString("hex")}`;
    await setup.assertExchange(exchange, "direct", { durable: false, autoDelete: true });
    const { queue } = await setup.assertQueue("", { exclusive: true });
    await setup.bindQueue(queue, exchange, "work");

    const { deliveredAll } = await consumeCount(await connection.createChannel(), queue, messages, { noAck: true });

    const publisher = await connection.createConfirmChannel();
    const payload = Buffer.alloc(PAYLOAD_BYTES, "x");
    const started = performance.now();
    await publishConfirmed(publisher, messages, (i, onConfirm) =>
      publisher.publish(exchange, "work", payload, { messageId: String(i), persistent: false }, onConfirm),
    );
    const publishedAt = performance.now();
    await deliveredAll;
    const deliveredAt = performance.now();

    const figures: PassFigures = {
      pass,
      messages,
      publishedPerSecond: Math.round(messages / ((publishedAt - started) / 1000)),
      deliveredPerSecond: Math.round(messages / ((deliveredAt - started) / 1000)),
      seconds: Math.round((deliveredAt - started) / 100) / 10,
      traceCopies: traceQueue ? await queueDepth(node, traceQueue) : null,
    };
    say(
      `${pass.padEnd(10)} ${figures.publishedPerSecond.toLocaleString("en")} msg/s published (confirmed), ` +
        `${figures.deliveredPerSecond.toLocaleString("en")} msg/s delivered, ${figures.seconds} s` +
        (traceQueue ? `; ${traceQueue} holds ${figures.traceCopies ?? "?"} copies` : ""),
    );
    return figures;
  } finally {
    await connection.close().catch(() => {});
  }
}

export async function runRabbitmqFirehoseBenchmark(options: BenchmarkOptions) {
  const messages = options.messages ?? DEFAULT_MESSAGES;
  const { node, removeDataDir } = await startTestRabbitNode();
  try {
    const version = await rabbitVersion(node);
    say(`RabbitMQ ${version}, ${messages.toLocaleString("en")} transient ${PAYLOAD_BYTES}-byte messages per pass, one publisher (confirms, ${PUBLISH_WINDOW} in flight), one auto-ack consumer`);
    const setup = await amqp.connect(node.amqpUrl);
    const channel = await setup.createChannel();
    await channel.assertQueue("eventscope.firehose", { durable: true, arguments: { "x-queue-type": "stream" } });
    await channel.assertQueue("eventscope.firehose-classic", { durable: true });
    await channel.assertQueue("eventscope.firehose-quorum", { durable: true, arguments: { "x-queue-type": "quorum" } });
    await setup.close();

    const bind = async (queue: string, bound: boolean) => {
      const c = await amqp.connect(node.amqpUrl);
      const ch = await c.createChannel();
      for (const key of ["publish.#", "deliver.#"]) {
        if (bound) await ch.bindQueue(queue, "amq.rabbitmq.trace", key);
        else await ch.unbindQueue(queue, "amq.rabbitmq.trace", key);
      }
      await c.close();
    };

    await runPass(node, "warm-up", Math.min(messages, 50_000), undefined);
    // Off and stream twice, interleaved, to see the noise; quorum last, as the copies it stores
    // keep the node busy after the pass.
    const passes: PassFigures[] = [];
    for (let round = 1; round <= 2; round++) {
      passes.push(await runPass(node, `off ${round}`, messages, undefined));
      await rabbitmqctl(node, ["trace_on", "-p", "/"]);
      await bind("eventscope.firehose", true);
      passes.push(await runPass(node, `stream ${round}`, messages, "eventscope.firehose"));
      await bind("eventscope.firehose", false);
      await rabbitmqctl(node, ["trace_off", "-p", "/"]);
    }
    const stored: Record<string, number | null> = {};
    for (const kind of ["classic", "quorum"]) {
      const queue = `eventscope.firehose-${kind}`;
      await rabbitmqctl(node, ["trace_on", "-p", "/"]);
      await bind(queue, true);
      passes.push(await runPass(node, kind, messages, queue));
      await rabbitmqctl(node, ["trace_off", "-p", "/"]);
      await bind(queue, false);
      // Copies still on their way when the pass ended: the count once it stops growing.
      let count = await queueDepth(node, queue);
      for (let i = 0; i < 30; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const now = await queueDepth(node, queue);
        if (now === count) break;
        count = now;
      }
      stored[kind] = count;
      say(`${kind}: ${count ?? "?"} of ${2 * messages} copies stored once settled`);
      const c = await amqp.connect(node.amqpUrl);
      await (await c.createChannel()).purgeQueue(queue);
      await c.close();
    }

    const off = Math.max(...passes.filter((p) => p.pass.startsWith("off")).map((p) => p.publishedPerSecond));
    for (const p of passes.filter((p) => !p.pass.startsWith("off"))) {
      say(`${p.pass}: ${Math.round((p.publishedPerSecond / off) * 100)}% of the best publish rate with tracing off`);
    }
    return { rabbitmqVersion: version, messages, payloadBytes: PAYLOAD_BYTES, persistent: false, passes, copiesStored: stored };
  } finally {
    await node.stop();
    removeDataDir();
  }
}
