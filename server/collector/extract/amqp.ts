import { flattenAmqpHeaders, readAmqpTimestamp } from "./amqp-headers.ts";
import { toBuffer } from "./bytes.ts";
import { AMQP_CLOUDEVENT_PREFIXES } from "./cloudevents.ts";
import { DEFAULT_EXTRACT_OPTIONS, extractFromParts, type ExtractedEvent } from "./extract-event.ts";
import type { ExtractionFlag } from "./flags.ts";
import type { AmqpMessage, ExtractOptions } from "./types.ts";

/**
 * Reads one RabbitMQ (AMQP 0-9-1) message with the same rules as a Kafka record (CONVENTIONS.md),
 * into the same ExtractedEvent: `topic` is the channel (the exchange or queue it was read from),
 * `partition` 0, `offset` the position (the stream offset). What differs is only what the
 * message offers (README.md, "RabbitMQ"): properties become `amqp.*` headers; the content_type
 * property is the value's content type; CloudEvents binary mode reads `cloudEvents:` (and
 * `cloudEvents_`, `ce_`) headers; the `type` property and `app_id` come right after CloudEvents
 * for the event type and producer, the connection name last for the producer; the routing key is
 * the key but never an entity; the time is the `timestamp_in_ms` header (milliseconds, what
 * RabbitMQ's message-timestamp plugin and careful publishers write) when it is a whole number,
 * else the timestamp property (whole seconds only), null when neither is there;
 * RabbitMQ's `x-death` headers make a dead letter. Pure and total, like extractEvent.
 */
export function extractAmqpEvent(
  channel: string,
  position: string | number | bigint,
  message: AmqpMessage,
  options: ExtractOptions = DEFAULT_EXTRACT_OPTIONS,
): ExtractedEvent {
  const flags: ExtractionFlag[] = [];
  const { headers, unreadable } = flattenAmqpHeaders(message);
  if (unreadable) flags.push("header-unreadable");
  const properties: Record<string, unknown> =
    message.properties !== null && typeof message.properties === "object" ? (message.properties as Record<string, unknown>) : {};
  const precise = millisecondsHeader(properties.headers);
  const { timestamp: fromProperty, invalid } = readAmqpTimestamp(properties.timestamp);
  const timestamp = precise ?? fromProperty;
  if (invalid && precise === null) flags.push("timestamp-invalid");
  const routingKeys: unknown = message.routingKeys;
  const routingKey = Array.isArray(routingKeys) ? (routingKeys[0] as unknown) : routingKeys;
  const derived = extractFromParts(
    {
      channel,
      headers,
      // The routing key: shown and searched as the key, but it names a destination or a kind of
      // message ("order.placed"), not an entity, so it is never an entity key.
      key: typeof routingKey === "string" && routingKey !== "" ? Buffer.from(routingKey, "utf8") : null,
      keyNamesEntity: false,
      // AMQP has no null body: a missing one (hostile input) reads as empty, not as a tombstone.
      value: toBuffer(message.body) ?? Buffer.alloc(0),
      contentType: textOrNull(properties.contentType),
      cloudEventPrefixes: AMQP_CLOUDEVENT_PREFIXES,
      typeProperty: textOrNull(properties.type),
      transportProducer: { appId: textOrNull(properties.appId), connectionName: textOrNull(message.connectionName) },
    },
    options,
    flags,
  );
  return { topic: channel, partition: 0, offset: String(position), timestamp, ...derived };
}

/** The `timestamp_in_ms` header as a time: a whole, non-negative number of milliseconds; else null. */
function millisecondsHeader(headers: unknown): Date | null {
  if (headers === null || typeof headers !== "object") return null;
  const raw: unknown = Object.hasOwn(headers, TIMESTAMP_IN_MS_HEADER) ? (headers as Record<string, unknown>)[TIMESTAMP_IN_MS_HEADER] : undefined;
  const ms = typeof raw === "number" ? raw : typeof raw === "bigint" ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The header of a message's publishing time in milliseconds (rabbitmq_message_timestamp's name). */
export const TIMESTAMP_IN_MS_HEADER = "timestamp_in_ms";

function textOrNull(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}
