/**
 * What the registry checks about a schema's text, and the form it stores and compares.
 *
 * The real registry parses each schema with its type's library and compares canonical forms. We
 * do the part that needs no library: Avro and JSON Schema are parsed and re-serialised without
 * whitespace (that is what is stored and served), and compared with object keys sorted, so the
 * same schema written twice with other spacing or key order gets the same id. Protobuf text is
 * kept and compared as sent.
 */

export const schemaTypes = ["AVRO", "PROTOBUF", "JSON"] as const;
export type SchemaType = (typeof schemaTypes)[number];

export function isSchemaType(value: unknown): value is SchemaType {
  return typeof value === "string" && (schemaTypes as readonly string[]).includes(value);
}

export interface NormalisedSchema {
  /** The text stored and served. */
  text: string;
  /** Equal for two schemas the registry treats as the same. */
  matchKey: string;
}

/** Thrown for a schema the registry refuses; the message says why. */
export class InvalidSchemaError extends Error {}

const avroPrimitives = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
/** A full name: dotted Avro names (`com.example.Order`). */
const avroFullName = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function normaliseSchema(schemaType: SchemaType, text: string): NormalisedSchema {
  if (schemaType === "PROTOBUF") {
    if (text.trim() === "") throw new InvalidSchemaError("empty Protobuf schema");
    return { text, matchKey: text };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidSchemaError(`not JSON: ${(err as Error).message}`);
  }
  if (schemaType === "AVRO") checkAvro(parsed, "schema");
  else if (typeof parsed !== "boolean" && (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))) {
    throw new InvalidSchemaError("a JSON Schema is an object or a boolean");
  }
  return { text: JSON.stringify(parsed), matchKey: sortedJson(parsed) };
}

/** The shape of an Avro schema (names, fields, symbols, items, values); not the name resolution. */
function checkAvro(schema: unknown, where: string): void {
  if (typeof schema === "string") {
    if (!avroPrimitives.has(schema) && !avroFullName.test(schema)) {
      throw new InvalidSchemaError(`${where}: "${schema}" is neither a primitive type nor a type name`);
    }
    return;
  }
  if (Array.isArray(schema)) {
    schema.forEach((branch, i) => checkAvro(branch, `${where}[${i}]`));
    return;
  }
  if (typeof schema !== "object" || schema === null) {
    throw new InvalidSchemaError(`${where}: an Avro schema is a type name, a union (array) or an object with a "type"`);
  }
  const node = schema as Record<string, unknown>;
  const type = node.type;
  if (type === undefined) throw new InvalidSchemaError(`${where}: no "type"`);
  const named = (kind: string) => {
    if (typeof node.name !== "string" || !avroFullName.test(node.name)) {
      throw new InvalidSchemaError(`${where}: a ${kind} needs a valid "name"`);
    }
  };
  switch (type) {
    case "record":
    case "error": {
      named("record");
      if (!Array.isArray(node.fields)) throw new InvalidSchemaError(`${where}: a record needs "fields" (an array)`);
      node.fields.forEach((field: unknown, i) => {
        const at = `${where}.fields[${i}]`;
        if (typeof field !== "object" || field === null || typeof (field as { name?: unknown }).name !== "string") {
          throw new InvalidSchemaError(`${at}: a field is an object with a "name"`);
        }
        if (!("type" in field)) throw new InvalidSchemaError(`${at}: field "${(field as { name: string }).name}" has no "type"`);
        checkAvro((field as { type: unknown }).type, `${at}.type`);
      });
      return;
    }
    case "enum":
      named("enum");
      if (!Array.isArray(node.symbols) || !node.symbols.every((s) => typeof s === "string")) {
        throw new InvalidSchemaError(`${where}: an enum needs "symbols" (an array of strings)`);
      }
      return;
    case "fixed":
      named("fixed");
      if (typeof node.size !== "number" || !Number.isInteger(node.size) || node.size < 0) {
        throw new InvalidSchemaError(`${where}: a fixed needs a "size" (a non-negative integer)`);
      }
      return;
    case "array":
      if (!("items" in node)) throw new InvalidSchemaError(`${where}: an array needs "items"`);
      checkAvro(node.items, `${where}.items`);
      return;
    case "map":
      if (!("values" in node)) throw new InvalidSchemaError(`${where}: a map needs "values"`);
      checkAvro(node.values, `${where}.values`);
      return;
    default:
      // A primitive with attributes ({"type": "long", "logicalType": "timestamp-millis"}), or a
      // type written as an object or union in the "type" position.
      checkAvro(type, `${where}.type`);
  }
}

/** JSON with every object's keys in order: the same value written with another key order is equal. */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
