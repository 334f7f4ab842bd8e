import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { SchemaMismatch } from "./mismatch.ts";

/**
 * JSON Schema values: the payload is JSON text, so writing one is checking it against the schema
 * (with Ajv; drafts 2020-12 and 2019-09 by their `$schema`, else draft-07, the serializers'
 * default) and sending the text. Formats (date-time, email, uuid, …) are checked too, as
 * Confluent's serializers do. A misfit names the field, as the Avro and Protobuf writers do.
 */

export interface JsonSchemaWriter {
  /** The payload for `text` (the edited JSON, sent as written); throws SchemaMismatch when the value does not fit. */
  write(text: string, json: unknown): Buffer;
}

const OPTIONS: Options = {
  // Schemas written for other validators use keywords Ajv does not know: ignored, not refused.
  strict: false,
  // Draft-04/06 schemas carry a $schema Ajv has no meta-schema for; the keywords still apply.
  validateSchema: false,
  allErrors: false,
};

function ajvFor(schema: { $schema?: unknown }): Ajv {
  const dialect = typeof schema.$schema === "string" ? schema.$schema : "";
  if (dialect.includes("2020-12")) return new Ajv2020(OPTIONS);
  if (dialect.includes("2019-09")) return new Ajv2019(OPTIONS);
  return new Ajv(OPTIONS);
}

/** Compiles a JSON Schema with its references (name → schema text, what `$ref` names). Throws when it does not compile. */
export function jsonSchemaWriter(schemaText: string, references: readonly { name: string; schema: string }[]): JsonSchemaWriter {
  const schema = JSON.parse(schemaText) as Record<string, unknown>;
  const ajv = ajvFor(schema);
  addFormats(ajv);
  for (const reference of references) ajv.addSchema(JSON.parse(reference.schema) as object, reference.name);
  const validate: ValidateFunction = ajv.compile(schema);
  return {
    write(text, json) {
      if (!validate(json)) throw misfitOf(validate.errors?.[0], json);
      return Buffer.from(text, "utf8");
    },
  };
}

/** A JSON pointer ("/lines/0/sku") as the other writers name fields ("lines[0].sku"). */
function pathOf(pointer: string, extra?: string): string {
  const parts = pointer === "" ? [] : pointer.slice(1).split("/").map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
  if (extra !== undefined) parts.push(extra);
  let path = "";
  for (const part of parts) path = /^\d+$/.test(part) ? `${path}[${part}]` : path === "" ? part : `${path}.${part}`;
  return path;
}

function valueAt(json: unknown, pointer: string): unknown {
  let value = json;
  for (const part of pointer === "" ? [] : pointer.slice(1).split("/")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  return value;
}

function misfitOf(error: ErrorObject | undefined, json: unknown): SchemaMismatch {
  if (!error) return new SchemaMismatch("", "does not match the schema");
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === "required" && params.missingProperty !== undefined) {
    return new SchemaMismatch(pathOf(error.instancePath, params.missingProperty), "is required by the schema, and missing");
  }
  if (error.keyword === "additionalProperties" && params.additionalProperty !== undefined) {
    return new SchemaMismatch(pathOf(error.instancePath, params.additionalProperty), "is not a property the schema allows");
  }
  const got = JSON.stringify(valueAt(json, error.instancePath)) ?? "nothing";
  return new SchemaMismatch(pathOf(error.instancePath), `${error.message ?? "does not match the schema"}, got ${got.length > 80 ? `${got.slice(0, 77)}...` : got}`);
}
