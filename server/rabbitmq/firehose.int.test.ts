import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../scripts/support/ports.ts";
import { rabbitmqctl, type RabbitNode } from "./node.ts";
import { startTestRabbitNode } from "./test-support.ts";

/**
 * What RabbitMQ's firehose (`rabbitmqctl trace_on`) publishes, checked on the RabbitMQ these tests
 * run (Debian 12's 3.10.8): the facts server/rabbitmq/README.md states, and that the RabbitMQ
 * source will be built on. A RabbitMQ that behaves otherwise fails here first.
 */

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

let node: RabbitNode;
let removeDataDir: () => void;
let connection: amqp.ChannelModel;
/** Opened before trace_on, as the user's services are when someone turns tracing on. */
let earlyConnection: amqp.ChannelModel;
let earlyChannel: amqp.ConfirmChannel;
/** Every trace copy, as a classic queue bound with `#` received them, in order. */
let traced: amqp.GetMessage[];
/** The same, through a quorum queue. */
let tracedQuorum: amqp.GetMessage[];

async function drain(channel: amqp.Channel, queue: string): Promise<amqp.GetMessage[]> {
  const messages: amqp.GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (!message) return messages;
    messages.push(message);
  }
}

const routingKeys = (messages: amqp.Message[]) => messages.map((m) => m.fields.routingKey);
const find = (routingKey: string, messageId?: string) => {
  const found = traced.find(
    (m) =>
      m.fields.routingKey === routingKey &&
      (messageId === undefined || (m.properties.headers?.properties as { message_id?: string } | undefined)?.message_id === messageId),
  );
  if (!found) throw new Error(`no trace copy ${routingKey} ${messageId ?? ""}`);
  return found;
};

beforeAll(async () => {
  ({ node, removeDataDir } = await startTestRabbitNode());
  earlyConnection = await amqp.connect(node.amqpUrl);
  earlyChannel = await earlyConnection.createConfirmChannel();
  await rabbitmqctl(node, ["trace_on", "-p", "/"]);
  connection = await amqp.connect(node.amqpUrl);
  const setup = await connection.createChannel();
  await setup.assertQueue("trace.classic", { durable: false });
  await setup.bindQueue("trace.classic", "amq.rabbitmq.trace", "#");
  await setup.assertQueue("trace.quorum", { durable: true, arguments: { "x-queue-type": "quorum" } });
  await setup.bindQueue("trace.quorum", "amq.rabbitmq.trace", "#");
  await setup.assertQueue("eventscope.firehose", { durable: true, arguments: { "x-queue-type": "stream" } });
  await setup.bindQueue("eventscope.firehose", "amq.rabbitmq.trace", "publish.#");
  await setup.bindQueue("eventscope.firehose", "amq.rabbitmq.trace", "deliver.#");

  // The user's system: a topic exchange, a work queue that dead-letters into a DLX and its DLQ.
  await setup.assertExchange("orders", "topic", { durable: true });
  await setup.assertExchange("orders.dlx", "fanout", { durable: true });
  await setup.assertQueue("orders.dlq", { durable: true });
  await setup.bindQueue("orders.dlq", "orders.dlx", "");
  await setup.assertQueue("orders.work", { durable: true, arguments: { "x-dead-letter-exchange": "orders.dlx" } });
  await setup.bindQueue("orders.work", "orders", "order.#");

  const publisher = await connection.createConfirmChannel();
  for (const n of [1, 2]) {
    publisher.publish("orders", "order.placed", Buffer.from(`{"orderId":"o-${n}"}`), {
      messageId: `m-${n}`,
      appId: "order-service",
      type: "OrderPlaced",
      timestamp: 1_764_970_000 + n,
      contentType: "application/json",
      correlationId: `c-${n}`,
      persistent: true,
      headers: { traceparent: TRACEPARENT, attempt: n, replayed: false },
    });
  }
  // Through the default exchange, straight to the queue.
  publisher.sendToQueue("orders.work", Buffer.from("direct"), { messageId: "m-3" });
  await publisher.waitForConfirms();

  // The service: m-1 and m-3 are acked, m-2 is rejected without requeue (dead-lettered).
  const worker = await connection.createChannel();
  await worker.prefetch(10);
  let handled = 0;
  await worker.consume("orders.work", (message) => {
    if (!message) return;
    if (message.properties.messageId === "m-2") worker.nack(message, false, false);
    else worker.ack(message);
    handled++;
  });
  await pollUntil("the worker to handle 3 messages", () => (handled === 3 ? true : undefined), 20_000, 50);
  const dlqReader = await connection.createChannel();
  const deadLetter = await pollUntil("the dead letter in orders.dlq", async () => (await dlqReader.get("orders.dlq")) || undefined, 20_000, 50);
  dlqReader.ack(deadLetter);

  // 3 publishes + 3 deliveries from orders.work + 1 from orders.dlq.
  const reader = await connection.createChannel();
  traced = [];
  await pollUntil("7 trace copies", async () => (traced.push(...(await drain(reader, "trace.classic"))), traced.length >= 7 ? true : undefined), 20_000, 100);
  tracedQuorum = [];
  await pollUntil("7 trace copies in the quorum queue", async () => (tracedQuorum.push(...(await drain(reader, "trace.quorum"))), tracedQuorum.length >= 7 ? true : undefined), 20_000, 100);
  // Anything late (such as a copy of the dead-lettering) would be here by now.
  await new Promise((resolve) => setTimeout(resolve, 500));
  traced.push(...(await drain(reader, "trace.classic")));
}, 180_000);

