import { describe, expect, it } from "vitest";
import { evaluateGroupHealth, evaluatePartitionHealth, evaluateQueueHealth, type LagHealthSample } from "./lag-health.ts";

const T0 = Date.parse("2026-11-23T10:00:00Z");

/** Samples every 5 s from T0: [committed, lag] pairs (null committed = nothing committed). */
function series(points: readonly [number | null, number | null][]): LagHealthSample[] {
  return points.map(([committed, lag], i) => ({
    at: T0 + i * 5_000,
    committedOffset: committed === null ? null : String(committed),
    offsetLag: lag === null ? null : String(lag),
  }));
}

/** 61 samples over 5 minutes with the committed offset stuck at 1040 and lag 312. */
const stuck = series(Array.from({ length: 61 }, () => [1040, 312] as [number, number]));

describe("evaluatePartitionHealth", () => {
  it("STALL when members are present but the committed offset has not moved while lag > 0", () => {
    const health = evaluatePartitionHealth({ topic: "orders", partition: 2, samples: stuck }, "Stable");
    expect(health.status).toBe("STALL");
    expect(health.reason).toBe("partition 2 of orders: committed offset 1040 has not moved for 5 min while lag is 312");
    expect(health.offsetLag).toBe("312");
    expect(health.committedOffset).toBe("1040");
  });

  it("STOP, not STALL, when the group has no active members while lag > 0", () => {
    for (const state of ["Empty", "Dead"]) {
      const health = evaluatePartitionHealth({ topic: "orders", partition: 2, samples: stuck }, state);
      expect(health.status).toBe("STOP");
      expect(health.reason).toBe(`partition 2 of orders: the group has no active members (state ${state}) while lag is 312`);
    }
  });

  it("STOP needs lag: an empty group that is caught up is OK", () => {
    const health = evaluatePartitionHealth({ topic: "t", partition: 0, samples: series([[10, 0], [10, 0]]) }, "Empty");
    expect(health.status).toBe("OK");
    expect(health.reason).toBe("partition 0 of t: caught up (lag 0)");
  });

  it("WARN when lag grew across the whole window while the group commits", () => {
    const samples = series([[100, 10], [105, 40], [110, 40], [120, 90], [130, 312]]);
    const health = evaluatePartitionHealth({ topic: "orders", partition: 1, samples }, "Stable");
    expect(health.status).toBe("WARN");
    expect(health.reason).toBe("partition 1 of orders: lag grew from 10 to 312 over 20 s");
  });

  it("OK when lag shrank once within the window, or is flat", () => {
    const dipped = series([[100, 10], [105, 40], [130, 30], [140, 90]]);
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples: dipped }, "Stable").status).toBe("OK");
    const flat = series([[100, 10], [110, 10], [120, 10]]);
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples: flat }, "Stable").status).toBe("OK");
  });

  it("is not STALL when the partition was caught up at the start of the window (records just arrived)", () => {
    const samples = series([[50, 0], [50, 0], [50, 3]]);
    const health = evaluatePartitionHealth({ topic: "t", partition: 0, samples }, "Stable");
    // Lag went 0 → 3: it grew over the window; the committed offset could not have moved before.
    expect(health.status).toBe("WARN");
  });

  it("judges samples by time, whatever order they come in", () => {
    const shuffled = [...series([[100, 10], [110, 20], [120, 30]])].reverse();
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples: shuffled }, "Stable").status).toBe("WARN");
  });

  it("unknown lag (nothing committed, -1) is OK and says so, never STOP", () => {
    const samples: LagHealthSample[] = [
      { at: T0, committedOffset: null, offsetLag: null },
      { at: T0 + 5_000, committedOffset: "-1", offsetLag: "999" },
    ];
    const health = evaluatePartitionHealth({ topic: "t", partition: 3, samples }, "Empty");
    expect(health.status).toBe("OK");
    expect(health.reason).toBe("partition 3 of t: nothing committed yet, lag unknown");
    expect(health.offsetLag).toBeNull();
  });

  it("one sample cannot show a stall or growth", () => {
    const health = evaluatePartitionHealth({ topic: "t", partition: 0, samples: series([[5, 100]]) }, "Stable");
    expect(health.status).toBe("OK");
  });

  it("takes offsets as strings, numbers or bigints, and times as ISO strings or Dates", () => {
    const samples: LagHealthSample[] = [
      { at: new Date(T0).toISOString(), committedOffset: 7n, offsetLag: 5 },
      { at: new Date(T0 + 60_000), committedOffset: 7, offsetLag: "9" },
    ];
    const health = evaluatePartitionHealth({ topic: "t", partition: 0, samples }, "Stable");
    expect(health.status).toBe("STALL");
    expect(health.reason).toBe("partition 0 of t: committed offset 7 has not moved for 1 min while lag is 9");
  });
});

