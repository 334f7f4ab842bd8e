import { describe, expect, it } from "vitest";
import {
  addCounters,
  isOnceStep,
  pathOutcome,
  readPath,
  comparePathEvents,
  keyEntityKind,
  latencyBucket,
  latencyOf,
  parseStepId,
  pathCounters,
  placeOf,
  parsePlace,
  stepId,
  windowStartHour,
  MAX_PATH_STEPS,
  type CounterTally,
  type PathStep,
  type Step,
} from "./flows.ts";

const HOUR = 3_600_000;
/** 2026-12-05T10:00:00Z: the start of an hour. */
const T0 = Date.UTC(2026, 11, 5, 10);

const placed = stepId({ role: "event", type: "OrderPlaced", producer: "order-service" });
const paid = stepId({ role: "event", type: "PaymentProcessed", producer: "payment-service" });
const failed = stepId({ role: "event", type: "PaymentFailed", producer: "payment-service" });
const retry = stepId({ role: "retry", type: "PaymentRequested", producer: "payment-service" });
const dead = stepId({ role: "dead-letter", type: "PaymentRequested", producer: "payment-service" });
const shipped = stepId({ role: "event", type: "OrderShipped", producer: "shipping-service" });

describe("steps", () => {
  it("reads back what it writes, with and without a producer", () => {
    expect(parseStepId(placed)).toEqual({ role: "event", type: "OrderPlaced", producer: "order-service" });
    expect(parseStepId(stepId({ role: "replay", type: "(orders)", producer: null }))).toEqual({ role: "replay", type: "(orders)", producer: null });
  });

  it("refuses texts that are not step ids", () => {
    expect(parseStepId("OrderPlaced")).toBeNull();
    expect(parseStepId("bogus\u001fOrderPlaced\u001f")).toBeNull();
    expect(parseStepId("event\u001f\u001f")).toBeNull();
  });

  it("names a key's entities by their topic", () => {
    expect(keyEntityKind("payments")).toBe("key:payments");
  });
});

describe("latency buckets", () => {
  it("puts 0 ms and clock skew in bucket 0, and a quarter doubling in each bucket after", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(-20)).toBe(0);
    expect(latencyBucket(1)).toBe(1);
    expect(latencyBucket(100)).toBe(27);
    expect(latencyBucket(200)).toBe(31);
    expect(latencyBucket(60_000)).toBe(64);
    expect(latencyBucket(1e15)).toBe(160);
  });

  it("reads nearest-rank percentiles from bucket counts, within a bucket's width", () => {
    // 98 samples of 100 ms, one of 200 ms, one of 60 s.
    const buckets = new Map([
      [27, 98],
      [31, 1],
      [64, 1],
    ]);
    expect(latencyOf(buckets)).toEqual({ p50Ms: 99, p95Ms: 99, p99Ms: 197, count: 100 });
    expect(latencyOf(new Map([[64, 1]]))).toEqual({ p50Ms: 60097, p95Ms: 60097, p99Ms: 60097, count: 1 });
    expect(latencyOf(new Map())).toBeNull();
    expect(latencyOf(new Map([[27, 0]]))).toBeNull();
  });
});

