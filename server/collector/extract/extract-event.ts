import { keyEntityKind } from "../../../lib/flows.ts";
import { toBuffer } from "./bytes.ts";
import {
  isStructuredContentType,
  KAFKA_CLOUDEVENT_PREFIXES,
  readBinaryCloudEvent,
  readStructuredCloudEvent,
  type CloudEventAttributes,
} from "./cloudevents.ts";
import type { TopicClass } from "./classify-topic.ts";
import { detectDeadLetter, KNOWN_BINARY_HEADERS, type DeadLetter } from "./dead-letter.ts";
import { extractEntityKeys, type EntitySource } from "./entity.ts";
import { resolveEventType, type EventTypeSource } from "./event-type.ts";
import { sortFlags, type ExtractionFlag } from "./flags.ts";
import { flattenHeaders, indexHeaders, lastHeaderText, type HeaderEntry, type HeaderIndex } from "./headers.ts";
import { resolveProducer, type ProducerSource, type TransportProducer } from "./producer.ts";
import { extractTraceContext, type TraceContext } from "./traceparent.ts";
import type { ExtractOptions, JsonValue, RawMessage } from "./types.ts";
import { decodeKey, decodeValue, type ExtractedKey, type ExtractedValue } from "./value.ts";

/**
 * Everything the collector stores for one message: one events row, plus its dead letter if any.
 * For RabbitMQ: `topic` is the channel (exchange or queue), `partition` 0, `offset` the position.
 */
export interface ExtractedEvent {
  topic: string;
  partition: number;
  /** Decimal int64, as kafkajs gives it. */
  offset: string;
  /** The Kafka record timestamp (AMQP: the timestamp property); null when missing or unreadable. */
  timestamp: Date | null;
  key: ExtractedKey;
  value: ExtractedValue;
  /** Bytes on the wire of key + value (before truncation) + header keys and values. */
  sizeBytes: number;
  /** Every header, repeated keys kept, in order, binary values kept. */
  headers: HeaderEntry[];
  eventType: string | null;
  eventTypeSource: EventTypeSource | null;
  cloudEvent: CloudEventAttributes | null;
  /** null: "unknown producer". */
  producer: string | null;
  producerSource: ProducerSource | null;
  entityKeys: string[];
  /** Each entity key's kind, position for position (lib/flows.ts): the field that found it, or `key:<topic>`. */
  entityKinds: string[];
  entitySource: EntitySource | null;
  trace: TraceContext;
  topicClass: TopicClass;
  deadLetter: DeadLetter | null;
  priorFailure: DeadLetter | null;
  /** What could not be read as expected; see EXTRACTION_FLAGS. In that constant's order, no repeats. */
  flags: ExtractionFlag[];
}

export const DEFAULT_EXTRACT_OPTIONS: ExtractOptions = {
  entityFields: ["orderId"],
  dlqPatterns: [],
  maxValueBytes: 1024 * 1024,
};

/**
 * Reads one Kafka record per the conventions in CONVENTIONS.md. Pure and total: any bytes give a
 * result, nothing throws, and what cannot be read is kept raw and named in `flags`.
 */
export function extractEvent(message: RawMessage, options: ExtractOptions = DEFAULT_EXTRACT_OPTIONS): ExtractedEvent {
  const flags: ExtractionFlag[] = [];
  const headers = flattenHeaders(message.headers);
  const index = indexHeaders(headers);
  const timestamp = parseTimestamp(message.timestamp);
  if (timestamp === null) flags.push("timestamp-invalid");
  const derived = extractFromParts(
    {
      channel: message.topic,
      headers,
      index,
      key: toBuffer(message.key),
      keyNamesEntity: true,
      value: toBuffer(message.value),
      contentType: lastHeaderText(index, "content-type"),
      cloudEventPrefixes: KAFKA_CLOUDEVENT_PREFIXES,
      typeProperty: null,
      transportProducer: {},
    },
    options,
    flags,
  );
  return { topic: message.topic, partition: message.partition, offset: String(message.offset), timestamp, ...derived };
}

/**
 * A message of any transport, once the transport's own shape is read: what the shared rules need.
 * Kafka and RabbitMQ differ only in these inputs; every rule applied to them is the same.
 */
