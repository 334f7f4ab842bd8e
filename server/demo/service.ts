import { context as otelContext } from "@opentelemetry/api";
import type { EmailPublisher } from "./email.ts";
import { suppressTracing } from "@opentelemetry/core";
import type { Message, Producer } from "kafkajs";
import { isWarehouseTopic, TOPICS, toMessage, type NewEvent, type ReceivedEvent, type ServiceName, type TopicName } from "./events.ts";
import { duplicateDelayMs } from "./failures.ts";
import type { DemoOptions } from "./options.ts";
import type { Payment, PaymentsAvro } from "./payments-avro.ts";
import type { DemoState, OutboxMessage, Tx } from "./state.ts";

/** What every service gets: the shared producer, the demo state, the options, a logger. */
export interface ServiceContext {
  producer: Producer;
  /** The second cluster's producer (`--warehouse-kafka`): its topics are sent there. */
  warehouseProducer?: Producer;
  /** With --rabbitmq: where notification-service publishes e-mail jobs (email.ts); unset until connected. */
  email?: EmailPublisher;
  /** The payments topic's Avro serializer and deserializer, through the Schema Registry. */
  payments: PaymentsAvro;
  state: DemoState;
  options: DemoOptions;
  log(line: string): void;
  /** In [0, 1); Math.random unless a test pins it. */
  random(): number;
  /** Resolves after `ms`, or at once when the services stop. */
  sleep(ms: number): Promise<void>;
  readonly stopping: boolean;
}

/** One saga service: its consumer group (= its name), the topics it reads, its handler. */
export interface DemoService {
  name: ServiceName;
  topics: TopicName[];
  /** The cluster its consumer group reads: the main one unless it is "warehouse". */
  cluster?: "main" | "warehouse";
  /** Partitions handled at once (kafkajs partitionsConsumedConcurrently). */
  concurrency: number;
  /**
   * Its consumer stops consuming on the `--stall-every` / `--stall-length` schedule
   * (run-services.ts): paused, still a member of its group, while its lag grows.
   */
  stalls?: boolean;
  /** Called once per message, inside the consumer span of OpenTelemetry's instrumentation. */
  handle(event: ReceivedEvent): Promise<void>;
  /** Timers of its own (order generation, restocking, outage logging); stopped with the services. */
  start?(): void;
  stop?(): Promise<void>;
}

/**
 * Sends one event. Called inside a consumer's handler it runs in the consumer span's context, so
 * the instrumentation's `traceparent` continues the trace of the message being handled.
 */
export async function emit(context: ServiceContext, topic: TopicName, event: NewEvent): Promise<void> {
  const message = toMessage(topic, event);
  await producerFor(context, topic).send({ topic, acks: -1, messages: [{ ...message, value: await encodeValue(context, topic, message.value) }] });
}

/**
 * The bytes sent for a value built as JSON text: on `payments`, Avro in the wire format under the
 * schema registered last (serialized at send time, as a Confluent serializer does); elsewhere the
 * text itself.
 */
async function encodeValue(context: ServiceContext, topic: string, json: string): Promise<Buffer | string> {
  return topic === TOPICS.payments ? context.payments.encode(JSON.parse(json) as Payment) : json;
}

/** The producer of the cluster a topic lives on. */
function producerFor(context: ServiceContext, topic: string): Producer {
  if (!isWarehouseTopic(topic)) return context.producer;
  if (!context.warehouseProducer) throw new Error(`${topic} is on the warehouse cluster, and no --warehouse-kafka was given`);
  return context.warehouseProducer;
}

/**
 * At `--duplicate-rate`, sends `message` (already sent to `topic`) once more, 50 to 500 ms later:
 * what a producer does when the acknowledgement of a send that did arrive is lost and it retries.
 * The very key, value, headers and timestamp: the instrumentation wrote `traceparent` into the
 * headers at the first send, and this one runs with tracing suppressed, so it neither replaces it
 * nor makes a span. It is a plain second delivery: a failure is logged and dropped, never retried
 * or dead-lettered, and consumers recognise it by its ce_id.
 */
function maybeSendTwice(context: ServiceContext, service: ServiceName, topic: string, message: Message): void {
  const rate = context.options.duplicateRate;
  if (rate <= 0 || context.random() >= rate) return;
  void context
    .sleep(duplicateDelayMs(context.random()))
    .then(async () => {
      if (context.stopping) return;
      await otelContext.with(suppressTracing(otelContext.active()), () =>
        producerFor(context, topic).send({ topic, acks: -1, messages: [message] }),
      );
    })
    .catch((error: unknown) => {
      if (!context.stopping) context.log(`${service}: sending a duplicate to ${topic} failed: ${error instanceof Error ? error.message : String(error)}`);
    });
}

/** Adds a follow-up event to the outbox of the event being handled (sent after the commit). */
export type SendLater = (topic: TopicName, event: NewEvent) => void;

/**
 * Handles `event` at most once for `service` (DemoState.processOnce): `work` applies the side
 * effects in `tx` and queues follow-up events with `send`; they are produced after the commit,
 * still inside the consumer span's context, so they continue the trace of the message handled.
 * `sendsTwice`: the service's producer sometimes delivers a follow-up twice (maybeSendTwice).
 */
export function handleOnce(
  context: ServiceContext,
  service: ServiceName,
  event: ReceivedEvent,
  work: (tx: Tx, send: SendLater) => Promise<void>,
  { sendsTwice = false }: { sendsTwice?: boolean } = {},
): Promise<boolean> {
  return context.state.processOnce(
    service,
    event,
    (tx, outbox) =>
      work(tx, (topic, next) => {
        // The outbox holds JSON text; a payments value is encoded in Avro when it is sent.
        const message = toMessage(topic, next);
        outbox.push({ topic, key: message.key, value: message.value, headers: message.headers });
      }),
    async (messages: OutboxMessage[]) => {
      // One at a time, in order: a saga's events for one order must not overtake each other.
      for (const { topic, key, value, headers } of messages) {
        const bytes = await encodeValue(context, topic, value);
        // The instrumentation adds `traceparent` to this object's headers as it sends it.
        const message: Message = { key, value: bytes, headers: { ...headers }, timestamp: String(Date.now()) };
        await producerFor(context, topic).send({ topic, acks: -1, messages: [message] });
        if (sendsTwice) maybeSendTwice(context, service, topic, message);
      }
    },
  );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The order id of a saga event: the value's `orderId`, else the key. */
export function orderIdOf(event: ReceivedEvent): string | null {
  if (isRecord(event.data) && typeof event.data.orderId === "string") return event.data.orderId;
  return event.key;
}