describe("what a path counts for", () => {
  it("counts each step reached, the start, the end, each transition with its latency, and end to end", () => {
    const path: PathStep[] = [
      { step: placed, at: T0 + 10 },
      { step: paid, at: T0 + 110 },
      { step: shipped, at: T0 + HOUR + 10 },
    ];
    expect(pathCounters(path)).toEqual([
      { metric: "reach", hour: T0, a: placed, b: "", bucket: -1 },
      { metric: "reach", hour: T0, a: paid, b: "", bucket: -1 },
      { metric: "reach", hour: T0 + HOUR, a: shipped, b: "", bucket: -1 },
      { metric: "start", hour: T0, a: placed, b: "", bucket: -1 },
      { metric: "end", hour: T0 + HOUR, a: shipped, b: "open", bucket: -1 },
      // 100 ms
      { metric: "edge", hour: T0, a: placed, b: paid, bucket: 27 },
      // 3,599,900 ms: floor(log2(3599900) × 4) + 1 = floor(21.779 × 4) + 1 = 88
      { metric: "edge", hour: T0 + HOUR, a: paid, b: shipped, bucket: 88 },
      // 3,600,000 ms
      { metric: "e2e", hour: T0 + HOUR, a: "", b: "", bucket: 88 },
      // It ended right after PaymentProcessed → OrderShipped, open (PATH_OUTCOMES[0]).
      { metric: "tail", hour: T0 + HOUR, a: paid, b: shipped, bucket: 0 },
    ]);
  });

  it("counts a retry loop's steps and transitions once, with the first occurrence's time", () => {
    const path: PathStep[] = [
      { step: placed, at: T0 },
      { step: retry, at: T0 + 1_000 },
      { step: retry, at: T0 + 2_000 },
      { step: retry, at: T0 + 4_000 },
      { step: dead, at: T0 + 8_000 },
    ];
    const counters = pathCounters(path);
    expect(counters.filter((c) => c.metric === "reach").map((c) => c.a)).toEqual([placed, retry, dead]);
    expect(counters.filter((c) => c.metric === "edge").map((c) => [c.a, c.b, c.bucket])).toEqual([
      [placed, retry, 40], // 1,000 ms
      [retry, retry, 40], // 1,000 ms, the first time round
      [retry, dead, 48], // 4,000 ms: floor(11.966 × 4) + 1
    ]);
    expect(counters.filter((c) => c.metric === "e2e").map((c) => c.bucket)).toEqual([52]); // 8,000 ms
  });

  it("counts an ordinary step reached twice as a repeat, once, at its second time; a retry loop is no repeat", () => {
    const path: PathStep[] = [
      { step: placed, at: T0 },
      { step: paid, at: T0 + 100 },
      { step: paid, at: T0 + HOUR + 200 },
      { step: paid, at: T0 + HOUR + 300 },
      { step: retry, at: T0 + HOUR + 400 },
      { step: retry, at: T0 + HOUR + 500 },
    ];
    expect(pathCounters(path).filter((c) => c.metric === "repeat")).toEqual([{ metric: "repeat", hour: T0 + HOUR, a: paid, b: "", bucket: -1 }]);
    expect(isOnceStep({ entities: 100, repeats: 4 })).toBe(true);
    expect(isOnceStep({ entities: 100, repeats: 5 })).toBe(false);
    expect(isOnceStep({ entities: 0, repeats: 0 })).toBe(false);
  });

  it("counts a single event as start, end and reach, without transitions", () => {
    expect(pathCounters([{ step: failed, at: T0 + 5 }])).toEqual([
      { metric: "reach", hour: T0, a: failed, b: "", bucket: -1 },
      { metric: "start", hour: T0, a: failed, b: "", bucket: -1 },
      { metric: "end", hour: T0, a: failed, b: "open", bucket: -1 },
    ]);
    expect(pathCounters([])).toEqual([]);
  });

  it("keeps only the first MAX_PATH_STEPS steps of a long history", () => {
    const path = Array.from({ length: MAX_PATH_STEPS + 50 }, (_, i) => ({ step: i === MAX_PATH_STEPS + 10 ? shipped : paid, at: T0 + i }));
    const counters = pathCounters(path);
    expect(counters.some((c) => c.a === shipped || c.b === shipped)).toBe(false);
    expect(counters.find((c) => c.metric === "end")).toEqual({ metric: "end", hour: T0, a: paid, b: "open", bucket: -1 });
  });

  it("counts each duplicate delivery by step and channel, and does not take it for a repeat", () => {
    const path: PathStep[] = [
      { step: placed, at: T0, place: placeOf("orders", 1), fingerprint: 101 },
      // The same OrderPlaced (same id) again, 2 s later: a duplicate, not a repeated effect.
      { step: placed, at: T0 + 2_000, place: placeOf("orders", 1), fingerprint: 101 },
      { step: paid, at: T0 + 3_000, place: placeOf("payments", 0), fingerprint: 202 },
      // Another PaymentProcessed (another id): a repeat. Then that one delivered again an hour later.
      { step: paid, at: T0 + 4_000, place: placeOf("payments", 0), fingerprint: 203 },
      { step: paid, at: T0 + HOUR + 10, place: placeOf("payments", 0), fingerprint: 203 },
      // Same id on another channel: no duplicate (a copy to an archive topic is another delivery).
      { step: paid, at: T0 + HOUR + 20, place: placeOf("payments-archive", 0), fingerprint: 203 },
    ];
    const counters = pathCounters(path);
    expect(counters.filter((c) => c.metric === "dup")).toEqual([
      { metric: "dup", hour: T0, a: placed, b: "orders", bucket: -1 },
      { metric: "dup", hour: T0 + HOUR, a: paid, b: "payments", bucket: -1 },
    ]);
    expect(counters.filter((c) => c.metric === "repeat")).toEqual([{ metric: "repeat", hour: T0, a: paid, b: "", bucket: -1 }]);
    // Content fingerprints (negative) match only within a minute.
    const content: PathStep[] = [
      { step: placed, at: T0, place: placeOf("orders", 0), fingerprint: -7 },
      { step: placed, at: T0 + 61_000, place: placeOf("orders", 0), fingerprint: -7 },
      { step: placed, at: T0 + 62_000, place: placeOf("orders", 0), fingerprint: -7 },
    ];
    expect(pathCounters(content).filter((c) => c.metric === "dup")).toEqual([{ metric: "dup", hour: T0, a: placed, b: "orders", bucket: -1 }]);
  });

  it("counts a channel an entity's events sit on in several partitions once, at the first event off the first partition", () => {
    const path: PathStep[] = [
      { step: placed, at: T0, place: placeOf("orders", 2), fingerprint: 1 },
      { step: paid, at: T0 + 10, place: placeOf("payments", 0), fingerprint: 2 },
      { step: shipped, at: T0 + HOUR, place: placeOf("orders", 5), fingerprint: 3 },
      { step: failed, at: T0 + 2 * HOUR, place: placeOf("orders", 6), fingerprint: 4 },
      { step: paid, at: T0 + 2 * HOUR, place: placeOf("payments", 0), fingerprint: 5 },
    ];
    expect(pathCounters(path).filter((c) => c.metric === "split")).toEqual([{ metric: "split", hour: T0 + HOUR, a: "orders", b: "", bucket: -1 }]);
    // Steps folded before places were kept count neither.
    expect(pathCounters(path.map(({ step, at }) => ({ step, at }))).filter((c) => c.metric === "split" || c.metric === "dup")).toEqual([]);
    expect(parsePlace(placeOf("orders.v2", 12))).toEqual({ channel: "orders.v2", partition: 12 });
    expect(parsePlace("")).toBeNull();
  });

  it("turns an old path into a new one by taking its counters away and adding the new ones", () => {
    const tally: CounterTally = new Map();
    const before: PathStep[] = [{ step: placed, at: T0 }];
    const after: PathStep[] = [
      { step: placed, at: T0 },
      { step: paid, at: T0 + 100 },
    ];
    addCounters(tally, "orderId", pathCounters(before), -1);
    addCounters(tally, "orderId", pathCounters(after), 1);
    const changed = [...tally.values()].filter((entry) => entry.count !== 0).map((e) => [e.counter.metric, e.counter.a, e.counter.b, e.count]);
    expect(changed).toEqual([
      ["end", placed, "open", -1],
      ["reach", paid, "", 1],
      ["end", paid, "open", 1],
      ["edge", placed, paid, 1],
      ["e2e", "", "", 1],
      ["tail", placed, paid, 1],
    ]);
  });
});

