import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../scripts/support/ports.ts";
import type { RabbitNode } from "../rabbitmq/node.ts";
import { startTestRabbitNode } from "../rabbitmq/test-support.ts";
import { declareEmailTopology, EMAIL, emailPublisher, startEmailSender, type EmailSender } from "./email.ts";

/**
 * The demo's e-mail jobs on a real RabbitMQ: notification-service's publisher, email-sender, and
 * RabbitMQ's own dead-lettering of the jobs the mail server refuses into `email.dead`.
 */

let node: RabbitNode;
let removeDataDir: () => void;
let connection: amqp.ChannelModel;

beforeAll(async () => {
  ({ node, removeDataDir } = await startTestRabbitNode());
  connection = await amqp.connect(node.amqpUrl);
  const setup = await connection.createChannel();
  await declareEmailTopology(setup);
  await setup.close();
}, 120_000);

afterAll(async () => {
  await connection?.close().catch(() => {});
  await node?.stop();
  removeDataDir?.();
}, 120_000);

/** Every message on `queue` so far, acked. */
async function drain(queue: string): Promise<amqp.GetMessage[]> {
  const channel = await connection.createChannel();
  const messages: amqp.GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue);
    if (message === false) break;
    messages.push(message);
    channel.ack(message);
  }
  await channel.close();
  return messages;
}

describe("the demo's e-mail jobs", () => {
  let sender: EmailSender | undefined;
  afterAll(async () => {
    await sender?.stop();
  });

  it("sends each job once (EmailSent), with the properties a collector reads", async () => {
    const watch = await connection.createChannel();
    const { queue: sent } = await watch.assertQueue("", { exclusive: true });
    await watch.bindQueue(sent, EMAIL.exchange, "email.sent");
    sender = await startEmailSender(connection, { failureRate: 0, random: () => 0.5, log: () => {} });
    const publisher = emailPublisher(await connection.createConfirmChannel());
    await publisher.requestEmail({ orderId: "ord-1", template: "order-confirmed", notificationId: "n-1" });

    const [message] = await pollUntil("EmailSent", async () => {
      const got = await watch.get(sent);
      return got === false ? undefined : [got];
    }, 20_000, 100);
    expect(JSON.parse(message!.content.toString())).toEqual({ type: "EmailSent", orderId: "ord-1", template: "order-confirmed", to: "customer+ord-1@example.com" });
    expect(message!.properties).toMatchObject({ appId: "email-sender", type: "EmailSent", contentType: "application/json", deliveryMode: 2 });
    expect(message!.properties.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Math.abs(Number(message!.properties.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    // Acked: nothing is left in the jobs queue, nothing was dead-lettered.
    await pollUntil("the job acked", async () => ((await watch.checkQueue(EMAIL.jobs)).messageCount === 0 ? true : undefined), 10_000, 100);
    expect(await drain(EMAIL.dead)).toEqual([]);
    await sender.stop();
    sender = undefined;
    await watch.close();
  });

  it("leaves a refused job to RabbitMQ, which dead-letters it into email.dead with x-death", async () => {
    sender = await startEmailSender(connection, { failureRate: 1, random: () => 0.5, log: () => {} });
    const publisher = emailPublisher(await connection.createConfirmChannel());
    await publisher.requestEmail({ orderId: "ord-2", template: "order-shipped", notificationId: "n-2" });

    const dead = await pollUntil("a dead letter", async () => {
      const messages = await drain(EMAIL.dead);
      return messages.length > 0 ? messages : undefined;
    }, 20_000, 200);
    expect(dead).toHaveLength(1);
    const letter = dead[0]!;
    expect(JSON.parse(letter.content.toString())).toMatchObject({ type: "EmailRequested", orderId: "ord-2", template: "order-shipped" });
    expect(letter.fields.routingKey).toBe("email.requested.order-shipped");
    expect(letter.properties).toMatchObject({ appId: "notification-service", type: "EmailRequested" });
    const headers = letter.properties.headers ?? {};
    expect(headers["x-first-death-queue"]).toBe(EMAIL.jobs);
    expect(headers["x-first-death-reason"]).toBe("rejected");
    expect(headers["x-first-death-exchange"]).toBe(EMAIL.exchange);
    expect(headers["x-death"]).toEqual([expect.objectContaining({ queue: EMAIL.jobs, reason: "rejected", count: 1, exchange: EMAIL.exchange, "routing-keys": ["email.requested.order-shipped"] })]);
  });
});
