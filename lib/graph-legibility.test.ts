import { describe, expect, it } from "vitest";
import { type Box, type MeasuredEdge, measureLegibility, placeEdgeLabels, pointOnEdge } from "./graph-legibility";

const box = (x: number, y: number, width = 100, height = 40): Box => ({ x, y, width, height });
const edge = (source: string, target: string, label: Box | null = null): MeasuredEdge => ({ source, target, label });

/** Two columns: a and b on the left (a above b), c and d on the right (c above d). */
const twoByTwo = new Map([
  ["a", box(0, 0)],
  ["b", box(0, 100)],
  ["c", box(300, 0)],
  ["d", box(300, 100)],
]);

describe("measureLegibility", () => {
  it("counts no crossing for parallel edges and one when they swap", () => {
    expect(measureLegibility(twoByTwo, [edge("a", "c"), edge("b", "d")]).crossings).toBe(0);
    expect(measureLegibility(twoByTwo, [edge("a", "d"), edge("b", "c")]).crossings).toBe(1);
  });

  it("does not count edges that share a node, nor edges within a column", () => {
    expect(measureLegibility(twoByTwo, [edge("a", "c"), edge("a", "d"), edge("b", "d")]).crossings).toBe(0);
    const withLoop = new Map([...twoByTwo, ["e", box(0, 200)]]);
    expect(measureLegibility(withLoop, [edge("a", "e"), edge("b", "c")]).crossings).toBe(0);
  });

  it("counts every crossing pair of a hand-made three-column graph", () => {
    // p1 → t2, p2 → t1 cross (1); t1 → g2, t2 → g1 cross (1); t1 → g1 and t2 → g2 cross neither.
    const nodes = new Map([
      ["p1", box(0, 0)],
      ["p2", box(0, 100)],
      ["t1", box(300, 0)],
      ["t2", box(300, 100)],
      ["g1", box(600, 0)],
      ["g2", box(600, 100)],
    ]);
    const edges = [edge("p1", "t2"), edge("p2", "t1"), edge("t1", "g2"), edge("t2", "g1"), edge("t1", "g1"), edge("t2", "g2")];
    expect(measureLegibility(nodes, edges).crossings).toBe(2);
  });

  it("counts overlapping labels, labels over nodes and hidden labels", () => {
    const onTop = box(170, 40, 60, 14);
    const measured = measureLegibility(twoByTwo, [
      edge("a", "c", onTop),
      edge("b", "d", { ...onTop, x: onTop.x + 30 }),
      edge("a", "d", box(80, 10, 60, 14)),
      edge("b", "c", null),
    ]);
    expect(measured.overlappingLabels).toBe(1);
    expect(measured.labelsOverNodes).toBe(1);
    expect(measured.hiddenLabels).toBe(1);
  });

  it("follows React Flow's curve: ends at the handles, midpoint halfway", () => {
    const [start, end] = [{ x: 0, y: 0 }, { x: 200, y: 100 }];
    expect(pointOnEdge(start, end, 0)).toEqual(start);
    expect(pointOnEdge(start, end, 1)).toEqual(end);
    expect(pointOnEdge(start, end, 0.5)).toEqual({ x: 100, y: 50 });
  });
});

describe("placeEdgeLabels", () => {
  it("puts a label at its edge's middle when there is room, and moves the next one along its edge", () => {
    // a→c and b→d cross: both middles are at (200, 40), so the second label moves along its edge.
    const small = { width: 40, height: 10 };
    const nodes = new Map([
      ["a", box(0, 0)],
      ["b", box(0, 40)],
      ["c", box(300, 40)],
      ["d", box(300, 0)],
    ]);
    const placed = placeEdgeLabels(nodes, [
      { id: "ac", source: "a", target: "c", size: small },
      { id: "bd", source: "b", target: "d", size: small },
    ]);
    expect(placed.get("ac")).toEqual({ x: 180, y: 35, width: 40, height: 10 });
    const second = placed.get("bd")!;
    expect(second).not.toBeNull();
    expect(second.x).toBeLessThan(180);
    expect(measureLegibility(nodes, [edge("a", "c", placed.get("ac")!), edge("b", "d", second)])).toMatchObject({ overlappingLabels: 0, labelsOverNodes: 0 });
  });

  it("gives no place to a label with no room on its edge, rather than overlap", () => {
    const nodes = new Map([
      ["a", box(0, 0)],
      ["c", box(130, 0)],
    ]);
    expect(placeEdgeLabels(nodes, [{ id: "ac", source: "a", target: "c", size: { width: 60, height: 14 } }]).get("ac")).toBeNull();
  });
});
