import { describe, expect, test } from "vitest";
import {
  DUPLICATE_MAX_DELAY_MS,
  DUPLICATE_MIN_DELAY_MS,
  duplicateDelayMs,
  outageAt,
  rekeyedKey,
  RETRY_BASE_DELAY_MS,
  RETRY_MAX_DELAY_MS,
  retryDelayMs,
  stallAt,
} from "./failures.ts";

describe("retry backoff", () => {
  test("doubles per failed attempt, with half of each step random", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 0))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 0.999999))).toEqual([200, 400, 800, 1600]);
    expect(retryDelayMs(1, 0.5)).toBe(150);
    expect(RETRY_BASE_DELAY_MS).toBe(200);
  });

  test("is capped", () => {
    expect(retryDelayMs(30, 0.999999)).toBe(RETRY_MAX_DELAY_MS);
    expect(retryDelayMs(30, 0)).toBe(RETRY_MAX_DELAY_MS / 2);
  });
});

describe("payment-gateway outages", () => {
  const start = 1_000_000;
  const schedule = { everySeconds: 180, lengthSeconds: 8, startedAtMs: start };

  test("the first one starts 30 s after start, then one every period", () => {
    expect(outageAt(schedule, start)).toBeNull();
    expect(outageAt(schedule, start + 29_999)).toBeNull();
    expect(outageAt(schedule, start + 30_000)).toEqual({ startMs: start + 30_000, endMs: start + 38_000 });
    expect(outageAt(schedule, start + 37_999)).toEqual({ startMs: start + 30_000, endMs: start + 38_000 });
    expect(outageAt(schedule, start + 38_000)).toBeNull();
    expect(outageAt(schedule, start + 209_999)).toBeNull();
    expect(outageAt(schedule, start + 210_000)).toEqual({ startMs: start + 210_000, endMs: start + 218_000 });
  });

  test("a period shorter than 30 s starts the first one after one period", () => {
    const short = { everySeconds: 10, lengthSeconds: 3, startedAtMs: start };
    expect(outageAt(short, start + 9_999)).toBeNull();
    expect(outageAt(short, start + 10_000)).toEqual({ startMs: start + 10_000, endMs: start + 13_000 });
    expect(outageAt(short, start + 13_000)).toBeNull();
    expect(outageAt(short, start + 21_000)).toEqual({ startMs: start + 20_000, endMs: start + 23_000 });
  });

  test("--outage-every 0 means never", () => {
    expect(outageAt({ ...schedule, everySeconds: 0 }, start + 30_000)).toBeNull();
  });
});

describe("consumer stalls", () => {
  const start = 5_000_000;
  const schedule = { everySeconds: 600, lengthSeconds: 120, startedAtMs: start };

  test("the first one starts 5 minutes after start, then one every period", () => {
    expect(stallAt(schedule, start)).toBeNull();
    expect(stallAt(schedule, start + 299_999)).toBeNull();
    expect(stallAt(schedule, start + 300_000)).toEqual({ startMs: start + 300_000, endMs: start + 420_000 });
    expect(stallAt(schedule, start + 419_999)).toEqual({ startMs: start + 300_000, endMs: start + 420_000 });
    expect(stallAt(schedule, start + 420_000)).toBeNull();
    expect(stallAt(schedule, start + 899_999)).toBeNull();
    expect(stallAt(schedule, start + 900_000)).toEqual({ startMs: start + 900_000, endMs: start + 1_020_000 });
  });

  test("a period shorter than 5 minutes starts the first one after one period", () => {
    const short = { everySeconds: 20, lengthSeconds: 5, startedAtMs: start };
    expect(stallAt(short, start + 19_999)).toBeNull();
    expect(stallAt(short, start + 20_000)).toEqual({ startMs: start + 20_000, endMs: start + 25_000 });
    expect(stallAt(short, start + 25_000)).toBeNull();
    expect(stallAt(short, start + 44_000)).toEqual({ startMs: start + 40_000, endMs: start + 45_000 });
  });

  test("--stall-every 0 means never", () => {
    expect(stallAt({ ...schedule, everySeconds: 0 }, start + 300_000)).toBeNull();
  });
});

describe("duplicate deliveries", () => {
  test("follow the first one by tens to hundreds of milliseconds", () => {
    expect(duplicateDelayMs(0)).toBe(DUPLICATE_MIN_DELAY_MS);
    expect(duplicateDelayMs(0.999999)).toBe(DUPLICATE_MAX_DELAY_MS);
    expect(duplicateDelayMs(0.5)).toBe(275);
    expect([DUPLICATE_MIN_DELAY_MS, DUPLICATE_MAX_DELAY_MS]).toEqual([50, 500]);
  });
});

describe("re-keyed events", () => {
  test("keep the order id in a key of their own", () => {
    expect(rekeyedKey("ord-1a2b3c4d5e", "OrderConfirmed")).toBe("ord-1a2b3c4d5e:OrderConfirmed");
    expect(rekeyedKey("ord-1a2b3c4d5e", "OrderConfirmed")).not.toBe("ord-1a2b3c4d5e");
  });
});