describe("path order", () => {
  it("orders by time, then source, channel, partition and position (as numbers)", () => {
    const at = (ms: number, sourceId: number, channel: string, partition: number, position: string) => ({ at: ms, sourceId, channel, partition, position });
    const events = [at(5, 1, "b", 0, "10"), at(5, 1, "b", 0, "9"), at(5, 1, "a", 3, "1"), at(4, 2, "z", 0, "0"), at(5, 0, "z", 0, "0")];
    expect(events.sort(comparePathEvents)).toEqual([at(4, 2, "z", 0, "0"), at(5, 0, "z", 0, "0"), at(5, 1, "a", 3, "1"), at(5, 1, "b", 0, "9"), at(5, 1, "b", 0, "10")]);
  });
});

describe("windows", () => {
  it("start at the hour that holds now minus the window", () => {
    expect(windowStartHour("1h", T0 + 30 * 60_000)).toBe(T0 - HOUR);
    expect(windowStartHour("24h", T0)).toBe(T0 - 24 * HOUR);
    expect(windowStartHour("7d", T0 + 1)).toBe(T0 - 7 * 24 * HOUR);
  });
});

describe("outcomes", () => {
  const ev = (type: string, producer = "svc"): Step => ({ role: "event", type, producer });
  const as = (role: Step["role"], type: string): Step => ({ role, type, producer: "svc" });

  it("finds the failure a compensation chain answers", () => {
    const path = [ev("OrderPlaced"), ev("InventoryReserved"), ev("PaymentFailed"), ev("InventoryReleased"), ev("OrderCancelled"), ev("NotificationSent")];
    expect(readPath(path)).toEqual({ outcome: "compensated", deadLetter: null, failure: 2, compensations: [3, 4] });
  });

  it("answers the latest failure before the compensations", () => {
    const path = [ev("OrderPlaced"), ev("PaymentFailed"), ev("PaymentProcessed"), ev("ShippingFailed"), ev("PaymentRefunded")];
    expect(readPath(path)).toEqual({ outcome: "compensated", deadLetter: null, failure: 3, compensations: [4] });
  });

  it("calls a dead letter with no replay after it dead-lettered, and one replayed open again", () => {
    const parked = [ev("OrderPlaced"), as("retry", "PaymentRequested"), as("dead-letter", "PaymentRequested")];
    expect(readPath(parked)).toEqual({ outcome: "dead-lettered", deadLetter: 2, failure: null, compensations: [] });
    // A compensation chain before a later dead letter (a refused e-mail): dead-lettered, the chain still read.
    const both = [ev("OrderPlaced"), ev("PaymentFailed"), ev("InventoryReleased"), ev("OrderCancelled"), as("dead-letter", "EmailRequested")];
    expect(readPath(both)).toEqual({ outcome: "dead-lettered", deadLetter: 4, failure: 1, compensations: [2, 3] });
    const replayed = [...parked, as("replay", "PaymentRequested"), ev("PaymentProcessed")];
    expect(readPath(replayed).outcome).toBe("open");
    const parkedAgain = [...replayed, as("dead-letter", "ShipmentRequested")];
    expect(readPath(parkedAgain)).toMatchObject({ outcome: "dead-lettered", deadLetter: 5 });
  });

  it("needs a failure before a compensation: a cancellation alone, or a failure alone, is open", () => {
    expect(readPath([ev("OrderPlaced"), ev("OrderCancelled")]).outcome).toBe("open");
    expect(readPath([ev("OrderPlaced"), ev("PaymentFailed")]).outcome).toBe("open");
    expect(readPath([]).outcome).toBe("open");
  });

  it("takes configured failure → compensation pairs for types not named like either", () => {
    const path = [ev("OrderPlaced"), ev("CardBounced"), ev("StockReturned")];
    expect(readPath(path).outcome).toBe("open");
    expect(readPath(path, [{ failure: "CardBounced", compensation: "StockReturned" }])).toEqual({
      outcome: "compensated",
      deadLetter: null,
      failure: 1,
      compensations: [2],
    });
  });

  it("reads a path of step ids, and names the outcome on its end counter", () => {
    const path: PathStep[] = [
      { step: placed, at: T0 },
      { step: failed, at: T0 + 10 },
      { step: stepId({ role: "event", type: "InventoryReleased", producer: "inventory-service" }), at: T0 + 20 },
    ];
    expect(pathOutcome(path)).toBe("compensated");
    expect(pathCounters(path, "compensated").find((c) => c.metric === "end")?.b).toBe("compensated");
  });
});
