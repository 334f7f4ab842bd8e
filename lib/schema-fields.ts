import protobuf from "protobufjs";

/**
 * The fields of a Schema Registry schema (Avro, Protobuf, JSON Schema) as a flat list of paths,
 * for the schema history's field-level diff. Paths read like the decoded JSON's: `customer.id`,
 * `items[].sku` (array elements), `attributes{}` (map values). Each field says its type in the
 * schema's own words (`long`, `decimal(12,2)`, `enum Status [A, B]`, `repeated string #3`), whether
 * a value may be absent (Avro: a union with null; JSON Schema: not required or nullable; Protobuf:
 * anything but proto2 `required`) and whether the schema gives it a default.
 */

export type SchemaType = "AVRO" | "PROTOBUF" | "JSON";

export interface SchemaField {
  path: string;
  type: string;
  optional: boolean;
  hasDefault: boolean;
}

/** Nested types deeper than this are listed as their type name, without their fields. */
const MAX_DEPTH = 8;

export function schemaFields(schemaType: SchemaType, text: string, references: readonly { name: string; schema: string }[] = []): SchemaField[] {
  switch (schemaType) {
    case "AVRO":
      return avroFields(JSON.parse(text) as unknown, references);
    case "JSON":
      return jsonSchemaFields(JSON.parse(text) as unknown);
    case "PROTOBUF":
      return protobufFields(text, references);
  }
}

// --- Avro -----------------------------------------------------------------------------------------

type AvroSchema = string | AvroSchema[] | { [key: string]: unknown };

const AVRO_PRIMITIVES = new Set(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);

function avroFields(schema: unknown, references: readonly { name: string; schema: string }[]): SchemaField[] {
  const named = new Map<string, AvroSchema>();
  // Referenced schemas define named types the main one may use by name.
  for (const reference of references) {
    try {
      collectAvroNames(JSON.parse(reference.schema) as AvroSchema, null, named);
    } catch {
      // A reference that is not Avro JSON names nothing.
    }
  }
  collectAvroNames(schema as AvroSchema, null, named);
  const out: SchemaField[] = [];
  const root = resolveAvro(schema as AvroSchema, null, named);
  if (typeof root === "object" && !Array.isArray(root) && root.type === "record") {
    avroRecordFields(root, "", null, named, out, 0, new Set());
  }
  return out;
}

function fullName(name: unknown, namespace: string | null): string {
  const text = String(name);
  return text.includes(".") || !namespace ? text : `${namespace}.${text}`;
}

