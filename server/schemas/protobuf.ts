import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import type { JsonValue } from "../../lib/json-value.ts";
import { mismatch, SchemaMismatch } from "./mismatch.ts";

/**
 * Protobuf values in the Schema Registry wire format, read with protobufjs against the writer's
 * .proto (and the files it imports, which the registry serves as references; Google's well-known
 * types are built in). After the schema id comes the message-index path that names the message in
 * the file: a zig-zag varint count, then that many zig-zag varint indexes (a lone 0 stands for [0],
 * the first message) — index i picks the i-th message declared at that level, the first among the
 * file's top-level messages, the next among that message's nested ones. Then the message bytes.
 * The result is plain JSON as protobuf's JSON mapping writes it: enums by name, 64-bit integers and
 * bytes as text (decimal, base64), absent fields with their defaults.
 */

export interface ProtobufReader {
  /** Reads the index path, then the message it names; returns the JSON and the message's full name. */
  read(payload: Buffer): { json: JsonValue; typeName: string };
}

/** Reads one zig-zag varint at `at`: the value and the offset after it. */
function readZigZag(buffer: Buffer, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (let i = at; i < buffer.length && shift < 35; i++, shift += 7) {
    const byte = buffer[i]!;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [(result >>> 1) ^ -(result & 1), i + 1];
  }
  throw new Error("the message-index path is cut short or too long");
}

/** The message-index path and where the message bytes start. */
export function readMessageIndexes(payload: Buffer): { indexes: number[]; offset: number } {
  const [count, afterCount] = readZigZag(payload, 0);
  if (count === 0) return { indexes: [0], offset: afterCount };
  if (count < 0 || count > 100) throw new Error(`a message-index path of ${count} entries`);
  const indexes: number[] = [];
  let at = afterCount;
  for (let i = 0; i < count; i++) {
    const [index, next] = readZigZag(payload, at);
    indexes.push(index);
    at = next;
  }
  return { indexes, offset: at };
}

const PARSE_OPTIONS = { keepCase: true };
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: true, oneofs: false };

function messagesOf(namespace: protobuf.NamespaceBase): protobuf.Type[] {
  return namespace.nestedArray.filter((nested): nested is protobuf.Type => nested instanceof protobuf.Type);
}

interface CompiledSchema {
  root: protobuf.Root;
  /** Full names of the file's own top-level messages, in declaration order: what the first index counts. */
  topLevel: string[];
}

/** A schema as .proto text, with its references as .proto text too. */
function compileProtoText(schemaText: string, references: readonly { name: string; schema: string }[]): CompiledSchema {
  const own = protobuf.parse(schemaText, PARSE_OPTIONS);
  const ownPackage = own.package ? own.root.lookup(own.package) : own.root;
  const topLevel = ownPackage instanceof protobuf.Namespace ? messagesOf(ownPackage).map((type) => type.fullName) : [];
  const root = new protobuf.Root();
  const addWellKnown = (imports: readonly string[] | undefined) => {
    for (const name of imports ?? []) {
      const common = name.startsWith("google/protobuf/") ? protobuf.common.get(name) : null;
      if (common?.nested) root.addJSON(common.nested);
    }
  };
  for (const reference of references) addWellKnown(protobuf.parse(reference.schema, root, PARSE_OPTIONS).imports);
  addWellKnown(protobuf.parse(schemaText, root, PARSE_OPTIONS).imports);
  root.resolveAll();
  return { root, topLevel };
}

/**
 * A schema registered as a base64 FileDescriptorProto (what Confluent's Python serializer sends;
 * the registry accepts both forms), with its references in the same form.
 */
function compileDescriptor(schemaText: string, references: readonly { name: string; schema: string }[]): CompiledSchema {
  const decode = (text: string) => descriptor.FileDescriptorProto.decode(Buffer.from(text.trim(), "base64")) as unknown as {
    package?: string;
    messageType?: { name?: string }[];
  };
  const main = decode(schemaText);
  const files = [...references.map((reference) => decode(reference.schema)), main];
  // protobufjs/ext/descriptor adds Root.fromDescriptor when it is loaded; its types do not say so.
  const withDescriptors = protobuf.Root as unknown as { fromDescriptor(set: { file: unknown[] }): protobuf.Root };
  const root = withDescriptors.fromDescriptor({ file: files });
  root.resolveAll();
  const prefix = main.package ? `.${main.package}.` : ".";
  return { root, topLevel: (main.messageType ?? []).map((message) => `${prefix}${message.name ?? ""}`) };
}

/** A schema with its references as .proto text or descriptors. Throws when it does not parse or resolve. */
function compileSchema(schemaText: string, references: readonly { name: string; schema: string }[]): CompiledSchema {
  try {
    return compileProtoText(schemaText, references);
  } catch (textError) {
    // Not .proto text: perhaps the descriptor form.
    if (!/^[A-Za-z0-9+/=\s]+$/.test(schemaText)) throw textError;
    return compileDescriptor(schemaText, references);
  }
}

/** The message a message-index path names: top-level by declaration order, then nested. */
function typeAt({ root, topLevel }: CompiledSchema, indexes: readonly number[]): protobuf.Type {
  const first = topLevel[indexes[0]!];
  if (first === undefined) throw new Error(`message index ${indexes[0]} is beyond the schema's ${topLevel.length} messages`);
  let type = root.lookupType(first);
  for (const index of indexes.slice(1)) {
    const nested = messagesOf(type)[index];
    if (!nested) throw new Error(`nested message index ${index} does not exist in ${type.fullName}`);
    type = nested;
  }
  return type;
}

