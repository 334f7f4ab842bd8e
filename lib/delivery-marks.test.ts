import { describe, expect, it } from "vitest";
import { DUPLICATE_WINDOW_MS, deliveryFingerprint, deliveryMarks, duplicateOf, type DeliveryFacts, type FingerprintFacts } from "./delivery-marks.ts";

const T0 = Date.UTC(2026, 11, 5, 10);

function ev(overrides: Partial<DeliveryFacts> & { eventType: string }): DeliveryFacts {
  return { topic: "payments", partition: 0, at: T0, producer: "payment-service", fingerprint: null, special: false, ...overrides };
}

function message(overrides: Partial<FingerprintFacts>): FingerprintFacts {
  return { headers: [], key: "ord-1", value: Buffer.from('{"orderId":"ord-1"}'), special: false, ...overrides };
}

const header = (key: string, text: string) => ({ key, text, value: Buffer.from(text) });

describe("deliveryFingerprint", () => {
  it("is the same positive number for two deliveries of one message id, whatever their content", () => {
    const first = deliveryFingerprint(message({ headers: [header("ce_id", "evt-1")] }));
    const again = deliveryFingerprint(message({ headers: [header("ce_id", "evt-1")], value: Buffer.from("other bytes") }));
    expect(first).toBeGreaterThan(0);
    expect(again).toBe(first);
    expect(deliveryFingerprint(message({ headers: [header("ce_id", "evt-2")] }))).not.toBe(first);
  });

  it("reads the id from the first id header it knows, any case, in MESSAGE_ID_HEADERS order", () => {
    const byCeId = deliveryFingerprint(message({ headers: [header("message-id", "m-1"), header("ce_id", "evt-1")] }));
    expect(byCeId).toBe(deliveryFingerprint(message({ headers: [header("ce_id", "evt-1")] })));
    expect(deliveryFingerprint(message({ headers: [header("Message-Id", "m-1")] }))).toBe(deliveryFingerprint(message({ headers: [header("message-id", "m-1")] })));
  });

  it("without an id is a negative hash of key and value: equal for equal bytes, different otherwise", () => {
    const plain = deliveryFingerprint(message({}));
    expect(plain).toBeLessThan(0);
    expect(deliveryFingerprint(message({}))).toBe(plain);
    expect(deliveryFingerprint(message({ key: "ord-2" }))).not.toBe(plain);
    expect(deliveryFingerprint(message({ value: Buffer.from('{"orderId":"ord-1" }') }))).not.toBe(plain);
    // An empty id header is no id.
    expect(deliveryFingerprint(message({ headers: [header("ce_id", "")] }))).toBe(plain);
  });

  it("is 0 for retry copies, dead letters and replays, which carry the original's id by design", () => {
    expect(deliveryFingerprint(message({ headers: [header("ce_id", "evt-1")], special: true }))).toBe(0);
  });
});

describe("duplicateOf", () => {
  it("points a second delivery of one id on a channel at the first, at any distance in time", () => {
    expect(
      duplicateOf([
        { channel: "payments", at: T0, fingerprint: 7 },
        { channel: "payments", at: T0 + 3_600_000, fingerprint: 7 },
        { channel: "payments", at: T0 + 7_200_000, fingerprint: 7 },
      ]),
    ).toEqual([-1, 0, 0]);
  });

  it("takes the same content for a duplicate only within the window", () => {
    expect(
      duplicateOf([
        { channel: "orders", at: T0, fingerprint: -5 },
        { channel: "orders", at: T0 + DUPLICATE_WINDOW_MS, fingerprint: -5 },
        { channel: "orders", at: T0 + 200_000, fingerprint: -5 },
        { channel: "orders", at: T0 + 230_000, fingerprint: -5 },
      ]),
    ).toEqual([-1, 0, -1, 2]);
  });

  it("never matches across channels, nor a delivery without a fingerprint", () => {
    expect(
      duplicateOf([
        { channel: "orders", at: T0, fingerprint: 7 },
        { channel: "orders-archive", at: T0 + 1, fingerprint: 7 },
        { channel: "orders", at: T0 + 2, fingerprint: 0 },
        { channel: "orders", at: T0 + 3, fingerprint: 0 },
      ]),
    ).toEqual([-1, -1, -1, -1]);
  });
});

