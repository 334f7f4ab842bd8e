import { describe, expect, it } from "vitest";
import { layoutPathway, pathwayColumns, STEP_NODE_SIZE } from "./flow-layout.ts";

const nodes = (...ids: string[]) => ids.map((id) => ({ id, ...STEP_NODE_SIZE }));
const edge = (source: string, target: string) => ({ source, target });

describe("pathwayColumns", () => {
  it("puts each step one column right of its shortest way in from a start", () => {
    const columns = pathwayColumns(
      ["placed", "reserved", "paid", "shipped", "cancelled"],
      [edge("placed", "reserved"), edge("reserved", "paid"), edge("paid", "shipped"), edge("placed", "cancelled"), edge("paid", "cancelled")],
      ["placed"],
    );
    expect(Object.fromEntries(columns)).toEqual({ placed: 0, reserved: 1, paid: 2, shipped: 3, cancelled: 1 });
  });

  it("keeps the common way compact when loops lead back into it: a retry that repeats, a replay", () => {
    const ids = ["placed", "paid", "shipped", "retry", "dlq", "replay"];
    const edges = [
      edge("placed", "paid"),
      edge("paid", "shipped"),
      edge("placed", "retry"),
      edge("retry", "retry"),
      edge("retry", "dlq"),
      edge("dlq", "replay"),
      edge("replay", "paid"),
    ];
    expect(Object.fromEntries(pathwayColumns(ids, edges, ["placed"]))).toEqual({ placed: 0, paid: 1, shipped: 2, retry: 1, dlq: 2, replay: 3 });
  });

  it("starts from the start steps given, even when something leads back to them; a step only a loop reaches starts its own walk", () => {
    expect(Object.fromEntries(pathwayColumns(["a", "b"], [edge("a", "b"), edge("b", "a")], ["b"]))).toEqual({ b: 0, a: 1 });
    expect(Object.fromEntries(pathwayColumns(["a", "x", "y"], [edge("x", "y"), edge("y", "x")], ["a"]))).toEqual({ a: 0, x: 0, y: 1 });
  });
});

describe("layoutPathway", () => {
  it("draws left to right without overlaps, and the same way whatever the input order", () => {
    const ids = ["placed", "reserved", "failed", "paid", "released", "shipped"];
    const edges = [
      edge("placed", "reserved"),
      edge("reserved", "paid"),
      edge("reserved", "failed"),
      edge("failed", "released"),
      edge("paid", "shipped"),
    ];
    const layout = layoutPathway(nodes(...ids), edges, { roots: ["placed"] });
    const x = (id: string) => layout.positions.get(id)!.x;
    expect(x("placed")).toBeLessThan(x("reserved"));
    expect(x("reserved")).toBeLessThan(x("paid"));
    expect(x("paid")).toBe(x("failed"));
    expect(x("shipped")).toBeGreaterThan(x("paid"));
    expect(x("released")).toBe(x("shipped"));
    const sameColumn = ["paid", "failed"].map((id) => layout.positions.get(id)!.y).sort((a, b) => a - b);
    expect(sameColumn[1]! - sameColumn[0]!).toBeGreaterThanOrEqual(STEP_NODE_SIZE.height);
    const again = layoutPathway(nodes(...[...ids].reverse()), [...edges].reverse(), { roots: ["placed"] });
    expect(again).toEqual(layout);
  });

  it("lays out nothing for no steps", () => {
    expect(layoutPathway([], [])).toEqual({ positions: new Map(), width: 0, height: 0 });
  });
});
