import { describe, expect, it } from "vitest";
import { layoutPathway, loopEdges, pathwayColumns, STEP_NODE_SIZE } from "./flow-layout.ts";

const nodes = (...ids: string[]) => ids.map((id) => ({ id, ...STEP_NODE_SIZE }));
const edge = (source: string, target: string) => ({ source, target });

describe("pathwayColumns", () => {
  it("puts each step one column right of its longest way in", () => {
    const columns = pathwayColumns(
      ["placed", "reserved", "paid", "shipped", "cancelled"],
      [edge("placed", "reserved"), edge("reserved", "paid"), edge("paid", "shipped"), edge("placed", "cancelled"), edge("paid", "cancelled")],
      ["placed"],
    );
    expect(Object.fromEntries(columns)).toEqual({ placed: 0, reserved: 1, paid: 2, shipped: 3, cancelled: 3 });
  });

  it("leaves out what closes a loop: a retry that repeats, a replay back to an earlier step", () => {
    const edges = [edge("paid", "retry"), edge("retry", "retry"), edge("retry", "dlq"), edge("dlq", "replay"), edge("replay", "paid")];
    const ids = ["placed", "paid", "retry", "dlq", "replay"];
    const all = [edge("placed", "paid"), ...edges];
    expect([...loopEdges(ids, all, ["placed"])].map((k) => k.replace("\u0000", "→")).sort()).toEqual(["replay→paid", "retry→retry"]);
    expect(Object.fromEntries(pathwayColumns(ids, all, ["placed"]))).toEqual({ placed: 0, paid: 1, retry: 2, dlq: 3, replay: 4 });
  });

  it("walks from the start steps given, even when something leads back to them", () => {
    const columns = pathwayColumns(["a", "b"], [edge("a", "b"), edge("b", "a")], ["b"]);
    expect(Object.fromEntries(columns)).toEqual({ b: 0, a: 1 });
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
    const sameColumn = ["paid", "failed"].map((id) => layout.positions.get(id)!.y).sort((a, b) => a - b);
    expect(sameColumn[1]! - sameColumn[0]!).toBeGreaterThanOrEqual(STEP_NODE_SIZE.height);
    const again = layoutPathway(nodes(...[...ids].reverse()), [...edges].reverse(), { roots: ["placed"] });
    expect(again).toEqual(layout);
  });

  it("lays out nothing for no steps", () => {
    expect(layoutPathway([], [])).toEqual({ positions: new Map(), width: 0, height: 0 });
  });
});
