import { describe, expect, it } from "vitest";
import { JSON_SHAPE_LIMITS, jsonShape, sameJsonStructure } from "./json-shape.ts";

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

describe("sameJsonStructure", () => {
  const deep = (leaf: unknown) => {
    let value = leaf;
    for (let i = 0; i < 20; i++) value = { d: value };
    return value;
  };
  const samples: unknown[] = [
    { orderId: "o-1", amount: 12.5, items: [{ sku: "a" }] },
    { orderId: "o-2", amount: 99, items: [{ sku: "zz" }] },
    { orderId: "o-3", amount: "12.5", items: [{ sku: "a" }] },
    { orderId: "o-1", items: [{ sku: "a" }], amount: 12.5 },
    { orderId: "o-1", amount: 12.5, items: [{ sku: "a" }, { sku: 1 }] },
    { orderId: "o-1", amount: 12.5, items: [] },
    { orderId: null, amount: 12.5, items: [{ sku: "a" }] },
    { orderId: "o-1", amount: 12.5, items: [{ sku: "a" }], extra: true },
    { a: { b: "x" } },
    { a: { c: "x" } },
    { a: ["x"] },
    [],
    [[]],
    {},
    "text",
    7,
    true,
    null,
    Object.fromEntries(Array.from({ length: JSON_SHAPE_LIMITS.MAX_KEYS + 1 }, (_, i) => [`id-${i}`, i])),
    Object.fromEntries(Array.from({ length: JSON_SHAPE_LIMITS.MAX_KEYS + 1 }, (_, i) => [`other-${i}`, "x"])),
    Array.from({ length: JSON_SHAPE_LIMITS.MAX_ELEMENTS + 5 }, (_, i) => (i < JSON_SHAPE_LIMITS.MAX_ELEMENTS ? 1 : "late")),
    Array.from({ length: JSON_SHAPE_LIMITS.MAX_ELEMENTS + 5 }, () => 1),
    deep("bottom"),
    deep(1),
  ];
  const same = (a: unknown, b: unknown) => sameJsonStructure(a as never, b as never);

  it("holds for values that differ only in their leaves' values, not when a type, a key or the key order differs", () => {
    expect(same(samples[0], samples[1])).toBe(true);
    for (const other of samples.slice(2, 8)) expect(same(samples[0], other)).toBe(false);
    expect(same(samples[8], samples[9])).toBe(false);
    expect(same(samples[8], samples[10])).toBe(false);
  });

  it("never holds for two values of different shapes, and holds for each value and itself", () => {
    let pairs = 0;
    for (const a of samples) {
      expect(same(a, a)).toBe(true);
      for (const b of samples) {
        if (a !== b && same(a, b)) {
          pairs++;
          expect(jsonShape(a as never)).toEqual(jsonShape(b as never));
        }
      }
    }
    // Ordered pairs: the first two, the maps beyond MAX_KEYS, the arrays past MAX_ELEMENTS and
    // the values that differ only below MAX_DEPTH (their shapes are the same too).
    expect(pairs).toBe(8);
  });
});
