import { context as otelContext, propagation, SpanKind, trace } from "@opentelemetry/api";
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
import { derivedEventId } from "./events.ts";

/**
 * The demo saga's RabbitMQ part (`--rabbitmq`): e-mail goes through RabbitMQ, as in many shops
 * that run it beside Kafka for task queues. notification-service, after telling the customer
 * something on `notifications` (Kafka), publishes an e-mail job:
 *
 *   exchange `email` (topic) ── `email.requested.<template>` ──▶ queue `email.jobs`
 *        email-sender consumes it, sends the mail (simulated) and publishes EmailSent
 *        (`email.sent`), or, for `--email-failure-rate` of them, the mail server refuses it: the
 *        job is rejected (nack, no requeue) and RabbitMQ dead-letters it through `email.dlx`
 *        (fanout) into `email.dead`, which nobody consumes. Those are the dead letters to replay.
 *
 * Each message carries what a well-behaved AMQP publisher sets: message id, app id, type,
 * timestamp (for RabbitMQ's head_message_timestamp), content type, and `traceparent` in its
 * headers, so the order's trace runs from Kafka into RabbitMQ.
 */

export const EMAIL = {
  exchange: "email",
  deadLetterExchange: "email.dlx",
  jobs: "email.jobs",
  dead: "email.dead",
} as const;

const SENDER = "email-sender";
const BRIDGE = "notification-service";

/** The demo's RabbitMQ services, each on a connection named after it (connection_name). */
export const EMAIL_SERVICES = { publisher: BRIDGE, sender: SENDER } as const;

export interface EmailJob {
  orderId: string;
  template: string;
  /** The NotificationSent event this job is for: the job's id derives from it. */
  notificationId: string;
}

/** The exchanges, queues and bindings, declared idempotently by whoever connects first. */
export async function declareEmailTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(EMAIL.exchange, "topic", { durable: true });
  await channel.assertExchange(EMAIL.deadLetterExchange, "fanout", { durable: true });
  await channel.assertQueue(EMAIL.jobs, { durable: true, arguments: { "x-dead-letter-exchange": EMAIL.deadLetterExchange } });
  await channel.bindQueue(EMAIL.jobs, EMAIL.exchange, "email.requested.#");
  await channel.assertQueue(EMAIL.dead, { durable: true });
  await channel.bindQueue(EMAIL.dead, EMAIL.deadLetterExchange, "");
}

/** Headers with the active trace context (`traceparent`, `tracestate`) injected. */
function tracedHeaders(extra: Record<string, string | number> = {}): Record<string, string | number> {
  const headers: Record<string, string | number> = { ...extra };
  propagation.inject(otelContext.active(), headers);
  return headers;
}

function publish(channel: ConfirmChannel, routingKey: string, type: string, appId: string, id: string, body: object): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish(
      EMAIL.exchange,
      routingKey,
      Buffer.from(JSON.stringify(body)),
      {
        persistent: true,
        messageId: id,
        appId,
        type,
        timestamp: Math.floor(Date.now() / 1000),
        contentType: "application/json",
        // The timestamp property has whole seconds only: the header says the millisecond.
        headers: tracedHeaders({ timestamp_in_ms: Date.now() }),
      },
      (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()),
    );
  });
}

/** What notification-service publishes with: one confirm channel, shared. */
export interface EmailPublisher {
  requestEmail(job: EmailJob): Promise<void>;
}

export function emailPublisher(channel: ConfirmChannel): EmailPublisher {
  return {
    requestEmail: (job) =>
      publish(channel, `email.requested.${job.template}`, "EmailRequested", BRIDGE, derivedEventId(BRIDGE, job.notificationId, "EmailRequested"), {
        type: "EmailRequested",
        orderId: job.orderId,
        template: job.template,
        to: `customer+${job.orderId}@example.com`,
      }),
  };
}

export interface EmailSender {
  stop(): Promise<void>;
}

/**
 * email-sender: consumes `email.jobs` (prefetch 5, manual acks) on its own channel of
 * `connection`. Each job is "sent" (EmailSent published, then the job acked), or refused by the
 * mail server for `failureRate` of them (the job rejected: RabbitMQ dead-letters it).
 */
export async function startEmailSender(
  connection: ChannelModel,
  options: { failureRate: number; random: () => number; log(line: string): void },
): Promise<EmailSender> {
  const channel = await connection.createConfirmChannel();
  await channel.prefetch(5);
  const tracer = trace.getTracer("eventscope-demo");
  const handle = async (message: ConsumeMessage) => {
    const parent = propagation.extract(otelContext.active(), headerTexts(message.properties.headers));
    await tracer.startActiveSpan(`${EMAIL.jobs} process`, { kind: SpanKind.CONSUMER, attributes: { "messaging.system": "rabbitmq" } }, parent, async (span) => {
      try {
        if (options.random() < options.failureRate) {
          // The mail server refused it: no requeue, so RabbitMQ dead-letters it (reason rejected).
          channel.nack(message, false, false);
          return;
        }
        const job = JSON.parse(message.content.toString("utf8")) as { orderId?: unknown; template?: unknown; to?: unknown };
        const jobId = typeof message.properties.messageId === "string" ? message.properties.messageId : "unknown";
        await publish(channel, "email.sent", "EmailSent", SENDER, derivedEventId(SENDER, jobId, "EmailSent"), {
          type: "EmailSent",
          orderId: job.orderId,
          template: job.template,
          to: job.to,
        });
        channel.ack(message);
      } catch (error) {
        // A job that cannot be read is no mail to send: dead-lettered like a refused one.
        options.log(`${SENDER}: ${error instanceof Error ? error.message : String(error)}`);
        channel.nack(message, false, false);
      } finally {
        span.end();
      }
    });
  };
  const { consumerTag } = await channel.consume(EMAIL.jobs, (message) => {
    if (message) void handle(message);
  });
  return {
    async stop() {
      await channel.cancel(consumerTag).catch(() => undefined);
      await channel.close().catch(() => undefined);
    },
  };
}

function headerTexts(headers: Record<string, unknown> | undefined): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (typeof value === "string") texts[key] = value;
    else if (Buffer.isBuffer(value)) texts[key] = value.toString("utf8");
  }
  return texts;
}