describe("deliveryMarks", () => {
  it("marks the second delivery of one message id on a topic as a duplicate of the first", () => {
    const events = [ev({ eventType: "PaymentProcessed", fingerprint: 11 }), ev({ eventType: "PaymentProcessed", at: T0 + 300, fingerprint: 11 })];
    expect(deliveryMarks(events)).toEqual([[], [{ kind: "duplicate", of: 0, by: "id" }]]);
  });

  it("takes the same content within a minute for a duplicate when there is no id, and not after", () => {
    const events = [
      ev({ eventType: "OrderPlaced", topic: "orders", fingerprint: -3 }),
      ev({ eventType: "OrderPlaced", topic: "orders", fingerprint: -3, at: T0 + 59_000 }),
      ev({ eventType: "OrderPlaced", topic: "orders", fingerprint: -3, at: T0 + 200_000 }),
    ];
    expect(deliveryMarks(events)).toEqual([[], [{ kind: "duplicate", of: 0, by: "content" }], []]);
  });

  it("never calls a retry copy, a dead letter or a replay a duplicate, nor an event without a fingerprint", () => {
    const events = [
      ev({ eventType: "PaymentRequested", fingerprint: 9 }),
      ev({ eventType: "PaymentRequested", fingerprint: 9, special: true, at: T0 + 1_000 }),
      ev({ eventType: "PaymentRequested", fingerprint: null, at: T0 + 2_000 }),
      ev({ eventType: "PaymentRequested", fingerprint: null, at: T0 + 3_000 }),
    ];
    expect(deliveryMarks(events)).toEqual([[], [], [], []]);
  });

  it("calls a step that should happen once and happened again with another id a repeated effect", () => {
    const events = [ev({ eventType: "PaymentProcessed", fingerprint: 1 }), ev({ eventType: "PaymentProcessed", fingerprint: 2, at: T0 + 5_000 })];
    const once = (type: string) => type === "PaymentProcessed";
    expect(deliveryMarks(events, once)).toEqual([[], [{ kind: "repeated", of: 0 }]]);
    // A step that often happens twice (a notification per stage) is no repeated effect.
    expect(deliveryMarks(events, () => false)).toEqual([[], []]);
  });

  it("marks the events of a topic off the entity's first partition there", () => {
    const events = [
      ev({ eventType: "OrderPlaced", topic: "orders", partition: 1, fingerprint: 1 }),
      ev({ eventType: "PaymentProcessed", topic: "payments", partition: 2, fingerprint: 2 }),
      ev({ eventType: "OrderConfirmed", topic: "orders", partition: 0, fingerprint: 3 }),
      ev({ eventType: "OrderShipped", topic: "orders", partition: 1, fingerprint: 4 }),
    ];
    expect(deliveryMarks(events)).toEqual([[], [], [{ kind: "split", partition: 0, firstPartition: 1 }], []]);
  });
});

describe("deliveryMarks, early steps", () => {
  const after = (type: string) => (type === "PaymentProcessed" ? { type: "InventoryReserved", producer: "inventory-service" } : null);

  it("marks a step seen before the step that always precedes it, when that step comes later", () => {
    const events = [
      ev({ eventType: "PaymentProcessed", fingerprint: 1 }),
      ev({ eventType: "InventoryReserved", producer: "inventory-service", topic: "inventory", fingerprint: 2, at: T0 + 10 }),
    ];
    expect(deliveryMarks(events, undefined, after)).toEqual([[{ kind: "early", before: 1 }], []]);
  });

  it("says nothing when the preceding step came first, or never came", () => {
    const inOrder = [
      ev({ eventType: "InventoryReserved", producer: "inventory-service", topic: "inventory", fingerprint: 2 }),
      ev({ eventType: "PaymentProcessed", fingerprint: 1, at: T0 + 10 }),
    ];
    expect(deliveryMarks(inOrder, undefined, after)).toEqual([[], []]);
    expect(deliveryMarks([ev({ eventType: "PaymentProcessed", fingerprint: 1 })], undefined, after)).toEqual([[]]);
  });
});
