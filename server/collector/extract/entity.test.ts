import { describe, expect, it } from "vitest";
import { extractEntityKeys } from "./entity.ts";
import type { JsonValue } from "./types.ts";

describe("extractEntityKeys", () => {
  it("finds a configured name at the top level", () => {
    expect(extractEntityKeys({ orderId: "ord-1" }, "k", ["orderId"])).toEqual({
      keys: ["ord-1"],
      kinds: ["orderId"],
      source: "value",
      flags: [],
    });
  });

  it("finds a configured name at any depth, inside objects and arrays", () => {
    const payload = { order: { orderId: "ord-1" }, lines: [{ sku: "s1", orderId: "ord-2" }] };
    expect(extractEntityKeys(payload, null, ["orderId"]).keys).toEqual(["ord-1", "ord-2"]);
  });

  it("lists matches in document order, deduplicated", () => {
    const payload = { saga: { orderId: "ord-2" }, orderId: "ord-1", again: { orderId: "ord-2" } };
    expect(extractEntityKeys(payload, null, ["orderId"]).keys).toEqual(["ord-2", "ord-1"]);
  });

  it("follows a dotted path from the root only", () => {
    const payload = { customer: { id: "cus-7" }, payment: { customer: { id: "cus-other" } }, id: "evt-1" };
    expect(extractEntityKeys(payload, null, ["customer.id"]).keys).toEqual(["cus-7"]);
  });

  it("fans a dotted path out over arrays and honours a numeric index", () => {
    const payload: JsonValue = { items: [{ sku: "A-1" }, { sku: "B-2" }, { name: "no sku" }] };
    expect(extractEntityKeys(payload, null, ["items.sku"]).keys).toEqual(["A-1", "B-2"]);
    expect(extractEntityKeys(payload, null, ["items.1.sku"]).keys).toEqual(["B-2"]);
  });

  it("stringifies numeric ids and ignores booleans, nulls, objects and empty strings", () => {
    const payload = { orderId: 1042, nested: [{ orderId: true }, { orderId: null }, { orderId: { x: 1 } }, { orderId: "" }] };
    expect(extractEntityKeys(payload, null, ["orderId"]).keys).toEqual(["1042"]);
  });

  it("drops an integer beyond 2^53 instead of naming the wrong entity, and flags it", () => {
    const payload = JSON.parse('{"orderId": 12345678901234567890, "customerId": "cus-1"}') as JsonValue;
    expect(extractEntityKeys(payload, "key-1", ["orderId", "customerId"])).toEqual({
      keys: ["cus-1"],
      kinds: ["customerId"],
      source: "value",
      flags: ["entity-id-imprecise"],
    });
  });

  it("orders keys by the configured fields and merges names with paths", () => {
    const payload = { customer: { id: "cus-7" }, order: { orderId: "ord-1" } };
    expect(extractEntityKeys(payload, null, ["customer.id", "orderId"]).keys).toEqual(["cus-7", "ord-1"]);
    expect(extractEntityKeys(payload, null, [" orderId ", "", "customer.id"]).keys).toEqual(["ord-1", "cus-7"]);
  });

  it("deduplicates the same id found by two fields, of the kind of the first", () => {
    const payload = { orderId: "ord-1", order: { id: "ord-1" } };
    expect(extractEntityKeys(payload, null, ["orderId", "order.id"])).toMatchObject({ keys: ["ord-1"], kinds: ["orderId"] });
  });

  it("names each key's kind by the field that found it, as configured", () => {
    const payload = { customer: { id: "cus-7" }, order: { orderId: "ord-1" } };
    expect(extractEntityKeys(payload, null, [" orderId ", "customer.id"])).toMatchObject({ keys: ["ord-1", "cus-7"], kinds: ["orderId", "customer.id"] });
  });

  it("falls back to the message key when no field is found", () => {
    expect(extractEntityKeys({ status: "shipped" }, "ord-9", ["orderId"])).toEqual({
      keys: ["ord-9"],
      kinds: [null],
      source: "key",
      flags: [],
    });
    expect(extractEntityKeys(undefined, "ord-9", ["orderId"]).source).toBe("key");
  });

  it("has no entity without a field or a key", () => {
    expect(extractEntityKeys({ status: "shipped" }, null, ["orderId"])).toEqual({ keys: [], kinds: [], source: null, flags: [] });
    expect(extractEntityKeys("just a string", "", ["orderId"])).toEqual({ keys: [], kinds: [], source: null, flags: [] });
  });

  it("walks a payload nested far deeper than the call stack", () => {
    const depth = 100_000;
    const parsed = JSON.parse(`${"[".repeat(depth)}{"orderId":"deep"}${"]".repeat(depth)}`) as JsonValue;
    expect(extractEntityKeys(parsed, null, ["orderId"]).keys).toEqual(["deep"]);
  });
});
