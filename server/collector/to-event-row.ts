import type { KafkaMessage } from "kafkajs";
import type { EventHeaderInput, EventRow } from "../db/index.ts";
import type { UndecodableBatch } from "../kafka/index.ts";
import {
  extractAmqpEvent,
  extractEvent,
  type AmqpMessage,
  type ExtractOptions,
  type RawHeaderValue,
} from "./extract/index.ts";

/**
 * One kafkajs message → the row the database stores. Never throws: extraction is total by design,
 * and if it throws all the same (a bug, or a message kafkajs decoded into something unexpected),
 * the message is stored raw and flagged instead of stopping the collector or being dropped.
 */

/** Flags the collector adds itself, next to the extraction flags (EXTRACTION_FLAGS). */
export const COLLECTOR_FLAGS = {
  "extraction-failed":
    "Extraction threw on this message (a bug in Eventscope): it was stored raw (key and value as bytes, headers as received) without derived fields.",
  "batch-undecodable":
    "A record batch that could not be decoded (unknown codec, corrupt compressed data, a record the decoder cannot read), after the configured attempts: this one row stands for its whole offset range, with the error and the batch's raw record bytes as the value.",
} as const;

/** `sourceId`: the source (sources.id) the message was read from, part of the row's identity. */
export function toEventRow(sourceId: number, topic: string, partition: number, message: KafkaMessage, options: ExtractOptions): EventRow {
  try {
    const extracted = extractEvent(
      {
        topic,
        partition,
        offset: message.offset,
        timestamp: message.timestamp,
        key: message.key ?? null,
        value: message.value ?? null,
        headers: (message.headers ?? {}) as Record<string, RawHeaderValue | RawHeaderValue[]>,
      },
      options,
    );
    return { sourceId, ...extracted };
  } catch {
    return rawEventRow(sourceId, topic, partition, message, options.maxValueBytes);
  }
}

/**
 * One RabbitMQ message → the row the database stores (server/db/README.md, "Identity"): `channel`
 * is the exchange or queue it was read from, partition 0, `position` its stream offset. Total like
 * toEventRow: if extraction throws all the same, the message is stored raw (routing key as the
 * key, body as the value, its headers table's strings and byte arrays) and flagged.
 */
export function toEventRowFromAmqp(
  sourceId: number,
  channel: string,
  position: string | number | bigint,
  message: AmqpMessage,
  options: ExtractOptions,
): EventRow {
  try {
    return { sourceId, ...extractAmqpEvent(channel, position, message, options) };
  } catch {
    return rawEventRow(sourceId, channel, 0, rawPartsOfAmqp(position, message), options.maxValueBytes);
  }
}

/** What rawEventRow reads of a message; each step guarded, since the message just broke extraction. */
function rawPartsOfAmqp(position: string | number | bigint, message: AmqpMessage): RawParts {
  const read = <T>(get: () => T, fallback: T): T => {
    try {
      return get();
    } catch {
      return fallback;
    }
  };
  const seconds = read(() => message.properties.timestamp, null);
  return {
    offset: read(() => String(position), "0"),
    // Without a timestamp property the text is not a number, which rawEventRow stores as null.
    timestamp: typeof seconds === "number" ? String(seconds * 1000) : "none",
    key: read(() => message.routingKeys[0] ?? null, null) as Buffer | string | null,
    value: read(() => message.body, null) as Buffer | null,
    headers: read(() => message.properties.headers ?? {}, {}) as RawParts["headers"],
  };
}

/** The fields extraction derives, left empty: for rows stored without interpreting the record. */
const NOTHING_DERIVED = {
  eventType: null,
  producer: null,
  entityKeys: [],
  trace: { traceId: null, parentSpanId: null },
  deadLetter: null,
} as const satisfies Pick<EventRow, "eventType" | "producer" | "entityKeys" | "trace" | "deadLetter">;

function asBuffer(value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  return null;
}

/** What a raw row is made of: the parts of a message every transport has (a Kafka message's shape). */
type RawParts = Pick<KafkaMessage, "offset" | "timestamp" | "headers"> & {
  key: Buffer | string | null | undefined;
  value: Buffer | string | null | undefined;
};

/** The message with nothing interpreted: what is stored when extraction fails. */
export function rawEventRow(sourceId: number, topic: string, partition: number, message: RawParts, maxValueBytes: number): EventRow {
  const flags: string[] = ["extraction-failed"];
  const headers: EventHeaderInput[] = [];
  try {
    for (const [key, raw] of Object.entries(message.headers ?? {})) {
      for (const one of Array.isArray(raw) ? raw : [raw]) {
        // Header text is left to ingest's base64 form: nothing here is trusted to be UTF-8.
        headers.push({ key, value: asBuffer(one), text: null });
      }
    }
  } catch {
    // Headers unreadable: the row keeps key and value, and the flag says something was lost.
  }
  const key = asBuffer(message.key);
  const value = asBuffer(message.value);
  const truncated = value !== null && value.length > maxValueBytes;
  if (truncated) flags.push("value-truncated");
  const timestampMs = Number(message.timestamp);
  let size = (key?.length ?? 0) + (value?.length ?? 0);
  for (const header of headers) size += Buffer.byteLength(header.key) + (header.value?.length ?? 0);
  return {
    sourceId,
    topic,
    partition,
    offset: String(message.offset),
    timestamp: Number.isFinite(timestampMs) && timestampMs >= 0 ? new Date(timestampMs) : null,
    key: key === null ? null : { kind: "bytes", bytes: key },
    value:
      value === null
        ? { kind: "tombstone" }
        : { kind: "bytes", raw: truncated ? value.subarray(0, maxValueBytes) : value, text: null, truncated },
    sizeBytes: size,
    headers,
    ...NOTHING_DERIVED,
    flags,
  };
}

/**
 * The one row that stands for a record batch the collector gave up decoding: at the range's first
 * offset, with the range, codec, error and attempts in `undecodable`, and the batch's raw record
 * bytes (compressed, as received) as the value, cut to the size cap like any value.
 */
export function undecodableRangeRow(
  sourceId: number,
  topic: string,
  partition: number,
  batch: UndecodableBatch,
  options: { fromOffset: string; attempts: number; since: Date; maxValueBytes: number },
): EventRow {
  const truncated = batch.raw.length > options.maxValueBytes;
  const flags = ["batch-undecodable"];
  if (truncated) flags.push("value-truncated");
  return {
    sourceId,
    topic,
    partition,
    offset: options.fromOffset,
    timestamp: Number.isFinite(batch.firstTimestamp) && batch.firstTimestamp >= 0 ? new Date(batch.firstTimestamp) : null,
    key: null,
    value: { kind: "bytes", raw: truncated ? batch.raw.subarray(0, options.maxValueBytes) : batch.raw, text: null, truncated },
    sizeBytes: batch.raw.length,
    headers: [],
    ...NOTHING_DERIVED,
    flags,
    undecodable: {
      toOffset: batch.lastOffset,
      recordCount: batch.recordCount,
      codec: batch.codec,
      error: batch.error,
      attempts: options.attempts,
      firstFailedAt: options.since,
    },
  };
}
