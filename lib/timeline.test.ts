import { describe, expect, it } from "vitest";
import { assignLanes, buildTimeScale, buildWaterfall, gapsSincePrevious, laneKey, timelineBounds } from "./timeline.ts";

describe("timelineBounds", () => {
  it("spans the earliest to the latest time, whatever the order", () => {
    expect(timelineBounds([300, 100, 250])).toEqual({ startMs: 100, endMs: 300, spanMs: 200 });
  });
  it("is null without events and zero-length for one", () => {
    expect(timelineBounds([])).toBeNull();
    expect(timelineBounds([42])).toEqual({ startMs: 42, endMs: 42, spanMs: 0 });
  });
});

describe("gapsSincePrevious", () => {
  it("gives the time since the previous event, none for the first", () => {
    expect(gapsSincePrevious([1000, 1040, 1040, 5000])).toEqual([null, 40, 0, 3960]);
  });
});

describe("buildTimeScale", () => {
  it("is linear when the gaps are alike", () => {
    const scale = buildTimeScale([0, 100, 200, 300, 400]);
    expect(scale.breaks).toEqual([]);
    expect(scale.position(0)).toBe(0);
    expect(scale.position(100)).toBeCloseTo(0.25);
    expect(scale.position(250)).toBeCloseTo(0.625);
    expect(scale.position(400)).toBe(1);
  });

  it("folds a gap of two days after a saga of milliseconds, and says how long it was", () => {
    const day = 86_400_000;
    const saga = [0, 40, 80, 120];
    const scale = buildTimeScale([...saga, 2 * day, 2 * day + 40]);
    expect(scale.breaks).toHaveLength(1);
    expect(scale.breaks[0]!.skippedMs).toBe(2 * day - 120);
    // The saga keeps a visible share of the width instead of collapsing into one point.
    expect(scale.position(120)).toBeGreaterThan(0.05);
    expect(scale.position(40)).toBeGreaterThan(scale.position(0));
    expect(scale.position(2 * day)).toBeLessThan(scale.position(2 * day + 40));
    expect(scale.breaks[0]!.at).toBeGreaterThan(scale.position(120));
    expect(scale.breaks[0]!.at).toBeLessThan(scale.position(2 * day));
  });

  it("keeps the order of events and stays within 0..1", () => {
    const times = [5, 9, 9, 1_000_000, 1_000_003, 7_000_000, 7_000_001];
    const scale = buildTimeScale(times, { minFoldMs: 10 });
    const positions = times.map(scale.position);
    for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeGreaterThanOrEqual(positions[i - 1]!);
    expect(Math.min(...positions)).toBe(0);
    expect(Math.max(...positions)).toBe(1);
    expect(scale.breaks).toHaveLength(2);
  });

  it("puts every event at 0 when they all share one instant", () => {
    const scale = buildTimeScale([7, 7, 7]);
    expect(scale.position(7)).toBe(0);
    expect(scale.breaks).toEqual([]);
  });
});

describe("lanes", () => {
  const events = [
    { producer: "order-service", topic: "orders" },
    { producer: "inventory-service", topic: "inventory" },
    { producer: "order-service", topic: "orders-retry" },
    { producer: null, topic: "orders" },
  ];

  it("gives one lane per service, in order of first appearance", () => {
    const lanes = assignLanes(events, (e) => laneKey(e, "service"));
    expect(lanes.names).toEqual(["order-service", "inventory-service", "unknown producer"]);
    expect(lanes.laneOf).toEqual([0, 1, 0, 2]);
  });

  it("gives one lane per topic", () => {
    const lanes = assignLanes(events, (e) => laneKey(e, "topic"));
    expect(lanes.names).toEqual(["orders", "inventory", "orders-retry"]);
    expect(lanes.laneOf).toEqual([0, 1, 2, 0]);
  });
});

describe("buildWaterfall", () => {
  // An order saga: the order service's event is read by inventory and payment, whose events the
  // order and shipping services read in turn.
  const saga = [
    { timestampMs: 1000, producer: "order-service", consumerGroups: ["inventory-service", "payment-service", "analytics"] },
    { timestampMs: 1030, producer: "inventory-service", consumerGroups: ["order-service"] },
    { timestampMs: 1050, producer: "payment-service", consumerGroups: ["shipping-service", "order-service"] },
    { timestampMs: 1090, producer: "shipping-service", consumerGroups: ["notification-service"] },
    { timestampMs: 1120, producer: "notification-service", consumerGroups: [] },
  ];

  it("nests each event under the latest earlier event its producer consumes", () => {
    const rows = buildWaterfall(saga);
    expect(rows.map((r) => [r.index, r.parent, r.depth])).toEqual([
      [0, null, 0],
      [1, 0, 1],
      [2, 0, 1],
      [3, 2, 2],
      [4, 3, 3],
    ]);
  });

  it("measures offsets from the first event and each hop's latency to its first consequence", () => {
    const rows = buildWaterfall(saga);
    const byIndex = new Map(rows.map((r) => [r.index, r]));
    expect(byIndex.get(0)).toMatchObject({ offsetMs: 0, durationMs: 30 });
    expect(byIndex.get(2)).toMatchObject({ offsetMs: 50, durationMs: 40 });
    expect(byIndex.get(4)).toMatchObject({ offsetMs: 120, durationMs: null });
  });

  it("lists a child right after its parent's subtree starts, even when another branch came in between", () => {
    const events = [
      { timestampMs: 0, producer: "a", consumerGroups: ["b", "c"] },
      { timestampMs: 10, producer: "b", consumerGroups: ["d"] },
      { timestampMs: 20, producer: "c", consumerGroups: [] },
      { timestampMs: 30, producer: "d", consumerGroups: [] },
    ];
    expect(buildWaterfall(events).map((r) => r.index)).toEqual([0, 1, 3, 2]);
  });

  it("matches a group named after its service, and keeps unrelated events as roots", () => {
    const events = [
      { timestampMs: 0, producer: "order-service", consumerGroups: ["payment-service-group"] },
      { timestampMs: 5, producer: "payment-service", consumerGroups: [] },
      { timestampMs: 9, producer: null, consumerGroups: [] },
      { timestampMs: 12, producer: "stranger", consumerGroups: [] },
    ];
    expect(buildWaterfall(events).map((r) => [r.index, r.parent])).toEqual([
      [0, null],
      [1, 0],
      [2, null],
      [3, null],
    ]);
  });

  it("is empty for no events", () => {
    expect(buildWaterfall([])).toEqual([]);
  });
});