describe("evaluatePartitionHealth: the edges of STALL and STOP", () => {
  it("a committed offset that moved once within the window is not a stall", () => {
    const samples = series([[40, 10], [40, 12], [41, 11], [41, 13]]);
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples }, "Stable").status).toBe("OK");
  });

  it("a rebalancing group still has members: a stuck partition is STALL, not STOP", () => {
    for (const state of ["PreparingRebalance", "CompletingRebalance", "Stable"]) {
      expect(evaluatePartitionHealth({ topic: "orders", partition: 2, samples: stuck }, state).status).toBe("STALL");
    }
  });

  it("STOP is judged on the latest lag: an empty group that lagged earlier in the window but caught up is OK", () => {
    const samples = series([[10, 5], [15, 0]]);
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples }, "Empty").status).toBe("OK");
  });

  it("a stall over a window where lag only grew is STALL, the worse of the two", () => {
    const samples = series([[40, 10], [40, 20], [40, 30]]);
    const health = evaluatePartitionHealth({ topic: "t", partition: 1, samples }, "Stable");
    expect(health.status).toBe("STALL");
    expect(health.reason).toBe("partition 1 of t: committed offset 40 has not moved for 10 s while lag is 30");
  });
});

describe("evaluateGroupHealth", () => {
  it("ranks STOP over STALL over WARN over OK when choosing the partition to name", () => {
    const partitions = [
      { topic: "a", partition: 0, samples: series([[100, 10], [110, 20]]) },
      { topic: "b", partition: 0, samples: stuck },
    ];
    expect(evaluateGroupHealth("Stable", partitions)).toMatchObject({ status: "STALL", worst: { topic: "b", partition: 0 } });
    // Without members every lagging partition is STOP; the largest lag is named.
    expect(evaluateGroupHealth("Dead", partitions)).toMatchObject({ status: "STOP", worst: { topic: "b", partition: 0 } });
  });

  it("is as bad as its worst partition, and names it", () => {
    const health = evaluateGroupHealth("Stable", [
      { topic: "orders", partition: 0, samples: series([[100, 0], [200, 0]]) },
      { topic: "orders", partition: 1, samples: series([[100, 10], [110, 20]]) },
      { topic: "orders", partition: 2, samples: stuck },
    ]);
    expect(health.status).toBe("STALL");
    expect(health.worst).toMatchObject({ topic: "orders", partition: 2 });
    expect(health.reason).toContain("partition 2 of orders");
    expect(health.partitions.map((p) => p.status)).toEqual(["OK", "WARN", "STALL"]);
  });

  it("among equally bad partitions, points at the one with the largest lag", () => {
    const health = evaluateGroupHealth("Empty", [
      { topic: "a", partition: 0, samples: series([[1, 5]]) },
      { topic: "b", partition: 4, samples: series([[1, 500]]) },
    ]);
    expect(health.status).toBe("STOP");
    expect(health.worst).toMatchObject({ topic: "b", partition: 4 });
  });

  it("an OK group sums its lag and counts partitions with nothing committed", () => {
    const health = evaluateGroupHealth("Stable", [
      { topic: "a", partition: 0, samples: series([[1, 5]]) },
      { topic: "a", partition: 1, samples: series([[1, 7]]) },
      { topic: "a", partition: 2, samples: series([[null, null]]) },
    ]);
    expect(health.status).toBe("OK");
    expect(health.reason).toBe("3 partitions OK, total lag 12 (1 with nothing committed)");
  });

  it("a group without committed offsets is OK with nothing to judge", () => {
    expect(evaluateGroupHealth("Empty", [])).toMatchObject({ status: "OK", worst: null });
  });
});

