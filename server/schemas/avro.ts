import avro from "avsc";
import type { JsonValue } from "../../lib/json-value.ts";
import { mismatch, SchemaMismatch } from "./mismatch.ts";

/**
 * Avro values read with Apache Avro's JavaScript implementation (avsc), against the writer's schema
 * as the registry holds it. The result is plain JSON, what every other JSON value feeds (display,
 * entities, search, masking): the logical types a person reads as such become text — date
 * ("2026-12-05"), timestamp-millis and -micros (ISO 8601, UTC), decimal (exact, "12.50"), uuid —
 * and bytes and fixed become base64. Writing (a replay with an edited value) takes that JSON back:
 * the same compile options, so unions are shown and taken the same way, and each logical type
 * parses its text strictly (a decimal that would lose digits is refused, never rounded).
 */

const MS_PER_DAY = 86_400_000;

/**
 * The logical types turn displayed text back into their underlying value with `toUnderlying`,
 * which throws a reason (for the user) when the text does not fit; avsc's `_toValue` uses it too,
 * and answers undefined for a misfit, which avsc reports as invalid.
 */
interface TextLogicalType {
  /** What a fitting value looks like, said to the user. */
  readonly expected: string;
  toUnderlying(text: unknown): unknown;
}

function isTextLogicalType(type: avro.Type): type is avro.Type & TextLogicalType {
  return type instanceof avro.types.LogicalType && typeof (type as Partial<TextLogicalType>).toUnderlying === "function";
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** ISO 8601 with a zone, as toISOString writes it (the zone may also be an offset). */
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of an ISO 8601 timestamp, and the sub-millisecond digits beyond the third. */
function parseTimestamp(text: unknown, maxFraction: number): { ms: number; extra: string } | null {
  if (typeof text !== "string") return null;
  const match = TIMESTAMP.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? "";
  if (fraction.length > maxFraction) return null;
  const ms = Date.parse(`${match[1]}.${fraction.slice(0, 3).padEnd(3, "0")}${match[3]}`);
  if (!Number.isFinite(ms)) return null;
  return { ms, extra: fraction.slice(3).padEnd(maxFraction - 3, "0") };
}

class DateType extends avro.types.LogicalType implements TextLogicalType {
  readonly expected = "a date (YYYY-MM-DD)";
  protected override _fromValue(days: number): string {
    return new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
  }
  toUnderlying(text: unknown): number {
    const match = typeof text === "string" ? DATE.exec(text) : null;
    const ms = match ? Date.parse(`${text as string}T00:00:00Z`) : NaN;
    // Date.parse accepts 2026-02-30 (as March 2nd): the date must come back as it was written.
    if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== text) throw new Error(this.expected);
    return ms / MS_PER_DAY;
  }
  protected override _toValue(text: unknown): number | undefined {
    return attempt(() => this.toUnderlying(text));
  }
}

class TimestampMillisType extends avro.types.LogicalType implements TextLogicalType {
  readonly expected = "a timestamp in ISO 8601 with a zone and at most millisecond precision (e.g. 2026-12-05T14:03:07.250Z)";
  protected override _fromValue(ms: number): string {
    return new Date(ms).toISOString();
  }
  toUnderlying(text: unknown): number {
    const parsed = parseTimestamp(text, 3);
    if (!parsed) throw new Error(this.expected);
    return parsed.ms;
  }
  protected override _toValue(text: unknown): number | undefined {
    return attempt(() => this.toUnderlying(text));
  }
}

