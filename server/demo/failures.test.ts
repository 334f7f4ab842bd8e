import { describe, expect, test } from "vitest";
import { outageAt, RETRY_BASE_DELAY_MS, RETRY_MAX_DELAY_MS, retryDelayMs } from "./failures.ts";

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
