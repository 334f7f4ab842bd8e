import { describe, expect, it } from "vitest";
import { diffStates, mergePatch, statesAfterEach, withoutIgnored } from "./entity-state.ts";

describe("mergePatch (RFC 7386, appendix A)", () => {
  it.each([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [["a", "b"], ["c", "d"], ["c", "d"]],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("%j patched with %j is %j", (target, patch, result) => {
    expect(mergePatch(target, patch)).toEqual(result);
  });

  it("changes neither the target nor the patch", () => {
    const target = { a: { b: 1 } };
    const patch = { a: { c: 2 } };
    mergePatch(target, patch);
    expect(target).toEqual({ a: { b: 1 } });
    expect(patch).toEqual({ a: { c: 2 } });
  });
});

describe("an entity's state after each event", () => {
  it("folds the object values in order and lets other values pass", () => {
    const values = [
      { orderId: "ord-1", status: "placed", total: 42, items: [{ sku: "A" }] },
      "not an object",
      { status: "paid", payment: { id: "pay-1", card: "visa" } },
      { status: "cancelled", payment: { card: null }, reason: "declined" },
    ];
    expect(statesAfterEach(values)).toEqual([
      { orderId: "ord-1", status: "placed", total: 42, items: [{ sku: "A" }] },
      { orderId: "ord-1", status: "placed", total: 42, items: [{ sku: "A" }] },
      { orderId: "ord-1", status: "paid", total: 42, items: [{ sku: "A" }], payment: { id: "pay-1", card: "visa" } },
      { orderId: "ord-1", status: "cancelled", total: 42, items: [{ sku: "A" }], payment: { id: "pay-1" }, reason: "declined" },
    ]);
  });

  it("leaves ignored fields out: names at any depth, dotted paths from the root", () => {
    const value = { type: "OrderPlaced", occurredAt: "t1", order: { occurredAt: "t2", id: "o" }, meta: { trace: "x", keep: 1 } };
    expect(withoutIgnored(value, ["occurredAt", "meta.trace"])).toEqual({ type: "OrderPlaced", order: { id: "o" }, meta: { keep: 1 } });
    expect(statesAfterEach([value], ["type", "occurredAt", "meta"])).toEqual([{ order: { id: "o" } }]);
  });
});

describe("diffStates", () => {
  it("names each field added, removed or changed, by dotted path", () => {
    const before = { status: "placed", total: 42, payment: { id: "pay-1", card: "visa" }, items: [1] };
    const after = { status: "paid", total: 42, payment: { id: "pay-1" }, items: [1, 2], paidAt: "t" };
    expect(diffStates(before, after)).toEqual([
      { path: "items", change: "changed", before: [1], after: [1, 2] },
      { path: "paidAt", change: "added", after: "t" },
      { path: "payment.card", change: "removed", before: "visa" },
      { path: "status", change: "changed", before: "placed", after: "paid" },
    ]);
    expect(diffStates({}, {})).toEqual([]);
  });
});
