import { AMQP_ENVELOPE_HEADERS, AMQP_PROPERTY_HEADERS, type AmqpHeaderType } from "../../../lib/amqp-properties.ts";
import { decodeText } from "./bytes.ts";
import type { HeaderEntry } from "./headers.ts";
import type { AmqpMessage, JsonValue } from "./types.ts";

/**
 * Deepest nesting of AMQP tables and arrays rendered as JSON. Real headers nest a few levels
 * (`x-death`: an array of tables holding an array); deeper parts (or a cycle a caller built)
 * become a marker, so the walk is bounded whatever it is handed.
 */
export const MAX_AMQP_TABLE_DEPTH = 32;

const TOO_DEEP = "[nested too deep]";

export interface AmqpHeaderFlattening {
  headers: HeaderEntry[];
  /** Some value could not be rendered faithfully (flag `header-unreadable`). */
  unreadable: boolean;
}

/**
 * The stored header list of an AMQP message: the envelope (`amqp.exchange`, one
 * `amqp.routing_key` per routing key, `amqp.queue`, `amqp.redelivered`, `amqp.connection_name`),
 * then every basic property present as `amqp.<name>` (lib/amqp-properties.ts), then the
 * application's `headers` table under its own keys, in table order, then `amqp.header_types` when
 * some of them were not text. Values are text where AMQP
 * has a type for them: numbers in decimal, booleans as `true`/`false`, timestamps in ISO 8601,
 * decimals exactly, nested tables and arrays as JSON; byte arrays stay bytes. What type each
 * typed header had is kept in `amqp.header_types`, so that a replay can send it back as it was.
 */
export function flattenAmqpHeaders(message: AmqpMessage): AmqpHeaderFlattening {
  const into: AmqpHeaderFlattening = { headers: [], unreadable: false };
  add(into, AMQP_ENVELOPE_HEADERS.exchange, message.exchange ?? "");
  const routingKeys: unknown = message.routingKeys;
  for (const routingKey of Array.isArray(routingKeys) ? routingKeys : routingKeys == null ? [] : [routingKeys]) {
    add(into, AMQP_ENVELOPE_HEADERS.routingKey, routingKey);
  }
  if (message.queue != null) add(into, AMQP_ENVELOPE_HEADERS.queue, message.queue);
  if (message.redelivered != null) add(into, AMQP_ENVELOPE_HEADERS.redelivered, message.redelivered);
  if (message.connectionName != null) add(into, AMQP_ENVELOPE_HEADERS.connectionName, message.connectionName);

  const properties: unknown = message.properties;
  if (properties === null || typeof properties !== "object") return into;
  const props = properties as Record<string, unknown>;
  const table = Object.hasOwn(props, "headers") ? props.headers : undefined;
  const tableReadable = table != null && typeof table === "object" && !Array.isArray(table) && !isBytes(table);
  const entries = tableReadable ? Object.entries(table) : [];
  for (const [name, key] of Object.entries(AMQP_PROPERTY_HEADERS)) {
    const value = Object.hasOwn(props, name) ? props[name] : undefined;
    if (value != null) add(into, key, value);
  }
  if (table == null) return into;
  if (!tableReadable) {
    into.unreadable = true;
    return into;
  }
  for (const [key, value] of entries) add(into, key, value);
  const types = headerTypes(entries);
  if (types !== null) add(into, AMQP_ENVELOPE_HEADERS.headerTypes, JSON.stringify(types));
  return into;
}

/** The `amqp.header_types` of an application headers table: the headers stored as text that were not text; null when none. */
function headerTypes(entries: readonly [string, unknown][]): Record<string, AmqpHeaderType> | null {
  const types: Record<string, AmqpHeaderType> = Object.create(null) as Record<string, AmqpHeaderType>;
  let any = false;
  for (const [key, value] of entries) {
    let type: AmqpHeaderType | null;
    try {
      type = headerType(value);
    } catch {
      type = null;
    }
    if (type !== null) {
      types[key] = type;
      any = true;
    }
  }
  return any ? types : null;
}

function headerType(value: unknown): AmqpHeaderType | null {
  if (typeof value === "number" || typeof value === "bigint") return Number.isFinite(Number(value)) ? "number" : null;
  if (typeof value === "boolean") return "boolean";
  if (value instanceof Date) return "timestamp";
  if (value === null || typeof value !== "object" || isBytes(value)) return null;
  const tag = (value as Record<string, unknown>)["!"];
  if (typeof tag === "string" && Object.keys(value).length === 2 && Object.hasOwn(value, "value")) {
    // amqplib's {"!": type, value}: a decimal stays exact text; the others are what their value is.
    if (tag === "timestamp") return "timestamp";
    if (tag === "decimal") return null;
    return headerType((value as Record<string, unknown>).value);
  }
  return "json";
}

function add(into: AmqpHeaderFlattening, key: string, raw: unknown): void {
  let rendered: Rendered;
  try {
    rendered = renderField(raw);
  } catch {
    // A getter or proxy that throws: the header is kept, its value is lost and flagged.
    rendered = { value: null, unreadable: true };
  }
  if (rendered.unreadable) into.unreadable = true;
  const value = rendered.value;
  into.headers.push({ key, value, text: value === null ? null : decodeText(value) });
}

