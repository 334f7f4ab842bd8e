import type { JsonValue } from "../../lib/json-value.ts";
import { avroReader, avroWriter, type AvroReader } from "./avro.ts";
import { jsonSchemaWriter } from "./json-schema.ts";
import { SchemaMismatch } from "./mismatch.ts";
import { protobufReader, protobufWriter, type ProtobufReader } from "./protobuf.ts";
import { SchemaRegistryClient, type RegistryClientOptions, type RegistrySchema } from "./registry-client.ts";

/**
 * The Schema Registry wire format (CONVENTIONS.md): byte 0 is 0, bytes 1–4 the schema id (big-endian
 * unsigned), then the payload. A value is read this way only when it starts with byte 0 and the
 * registry knows its id; one that merely starts with byte 0 is never misread (it is flagged
 * schema-unknown, and stays bytes). Avro payloads are decoded against the writer's schema, Protobuf
 * ones (message indexes, then the message) against the .proto and its references, JSON Schema
 * payloads are JSON text.
 *
 * Extraction is synchronous, the registry is not: before a batch is extracted, the ids its values
 * carry are fetched (prefetchFor), within the client's timeout; extraction then reads the cache.
 */

/** What became of a value in the wire format; null when the value is not one (or no registry). */
export type WireFormatResult =
  | { status: "decoded"; json: JsonValue; schemaId: number; typeName: string | null }
  | { status: "failed"; schemaId: number; flag: "schema-unknown" | "schema-registry-unavailable" | "schema-decode-failed" }
  | null;

export interface WireFormatReader {
  read(value: Buffer): WireFormatResult;
}

const MAGIC = 0;
const HEADER_SIZE = 5;

export function wireFormatSchemaId(value: Buffer | null): number | null {
  if (value === null || value.length < HEADER_SIZE || value[0] !== MAGIC) return null;
  return value.readUInt32BE(1);
}

export class WireFormatDecoder implements WireFormatReader {
  readonly client: SchemaRegistryClient;
  /** Compiled readers by schema id (an id never changes meaning). */
  private readonly readers = new Map<number, AvroReader | Error>();
  private readonly protobufReaders = new Map<number, ProtobufReader | Error>();

  constructor(options: RegistryClientOptions) {
    this.client = new SchemaRegistryClient(options);
  }

  /** Fetches the schemas these keys and values name; never throws, waits at most the client's timeout. */
  prefetchFor(keysAndValues: Iterable<Buffer | null>): Promise<void> {
    const ids: number[] = [];
    for (const bytes of keysAndValues) {
      const id = wireFormatSchemaId(bytes);
      if (id !== null) ids.push(id);
    }
    return this.client.prefetch(ids);
  }

  read(value: Buffer): WireFormatResult {
    const schemaId = wireFormatSchemaId(value);
    if (schemaId === null) return null;
    const found = this.client.lookup(schemaId);
    if (found.status === "unknown") return { status: "failed", schemaId, flag: "schema-unknown" };
    if (found.status === "unavailable") return { status: "failed", schemaId, flag: "schema-registry-unavailable" };
    const payload = value.subarray(HEADER_SIZE);
    switch (found.schema.schemaType) {
      case "AVRO": {
        const reader = this.avroReaderFor(schemaId, found.schema.schema);
        if (reader instanceof Error) return { status: "failed", schemaId, flag: "schema-decode-failed" };
        try {
          return { status: "decoded", json: reader.read(payload), schemaId, typeName: reader.typeName };
        } catch {
          return { status: "failed", schemaId, flag: "schema-decode-failed" };
        }
      }
      case "JSON": {
        try {
          return { status: "decoded", json: JSON.parse(payload.toString("utf8")) as JsonValue, schemaId, typeName: jsonSchemaTitle(found.schema.schema) };
        } catch {
          return { status: "failed", schemaId, flag: "schema-decode-failed" };
        }
      }
      case "PROTOBUF": {
        let reader = this.protobufReaders.get(schemaId);
        if (!reader) {
          try {
            reader = protobufReader(found.schema.schema, found.schema.references);
          } catch (error) {
            reader = error instanceof Error ? error : new Error(String(error));
          }
          this.protobufReaders.set(schemaId, reader);
        }
        if (reader instanceof Error) return { status: "failed", schemaId, flag: "schema-decode-failed" };
        try {
          const { json, typeName } = reader.read(payload);
          return { status: "decoded", json, schemaId, typeName };
        } catch {
          return { status: "failed", schemaId, flag: "schema-decode-failed" };
        }
      }
    }
  }

  private avroReaderFor(id: number, schemaText: string): AvroReader | Error {
    let reader = this.readers.get(id);
    if (!reader) {
      try {
        reader = avroReader(schemaText);
      } catch (error) {
        reader = error instanceof Error ? error : new Error(String(error));
      }
      this.readers.set(id, reader);
    }
    return reader;
  }
}

/**
 * An edited value, entered as JSON in the shape the reader shows, written back in the wire format
 * under the schema `original` (a wire-format value) was written with: byte 0, the same schema id,
 * then the Avro binary, the Protobuf message after the same message-index path, or the JSON text.
 * Throws SchemaMismatch (naming the field) when the edit is not JSON or does not fit the schema;
 * any other error means the schema itself could not be compiled.
 */
export function encodeWireFormat(schema: RegistrySchema, original: Buffer, editedText: string): Buffer {
  if (wireFormatSchemaId(original) !== schema.id) throw new Error(`the value was not written with schema ${schema.id}`);
  let json: unknown;
  try {
    json = JSON.parse(editedText);
  } catch (error) {
    throw new SchemaMismatch("", `not valid JSON (${error instanceof Error ? error.message : String(error)}): values of Schema Registry schema ${schema.id} are edited as JSON`);
  }
  let payload: Buffer;
  switch (schema.schemaType) {
    case "AVRO":
      payload = avroWriter(schema.schema).write(json);
      break;
    case "PROTOBUF":
      payload = protobufWriter(schema.schema, schema.references).write(json, original.subarray(HEADER_SIZE));
      break;
    case "JSON":
      payload = jsonSchemaWriter(schema.schema, schema.references).write(editedText.trim(), json);
      break;
  }
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt8(MAGIC, 0);
  header.writeUInt32BE(schema.id, 1);
  return Buffer.concat([header, payload]);
}

/** A JSON Schema's `title`, the nearest thing it has to a type name. */
function jsonSchemaTitle(schemaText: string): string | null {
  try {
    const title = (JSON.parse(schemaText) as { title?: unknown }).title;
    return typeof title === "string" && title !== "" ? title : null;
  } catch {
    return null;
  }
}