/** Compiles a schema with its references (import name → text). Throws when it does not parse or resolve. */
export function protobufReader(schemaText: string, references: readonly { name: string; schema: string }[]): ProtobufReader {
  const compiled = compileSchema(schemaText, references);
  return {
    read(payload) {
      const { indexes, offset } = readMessageIndexes(payload);
      const type = typeAt(compiled, indexes);
      const message = type.decode(payload.subarray(offset));
      return { json: type.toObject(message, TO_OBJECT) as JsonValue, typeName: type.fullName.replace(/^\./, "") };
    },
  };
}

export interface ProtobufWriter {
  /**
   * The payload for `json`, a value in the shape the reader shows, as the message that the
   * message-index path at the start of `like` (a payload of the same schema) names: that path
   * as it was, then the message. Throws SchemaMismatch, naming the field, when it does not fit.
   */
  write(json: unknown, like: Buffer): Buffer;
}

export function protobufWriter(schemaText: string, references: readonly { name: string; schema: string }[]): ProtobufWriter {
  const compiled = compileSchema(schemaText, references);
  return {
    write(json, like) {
      const { indexes, offset } = readMessageIndexes(like);
      const type = typeAt(compiled, indexes);
      checkMessage(type, json, "");
      const message = type.fromObject(json as Record<string, unknown>);
      // protobufjs's own check of what fromObject made (oneofs set twice, say): the encoder's rules.
      const problem = type.verify(message);
      if (problem !== null) {
        // protobufjs says "<field>: <what is wrong>" (e.g. "kind: multiple values" for a oneof).
        const at = problem.indexOf(": ");
        throw at > 0 ? new SchemaMismatch(child("", problem.slice(0, at)), problem.slice(at + 2)) : new SchemaMismatch("", problem);
      }
      return Buffer.concat([like.subarray(0, offset), type.encode(message).finish()]);
    },
  };
}

const INT64_RANGES: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
const INT32_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
};
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function child(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks `json` against `type` as protobuf's JSON mapping writes it (what the reader shows): 64-bit
 * integers as numbers or decimal text, enums by name (or number), bytes as base64. protobufjs's
 * fromObject alone would turn "abc" into 0 for an int32; this names the field instead.
 */
function checkMessage(type: protobuf.Type, json: unknown, path: string): void {
  if (!isPlainObject(json)) throw mismatch(path, `an object (message ${type.fullName.replace(/^\./, "")})`, json);
  for (const [key, item] of Object.entries(json)) {
    const field = type.fields[key];
    const where = child(path, key);
    if (!field) throw mismatch(where, `no such field: ${type.name} has ${Object.keys(type.fields).join(", ")}`, item);
    field.resolve();
    if (item === null) continue;
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(item)) throw mismatch(where, "an object (a map)", item);
      for (const [mapKey, mapValue] of Object.entries(item)) {
        checkMapKey(field.keyType, mapKey, child(where, mapKey));
        checkValue(field, mapValue, child(where, mapKey));
      }
    } else if (field.repeated) {
      if (!Array.isArray(item)) throw mismatch(where, "a list", item);
      item.forEach((element, i) => checkValue(field, element, `${where}[${i}]`));
    } else checkValue(field, item, where);
  }
}

function checkValue(field: protobuf.FieldBase, value: unknown, path: string): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return checkMessage(resolved, value, path);
  if (resolved instanceof protobuf.Enum) {
    const names = Object.keys(resolved.values);
    if (typeof value === "string" ? !(value in resolved.values) : !Number.isInteger(value)) {
      throw mismatch(path, `one of ${names.join(", ")}`, value);
    }
    return;
  }
  checkScalar(field.type, value, path);
}

/** JSON object keys are text: an integer or bool key is its text. */
function checkMapKey(keyType: string, key: string, path: string): void {
  if (keyType === "string") return;
  if (keyType === "bool") {
    if (key !== "true" && key !== "false") throw mismatch(path, "a map key true or false", key);
    return;
  }
  const int32 = INT32_RANGES[keyType];
  checkScalar(keyType, int32 && /^-?\d+$/.test(key) ? Number(key) : key, path);
}

function checkScalar(kind: string, value: unknown, path: string): void {
  const int32 = INT32_RANGES[kind];
  if (int32) {
    if (!Number.isInteger(value) || (value as number) < int32[0] || (value as number) > int32[1]) {
      throw mismatch(path, `a whole number from ${int32[0]} to ${int32[1]} (${kind})`, value);
    }
    return;
  }
  const int64 = INT64_RANGES[kind];
  if (int64) {
    const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
    if (typeof text !== "string" || !/^-?\d+$/.test(text) || BigInt(text) < int64[0] || BigInt(text) > int64[1]) {
      throw mismatch(path, `a whole number from ${int64[0]} to ${int64[1]} (${kind}; as text beyond 2^53)`, value);
    }
    return;
  }
  switch (kind) {
    case "double":
    case "float":
      if (typeof value !== "number" && !(typeof value === "string" && ["NaN", "Infinity", "-Infinity"].includes(value))) {
        throw mismatch(path, "a number", value);
      }
      return;
    case "bool":
      if (typeof value !== "boolean") throw mismatch(path, "true or false", value);
      return;
    case "string":
      if (typeof value !== "string") throw mismatch(path, "a string", value);
      return;
    case "bytes":
      if (typeof value !== "string" || !BASE64.test(value)) throw mismatch(path, "bytes in base64", value);
      return;
    default:
      throw mismatch(path, `a value of protobuf type ${kind}, which Eventscope does not write`, value);
  }
}
