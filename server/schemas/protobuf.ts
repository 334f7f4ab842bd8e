import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import type { JsonValue } from "../../lib/json-value.ts";

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

/** Compiles a schema with its references (import name → text). Throws when it does not parse or resolve. */
export function protobufReader(schemaText: string, references: readonly { name: string; schema: string }[]): ProtobufReader {
  let compiled: CompiledSchema;
  try {
    compiled = compileProtoText(schemaText, references);
  } catch (textError) {
    // Not .proto text: perhaps the descriptor form.
    if (!/^[A-Za-z0-9+/=\s]+$/.test(schemaText)) throw textError;
    compiled = compileDescriptor(schemaText, references);
  }
  const { root, topLevel } = compiled;

  return {
    read(payload) {
      const { indexes, offset } = readMessageIndexes(payload);
      const first = topLevel[indexes[0]!];
      if (first === undefined) throw new Error(`message index ${indexes[0]} is beyond the schema's ${topLevel.length} messages`);
      let type = root.lookupType(first);
      for (const index of indexes.slice(1)) {
        const nested = messagesOf(type)[index];
        if (!nested) throw new Error(`nested message index ${index} does not exist in ${type.fullName}`);
        type = nested;
      }
      const message = type.decode(payload.subarray(offset));
      return { json: type.toObject(message, TO_OBJECT) as JsonValue, typeName: type.fullName.replace(/^\./, "") };
    },
  };
}
