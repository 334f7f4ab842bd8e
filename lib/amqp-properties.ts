/**
 * How a RabbitMQ (AMQP 0-9-1) message's properties and envelope are kept in the stored header
 * list, one owner for the collector, which writes them, and a RabbitMQ replay, which turns them
 * back into properties. They carry the reserved prefix `amqp.` so that they never pass for the
 * application's own headers (the message's `headers` table, stored under its own keys).
 */

export const AMQP_HEADER_PREFIX = "amqp.";

/** The basic properties, by amqplib's field name, and the header each is stored as. */
export const AMQP_PROPERTY_HEADERS = {
  contentType: "amqp.content_type",
  contentEncoding: "amqp.content_encoding",
  deliveryMode: "amqp.delivery_mode",
  priority: "amqp.priority",
  correlationId: "amqp.correlation_id",
  replyTo: "amqp.reply_to",
  expiration: "amqp.expiration",
  messageId: "amqp.message_id",
  /** Seconds since the epoch, as sent (decimal). */
  timestamp: "amqp.timestamp",
  type: "amqp.type",
  userId: "amqp.user_id",
  appId: "amqp.app_id",
} as const;

/** Where the message went: not properties, but what a replay needs to publish it again. */
export const AMQP_ENVELOPE_HEADERS = {
  /** The exchange it was published to; empty text for the default exchange. */
  exchange: "amqp.exchange",
  /** One entry per routing key: the routing key first, then the CC and BCC keys. */
  routingKey: "amqp.routing_key",
  /** Set on a delivery copy: the queue that delivered it. */
  queue: "amqp.queue",
  redelivered: "amqp.redelivered",
  /** The publishing connection's client-provided name, when known. */
  connectionName: "amqp.connection_name",
  /**
   * The AMQP types of the application headers that are not text nor bytes, as JSON
   * (`{"x-retry-count": "number"}`, AMQP_HEADER_TYPES): stored text alone would not say that
   * `3` was a number, and a replay sends each header back with its type. Absent when every
   * header is text or bytes.
   */
  headerTypes: "amqp.header_types",
} as const;

/** The types `amqp.header_types` names; a table or an array is `json`. */
export const AMQP_HEADER_TYPES = ["number", "boolean", "timestamp", "json"] as const;
export type AmqpHeaderType = (typeof AMQP_HEADER_TYPES)[number];
