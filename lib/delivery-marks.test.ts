import { describe, expect, it } from "vitest";
import { deliveryMarks, type DeliveryFacts } from "./delivery-marks.ts";

const T0 = Date.UTC(2026, 11, 5, 10);

function ev(overrides: Partial<DeliveryFacts> & { eventType: string }): DeliveryFacts {
  return { topic: "payments", partition: 0, at: T0, producer: "payment-service", key: "ord-1", size: 100, valuePreview: "{}", headers: [], special: false, ...overrides };
}

const id = (value: string) => [{ key: "ce_id", value }];

describe("deliveryMarks", () => {
  it("marks the second delivery of one message id on a topic as a duplicate of the first", () => {
    const events = [ev({ eventType: "PaymentProcessed", headers: id("evt-1") }), ev({ eventType: "PaymentProcessed", at: T0 + 300, partition: 0, headers: id("evt-1") })];
    expect(deliveryMarks(events)).toEqual([[], [{ kind: "duplicate", of: 0, by: "id" }]]);
  });

  it("takes the same content within a minute for a duplicate when there is no id, and not after", () => {
    const events = [
      ev({ eventType: "OrderPlaced", topic: "orders", valuePreview: '{"orderId":"ord-1"}' }),
      ev({ eventType: "OrderPlaced", topic: "orders", valuePreview: '{"orderId":"ord-1"}', at: T0 + 59_000 }),
      ev({ eventType: "OrderPlaced", topic: "orders", valuePreview: '{"orderId":"ord-1"}', at: T0 + 200_000 }),
    ];
    expect(deliveryMarks(events)).toEqual([[], [{ kind: "duplicate", of: 0, by: "content" }], []]);
  });

  it("never calls a retry copy, a dead letter or a replay a duplicate, though they carry the original's id", () => {
    const events = [
      ev({ eventType: "PaymentRequested", headers: id("evt-9") }),
      ev({ eventType: "PaymentRequested", topic: "payments", headers: id("evt-9"), special: true, at: T0 + 1_000 }),
    ];
    expect(deliveryMarks(events)).toEqual([[], []]);
  });

  it("calls a step that should happen once and happened again with another id a repeated effect", () => {
    const events = [ev({ eventType: "PaymentProcessed", headers: id("evt-1") }), ev({ eventType: "PaymentProcessed", headers: id("evt-2"), at: T0 + 5_000 })];
    const once = (type: string) => type === "PaymentProcessed";
    expect(deliveryMarks(events, once)).toEqual([[], [{ kind: "repeated", of: 0 }]]);
    // A step that often happens twice (a notification per stage) is no repeated effect.
    expect(deliveryMarks(events, () => false)).toEqual([[], []]);
  });

  it("marks the events of a topic off the entity's first partition there", () => {
    const events = [
      ev({ eventType: "OrderPlaced", topic: "orders", partition: 1, headers: id("a") }),
      ev({ eventType: "PaymentProcessed", topic: "payments", partition: 2, headers: id("b") }),
      ev({ eventType: "OrderConfirmed", topic: "orders", partition: 0, headers: id("c") }),
      ev({ eventType: "OrderShipped", topic: "orders", partition: 1, headers: id("d") }),
    ];
    expect(deliveryMarks(events)).toEqual([[], [], [{ kind: "split", partition: 0, firstPartition: 1 }], []]);
  });
});

describe("deliveryMarks, early steps", () => {
  const after = (type: string) => (type === "PaymentProcessed" ? { type: "InventoryReserved", producer: "inventory-service" } : null);

  it("marks a step seen before the step that always precedes it, when that step comes later", () => {
    const events = [
      ev({ eventType: "PaymentProcessed", headers: id("a") }),
      ev({ eventType: "InventoryReserved", producer: "inventory-service", topic: "inventory", headers: id("b"), at: T0 + 10 }),
    ];
    expect(deliveryMarks(events, undefined, after)).toEqual([[{ kind: "early", before: 1 }], []]);
  });

  it("says nothing when the preceding step came first, or never came", () => {
    const inOrder = [
      ev({ eventType: "InventoryReserved", producer: "inventory-service", topic: "inventory", headers: id("b") }),
      ev({ eventType: "PaymentProcessed", headers: id("a"), at: T0 + 10 }),
    ];
    expect(deliveryMarks(inOrder, undefined, after)).toEqual([[], []]);
    expect(deliveryMarks([ev({ eventType: "PaymentProcessed", headers: id("a") })], undefined, after)).toEqual([[]]);
  });
});
