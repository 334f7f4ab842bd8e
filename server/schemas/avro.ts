import avro from "avsc";
import type { JsonValue } from "../../lib/json-value.ts";

/**
 * Avro values read with Apache Avro's JavaScript implementation (avsc), against the writer's schema
 * as the registry holds it. The result is plain JSON, what every other JSON value feeds (display,
 * entities, search, masking): the logical types a person reads as such become text — date
 * ("2026-12-05"), timestamp-millis and -micros (ISO 8601, UTC), decimal (exact, "12.50"), uuid —
 * and bytes and fixed become base64.
 */

const MS_PER_DAY = 86_400_000;

class DateType extends avro.types.LogicalType {
  protected override _fromValue(days: number): string {
    return new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
  }
  protected override _toValue(text: string): number {
    return Math.round(Date.parse(`${text}T00:00:00Z`) / MS_PER_DAY);
  }
}

class TimestampMillisType extends avro.types.LogicalType {
  protected override _fromValue(ms: number): string {
    return new Date(ms).toISOString();
  }
  protected override _toValue(text: string): number {
    return Date.parse(text);
  }
}

class TimestampMicrosType extends avro.types.LogicalType {
  protected override _fromValue(micros: number): string {
    const ms = Math.floor(micros / 1000);
    const rest = String(Math.abs(micros % 1000)).padStart(3, "0");
    return new Date(ms).toISOString().replace("Z", `${rest}Z`);
  }
  protected override _toValue(text: string): number {
    const match = /\.(\d{3})(\d{3})Z$/.exec(text);
    return Date.parse(text) * 1000 + (match ? Number(match[2]) : 0);
  }
}

/** Two's-complement big-endian bytes scaled by `scale` digits: exact, as text. */
class DecimalType extends avro.types.LogicalType {
  private readonly scale: number;
  constructor(schema: avro.Schema, options?: unknown) {
    super(schema, options);
    this.scale = Number((schema as { scale?: unknown }).scale ?? 0) || 0;
  }
  protected override _fromValue(bytes: Buffer): string {
    let n = 0n;
    for (const byte of bytes) n = (n << 8n) | BigInt(byte);
    if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) n -= 1n << BigInt(bytes.length * 8);
    const negative = n < 0n;
    const digits = (negative ? -n : n).toString().padStart(this.scale + 1, "0");
    const whole = this.scale === 0 ? digits : `${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}`;
    return negative ? `-${whole}` : whole;
  }
  protected override _toValue(): Buffer {
    // Eventscope reads decimals; writing them (a replay with an edited value) is not supported yet.
    throw new Error("writing Avro decimals is not supported");
  }

}

const LOGICAL_TYPES = {
  date: DateType,
  "timestamp-millis": TimestampMillisType,
  "timestamp-micros": TimestampMicrosType,
  decimal: DecimalType,
};

export interface AvroReader {
  /** The record's full name (namespace.name) when the schema is a named type; else null. */
  typeName: string | null;
  read(payload: Buffer): JsonValue;
}

/** Compiles a writer's schema (the registry's text). Throws when it is not a valid Avro schema. */
export function avroReader(schemaText: string): AvroReader {
  const type = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema, { logicalTypes: LOGICAL_TYPES, wrapUnions: "auto" });
  return {
    typeName: type.name ?? null,
    read: (payload) => toJson(type.fromBuffer(payload)),
  };
}

/** Plain JSON of what avsc returns: records are class instances, bytes are Buffers, longs may be numbers. */
function toJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]));
  const out: Record<string, JsonValue> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) out[key] = toJson(field);
  return out;
}
