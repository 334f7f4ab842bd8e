/** A value JSON.parse can return: what a JSON column can hold (lib/json-value.ts). */
import type { JsonValue } from "../../../lib/json-value.ts";
import type { WireFormatReader } from "../../schemas/wire-format.ts";

export type { JsonValue };
export type { WireFormatReader, WireFormatResult } from "../../schemas/wire-format.ts";

/** One header value as kafkajs decodes it (tests and other callers may hand over strings). */
export type RawHeaderValue = Buffer | string | null | undefined;

/**
 * One Kafka record as the collector receives it from kafkajs's eachBatch, normalised by the
 * caller. Nothing here is trusted: every field may be malformed and extraction still succeeds.
 */
export interface RawMessage {
  topic: string;
  partition: number;
  /** Decimal int64; kafkajs hands offsets over as strings because they exceed 2^53. */
  offset: string;
  /** Milliseconds since the epoch, as a decimal string (kafkajs's form). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  /**
   * kafkajs's decoded headers: a key that repeats arrives as an ARRAY of its values, in record
   * order; a null header value arrives as null or undefined.
   */
  headers: Record<string, RawHeaderValue | RawHeaderValue[]>;
}

export interface ExtractOptions {
  /**
   * EVENTSCOPE_ENTITY_FIELDS: a plain name ("orderId") matches that property at any depth of the
   * JSON payload; a dotted path ("customer.id") is followed from the payload's root.
   */
  entityFields: readonly string[];
  /** EVENTSCOPE_DLQ_PATTERNS, tried before the built-in dead-letter topic names. */
  dlqPatterns: readonly RegExp[];
  /** Values longer than this many bytes are stored cut to this length and flagged. */
  maxValueBytes: number;
  /**
   * Reads values in the Schema Registry wire format (byte 0, a 4-byte schema id, the payload) when
   * SCHEMA_REGISTRY_URL is set; without it, such values are bytes like any other.
   */
  wireFormat?: WireFormatReader;
}


/**
 * An AMQP 0-9-1 field table as a client decodes it. amqplib gives strings (longstr) as strings,
 * byte arrays as Buffers, integers and floats as numbers (int64 already rounded beyond 2^53),
 * booleans, null (void), nested tables as objects, arrays as arrays, timestamps as
 * `{"!": "timestamp", value: seconds}` and decimals as `{"!": "decimal", value: {places, digits}}`;
 * other clients hand over Dates and bigints. Nothing here is trusted.
 */
export type AmqpTable = Record<string, unknown>;

/** The basic properties, by amqplib's names. Every one optional; any may hold a wrong type. */
export interface AmqpProperties {
  contentType?: string | null;
  contentEncoding?: string | null;
  headers?: AmqpTable | null;
  deliveryMode?: number | null;
  priority?: number | null;
  correlationId?: string | null;
  replyTo?: string | null;
  expiration?: string | null;
  messageId?: string | null;
  /** Seconds since the epoch (AMQP's timestamp has second precision). */
  timestamp?: number | null;
  type?: string | null;
  userId?: string | null;
  appId?: string | null;
}

/**
 * One RabbitMQ message as the collector reads it from the firehose (`amq.rabbitmq.trace`, through
 * a stream queue): a copy of a publish, or of a delivery (then `queue` is set).
 */
export interface AmqpMessage {
  /** "" is the default exchange. */
  exchange: string;
  /** The routing key, then the CC and BCC keys. */
  routingKeys: string[];
  properties: AmqpProperties;
  body: Buffer;
  /** The publishing connection's client-provided name, when known. */
  connectionName?: string | null;
  /** Set on a delivery copy: the queue that delivered it. */
  queue?: string | null;
  redelivered?: boolean | null;
}