afterAll(async () => {
  await earlyConnection?.close().catch(() => {});
  await connection?.close().catch(() => {});
  await node?.stop();
  removeDataDir?.();
}, 120_000);

describe("the firehose on RabbitMQ 3.10", () => {
  it("copies each publish as publish.<exchange> and each delivery as deliver.<queue>; dead-lettering itself is not copied", () => {
    expect(routingKeys(traced)).toEqual([
      "publish.orders",
      "publish.orders",
      "publish.", // the default exchange: an empty name
      "deliver.orders.work",
      "deliver.orders.work",
      "deliver.orders.work",
      "deliver.orders.dlq",
    ]);
    expect(routingKeys(tracedQuorum)).toEqual(routingKeys(traced));
    for (const copy of traced) expect(copy.fields.exchange).toBe("amq.rabbitmq.trace");
  });

  it("carries the original body unchanged, and the original properties as a `properties` table in the copy's headers", () => {
    const copy = find("publish.orders", "m-1");
    expect(copy.content.toString()).toBe('{"orderId":"o-1"}');
    expect(copy.properties.headers).toEqual({
      exchange_name: "orders",
      routing_keys: ["order.placed"],
      properties: {
        message_id: "m-1",
        app_id: "order-service",
        type: "OrderPlaced",
        timestamp: 1_764_970_001,
        content_type: "application/json",
        correlation_id: "c-1",
        delivery_mode: 2,
        headers: { traceparent: TRACEPARENT, attempt: 1, replayed: false },
      },
      node: node.nodeName,
      vhost: "/",
      connection: expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${node.amqpPort}$`)),
      channel: expect.any(Number),
      user: "guest",
      routed_queues: ["orders.work"],
    });
    // The copy's own properties are empty: transient, no id, no timestamp.
    expect(copy.properties).toMatchObject({ messageId: undefined, deliveryMode: undefined, timestamp: undefined, contentType: undefined });
  });

  it("names the default exchange with an empty exchange_name and the queue as the routing key", () => {
    expect(find("publish.", "m-3").properties.headers).toMatchObject({
      exchange_name: "",
      routing_keys: ["orders.work"],
      properties: { message_id: "m-3", headers: {} },
      routed_queues: ["orders.work"],
    });
  });

  it("marks deliveries with `redelivered` and no routed_queues, keeping the publish's exchange and routing keys", () => {
    const headers = find("deliver.orders.work", "m-2").properties.headers!;
    expect(headers).toMatchObject({ exchange_name: "orders", routing_keys: ["order.placed"], redelivered: 0, vhost: "/", user: "guest" });
    expect(headers).not.toHaveProperty("routed_queues");
  });

  it("shows the dead letter's x-death on its delivery from the DLQ: the DLX as exchange_name, the original routing keys", () => {
    const headers = find("deliver.orders.dlq", "m-2").properties.headers!;
    expect(headers.exchange_name).toBe("orders.dlx");
    expect(headers.routing_keys).toEqual(["order.placed"]);
    const original = headers.properties as { headers: Record<string, unknown> };
    expect(original.headers).toEqual({
      traceparent: TRACEPARENT,
      attempt: 2,
      replayed: false,
      "x-death": [
        {
          count: 1,
          reason: "rejected",
          queue: "orders.work",
          exchange: "orders",
          "routing-keys": ["order.placed"],
          time: { "!": "timestamp", value: expect.any(Number) },
        },
      ],
      "x-first-death-exchange": "orders",
      "x-first-death-queue": "orders.work",
      "x-first-death-reason": "rejected",
    });
  });

  it("traces channels that were open before trace_on, and unroutable publishes with empty routed_queues", async () => {
    earlyChannel.publish("orders", "nothing.binds.this", Buffer.from("lost"), { messageId: "m-early" });
    await earlyChannel.waitForConfirms();
    const reader = await connection.createChannel();
    const copy = await pollUntil("the early channel's copy", async () => (await reader.get("trace.classic", { noAck: true })) || undefined, 10_000, 50);
    expect(copy.fields.routingKey).toBe("publish.orders");
    expect(copy.properties.headers).toMatchObject({
      routing_keys: ["nothing.binds.this"],
      properties: { message_id: "m-early" },
      routed_queues: [],
    });
    await reader.close();
  });

  it("does not route copies into a stream queue bound to amq.rabbitmq.trace (a quorum or classic queue receives them)", async () => {
    const channel = await connection.createChannel();
    await channel.prefetch(10);
    // A message of our own into the stream: if no copy got there, it is the stream's first message.
    channel.sendToQueue("eventscope.firehose", Buffer.from("sentinel"));
    const first = await new Promise<amqp.ConsumeMessage>((resolve) => {
      void channel.consume(
        "eventscope.firehose",
        (message) => {
          if (message) resolve(message);
        },
        { arguments: { "x-stream-offset": "first" } },
      );
    });
    expect(first.content.toString()).toBe("sentinel");
    expect(first.properties.headers?.["x-stream-offset"]).toBe(0);
    await channel.close();
  });

  it("lets the binding key `publish.` through the default exchange's copies alone; a publish to a missing queue names it in routed_queues", async () => {
    const channel = await connection.createChannel();
    await channel.assertQueue("trace.default", { durable: false });
    await channel.bindQueue("trace.default", "amq.rabbitmq.trace", "publish.");
    // Exchanges whose copies' routing keys look closest: `publish.publish`, `publish.x.y`.
    await channel.assertExchange("publish", "topic", { durable: false });
    await channel.assertExchange("x.y", "fanout", { durable: false });
    const publisher = await connection.createConfirmChannel();
    publisher.publish("orders", "order.placed", Buffer.from("to orders"));
    publisher.publish("publish", "k", Buffer.from("to publish"));
    publisher.publish("x.y", "", Buffer.from("to x.y"));
    publisher.sendToQueue("orders.dlq", Buffer.from("to the queue"));
    publisher.sendToQueue("no.such.queue", Buffer.from("to a missing queue"));
    await publisher.waitForConfirms();
    const copies: amqp.GetMessage[] = [];
    await pollUntil("2 copies", async () => (copies.push(...(await drain(channel, "trace.default"))), copies.length >= 2 ? true : undefined), 10_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 300));
    copies.push(...(await drain(channel, "trace.default")));
    expect(copies.map((copy) => [copy.fields.routingKey, copy.content.toString()])).toEqual([
      ["publish.", "to the queue"],
      ["publish.", "to a missing queue"],
    ]);
    expect(copies[1]!.properties.headers).toMatchObject({ exchange_name: "", routing_keys: ["no.such.queue"], routed_queues: ["no.such.queue"] });
    await drain(channel, "orders.dlq");
    await channel.close();
    await publisher.close();
  });

  it("knows the default exchange by no other name: `amq.default` is no exchange (404), though permissions and the management API use it", async () => {
    const channel = await connection.createChannel();
    channel.on("error", () => {});
    const refused = await channel.checkExchange("amq.default").catch((error: unknown) => error);
    expect((refused as { code?: number }).code).toBe(404);
  });
});
