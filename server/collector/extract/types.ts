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