class TimestampMicrosType extends avro.types.LogicalType implements TextLogicalType {
  readonly expected = "a timestamp in ISO 8601 with a zone and at most microsecond precision (e.g. 2026-12-05T14:03:07.250125Z)";
  protected override _fromValue(micros: number): string {
    const ms = Math.floor(micros / 1000);
    const rest = String(((micros % 1000) + 1000) % 1000).padStart(3, "0");
    return new Date(ms).toISOString().replace("Z", `${rest}Z`);
  }
  toUnderlying(text: unknown): number {
    const parsed = parseTimestamp(text, 6);
    if (!parsed) throw new Error(this.expected);
    const micros = parsed.ms * 1000 + Number(parsed.extra);
    if (!Number.isSafeInteger(micros)) throw new Error(this.expected);
    return micros;
  }
  protected override _toValue(text: unknown): number | undefined {
    return attempt(() => this.toUnderlying(text));
  }
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A uuid is its text; writing one checks that the text is a uuid. */
class UuidType extends avro.types.LogicalType implements TextLogicalType {
  readonly expected = "a UUID (8-4-4-4-12 hexadecimal digits)";
  protected override _fromValue(text: string): string {
    return text;
  }
  toUnderlying(text: unknown): string {
    if (typeof text !== "string" || !UUID.test(text)) throw new Error(this.expected);
    return text;
  }
  protected override _toValue(text: unknown): string | undefined {
    return attempt(() => this.toUnderlying(text));
  }
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * Two's-complement big-endian bytes of the unscaled value, scaled by `scale` digits: read as exact
 * text ("12.50"), written from text (or a JSON number) with at most `scale` digits after the point
 * and `precision` digits in all, in the fewest bytes (bytes) or sign-extended to the size (fixed).
 */
class DecimalType extends avro.types.LogicalType implements TextLogicalType {
  private readonly scale: number;
  private readonly precision: number | null;
  /** The fixed size, when the underlying type is fixed. */
  private readonly size: number | null;
  constructor(schema: avro.Schema, options?: unknown) {
    super(schema, options);
    const attributes = schema as { scale?: unknown; precision?: unknown; size?: unknown; type?: unknown };
    this.scale = Number(attributes.scale ?? 0) || 0;
    const precision = Number(attributes.precision);
    this.precision = Number.isInteger(precision) && precision > 0 ? precision : null;
    this.size = attributes.type === "fixed" && typeof attributes.size === "number" ? attributes.size : null;
  }
  get expected(): string {
    const digits = this.precision === null ? "" : ` of at most ${this.precision} digits`;
    return `a decimal${digits} with at most ${this.scale} digit${this.scale === 1 ? "" : "s"} after the point`;
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
  toUnderlying(value: unknown): Buffer {
    const text = typeof value === "number" && Number.isFinite(value) ? String(value) : value;
    const match = typeof text === "string" ? DECIMAL.exec(text) : null;
    if (!match) throw new Error(this.expected);
    const [, sign, whole, fraction = ""] = match;
    // Trailing zeros beyond the scale change nothing ("12.500" with scale 2 is 12.50).
    const significant = fraction.replace(/0+$/, "");
    if (significant.length > this.scale) throw new Error(this.expected);
    const unscaled = BigInt(`${whole}${fraction.slice(0, this.scale).padEnd(this.scale, "0")}`);
    if (this.precision !== null && unscaled.toString().length > this.precision) throw new Error(this.expected);
    const n = sign === "-" ? -unscaled : unscaled;
    // The fewest bytes whose sign bit is n's sign.
    let length = 1;
    while (n < -(1n << BigInt(length * 8 - 1)) || n >= 1n << BigInt(length * 8 - 1)) length++;
    if (this.size !== null && length > this.size) throw new Error(`${this.expected} (${this.size} bytes)`);
    const size = this.size ?? length;
    const bytes = Buffer.alloc(size);
    let rest = BigInt.asUintN(size * 8, n);
    for (let i = size - 1; i >= 0; i--) {
      bytes[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
    return bytes;
  }
  protected override _toValue(value: unknown): Buffer | undefined {
    return attempt(() => this.toUnderlying(value));
  }
}

function attempt<T>(convert: () => T): T | undefined {
  try {
    return convert();
  } catch {
    return undefined;
  }
}

const LOGICAL_TYPES = {
  date: DateType,
  "timestamp-millis": TimestampMillisType,
  "timestamp-micros": TimestampMicrosType,
  decimal: DecimalType,
  uuid: UuidType,
};

const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

function isInt64(value: unknown): value is number | bigint {
  if (typeof value === "number") return Number.isSafeInteger(value);
  return typeof value === "bigint" && value >= INT64.min && value <= INT64.max;
}

/** A long as a number where that is exact, else as a bigint. */
function exactLong(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/**
 * Avro longs, every one of them: a number where it is exact (up to 2^53 − 1 either way), else a
 * bigint, which the JSON shows as its decimal text. avsc's own long refuses the others ("potential
 * precision loss"), which would leave such a value undecoded.
 */
const EXACT_LONG = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => exactLong(buffer.readBigInt64LE()),
  toBuffer: (value: number | bigint) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (value: unknown) => (typeof value === "string" && /^-?\d+$/.test(value) ? exactLong(BigInt(value)) : value),
  toJSON: (value: number | bigint) => (typeof value === "bigint" ? value.toString() : value),
  isValid: isInt64,
  compare: (a: number | bigint, b: number | bigint) => (BigInt(a) === BigInt(b) ? 0 : BigInt(a) < BigInt(b) ? -1 : 1),
});

/** One compile for reading and writing: the same options make the same JSON shapes both ways. */
function compileAvro(schemaText: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema, {
    logicalTypes: LOGICAL_TYPES,
    wrapUnions: "auto",
    registry: { long: EXACT_LONG },
  });
}

export interface AvroReader {
  /** The record's full name (namespace.name) when the schema is a named type; else null. */
  typeName: string | null;
  read(payload: Buffer): JsonValue;
}

/** Compiles a writer's schema (the registry's text). Throws when it is not a valid Avro schema. */
export function avroReader(schemaText: string): AvroReader {
  const type = compileAvro(schemaText);
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

export interface AvroWriter {
  /**
   * The Avro binary of `json`, a value in the shape the reader shows (logical types as text, bytes
   * and fixed as base64, unions as avsc's "auto" wrapping shows them). Throws SchemaMismatch,
   * naming the field, when it does not fit the schema.
   */
  write(json: unknown): Buffer;
}

/** Compiles a writer's schema for writing. Throws when it is not a valid Avro schema. */
export function avroWriter(schemaText: string): AvroWriter {
  const type = compileAvro(schemaText);
  return {
    write(json) {
      const value = fromJson(type, json, "");
      // A last check by avsc itself (its rules are the encoder's): the first misfit it finds, named.
      let misfit: SchemaMismatch | null = null;
      const valid = type.isValid(value, {
        errorHook: (path: string[], got: unknown, wrong: avro.Type) => {
          misfit ??= mismatch(path.join("."), isTextLogicalType(wrong) ? wrong.expected : `a value of type ${wrong.typeName}`, got);
        },
      });
      if (!valid) throw misfit ?? mismatch("", "a value of this schema", json);
      return type.toBuffer(value);
    },
  };
}

function child(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
/** How non-finite floats are shown (toJson writes String(value)). */
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** The value avsc writes for `json` as `type`: the reader's JSON turned back, checked field by field. */
function fromJson(type: avro.Type, json: unknown, path: string): unknown {
  if (isTextLogicalType(type)) {
    try {
      type.toUnderlying(json);
    } catch (error) {
      // toUnderlying's reason: what a fitting value looks like, and any bound it broke.
      throw mismatch(path, error instanceof Error ? error.message : type.expected, json);
    }
    // avsc converts it again through _toValue when it writes.
    return json;
  }
  if (type instanceof avro.types.LogicalType) return fromJson(type.underlyingType, json, path);
  switch (type.typeName) {
    case "null":
      if (json !== null) throw mismatch(path, "null", json);
      return null;
    case "boolean":
      if (typeof json !== "boolean") throw mismatch(path, "true or false", json);
      return json;
    case "int":
      if (!Number.isInteger(json) || (json as number) < INT32.min || (json as number) > INT32.max) {
        throw mismatch(path, "a whole number that fits in 32 bits", json);
      }
      return json;
    case "long":
    case "abstract:long": {
      // Longs are read as numbers where exact, else as their decimal text (EXACT_LONG); both are taken.
      const n = typeof json === "string" && /^-?\d+$/.test(json) ? exactLong(BigInt(json)) : json;
      if (!isInt64(n)) throw mismatch(path, "a whole number that fits in 64 bits (as text beyond 2^53)", json);
      return n;
    }
    case "float":
    case "double": {
      const n = typeof json === "string" && json in NON_FINITE ? NON_FINITE[json] : json;
      if (typeof n !== "number") throw mismatch(path, "a number", json);
      return n;
    }
    case "string":
      if (typeof json !== "string") throw mismatch(path, "a string", json);
      return json;
    case "bytes":
    case "fixed": {
      const size = type.typeName === "fixed" ? (type as avro.types.FixedType).size : null;
      const expected = size === null ? "bytes in base64" : `${size} bytes in base64`;
      if (typeof json !== "string" || !BASE64.test(json)) throw mismatch(path, expected, json);
      const bytes = Buffer.from(json, "base64");
      if (size !== null && bytes.length !== size) throw mismatch(path, expected, json);
      return bytes;
    }
    case "enum": {
      const symbols = (type as avro.types.EnumType).symbols;
      if (typeof json !== "string" || !symbols.includes(json)) throw mismatch(path, `one of ${symbols.join(", ")}`, json);
      return json;
    }
    case "array": {
      if (!Array.isArray(json)) throw mismatch(path, "a list", json);
      const items = (type as avro.types.ArrayType).itemsType;
      return json.map((item, i) => fromJson(items, item, `${path}[${i}]`));
    }
    case "map": {
      if (!isPlainObject(json)) throw mismatch(path, "an object (a map)", json);
      const values = (type as avro.types.MapType).valuesType as avro.Type;
      return Object.fromEntries(Object.entries(json).map(([key, item]) => [key, fromJson(values, item, child(path, key))]));
    }
    case "record":
    case "error": {
      const record = type as avro.types.RecordType;
      if (!isPlainObject(json)) throw mismatch(path, record.name ? `an object (record ${record.name})` : "an object (a record)", json);
      const names = new Set(record.fields.map((field) => field.name));
      for (const key of Object.keys(json)) {
        if (!names.has(key)) throw mismatch(child(path, key), `no such field: ${record.name ?? "the record"} has ${[...names].join(", ")}`, json[key]);
      }
      const out: Record<string, unknown> = {};
      for (const field of record.fields) {
        if (field.name in json) out[field.name] = fromJson(field.type, json[field.name], child(path, field.name));
        else if (field.defaultValue() !== undefined) out[field.name] = field.defaultValue();
        else throw mismatch(child(path, field.name), `a value (the field is required and has no default)`, undefined);
      }
      return out;
    }
    case "union:unwrapped": {
      const branches = (type as avro.types.UnwrappedUnionType).types;
      // The common optional field, ["null", T]: T's own words for a misfit (e.g. a decimal's scale).
      const others = branches.filter((branch) => branch.typeName !== "null");
      if (json !== null && others.length === 1) return fromJson(others[0]!, json, path);
      let first: SchemaMismatch | null = null;
      for (const branch of branches) {
        try {
          return fromJson(branch, json, path);
        } catch (error) {
          if (!(error instanceof SchemaMismatch)) throw error;
          // A misfit inside a record branch names the deeper field: keep it over "one of …".
          if (error.path !== path) first ??= error;
        }
      }
      throw first ?? mismatch(path, `one of ${branches.map(branchLabel).join(", ")}`, json);
    }
    case "union:wrapped": {
      const branches = (type as avro.types.WrappedUnionType).types;
      const labels = branches.map(branchLabel).join(", ");
      if (json === null && branches.some((branch) => branch.typeName === "null")) return null;
      if (!isPlainObject(json) || Object.keys(json).length !== 1) {
        throw mismatch(path, `{"<branch>": value} with one branch of ${labels}`, json);
      }
      const [name, inner] = Object.entries(json)[0]!;
      const branch = branches.find((candidate) => candidate.branchName === name);
      if (!branch) throw mismatch(path, `{"<branch>": value} with one branch of ${labels}`, json);
      return { [name]: fromJson(branch, inner, child(path, name)) };
    }
    default:
      throw mismatch(path, `a value of Avro type ${type.typeName}, which Eventscope does not write`, json);
  }
}

function branchLabel(type: avro.Type): string {
  return type.branchName ?? type.typeName;
}
