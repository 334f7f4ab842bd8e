import { describe, expect, it } from "vitest";
import { isCollectedTopic, selectTopics } from "./topic-filter.ts";

describe("selectTopics", () => {
  it("leaves out internal topics and keeps every other one, sorted, once", () => {
    expect(
      selectTopics(["orders", "__consumer_offsets", "payments", "_single-underscore", "orders", "__connect-offsets"], {}),
    ).toEqual(["_single-underscore", "orders", "payments"]);
  });

  it("keeps only what the include pattern matches, minus what the exclude pattern matches", () => {
    const filter = { include: /^shop\./, exclude: /\.audit$/ };
    expect(selectTopics(["shop.orders", "shop.audit", "billing.invoices", "__shop.internal"], filter)).toEqual([
      "shop.orders",
    ]);
  });

  it("never lets an include pattern bring back an internal topic", () => {
    expect(isCollectedTopic("__consumer_offsets", { include: /.*/ })).toBe(false);
  });

  it("gives the same answer on every call with a global pattern (no lastIndex carried over)", () => {
    const filter = { include: /orders/g };
    expect([1, 2, 3].map(() => isCollectedTopic("orders", filter))).toEqual([true, true, true]);
  });
});
