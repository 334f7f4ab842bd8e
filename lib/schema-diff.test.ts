import { describe, expect, it } from "vitest";
import { diffSchemaFields } from "./schema-diff.ts";
import { schemaFields } from "./schema-fields.ts";

const record = (fields: unknown[]) => JSON.stringify({ type: "record", name: "Payment", namespace: "shop", fields });
const avro = (fields: unknown[]) => schemaFields("AVRO", record(fields));
const base = [
  { name: "orderId", type: "string" },
  { name: "amount", type: "int" },
];

describe("schemaFields", () => {
  it("lists Avro fields with nested records, optional unions, logical types, enums, arrays and maps", () => {
    const fields = avro([
      { name: "orderId", type: "string" },
      { name: "price", type: { type: "bytes", logicalType: "decimal", precision: 12, scale: 2 } },
      { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
      { name: "status", type: { type: "enum", name: "Status", symbols: ["OK", "FAILED"] } },
      { name: "reason", type: ["null", "string"], default: null },
      { name: "card", type: { type: "record", name: "Card", fields: [{ name: "last4", type: "string" }] } },
      { name: "items", type: { type: "array", items: { type: "record", name: "Item", fields: [{ name: "sku", type: "string" }] } } },
      { name: "tags", type: { type: "map", values: "string" } },
      { name: "backup", type: ["null", "Card"], default: null },
    ]);
    expect(fields).toEqual([
      { path: "orderId", type: "string", optional: false, hasDefault: false },
      { path: "price", type: "decimal(12,2)", optional: false, hasDefault: false },
      { path: "at", type: "timestamp-millis", optional: false, hasDefault: false },
      { path: "status", type: "enum shop.Status [OK, FAILED]", optional: false, hasDefault: false },
      { path: "reason", type: "string", optional: true, hasDefault: true },
      { path: "card", type: "record shop.Card", optional: false, hasDefault: false },
      { path: "card.last4", type: "string", optional: false, hasDefault: false },
      { path: "items", type: "array<record shop.Item>", optional: false, hasDefault: false },
      { path: "items[].sku", type: "string", optional: false, hasDefault: false },
      { path: "tags", type: "map<string>", optional: false, hasDefault: false },
      { path: "backup", type: "record shop.Card", optional: true, hasDefault: true },
      { path: "backup.last4", type: "string", optional: false, hasDefault: false },
    ]);
  });

  it("lists JSON Schema properties with required, nullable, local references and array items", () => {
    const fields = schemaFields(
      "JSON",
      JSON.stringify({
        type: "object",
        required: ["orderId", "lines"],
        properties: {
          orderId: { type: "string" },
          note: { type: ["string", "null"] },
          lines: { type: "array", items: { $ref: "#/definitions/Line" } },
        },
        definitions: { Line: { type: "object", required: ["sku"], properties: { sku: { type: "string" }, qty: { type: "integer" } } } },
      }),
    );
    expect(fields).toEqual([
      { path: "orderId", type: "string", optional: false, hasDefault: false },
      { path: "note", type: "string", optional: true, hasDefault: false },
      { path: "lines", type: "array<object>", optional: false, hasDefault: false },
      { path: "lines[].sku", type: "string", optional: false, hasDefault: false },
      { path: "lines[].qty", type: "integer", optional: true, hasDefault: false },
    ]);
  });

  it("lists the first Protobuf message's fields with numbers, nested and imported types", () => {
    const fields = schemaFields(
      "PROTOBUF",
      `syntax = "proto3"; package shop; import "money.proto";
       message Payment { string order_id = 1; common.Money amount = 2; repeated Line lines = 3;
         message Line { string sku = 1; } }
       message Other { int32 x = 1; }`,
      [{ name: "money.proto", schema: `syntax = "proto3"; package common; message Money { int64 units = 1; string currency = 2; }` }],
    );
    expect(fields.map((f) => `${f.path}: ${f.type}`)).toEqual([
      "order_id: string #1",
      "amount: common.Money #2",
      "amount.units: int64 #1",
      "amount.currency: string #2",
      "lines: repeated shop.Payment.Line #3",
      "lines[].sku: string #1",
    ]);
  });
});

describe("diffSchemaFields", () => {
  it("under BACKWARD: a new optional field with a default is compatible, one without a default breaks", () => {
    const withOptional = avro([...base, { name: "method", type: ["null", "string"], default: null }]);
    const withRequired = avro([...base, { name: "merchantId", type: "string" }]);
    expect(diffSchemaFields("AVRO", avro(base), withOptional, "BACKWARD")).toEqual([
      expect.objectContaining({ path: "method", kind: "added", compatible: true }),
    ]);
    expect(diffSchemaFields("AVRO", avro(base), withRequired, "BACKWARD")).toEqual([
      expect.objectContaining({ path: "merchantId", kind: "added", compatible: false, reason: expect.stringMatching(/without a default/) }),
    ]);
  });

  it("judges type changes by Avro's promotions, in the direction the level reads", () => {
    const widened = avro([base[0], { name: "amount", type: "long" }]);
    const stringly = avro([base[0], { name: "amount", type: "string" }]);
    expect(diffSchemaFields("AVRO", avro(base), widened, "BACKWARD")[0]).toMatchObject({ kind: "type-changed", before: "int", after: "long", compatible: true });
    expect(diffSchemaFields("AVRO", avro(base), widened, "FORWARD")[0]).toMatchObject({ compatible: false });
    expect(diffSchemaFields("AVRO", avro(base), stringly, "BACKWARD")[0]).toMatchObject({ compatible: false });
    expect(diffSchemaFields("AVRO", avro(base), stringly, "NONE")[0]).toMatchObject({ compatible: true, reason: expect.stringMatching(/NONE/) });
  });

  it("under FORWARD a removed field breaks unless it had a default; FULL needs both directions", () => {
    const withDefault = avro([...base, { name: "note", type: ["null", "string"], default: null }]);
    const withoutDefault = avro([...base, { name: "note", type: "string" }]);
    expect(diffSchemaFields("AVRO", withDefault, avro(base), "FORWARD")).toEqual([expect.objectContaining({ kind: "removed", compatible: true })]);
    expect(diffSchemaFields("AVRO", withoutDefault, avro(base), "FORWARD_TRANSITIVE")).toEqual([expect.objectContaining({ kind: "removed", compatible: false })]);
    expect(diffSchemaFields("AVRO", withoutDefault, avro(base), "BACKWARD")).toEqual([expect.objectContaining({ kind: "removed", compatible: true })]);
    expect(diffSchemaFields("AVRO", withoutDefault, avro(base), "FULL")).toEqual([expect.objectContaining({ kind: "removed", compatible: false })]);
  });

  it("says a field made optional or required, and an enum that gained a symbol, with their directions", () => {
    const optional = avro([base[0], { name: "amount", type: ["null", "int"], default: null }]);
    expect(diffSchemaFields("AVRO", avro(base), optional, "BACKWARD")).toEqual([expect.objectContaining({ kind: "made-optional", compatible: true })]);
    expect(diffSchemaFields("AVRO", avro(base), optional, "FORWARD")).toEqual([expect.objectContaining({ kind: "made-optional", compatible: false })]);
    expect(diffSchemaFields("AVRO", optional, avro(base), "BACKWARD")).toEqual([expect.objectContaining({ kind: "made-required", compatible: false })]);
    const status = (symbols: string[]) => avro([{ name: "status", type: { type: "enum", name: "Status", symbols } }]);
    expect(diffSchemaFields("AVRO", status(["OK"]), status(["OK", "LATE"]), "BACKWARD")[0]).toMatchObject({ kind: "type-changed", compatible: true });
    expect(diffSchemaFields("AVRO", status(["OK"]), status(["OK", "LATE"]), "FORWARD")[0]).toMatchObject({ compatible: false });
  });

  it("reports a new nested record once, not each of its fields", () => {
    const nested = avro([...base, { name: "card", type: ["null", { type: "record", name: "Card", fields: [{ name: "last4", type: "string" }] }], default: null }]);
    expect(diffSchemaFields("AVRO", avro(base), nested, "BACKWARD").map((c) => c.path)).toEqual(["card"]);
    expect(diffSchemaFields("AVRO", nested, avro(base), "BACKWARD").map((c) => c.path)).toEqual(["card"]);
  });

  it("judges JSON Schema by required and Protobuf by field numbers", () => {
    const json = (required: string[], props: Record<string, unknown>) => schemaFields("JSON", JSON.stringify({ type: "object", required, properties: props }));
    expect(diffSchemaFields("JSON", json(["a"], { a: { type: "string" } }), json(["a"], { a: { type: "string" }, b: { type: "string" } }), "BACKWARD")).toEqual([
      expect.objectContaining({ path: "b", kind: "added", compatible: true }),
    ]);
    expect(diffSchemaFields("JSON", json(["a"], { a: { type: "string" } }), json(["a", "b"], { a: { type: "string" }, b: { type: "string" } }), "BACKWARD")).toEqual([
      expect.objectContaining({ path: "b", kind: "added", compatible: false }),
    ]);
    const proto = (body: string) => schemaFields("PROTOBUF", `syntax = "proto3"; message M { ${body} }`);
    expect(diffSchemaFields("PROTOBUF", proto("string a = 1;"), proto("string a = 1; int32 b = 2;"), "FULL")).toEqual([
      expect.objectContaining({ path: "b", kind: "added", compatible: true }),
    ]);
    expect(diffSchemaFields("PROTOBUF", proto("string a = 1;"), proto("string a = 2;"), "BACKWARD")).toEqual([
      expect.objectContaining({ path: "a", kind: "type-changed", before: "string #1", after: "string #2", compatible: false }),
    ]);
  });
});
