import type amqp from "amqplib";
import { channelOfExchange, DEFAULT_EXCHANGE, OWN_QUEUE_PREFIX } from "../../../lib/rabbitmq-names.ts";
import type { AmqpMessage } from "../extract/index.ts";
import { relayQueueName, streamQueueName, type CollectedExchange } from "./bindings-plan.ts";
import { messageOfTraceCopy, TRACE_EXCHANGE } from "./firehose-deliveries.ts";

/**
 * Relays (../README.md, "RabbitMQ"): a classic queue of Eventscope's own whose messages the
 * collector republishes into a stream of its own (through the default exchange, publisher-confirmed,
 * then acknowledged), for what RabbitMQ 3.10 routes into no stream: dead letters, and the
 * firehose's copies of publishes to the default exchange. The exchange, routing key and user_id the
 * message had travel in `x-eventscope-*` headers, which reading (amqpMessageOf) restores and removes.
 */

const RELAY_EXCHANGE_HEADER = "x-eventscope-exchange";
const RELAY_ROUTING_KEY_HEADER = "x-eventscope-routing-key";
const RELAY_USER_ID_HEADER = "x-eventscope-user-id";

/**
 * The firehose copies of publishes to the default exchange, and only those: a copy's routing key is
 * `publish.<exchange>`, and the topic pattern `publish.` matches the two words `publish` and "" alone
 * (checked on 3.10.8: not `publish.orders`, nor an exchange named `publish` or `x.y`).
 */
export const DEFAULT_EXCHANGE_COPIES_BINDING = "publish.";

/** What is published into the stream for one relayed message. */
export interface RelayPublish {
  content: Buffer;
  options: amqp.Options.Publish;
}

/** A message as it was routed: the exchange, its routing key, its properties (amqplib's names) and body. */
export interface RoutedMessage {
  exchange: string;
  routingKey: string;
  properties: Record<string, unknown>;
  body: Buffer;
}

/** The republish of a routed message into its stream, with where it was routed in the relay headers. */
export function relayPublishOf(message: RoutedMessage): RelayPublish {
  const { userId, headers, ...properties } = message.properties;
  const relayHeaders: Record<string, unknown> = {
    ...(headers !== null && typeof headers === "object" ? (headers as Record<string, unknown>) : {}),
    [RELAY_EXCHANGE_HEADER]: message.exchange,
    [RELAY_ROUTING_KEY_HEADER]: message.routingKey,
    // RabbitMQ refuses a user_id that is not the publishing connection's own.
    ...(typeof userId === "string" ? { [RELAY_USER_ID_HEADER]: userId } : {}),
  };
  const options = Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined)) as amqp.Options.Publish;
  return { content: message.body, options: { ...options, headers: relayHeaders } };
}

/**
 * A firehose copy in the default exchange's relay queue → the message it copies, or null for what
 * is not relayed: a copy of a publish to another exchange (the binding lets none through; checked
 * anyway), and a publish to one of Eventscope's own queues (`eventscope.*`), among them the relay's
 * own republishes into its stream, which are traced in turn: relaying those would loop.
 */
export function defaultExchangePublishOfCopy(copyRoutingKey: string, headers: Record<string, unknown> | undefined, body: Buffer): RoutedMessage | null {
  if (copyRoutingKey !== DEFAULT_EXCHANGE_COPIES_BINDING || headers === undefined) return null;
  const message = messageOfTraceCopy(headers, body);
  const queue = message.routingKeys[0];
  if (message.exchange !== "" || queue === undefined || queue.startsWith(OWN_QUEUE_PREFIX)) return null;
  return { exchange: "", routingKey: queue, properties: message.properties as Record<string, unknown>, body };
}

/**
 * The default exchange, collected as an exchange (`deliveries: firehose` only: the copies exist
 * only while the user has tracing on): its stream `eventscope.<source>.amq.default` (no user
 * exchange can be named `amq.*`, so no collision), its channel `amq.default`, and its relay queue
 * bound to the trace exchange with `publish.`.
 */
export function defaultExchangePlan(source: string, vhost: string): CollectedExchange {
  return {
    vhost,
    exchange: DEFAULT_EXCHANGE,
    type: "direct",
    queue: streamQueueName(source, vhost, DEFAULT_EXCHANGE),
    channel: channelOfExchange(vhost, ""),
    boundExchange: TRACE_EXCHANGE,
    bindings: [{ routingKey: DEFAULT_EXCHANGE_COPIES_BINDING, arguments: {} }],
    relayQueue: relayQueueName(source, vhost, DEFAULT_EXCHANGE),
    relaysTraceCopies: true,
    staleBindings: [],
    alreadyBound: [],
  };
}

/** Whether a stream's message was republished by a relay (and not published into the stream by someone). */
export function isRelayed(message: Pick<amqp.Message, "properties">): boolean {
  return typeof message.properties.headers?.[RELAY_EXCHANGE_HEADER] === "string";
}

/** An amqplib delivery from a stream as extraction reads it; the stream's own `x-stream-offset` header is left out (it is the position). */
export function amqpMessageOf(message: Pick<amqp.Message, "fields" | "properties" | "content">): AmqpMessage {
  const headers = { ...(message.properties.headers ?? {}) } as Record<string, unknown>;
  delete headers["x-stream-offset"];
  // A relayed message: the exchange, routing key and user_id it had (relayPublishOf).
  const relayed = isRelayed(message);
  const exchange = relayed ? (headers[RELAY_EXCHANGE_HEADER] as string) : message.fields.exchange;
  const routingKey = relayed ? String(headers[RELAY_ROUTING_KEY_HEADER] ?? "") : message.fields.routingKey;
  const userId = relayed ? headers[RELAY_USER_ID_HEADER] : message.properties.userId;
  for (const name of [RELAY_EXCHANGE_HEADER, RELAY_ROUTING_KEY_HEADER, RELAY_USER_ID_HEADER]) delete headers[name];
  const cc: unknown = headers.CC;
  const routingKeys = [routingKey, ...(Array.isArray(cc) ? cc.filter((key): key is string => typeof key === "string") : [])];
  return {
    exchange,
    routingKeys,
    properties: { ...message.properties, userId, headers } as AmqpMessage["properties"],
    body: message.content,
    connectionName: null,
    queue: null,
    redelivered: null,
  };
}
