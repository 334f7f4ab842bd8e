import { describe, expect, it } from "vitest";
import { stepId } from "@/lib/flows";
import { formatLatencyMs, formatPercentiles, formatShare, stepMark, stepName } from "./format";
import { flowPageHref } from "./to-flow";

describe("flows' words", () => {
  it("never rounds a part of the entities up to all of them, nor a few down to none", () => {
    expect(formatShare(1)).toBe("100 %");
    expect(formatShare(0.996)).toBe("99 %");
    expect(formatShare(0.625)).toBe("63 %");
    expect(formatShare(0.004)).toBe("< 1 %");
    expect(formatShare(0)).toBe("0 %");
  });

  it("reads bucketed latencies below a millisecond as such", () => {
    expect(formatLatencyMs(0)).toBe("0 ms");
    expect(formatLatencyMs(0.59)).toBe("< 1 ms");
    expect(formatLatencyMs(42)).toBe("42 ms");
    expect(formatPercentiles({ p50Ms: 42, p95Ms: 1500, p99Ms: 90_000, count: 3 })).toBe("p50 42 ms · p95 1 s · p99 1 min 30 s");
    expect(formatPercentiles(null, ["p50"], "first step")).toBe("first step");
  });

  it("marks retries and dead letters as failures whatever their type, and compensations by name", () => {
    expect(stepMark({ role: "dead-letter", type: "PaymentRequested" }).outcome).toBe("failure");
    expect(stepMark({ role: "retry", type: "PaymentRequested" }).outcome).toBe("failure");
    expect(stepMark({ role: "event", type: "InventoryReleased" }).outcome).toBe("compensation");
    expect(stepMark({ role: "replay", type: "OrderPlaced" }).outcome).toBe("normal");
    expect(stepName({ role: "dead-letter", type: "PaymentRequested", producer: null })).toBe("dead letter of PaymentRequested");
  });

  it("puts the selection in the page's URL next to the window", () => {
    const placed = stepId({ role: "event", type: "OrderPlaced", producer: "order-service" });
    expect(flowPageHref("key:orders", "24h", null)).toBe("/flows/key%3Aorders");
    const href = new URL(flowPageHref("orderId", "7d", { step: placed }), "http://localhost");
    expect([href.pathname, href.searchParams.get("window"), href.searchParams.get("step")]).toEqual(["/flows/orderId", "7d", placed]);
    const edge = new URL(flowPageHref("orderId", "24h", { from: placed, to: placed }), "http://localhost");
    expect([edge.searchParams.get("window"), edge.searchParams.get("from"), edge.searchParams.get("to")]).toEqual([null, placed, placed]);
  });
});