describe("judging until the samples cover the window", () => {
  const WINDOW = 5 * 60_000;

  /**
   * A group that commits every 30 s, sampled every 5 s while records keep arriving: the committed
   * offset moves by 60 at every sixth sample, lag stays around 60. `count` samples from T0.
   */
  function committingEvery30s(count: number): LagHealthSample[] {
    return series(Array.from({ length: count }, (_, i) => [1_000 + Math.floor(i / 6) * 60, 60 + (i % 6) * 10] as [number, number]));
  }

  it("a group that commits every 30 s is OK, judging, right after it appears (two samples 5 s apart, no commit between)", () => {
    const health = evaluatePartitionHealth({ topic: "orders", partition: 0, samples: committingEvery30s(2) }, "Stable", { windowMs: WINDOW });
    expect(health.status).toBe("OK");
    expect(health.reason).toBe("partition 0 of orders: judging: samples cover 5 s of the 5 min window, lag 70");
    // Without the window, the same two samples read as a stall: what the rule prevents.
    expect(evaluatePartitionHealth({ topic: "orders", partition: 0, samples: committingEvery30s(2) }, "Stable").status).toBe("STALL");
  });

  it("the same group over a whole window is OK, consuming", () => {
    const health = evaluatePartitionHealth({ topic: "orders", partition: 0, samples: committingEvery30s(61) }, "Stable", { windowMs: WINDOW });
    expect(health.status).toBe("OK");
    expect(health.reason).toMatch(/consuming/);
  });

  it("a real stall is STALL once the samples cover the window, and judging before", () => {
    const early = evaluatePartitionHealth({ topic: "orders", partition: 2, samples: stuck.slice(0, 20) }, "Stable", { windowMs: WINDOW });
    expect(early).toMatchObject({ status: "OK", reason: "partition 2 of orders: judging: samples cover 1 min 35 s of the 5 min window, lag 312" });
    const full = evaluatePartitionHealth({ topic: "orders", partition: 2, samples: stuck }, "Stable", { windowMs: WINDOW });
    expect(full.status).toBe("STALL");
  });

  it("samples a minute apart cover a 5 min window with five of them", () => {
    const sparse: LagHealthSample[] = Array.from({ length: 5 }, (_, i) => ({ at: T0 + i * 60_000, committedOffset: "7", offsetLag: "3" }));
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples: sparse }, "Stable", { windowMs: WINDOW }).status).toBe("STALL");
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples: sparse.slice(0, 2) }, "Stable", { windowMs: WINDOW }).status).toBe("OK");
  });

  it("STOP is said at once: no members while lagging needs no window", () => {
    const health = evaluatePartitionHealth({ topic: "orders", partition: 0, samples: stuck.slice(0, 2) }, "Empty", { windowMs: WINDOW });
    expect(health.status).toBe("STOP");
  });

  it("growing lag is WARN only over a covered window", () => {
    const growing = series(Array.from({ length: 61 }, (_, i) => [500 + i, 10 + i * 5] as [number, number]));
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples: growing.slice(0, 3) }, "Stable", { windowMs: WINDOW }).status).toBe("OK");
    expect(evaluatePartitionHealth({ topic: "t", partition: 0, samples: growing }, "Stable", { windowMs: WINDOW }).status).toBe("WARN");
  });

  it("the group takes the window too", () => {
    const health = evaluateGroupHealth("Stable", [{ topic: "orders", partition: 0, samples: committingEvery30s(2) }], { windowMs: WINDOW });
    expect(health.status).toBe("OK");
  });
});

describe("evaluateQueueHealth", () => {
  const windowMs = 60_000;
  const series = (points: [ready: number, unacked: number, consumers: number, processed: number | null][]) =>
    points.map(([ready, unacknowledged, consumers, processedTotal], i) => ({ at: i * 10_000, ready, unacknowledged, consumers, processedTotal }));

  it("is STOP at once when messages wait and nobody consumes", () => {
    const health = evaluateQueueHealth("orders.work", series([[3, 0, 0, null]]), { windowMs });
    expect(health).toEqual({ status: "STOP", reason: "queue orders.work: no consumers while 3 messages wait" });
  });

  it("is STALL when consumers hold messages and ack nothing across the window", () => {
    const health = evaluateQueueHealth("q", series(Array.from({ length: 7 }, () => [2, 5, 1, 40] as [number, number, number, number])), { windowMs });
    expect(health.status).toBe("STALL");
    expect(health.reason).toBe("queue q: 1 consumer but nothing acked for 1 min while lag is 7");
  });

  it("is WARN when the lag grew all along while consumers ack", () => {
    const health = evaluateQueueHealth("q", series([[1, 1, 1, 1], [2, 1, 1, 2], [2, 1, 1, 3], [4, 1, 1, 4], [5, 1, 1, 5], [6, 1, 1, 6], [8, 1, 1, 7]]), {
      windowMs,
    });
    expect(health).toEqual({ status: "WARN", reason: "queue q: lag grew from 2 to 9 over 1 min" });
  });

  it("does not judge a stream, whose messages stay after they are read", () => {
    expect(evaluateQueueHealth("audit", series([[500, 0, 0, null]]), { windowMs, type: "stream" }).status).toBe("OK");
  });

  it("is OK while the samples do not cover the window yet, and when the queue is empty or shrinking", () => {
    expect(evaluateQueueHealth("q", series([[2, 5, 1, 40], [2, 5, 1, 40]]), { windowMs }).reason).toMatch(/^queue q: judging: samples cover 10 s/);
    expect(evaluateQueueHealth("q", series([[0, 0, 0, null]]), { windowMs })).toEqual({ status: "OK", reason: "queue q: empty (lag 0)" });
    const shrinking = evaluateQueueHealth("q", series([[9, 1, 1, 1], [8, 1, 1, 2], [7, 1, 1, 3], [6, 1, 1, 4], [5, 1, 1, 5], [4, 1, 1, 6], [3, 1, 1, 7]]), { windowMs });
    expect(shrinking).toEqual({ status: "OK", reason: "queue q: consuming, lag 4" });
  });
});
