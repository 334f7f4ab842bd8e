import { describe, expect, it } from "vitest";
import { classifyTopic } from "./classify-topic.ts";

describe("classifyTopic", () => {
  it.each([
    ["orders.DLT", "orders"], // Spring before 3.3
    ["orders-dlt", "orders"], // Spring now
    ["orders.dlq", "orders"],
    ["orders-dlq", "orders"],
    ["dlq.orders", "orders"],
    ["payment-service-dlq", "payment-service"], // kafkajs-async-retry's <group>-dlq
    ["dead-letter-topic-orders-in", "orders-in"], // SmallRye channel
    ["order.events.DLT", "order.events"],
  ])("recognises %s as a dead-letter queue of %s", (name, of) => {
    expect(classifyTopic(name, [])).toEqual({ kind: "dlq", of });
  });

  it.each([
    ["orders-retry", "orders"],
    ["orders-retry-0", "orders"],
    ["orders-retry-2", "orders"],
    ["orders-retry-30000", "orders"],
  ])("recognises %s as a retry topic of %s", (name, of) => {
    expect(classifyTopic(name, [])).toEqual({ kind: "retry", of });
  });

  it.each(["orders", "dlt", "orders-dlts", "orders.DLTX", "retry", "orders-retrying", "orders-retry-x", "__consumer_offsets"])(
    "leaves %s a normal topic",
    (name) => {
      expect(classifyTopic(name, [])).toEqual({ kind: "normal", of: null });
    },
  );

  it("adds configured patterns, naming the origin by a `topic` group or the first group", () => {
    expect(classifyTopic("errors.orders", [/^errors\.(?<topic>.+)$/])).toEqual({ kind: "dlq", of: "orders" });
    expect(classifyTopic("orders_parked", [/^(.+)_parked$/])).toEqual({ kind: "dlq", of: "orders" });
    expect(classifyTopic("poison", [/^poison$/])).toEqual({ kind: "dlq", of: null });
  });

  it("gives the same answer every time for a configured global pattern", () => {
    const pattern = /^(.+)_parked$/g;
    expect(classifyTopic("orders_parked", [pattern]).kind).toBe("dlq");
    expect(classifyTopic("orders_parked", [pattern]).kind).toBe("dlq");
  });
});
