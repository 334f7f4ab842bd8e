import type { KafkaMessage } from "kafkajs";
import { describe, expect, test } from "vitest";
import { carriedHeaders, decodeMessage, derivedEventId, toMessage } from "./events.ts";

function kafkaMessage(headers: KafkaMessage["headers"], value: string | null = '{"orderId":"ord-1"}'): KafkaMessage {
  return {
    key: Buffer.from("ord-1"),
    value: value === null ? null : Buffer.from(value),
    timestamp: "0",
    attributes: 0,
    offset: "42",
    headers,
  } as KafkaMessage;
}

describe("saga messages", () => {
  test("a new event: key = order id, CloudEvents binary headers, JSON value, no traceparent", () => {
    const message = toMessage("shipping", {
      source: "shipping-service",
      type: "OrderShipped",
      orderId: "ord-1",
      id: "id-1",
      time: new Date("2026-01-02T03:04:05.000Z"),
      data: { orderId: "ord-1", amount: 3 },
    });
    expect(message).toEqual({
      key: "ord-1",
      value: '{"orderId":"ord-1","amount":3}',
      headers: {
        ce_specversion: "1.0",
        ce_id: "id-1",
        ce_type: "OrderShipped",
        ce_source: "shipping-service",
        ce_time: "2026-01-02T03:04:05.000Z",
        "content-type": "application/json",
      },
    });
  });

  test("a payments event says Avro in content-type (its value is encoded when sent)", () => {
    const message = toMessage("payments", {
      source: "payment-service",
      type: "PaymentProcessed",
      orderId: "ord-1",
      data: { orderId: "ord-1", amount: 3 },
    });
    expect(message.headers).toMatchObject({ ce_type: "PaymentProcessed", ce_source: "payment-service", "content-type": "application/avro" });
  });

  test("follow-up ids are the same for the same cause, and differ otherwise", () => {
    const id = derivedEventId("inventory-service", "evt-1", "InventoryReserved");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedEventId("inventory-service", "evt-1", "InventoryReserved")).toBe(id);
    expect(derivedEventId("inventory-service", "evt-2", "InventoryReserved")).not.toBe(id);
    expect(derivedEventId("inventory-service", "evt-1", "InventoryFailed")).not.toBe(id);
    expect(derivedEventId("payment-service", "evt-1", "InventoryReserved")).not.toBe(id);
  });

  test("decoding: CloudEvents id and type, a repeated header's last value, a non-JSON value", () => {
    const event = decodeMessage(
      "inventory",
      2,
      kafkaMessage({ ce_id: Buffer.from("e-1"), ce_type: Buffer.from("InventoryReserved"), x: [Buffer.from("a"), Buffer.from("b")] }, "not json"),
    );
    expect(event).toMatchObject({ topic: "inventory", partition: 2, offset: "42", key: "ord-1", id: "e-1", type: "InventoryReserved", data: null });
    expect(event.headers.get("x")).toBe("b");
  });

  test("a message without ce_id is identified by its position", () => {
    expect(decodeMessage("orders", 1, kafkaMessage({})).id).toBe("orders/1/42");
  });

  test("retry and DLQ records carry every header but an earlier failure's", () => {
    const headers = carriedHeaders(
      kafkaMessage({
        ce_id: Buffer.from("e-1"),
        traceparent: Buffer.from("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        "x-replay-id": Buffer.from("r-1"),
        "x-replay-of": Buffer.from("payment-service-dlq/0/3"),
        "x-original-topic": Buffer.from("inventory"),
        "x-original-partition": Buffer.from("1"),
        "x-original-offset": Buffer.from("7"),
        "x-error": Buffer.from("boom"),
        "x-error-class": Buffer.from("GatewayTimeoutError"),
        "x-attempts": Buffer.from("2"),
        "x-retry-not-before": Buffer.from("123"),
        repeated: [Buffer.from("1"), Buffer.from("2")],
      }),
    );
    expect(Object.keys(headers)).toEqual(["ce_id", "traceparent", "x-replay-id", "x-replay-of", "repeated"]);
    expect(headers.repeated).toEqual([Buffer.from("1"), Buffer.from("2")]);
  });
});
