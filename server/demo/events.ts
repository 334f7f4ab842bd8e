import { createHash, randomUUID } from "node:crypto";
import type { IHeaders, KafkaMessage, Message } from "kafkajs";

/**
 * The saga's topics, event types and message shape: key = order id, CloudEvents binary-mode
 * headers, a value with `orderId`: JSON, except on `payments`, which is Avro in the Schema
 * Registry wire format (payments-avro.ts). `traceparent` is never written here: OpenTelemetry's
 * kafkajs instrumentation adds it when a message is sent.
 */

export const TOPICS = {
  orders: "orders",
  inventory: "inventory",
  payments: "payments",
  shipping: "shipping",
  notifications: "notifications",
  paymentRetry: "payment-service-retry",
  paymentDlq: "payment-service-dlq",
} as const;

/**
 * The topics of the second cluster (`--warehouse-kafka`): a bridge hands shipped orders over to
 * the warehouse there, so an order's timeline crosses clusters.
 */
export const WAREHOUSE_TOPICS = {
  warehouseOrders: "warehouse-orders",
  parcels: "warehouse-parcels",
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS] | (typeof WAREHOUSE_TOPICS)[keyof typeof WAREHOUSE_TOPICS];

/** Whether a topic lives on the warehouse cluster rather than the main one. */
export function isWarehouseTopic(topic: string): boolean {
  return (Object.values(WAREHOUSE_TOPICS) as string[]).includes(topic);
}

/**
 * A topic's values' content type: the `content-type` header, which is where the CloudEvents
 * Kafka binding's binary mode puts `datacontenttype` (it has no `ce_datacontenttype`).
 */
export function contentTypeOf(topic: TopicName): string {
  return topic === TOPICS.payments ? "application/avro" : "application/json";
}

export const SERVICES = [
  "order-service",
  "inventory-service",
  "payment-service",
  "shipping-service",
  "notification-service",
  "analytics",
  "warehouse-bridge",
  "warehouse-service",
  "email-sender",
] as const;

export type ServiceName = (typeof SERVICES)[number];

export type EventType =
  | "OrderPlaced"
  | "OrderConfirmed"
  | "OrderCancelled"
  | "InventoryReserved"
  | "InventoryFailed"
  | "InventoryReleased"
  | "PaymentProcessed"
  | "PaymentFailed"
  | "PaymentRefunded"
  | "OrderShipped"
  | "ShippingFailed"
  | "NotificationSent"
  | "WarehouseOrderReceived"
  | "ParcelDispatched"
  | "EmailRequested"
  | "EmailSent";

/** Failure headers (CONVENTIONS.md, "Eventscope (demo services)"), written on retry and DLQ records. */
export const FAILURE_HEADERS = {
  originalTopic: "x-original-topic",
  originalPartition: "x-original-partition",
  originalOffset: "x-original-offset",
  error: "x-error",
  errorClass: "x-error-class",
  attempts: "x-attempts",
} as const;

/** On a retry record: when it may be attempted again (epoch milliseconds). */
export const RETRY_NOT_BEFORE_HEADER = "x-retry-not-before";

/** Headers that describe one failure, dropped before the next hop writes its own. */
const FAILURE_HEADER_NAMES: ReadonlySet<string> = new Set([...Object.values(FAILURE_HEADERS), RETRY_NOT_BEFORE_HEADER]);

export const REPLAY_ID_HEADER = "x-replay-id";

/** A consumed message, decoded: CloudEvents attributes from the headers, the value. */
export interface ReceivedEvent {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** ce_id, or `<topic>/<partition>/<offset>` for a message without one. */
  id: string;
  /** ce_type, null when absent. */
  type: string | null;
  /**
   * The parsed JSON value, or the decoded Avro record of a wire-format value (run-services.ts
   * decodes those); null when the value is neither.
   */
  data: unknown;
  /** Header values as text; a repeated header keeps its last value. */
  headers: Map<string, string>;
  message: KafkaMessage;
}

export function headerText(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined) return undefined;
  return Buffer.isBuffer(last) ? last.toString("utf8") : String(last);
}

export function decodeMessage(topic: string, partition: number, message: KafkaMessage): ReceivedEvent {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers.set(name.toLowerCase(), text);
  }
  let data: unknown = null;
  if (message.value) {
    try {
      data = JSON.parse(message.value.toString("utf8"));
    } catch {
      data = null;
    }
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString("utf8") : null,
    id: headers.get("ce_id") || `${topic}/${partition}/${message.offset}`,
    type: headers.get("ce_type") ?? null,
    data,
    headers,
    message,
  };
}

/**
 * The id of an event caused by another one: the same cause always yields the same id, so a
 * follow-up that is sent again (after a crash between send and commit) is a duplicate that the
 * consumers' processed-ids tables recognise, not a second event.
 */
export function derivedEventId(service: ServiceName, causeId: string, type: EventType): string {
  const hex = createHash("sha256").update(`${service}\0${causeId}\0${type}`).digest("hex");
  // Shaped like a version-5 UUID (name-based), which is what it is in spirit.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface NewEvent {
  source: ServiceName;
  type: EventType;
  orderId: string;
  data: Record<string, unknown> & { orderId: string };
  /** Default: a random UUID (events that start a saga). */
  id?: string;
  /** The message key. Default: the order id, which keeps an order's events on one partition. */
  key?: string;
  time?: Date;
}

/**
 * The Kafka message of a new event for `topic`: key, CloudEvents binary headers, the data as JSON
 * text. On `payments` that text is what the producer encodes in Avro when it sends
 * (service.ts), and `content-type` says Avro already.
 */
export function toMessage(topic: TopicName, event: NewEvent): Message & { key: string; value: string; headers: Record<string, string> } {
  return {
    key: event.key ?? event.orderId,
    value: JSON.stringify(event.data),
    headers: {
      ce_specversion: "1.0",
      ce_id: event.id ?? randomUUID(),
      ce_type: event.type,
      ce_source: event.source,
      ce_time: (event.time ?? new Date()).toISOString(),
      "content-type": contentTypeOf(topic),
    },
  };
}

/**
 * The headers of a consumed message to carry on to a retry or dead-letter record: everything
 * (CloudEvents attributes, traceparent, x-replay-id …) except the headers of an earlier failure.
 * Repeated headers stay repeated.
 */
export function carriedHeaders(message: KafkaMessage): IHeaders {
  const carried: IHeaders = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined || FAILURE_HEADER_NAMES.has(name.toLowerCase())) continue;
    carried[name] = value;
  }
  return carried;
}
