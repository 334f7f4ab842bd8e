import { describe, expect, it } from "vitest";
import { jsonSchemaWriter } from "./json-schema.ts";

const ORDER = JSON.stringify({
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "OrderPlaced",
  type: "object",
  properties: {
    orderId: { type: "string" },
    placedAt: { type: "string", format: "date-time" },
    lines: { type: "array", items: { $ref: "line.json" } },
  },
  required: ["orderId"],
  additionalProperties: false,
});
const LINE = JSON.stringify({ $id: "line.json", type: "object", properties: { sku: { type: "string" }, qty: { type: "integer", minimum: 1 } }, required: ["sku"] });

function misfit(schema: string, value: unknown, references: { name: string; schema: string }[] = []): string {
  try {
    jsonSchemaWriter(schema, references).write(JSON.stringify(value), value);
  } catch (error) {
    return (error as Error).message;
  }
  return "written";
}

describe("JSON Schema writer", () => {
  it("sends a value that fits as the JSON text entered", () => {
    const text = '{ "orderId": "ord-1", "placedAt": "2026-12-05T10:00:00Z", "lines": [{ "sku": "a", "qty": 2 }] }';
    const payload = jsonSchemaWriter(ORDER, [{ name: "line.json", schema: LINE }]).write(text, JSON.parse(text));
    expect(payload.toString("utf8")).toBe(text);
  });

  it("names the field that does not fit, through references too", () => {
    const references = [{ name: "line.json", schema: LINE }];
    expect(misfit(ORDER, { orderId: 7 }, references)).toBe("orderId: must be string, got 7");
    expect(misfit(ORDER, {}, references)).toBe("orderId: is required by the schema, and missing");
    expect(misfit(ORDER, { orderId: "a", note: "x" }, references)).toBe("note: is not a property the schema allows");
    expect(misfit(ORDER, { orderId: "a", placedAt: "yesterday" }, references)).toBe('placedAt: must match format "date-time", got "yesterday"');
    expect(misfit(ORDER, { orderId: "a", lines: [{ sku: "a", qty: 1 }, { sku: "b", qty: 0 }] }, references)).toBe("lines[1].qty: must be >= 1, got 0");
  });

  it("reads draft 2020-12 schemas by their $schema", () => {
    const schema = JSON.stringify({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { tags: { type: "array", prefixItems: [{ type: "string" }], items: false } },
    });
    expect(misfit(schema, { tags: ["a"] })).toBe("written");
    expect(misfit(schema, { tags: ["a", "b"] })).toMatch(/^tags: must NOT have more than 1 items/);
  });
});
