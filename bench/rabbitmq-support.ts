import amqp from "amqplib";
import { rabbitmqctl, type RabbitNode } from "../server/rabbitmq/node.ts";

/**
 * What the RabbitMQ benchmarks (rabbitmq-firehose.ts, rabbitmq.ts) share: one amqplib publisher on
 * a confirm channel with a bounded window of unconfirmed publishes, a consumer that counts its
 * deliveries, and what rabbitmqctl says of the node.
 */

/** Unconfirmed publishes in flight at most: enough to keep the broker busy, bounded memory. */
export const PUBLISH_WINDOW = 2_000;

/**
 * Publishes `count` messages through `publishOne(i, onConfirm)` (which calls channel.publish with
 * the callback and returns what it returned), at most PUBLISH_WINDOW unconfirmed; resolves once
 * every one is confirmed. Throws on a nack.
 */
export async function publishConfirmed(
  channel: amqp.ConfirmChannel,
  count: number,
  publishOne: (i: number, onConfirm: (error: unknown) => void) => boolean,
): Promise<void> {
  let confirmed = 0;
  let inFlight = 0;
  let nacked: unknown = null;
  let wake: (() => void) | undefined;
  const onConfirm = (error: unknown) => {
    if (error) nacked ??= error;
    confirmed++;
    inFlight--;
    if (wake && inFlight < PUBLISH_WINDOW / 2) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  for (let i = 0; i < count; i++) {
    while (inFlight >= PUBLISH_WINDOW) await new Promise<void>((resolve) => (wake = resolve));
    inFlight++;
    if (!publishOne(i, onConfirm)) await new Promise<void>((resolve) => channel.once("drain", resolve));
  }
  await channel.waitForConfirms();
  if (nacked) throw new Error(`a publish was nacked: ${String(nacked)}`);
  if (confirmed !== count) throw new Error(`${confirmed} of ${count} publishes confirmed`);
}

/**
 * Consumes `queue` on `channel`; resolves once consuming, with `deliveredAll`, which resolves once
 * `count` messages were delivered: auto-ack (`noAck`), or acknowledged one by one (with `prefetch`
 * unacknowledged at most). (In an object: an async function's returned promise would be awaited.)
 */
export async function consumeCount(
  channel: amqp.Channel,
  queue: string,
  count: number,
  options: { noAck: boolean; prefetch?: number },
): Promise<{ deliveredAll: Promise<void> }> {
  let delivered = 0;
  let allDelivered: () => void = () => {};
  const deliveredAll = new Promise<void>((resolve) => (allDelivered = resolve));
  if (options.prefetch) await channel.prefetch(options.prefetch);
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      if (!options.noAck) channel.ack(message);
      if (++delivered === count) allDelivered();
    },
    { noAck: options.noAck },
  );
  return { deliveredAll };
}

/** The node's RabbitMQ version, as rabbitmqctl says it. */
export async function rabbitVersion(node: RabbitNode): Promise<string> {
  const parsed = JSON.parse(await rabbitmqctl(node, ["version", "--formatter", "json"])) as { value?: { version?: string } };
  return parsed.value?.version ?? "unknown";
}

/** From rabbitmqctl: the management API's figures lag by its stats interval (5 s). */
export async function queueDepth(node: RabbitNode, queue: string): Promise<number | null> {
  const rows = JSON.parse(await rabbitmqctl(node, ["list_queues", "-p", "/", "name", "messages", "--formatter", "json"])) as { name: string; messages: number | string }[];
  const depth = rows.find((r) => r.name === queue)?.messages;
  return depth === undefined ? null : Number(depth);
}
