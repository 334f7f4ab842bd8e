import type { KafkaMessage } from "kafkajs";
import { describe, expect, it } from "vitest";
import { DEFAULT_EXTRACT_OPTIONS } from "./extract/index.ts";
import type { AmqpMessage } from "./extract/index.ts";
import { toEventRow, toEventRowFromAmqp } from "./to-event-row.ts";

/** A record-batch message (magic v2, the only kind with headers) as kafkajs hands it over. */
function message(overrides: { headers?: object } = {}): KafkaMessage {
  return {
    key: Buffer.from("ord-1"),
    value: Buffer.from(JSON.stringify({ orderId: "ord-1", type: "OrderPlaced" })),
    timestamp: "1700000000000",
    attributes: 0,
    offset: "42",
    headers: (overrides.headers ?? {
      traceparent: Buffer.from("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    }) as KafkaMessage["headers"] & object,
  };
}

describe("toEventRow", () => {
  it("extracts an ordinary message", () => {
    const row = toEventRow(1, "orders", 2, message(), DEFAULT_EXTRACT_OPTIONS);
    expect(row).toMatchObject({
      topic: "orders",
      partition: 2,
      offset: "42",
      eventType: "OrderPlaced",
      entityKeys: ["ord-1"],
      trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7" },
      flags: [],
    });
  });

  it("stores the message raw and flagged when extraction throws, instead of throwing", () => {
    // A header object whose enumeration throws stands in for anything extraction cannot survive.
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("boom");
        },
      },
    );
    const row = toEventRow(1, "orders", 0, message({ headers: hostile }), { ...DEFAULT_EXTRACT_OPTIONS, maxValueBytes: 10 });
    expect(row.flags).toEqual(["extraction-failed", "value-truncated"]);
    expect(row.offset).toBe("42");
    expect(row.key).toEqual({ kind: "bytes", bytes: Buffer.from("ord-1") });
    expect(row.value).toMatchObject({ kind: "bytes", truncated: true });
    expect(row.value.kind === "bytes" && row.value.raw.length).toBe(10);
    expect(row.timestamp).toEqual(new Date(1_700_000_000_000));
  });
});

describe("toEventRowFromAmqp", () => {
  const amqp = (overrides: Partial<AmqpMessage> = {}): AmqpMessage => ({
    exchange: "orders",
    routingKeys: ["order.placed"],
    properties: {
      contentType: "application/json",
      timestamp: 1_700_000_000,
      type: "OrderPlaced",
      headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    },
    body: Buffer.from(JSON.stringify({ orderId: "ord-1" })),
    ...overrides,
  });

  it("stores a RabbitMQ message as channel, partition 0 and its stream offset", () => {
    const row = toEventRowFromAmqp(2, "orders", 42n, amqp(), DEFAULT_EXTRACT_OPTIONS);
    expect(row).toMatchObject({
      sourceId: 2,
      topic: "orders",
      partition: 0,
      offset: "42",
      timestamp: new Date(1_700_000_000_000),
      key: { kind: "text", text: "order.placed" },
      eventType: "OrderPlaced",
      entityKeys: ["ord-1"],
      trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", parentSpanId: "00f067aa0ba902b7" },
      deadLetter: null,
      flags: [],
    });
  });

  it("stores the message raw and flagged when extraction throws, instead of throwing", () => {
    // A property that throws when read stands in for anything extraction cannot survive.
    const properties = new Proxy(
      { contentType: "application/json", timestamp: 1_700_000_000, headers: { tenant: "acme", odd: 7 } },
      {
        get(target, name, receiver) {
          if (name === "contentType") throw new Error("boom");
          return Reflect.get(target, name, receiver) as unknown;
        },
      },
    ) as AmqpMessage["properties"];
    const row = toEventRowFromAmqp(2, "orders", "7", amqp({ properties }), { ...DEFAULT_EXTRACT_OPTIONS, maxValueBytes: 5 });
    expect(row).toMatchObject({
      topic: "orders",
      partition: 0,
      offset: "7",
      timestamp: new Date(1_700_000_000_000),
      key: { kind: "bytes", bytes: Buffer.from("order.placed") },
      value: { kind: "bytes", raw: Buffer.from('{"ord'), truncated: true },
      headers: [
        // Raw: strings and byte arrays as bytes, anything else lost (null).
        { key: "tenant", value: Buffer.from("acme"), text: null },
        { key: "odd", value: null, text: null },
      ],
      eventType: null,
      flags: ["extraction-failed", "value-truncated"],
    });
  });
});
