import { keyEntityKind } from "../../../lib/flows.ts";
import { toBuffer } from "./bytes.ts";
import {
  isStructuredContentType,
  readBinaryCloudEvent,
  readStructuredCloudEvent,
  type CloudEventAttributes,
} from "./cloudevents.ts";
import type { TopicClass } from "./classify-topic.ts";
import { detectDeadLetter, KNOWN_BINARY_HEADERS, type DeadLetter } from "./dead-letter.ts";
import { extractEntityKeys, type EntitySource } from "./entity.ts";
import { resolveEventType, type EventTypeSource } from "./event-type.ts";
import { sortFlags, type ExtractionFlag } from "./flags.ts";
import { flattenHeaders, indexHeaders, lastHeaderText, type HeaderEntry } from "./headers.ts";
import { resolveProducer, type ProducerSource } from "./producer.ts";
import { extractTraceContext, type TraceContext } from "./traceparent.ts";
import type { ExtractOptions, JsonValue, RawMessage } from "./types.ts";
import { decodeKey, decodeValue, type ExtractedKey, type ExtractedValue } from "./value.ts";

/** Everything the collector stores for one Kafka record: one events row, plus its dead letter if any. */
export interface ExtractedEvent {
  topic: string;
  partition: number;
  /** Decimal int64, as kafkajs gives it. */
  offset: string;
  /** The Kafka record timestamp; null (and flagged) when missing or unreadable. */
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
  if (headers.some((h) => h.value !== null && h.text === null && !KNOWN_BINARY_HEADERS.has(h.key.toLowerCase()))) {
    flags.push("header-binary");
  }

  const timestamp = parseTimestamp(message.timestamp);
  if (timestamp === null) flags.push("timestamp-invalid");

  const keyBytes = toBuffer(message.key);
  const decodedKey = decodeKey(keyBytes, options.wireFormat);
  const key = decodedKey.key;
  addFlags(flags, decodedKey.flags);
  const contentType = lastHeaderText(index, "content-type");
  const decodedValue = decodeValue(toBuffer(message.value), contentType, options.maxValueBytes, options.wireFormat);
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
    const read = readBinaryCloudEvent(index);
    addFlags(flags, read.flags);
    cloudEvent = read.event;
  }

  const traceExtraction = extractTraceContext(index, structuredTraceparent);
  addFlags(flags, traceExtraction.flags);
  const trace = traceExtraction.trace;
  const { eventType, source: eventTypeSource } = resolveEventType(
    index,
    cloudEvent,
    payload,
    value.kind === "json" ? (value.schema?.typeName ?? null) : null,
  );
  const { producer, source: producerSource } = resolveProducer(index, cloudEvent);
  const entity = extractEntityKeys(payload, key?.kind === "text" ? key.text : null, options.entityFields);
  addFlags(flags, entity.flags);
  const deadLetters = detectDeadLetter(message.topic, index, options.dlqPatterns);
  addFlags(flags, deadLetters.flags);

  return {
    topic: message.topic,
    partition: message.partition,
    offset: String(message.offset),
    timestamp,
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
    entityKinds: entity.kinds.map((kind) => kind ?? keyEntityKind(message.topic)),
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
