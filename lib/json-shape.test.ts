import { describe, expect, it } from "vitest";
import { JSON_SHAPE_LIMITS, jsonShape } from "./json-shape.ts";

describe("jsonShape", () => {
  it("gives each path once with each JSON type met there, array elements sharing a path", () => {
    expect(
      jsonShape({ orderId: "o-1", amount: 12.5, paid: true, note: null, customer: { id: "c-1" }, items: [{ sku: "a" }, { sku: 2 }, "x"], "content-type": "x", "v1.2": 1 }),
    ).toEqual([
      { path: "", type: "object" },
      { path: "orderId", type: "string" },
      { path: "amount", type: "number" },
      { path: "paid", type: "boolean" },
      { path: "note", type: "null" },
      { path: "customer", type: "object" },
      { path: "customer.id", type: "string" },
      { path: "items", type: "array" },
      { path: "items[]", type: "object" },
      { path: "items[].sku", type: "string" },
      { path: "items[].sku", type: "number" },
      { path: "items[]", type: "string" },
      { path: "content-type", type: "string" },
      { path: '["v1.2"]', type: "number" },
    ]);
  });

  it("stays bounded: a map with many keys is one object, deep nesting and long arrays are cut", () => {
    const map = Object.fromEntries(Array.from({ length: JSON_SHAPE_LIMITS.MAX_KEYS + 1 }, (_, i) => [`id-${i}`, i]));
    expect(jsonShape({ byId: map })).toEqual([
      { path: "", type: "object" },
      { path: "byId", type: "object" },
    ]);
    let deep: unknown = "bottom";
    for (let i = 0; i < 50; i++) deep = { d: deep };
    expect(jsonShape(deep as never).length).toBeLessThanOrEqual(JSON_SHAPE_LIMITS.MAX_DEPTH + 2);
    const wide = Array.from({ length: 1000 }, (_, i) => ({ [`k${i}`]: i }));
    expect(jsonShape(wide).length).toBe(1 + 1 + JSON_SHAPE_LIMITS.MAX_ELEMENTS);
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`f${i}`, Object.fromEntries(Array.from({ length: 60 }, (_, j) => [`g${j}`, j]))]));
    expect(jsonShape(many).length).toBe(JSON_SHAPE_LIMITS.MAX_PATHS);
  });
});