export interface MessageParts {
  /** The channel the message was read from (Kafka: the topic; RabbitMQ: the exchange or queue). */
  channel: string;
  /** Every header as stored, in order. */
  headers: HeaderEntry[];
  /** `headers` indexed, when the caller has built it already (it is built otherwise). */
  index?: HeaderIndex;
  /** Kafka: the record key; RabbitMQ: the routing key. */
  key: Buffer | null;
  /** Whether the key's text is an entity when the payload names none (a Kafka key is; a routing key is not). */
  keyNamesEntity: boolean;
  /** null: a Kafka tombstone. */
  value: Buffer | null;
  /** The value's content type (Kafka: the `content-type` header; AMQP: the content_type property). */
  contentType: string | null;
  /** The header prefixes of CloudEvents binary mode on this transport. */
  cloudEventPrefixes: readonly string[];
  /** The transport's own event type field (AMQP's `type` property), else null. */
  typeProperty: string | null;
  transportProducer: TransportProducer;
}

/** Everything extractFromParts derives: the ExtractedEvent but its position and time. */
export type DerivedFields = Omit<ExtractedEvent, "topic" | "partition" | "offset" | "timestamp">;

/**
 * The shared rules (CONVENTIONS.md) over one message of any transport. `flags` holds what the
 * caller already found (its timestamp, its headers); the result's flags include them, sorted.
 */
export function extractFromParts(parts: MessageParts, options: ExtractOptions, flags: ExtractionFlag[]): DerivedFields {
  const { headers, channel } = parts;
  const index = parts.index ?? indexHeaders(headers);
  if (headers.some((h) => h.value !== null && h.text === null && !KNOWN_BINARY_HEADERS.has(h.key.toLowerCase()))) {
    flags.push("header-binary");
  }

  const keyBytes = parts.key;
  const decodedKey = decodeKey(keyBytes, options.wireFormat);
  const key = decodedKey.key;
  addFlags(flags, decodedKey.flags);
  const contentType = parts.contentType;
  const decodedValue = decodeValue(parts.value, contentType, options.maxValueBytes, options.wireFormat);
  const value = decodedValue.value;
  addFlags(flags, decodedValue.flags);

  let cloudEvent: CloudEventAttributes | null = null;
  let structuredTraceparent: string | null = null;
  // The domain payload: what entity fields and a `type` field are looked up in.
  let payload: JsonValue | undefined = value.kind === "json" ? value.json : undefined;
  if (isStructuredContentType(contentType)) {
    if (value.kind === "json") {
      const read = readStructuredCloudEvent(value.json);
      addFlags(flags, read.flags);
      const structured = read.event;
      if (structured !== null) {
        cloudEvent = structured.attributes;
        structuredTraceparent = structured.traceparent;
        payload = structured.data;
      }
    }
  } else {
    const read = readBinaryCloudEvent(index, contentType, parts.cloudEventPrefixes);
    addFlags(flags, read.flags);
    cloudEvent = read.event;
  }

  const traceExtraction = extractTraceContext(index, structuredTraceparent, parts.cloudEventPrefixes);
  addFlags(flags, traceExtraction.flags);
  const trace = traceExtraction.trace;
  const { eventType, source: eventTypeSource } = resolveEventType(
    index,
    cloudEvent,
    payload,
    value.kind === "json" ? (value.schema?.typeName ?? null) : null,
    parts.typeProperty,
  );
  const { producer, source: producerSource } = resolveProducer(index, cloudEvent, parts.transportProducer);
  const keyText = parts.keyNamesEntity && key?.kind === "text" ? key.text : null;
  const entity = extractEntityKeys(payload, keyText, options.entityFields);
  addFlags(flags, entity.flags);
  const deadLetters = detectDeadLetter(channel, index, options.dlqPatterns);
  addFlags(flags, deadLetters.flags);

  return {
    key,
    value,
    sizeBytes: (keyBytes?.length ?? 0) + (value.kind === "tombstone" ? 0 : value.byteLength) + headersSize(headers),
    headers,
    eventType,
    eventTypeSource,
    cloudEvent,
    producer,
    producerSource,
    entityKeys: entity.keys,
    entityKinds: entity.kinds.map((kind) => kind ?? keyEntityKind(channel)),
    entitySource: entity.source,
    trace,
    topicClass: deadLetters.topicClass,
    deadLetter: deadLetters.deadLetter,
    priorFailure: deadLetters.priorFailure,
    flags: flags.length === 0 ? flags : sortFlags(flags),
  };
}

function addFlags(into: ExtractionFlag[], from: readonly ExtractionFlag[]): void {
  for (const flag of from) into.push(flag);
}

function parseTimestamp(raw: string): Date | null {
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) return null;
  const date = new Date(Number(text));
  return Number.isNaN(date.getTime()) ? null : date;
}

function headersSize(headers: readonly HeaderEntry[]): number {
  let size = 0;
  for (const header of headers) size += Buffer.byteLength(header.key, "utf8") + (header.value?.length ?? 0);
  return size;
}