interface Rendered {
  value: Buffer | null;
  unreadable: boolean;
}

/** One header value as stored bytes: text for every typed value, bytes for a byte array. */
function renderField(raw: unknown): Rendered {
  if (raw === null || raw === undefined) return { value: null, unreadable: false };
  if (isBytes(raw)) return { value: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), unreadable: false };
  if (typeof raw === "string") {
    // A lone surrogate cannot be encoded: UTF-8 gets U+FFFD in its place.
    return { value: Buffer.from(raw, "utf8"), unreadable: !raw.isWellFormed() };
  }
  const state = { unreadable: false };
  const json = toJson(raw, 0, state);
  const text = typeof json === "string" ? json : JSON.stringify(json);
  return { value: Buffer.from(text, "utf8"), unreadable: state.unreadable };
}

/**
 * An AMQP field value as JSON, readable: timestamps as ISO 8601 text, decimals as exact decimal
 * text, bigints as numbers when exact (else decimal text), non-finite numbers as text, byte arrays
 * as their text when UTF-8 without NUL, else `{"!": "bytes", "base64": …}` (amqplib's own
 * `{"!": type}` notation). Objects are built without a prototype, so a `__proto__` key is a key.
 */
function toJson(value: unknown, depth: number, state: { unreadable: boolean }): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "string":
      if (!value.isWellFormed()) state.unreadable = true;
      return value;
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "bigint":
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
    case "object":
      break;
    default:
      state.unreadable = true;
      return `[${typeof value}]`;
  }
  if (isBytes(value)) {
    const text = decodeText(value);
    return text ?? { "!": "bytes", base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (value instanceof Date) return isoOrMarker(value.getTime(), state);
  if (depth >= MAX_AMQP_TABLE_DEPTH) {
    state.unreadable = true;
    return TOO_DEEP;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => toJson(item, depth + 1, state));
  const table = value as Record<string, unknown>;
  const typed = typedValue(table, depth, state);
  if (typed !== undefined) return typed;
  const out: { [key: string]: JsonValue } = Object.create(null) as { [key: string]: JsonValue };
  for (const [key, item] of Object.entries(table)) out[key] = toJson(item, depth + 1, state);
  return out;
}

/** amqplib's `{"!": type, value}` notation; undefined when the table is not in it. */
function typedValue(table: Record<string, unknown>, depth: number, state: { unreadable: boolean }): JsonValue | undefined {
  const keys = Object.keys(table);
  if (keys.length !== 2 || typeof table["!"] !== "string" || !Object.hasOwn(table, "value")) return undefined;
  const inner = table.value;
  if (table["!"] === "timestamp") {
    if (typeof inner === "number") return isoOrMarker(inner * 1000, state);
    if (typeof inner === "bigint") return isoOrMarker(Number(inner) * 1000, state);
  }
  if (table["!"] === "decimal") {
    const text = decimalText(inner);
    if (text !== null) return text;
  }
  // Any other type tag (`int64`, `float`, …) says how to encode a value; the value is what it means.
  return toJson(inner, depth + 1, state);
}

/** AMQP's decimal: `digits` scaled down by `places` decimal places, written exactly. */
function decimalText(value: unknown): string | null {
  if (value === null || typeof value !== "object") return null;
  const { places, digits } = value as { places?: unknown; digits?: unknown };
  if (typeof places !== "number" || !Number.isInteger(places) || places < 0 || places > 255) return null;
  if (typeof digits !== "number" || !Number.isSafeInteger(digits)) return null;
  const sign = digits < 0 ? "-" : "";
  const text = String(Math.abs(digits)).padStart(places + 1, "0");
  return places === 0 ? sign + text : `${sign}${text.slice(0, -places)}.${text.slice(-places)}`;
}

function isoOrMarker(ms: number, state: { unreadable: boolean }): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) {
    state.unreadable = true;
    return "[invalid date]";
  }
  return date.toISOString();
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/**
 * AMQP's timestamp property (seconds since the epoch) as a Date. Absent: null, and nothing wrong.
 * Present but not a usable time (negative, not a number, beyond what a Date holds): null, invalid.
 */
export function readAmqpTimestamp(raw: unknown): { timestamp: Date | null; invalid: boolean } {
  if (raw === null || raw === undefined) return { timestamp: null, invalid: false };
  let seconds: number = Number.NaN;
  if (typeof raw === "number") seconds = raw;
  else if (typeof raw === "bigint") seconds = Number(raw);
  else if (raw instanceof Date) seconds = raw.getTime() / 1000;
  else if (typeof raw === "object" && (raw as Record<string, unknown>)["!"] === "timestamp") {
    const inner = (raw as Record<string, unknown>).value;
    if (typeof inner === "number") seconds = inner;
  }
  const date = new Date(seconds * 1000);
  if (!(seconds >= 0) || Number.isNaN(date.getTime())) return { timestamp: null, invalid: true };
  return { timestamp: date, invalid: false };
}