function collectAvroNames(schema: AvroSchema, namespace: string | null, into: Map<string, AvroSchema>): void {
  if (Array.isArray(schema)) {
    for (const member of schema) collectAvroNames(member, namespace, into);
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  const ns = typeof schema.namespace === "string" ? schema.namespace : namespace;
  if ((schema.type === "record" || schema.type === "error" || schema.type === "enum" || schema.type === "fixed") && typeof schema.name === "string") {
    const name = fullName(schema.name, ns);
    into.set(name, schema);
    const own = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : ns;
    if (Array.isArray(schema.fields)) {
      for (const field of schema.fields as { type?: AvroSchema }[]) if (field.type !== undefined) collectAvroNames(field.type, own, into);
    }
    return;
  }
  if (schema.type === "array" && schema.items !== undefined) collectAvroNames(schema.items as AvroSchema, ns, into);
  if (schema.type === "map" && schema.values !== undefined) collectAvroNames(schema.values as AvroSchema, ns, into);
  if (typeof schema.type === "object" && schema.type !== null) collectAvroNames(schema.type as AvroSchema, ns, into);
}

/** A named type's definition where the schema names it; anything else as it is. */
function resolveAvro(schema: AvroSchema, namespace: string | null, named: Map<string, AvroSchema>): AvroSchema {
  if (typeof schema === "string" && !AVRO_PRIMITIVES.has(schema)) return named.get(fullName(schema, namespace)) ?? named.get(schema) ?? schema;
  if (typeof schema === "object" && !Array.isArray(schema) && typeof schema.type === "string" && !AVRO_PRIMITIVES.has(schema.type) && !["record", "error", "enum", "fixed", "array", "map"].includes(schema.type)) {
    return resolveAvro(schema.type, namespace, named);
  }
  return schema;
}

function avroTypeName(schema: AvroSchema, namespace: string | null, named: Map<string, AvroSchema>): string {
  if (typeof schema === "string") {
    if (AVRO_PRIMITIVES.has(schema)) return schema;
    const found = resolveAvro(schema, namespace, named);
    return typeof found === "string" ? found : avroTypeName(found, namespace, named);
  }
  if (Array.isArray(schema)) return `union<${schema.map((member) => avroTypeName(member, namespace, named)).join(" | ")}>`;
  const logical = typeof schema.logicalType === "string" ? schema.logicalType : null;
  if (logical === "decimal") return `decimal(${String(schema.precision ?? "?")},${String(schema.scale ?? 0)})`;
  if (logical !== null && ["date", "time-millis", "time-micros", "timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros", "uuid", "duration"].includes(logical)) return logical;
  const ns = typeof schema.namespace === "string" ? schema.namespace : namespace;
  switch (schema.type) {
    case "record":
    case "error":
      return `record ${fullName(schema.name, ns)}`;
    case "enum":
      return `enum ${fullName(schema.name, ns)} [${(Array.isArray(schema.symbols) ? schema.symbols : []).join(", ")}]`;
    case "fixed":
      return `fixed(${String(schema.size)})`;
    case "array":
      return `array<${avroTypeName(schema.items as AvroSchema, ns, named)}>`;
    case "map":
      return `map<${avroTypeName(schema.values as AvroSchema, ns, named)}>`;
    default:
      return avroTypeName(schema.type as AvroSchema, ns, named);
  }
}

function avroRecordFields(
  record: { [key: string]: unknown },
  prefix: string,
  namespace: string | null,
  named: Map<string, AvroSchema>,
  out: SchemaField[],
  depth: number,
  open: Set<string>,
): void {
  const name = fullName(record.name, typeof record.namespace === "string" ? record.namespace : namespace);
  if (open.has(name) || depth > MAX_DEPTH) return;
  open.add(name);
  const ns = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : namespace;
  for (const field of (Array.isArray(record.fields) ? record.fields : []) as { name?: unknown; type?: AvroSchema; default?: unknown }[]) {
    if (typeof field.name !== "string" || field.type === undefined) continue;
    const path = prefix === "" ? field.name : `${prefix}.${field.name}`;
    let type = field.type;
    let optional = false;
    if (Array.isArray(type) && type.some((member) => member === "null")) {
      optional = true;
      const rest = type.filter((member) => member !== "null");
      if (rest.length === 1) type = rest[0]!;
      else type = rest;
    }
    out.push({ path, type: avroTypeName(type, ns, named), optional, hasDefault: "default" in field });
    avroNested(type, path, ns, named, out, depth + 1, open);
  }
  open.delete(name);
}

function avroNested(type: AvroSchema, path: string, namespace: string | null, named: Map<string, AvroSchema>, out: SchemaField[], depth: number, open: Set<string>): void {
  const resolved = resolveAvro(type, namespace, named);
  if (typeof resolved !== "object" || Array.isArray(resolved)) return;
  if (resolved.type === "record" || resolved.type === "error") avroRecordFields(resolved, path, namespace, named, out, depth, open);
  else if (resolved.type === "array") avroNested(resolved.items as AvroSchema, `${path}[]`, namespace, named, out, depth, open);
  else if (resolved.type === "map") avroNested(resolved.values as AvroSchema, `${path}{}`, namespace, named, out, depth, open);
}

// --- JSON Schema ------------------------------------------------------------------------------------

type JsonSchemaNode = { [key: string]: unknown };

function jsonSchemaFields(schema: unknown): SchemaField[] {
  const out: SchemaField[] = [];
  if (typeof schema === "object" && schema !== null) jsonSchemaObject(schema as JsonSchemaNode, schema as JsonSchemaNode, "", out, 0);
  return out;
}

/** A local `$ref` (`#/definitions/X`, `#/$defs/X`) resolved in the root schema; else the node. */
function resolveRef(node: JsonSchemaNode, root: JsonSchemaNode): JsonSchemaNode {
  let current = node;
  for (let hops = 0; hops < 8 && typeof current.$ref === "string" && current.$ref.startsWith("#/"); hops++) {
    let target: unknown = root;
    for (const part of current.$ref.slice(2).split("/")) {
      target = typeof target === "object" && target !== null ? (target as JsonSchemaNode)[part.replaceAll("~1", "/").replaceAll("~0", "~")] : undefined;
    }
    if (typeof target !== "object" || target === null) break;
    current = target as JsonSchemaNode;
  }
  return current;
}

function jsonSchemaTypes(node: JsonSchemaNode): string[] {
  if (Array.isArray(node.type)) return node.type.map(String);
  if (typeof node.type === "string") return [node.type];
  if (Array.isArray(node.enum)) return ["enum"];
  if (typeof node.properties === "object") return ["object"];
  return [];
}

function jsonSchemaTypeName(node: JsonSchemaNode, root: JsonSchemaNode): string {
  const types = jsonSchemaTypes(node).filter((type) => type !== "null");
  if (Array.isArray(node.enum)) return `enum [${node.enum.map((value) => JSON.stringify(value)).join(", ")}]`;
  for (const combinator of ["oneOf", "anyOf", "allOf"]) {
    const list = node[combinator];
    if (Array.isArray(list) && types.length === 0) {
      return `${combinator}<${list.map((member) => jsonSchemaTypeName(resolveRef(member as JsonSchemaNode, root), root)).join(" | ")}>`;
    }
  }
  if (types.length === 0) return typeof node.$ref === "string" ? `ref ${node.$ref}` : "any";
  return types
    .map((type) => {
      if (type === "string" && typeof node.format === "string") return `string(${node.format})`;
      if (type === "array" && typeof node.items === "object" && node.items !== null) {
        return `array<${jsonSchemaTypeName(resolveRef(node.items as JsonSchemaNode, root), root)}>`;
      }
      return type;
    })
    .join(" | ");
}

function jsonSchemaObject(node: JsonSchemaNode, root: JsonSchemaNode, prefix: string, out: SchemaField[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  const resolved = resolveRef(node, root);
  const properties = resolved.properties;
  if (typeof properties !== "object" || properties === null) return;
  const required = new Set(Array.isArray(resolved.required) ? resolved.required.map(String) : []);
  for (const [name, raw] of Object.entries(properties as Record<string, unknown>)) {
    if (typeof raw !== "object" || raw === null) continue;
    const property = resolveRef(raw as JsonSchemaNode, root);
    const path = prefix === "" ? name : `${prefix}.${name}`;
    const nullable = jsonSchemaTypes(property).includes("null");
    out.push({ path, type: jsonSchemaTypeName(property, root), optional: !required.has(name) || nullable, hasDefault: "default" in property });
    jsonSchemaObject(property, root, path, out, depth + 1);
    let items = property.items;
    let itemsPath = `${path}[]`;
    for (let level = 0; typeof items === "object" && items !== null && !Array.isArray(items) && level < MAX_DEPTH; level++) {
      const item = resolveRef(items as JsonSchemaNode, root);
      jsonSchemaObject(item, root, itemsPath, out, depth + 1);
      items = item.items;
      itemsPath = `${itemsPath}[]`;
    }
  }
}

// --- Protobuf -------------------------------------------------------------------------------------

/** The fields of the file's first message (the one a message index of [0] names, Confluent's default). */
function protobufFields(text: string, references: readonly { name: string; schema: string }[]): SchemaField[] {
  const root = new protobuf.Root();
  for (const reference of references) {
    try {
      protobuf.parse(reference.schema, root, { keepCase: true });
    } catch {
      // An import that does not parse leaves its types unresolved: they are listed by name.
    }
  }
  const parsed = protobuf.parse(text, root, { keepCase: true });
  let namespace: protobuf.NamespaceBase = root;
  if (parsed.package) namespace = root.lookup(parsed.package) as protobuf.Namespace;
  const first = namespace.nestedArray.find((nested): nested is protobuf.Type => nested instanceof protobuf.Type);
  const out: SchemaField[] = [];
  if (first) protobufMessageFields(first, "", out, 0, new Set());
  return out;
}

function protobufMessageFields(message: protobuf.Type, prefix: string, out: SchemaField[], depth: number, open: Set<string>): void {
  if (depth > MAX_DEPTH || open.has(message.fullName)) return;
  open.add(message.fullName);
  for (const field of message.fieldsArray) {
    const path = prefix === "" ? field.name : `${prefix}.${field.name}`;
    let resolved: protobuf.ReflectionObject | null = null;
    try {
      field.resolve();
      resolved = field.resolvedType;
    } catch {
      // An unresolved type is listed by its name.
    }
    const typeName = resolved ? resolved.fullName.replace(/^\./, "") : field.type;
    const shown =
      field instanceof protobuf.MapField
        ? `map<${field.keyType}, ${typeName}>`
        : resolved instanceof protobuf.Enum
          ? `enum ${typeName} [${Object.keys(resolved.values).join(", ")}]`
          : typeName;
    const rule = field.repeated && !(field instanceof protobuf.MapField) ? "repeated " : "";
    out.push({ path, type: `${rule}${shown} #${field.id}`, optional: !field.required, hasDefault: true });
    if (resolved instanceof protobuf.Type) {
      const nestedPath = field instanceof protobuf.MapField ? `${path}{}` : field.repeated ? `${path}[]` : path;
      protobufMessageFields(resolved, nestedPath, out, depth + 1, open);
    }
  }
  open.delete(message.fullName);
}
