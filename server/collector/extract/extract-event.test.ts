import { describe, expect, it } from "vitest";
import { xorshift32 } from "./seeded-random.ts";
import { EXTRACTION_FLAGS, extractAmqpEvent, extractEvent, type ExtractOptions, type ExtractionFlag, type RawMessage } from "./index.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;
const MiB = 1024 * 1024;
const OPTIONS: ExtractOptions = { entityFields: ["orderId"], dlqPatterns: [], maxValueBytes: MiB };

function message(overrides: Partial<RawMessage> = {}): RawMessage {
  return {
    topic: "orders",
    partition: 0,
    offset: "41",
    timestamp: "1735689600000",
    key: Buffer.from("ord-1"),
    value: Buffer.from(JSON.stringify({ type: "OrderPlaced", orderId: "ord-1", total: 42 })),
    headers: {},
    ...overrides,
  };
}

function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
}

function int64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(value);
  return bytes;
}

describe("extractEvent", () => {
  it("reads what the demo's order service sends (kafkajs + OpenTelemetry)", () => {
    const event = extractEvent(
      message({
        offset: "9223372036854775806",
        headers: {
          traceparent: Buffer.from(TRACEPARENT),
          tracestate: Buffer.from("vendor=opaque"),
          service: Buffer.from("order-service"),
          "content-type": Buffer.from("application/json"),
        },
      }),
      OPTIONS,
    );
    expect(event).toMatchObject({
      topic: "orders",
      partition: 0,
      offset: "9223372036854775806",
      timestamp: new Date(1_735_689_600_000),
      key: { kind: "text", text: "ord-1" },
      value: { kind: "json", json: { type: "OrderPlaced", orderId: "ord-1", total: 42 } },
      eventType: "OrderPlaced",
      eventTypeSource: "value-type",
      cloudEvent: null,
      producer: "order-service",
      producerSource: "service-header",
      entityKeys: ["ord-1"],
      entitySource: "value",
      trace: {
        traceId: TRACE_ID,
        parentSpanId: SPAN_ID,
        sampled: true,
        source: "traceparent",
        tracestate: "vendor=opaque",
      },
      topicClass: { kind: "normal", of: null },
      deadLetter: null,
      priorFailure: null,
      flags: [],
    });
    expect(event.headers.map((h) => h.key)).toEqual(["traceparent", "tracestate", "service", "content-type"]);
  });

  it("counts key, value and every header key and value in the size", () => {
    const event = extractEvent(
      message({ key: Buffer.from("k1"), value: Buffer.from("{}"), headers: { ab: ["x", "yz"], c: null } }),
      OPTIONS,
    );
    // key 2 + value 2 + "ab"+"x" 3 + "ab"+"yz" 4 + "c" 1
    expect(event.sizeBytes).toBe(12);
  });

  it("links through the valid first traceparent when the repeated last one is invalid", () => {
    const event = extractEvent(
      message({ headers: { traceparent: [Buffer.from(TRACEPARENT), Buffer.from("00-not-a-trace-01")] } }),
      OPTIONS,
    );
    expect(event.trace).toMatchObject({ traceId: TRACE_ID, parentSpanId: SPAN_ID, traceparent: TRACEPARENT });
    expect(event.flags).toEqual(["traceparent-invalid", "traceparent-repeated"]);
    expect(event.headers.filter((h) => h.key === "traceparent").map((h) => h.text)).toEqual([
      TRACEPARENT,
      "00-not-a-trace-01",
    ]);
  });

  it("reads a binary-mode CloudEvent", () => {
    const event = extractEvent(
      message({
        key: null,
        value: Buffer.from(JSON.stringify({ order: { orderId: "ord-7" }, type: "ignored" })),
        headers: {
          ce_specversion: Buffer.from("1.0"),
          ce_id: Buffer.from("evt-1"),
          ce_source: Buffer.from("/services/inventory"),
          ce_type: Buffer.from("com.acme.stock.reserved"),
          ce_subject: Buffer.from("ord-7"),
          "content-type": Buffer.from("application/json"),
        },
      }),
      OPTIONS,
    );
    expect(event).toMatchObject({
      eventType: "com.acme.stock.reserved",
      eventTypeSource: "ce_type",
      producer: "/services/inventory",
      producerSource: "ce_source",
      cloudEvent: { mode: "binary", id: "evt-1", subject: "ord-7", dataContentType: "application/json" },
      entityKeys: ["ord-7"],
      flags: [],
    });
  });

  it("reads a structured-mode CloudEvent: attributes from the envelope, entities from its data", () => {
    const envelope = {
      specversion: "1.0",
      id: "evt-2",
      source: "/services/payments",
      type: "com.acme.payment.captured",
      time: "2025-01-01T00:00:01Z",
      traceparent: TRACEPARENT,
      // An entity field named "id" must not pick up the envelope's event id.
      data: { id: "pay-3", orderId: "ord-1" },
    };
    const raw = Buffer.from(JSON.stringify(envelope));
    const event = extractEvent(
      message({ key: null, value: raw, headers: { "content-type": Buffer.from("application/cloudevents+json; charset=UTF-8") } }),
      { ...OPTIONS, entityFields: ["orderId", "id"] },
    );
    expect(event).toMatchObject({
      value: { kind: "json", json: envelope, raw },
      eventType: "com.acme.payment.captured",
      eventTypeSource: "cloudevent",
      producer: "/services/payments",
      producerSource: "cloudevent",
      cloudEvent: { mode: "structured", id: "evt-2", time: "2025-01-01T00:00:01Z" },
      entityKeys: ["ord-1", "pay-3"],
      entityKinds: ["orderId", "id"],
      trace: { traceId: TRACE_ID, parentSpanId: null, source: "cloudevent" },
      flags: [],
    });
  });

  it("stores a non-UTF-8 key as bytes, flags it, and does not make it an entity", () => {
    const key = Buffer.from([0xff, 0xfe]);
    const event = extractEvent(message({ key, value: Buffer.from('{"status":"ok"}') }), OPTIONS);
    expect(event.key).toEqual({ kind: "bytes", bytes: key });
    expect(event.entityKeys).toEqual([]);
    expect(event.entitySource).toBeNull();
    expect(event.flags).toEqual(["key-binary"]);
  });

  it("falls back to the key as the entity when no configured field is in the value", () => {
    const event = extractEvent(message({ key: Buffer.from("cus-9"), value: Buffer.from('{"status":"ok"}') }), OPTIONS);
    expect(event).toMatchObject({ entityKeys: ["cus-9"], entitySource: "key", entityKinds: ["key:orders"] });
  });

  it("takes entities from configured names and dotted paths, with numeric ids as text", () => {
    const value = { order: { orderId: 1042 }, customer: { id: "cus-1" }, lines: [{ orderId: 1042 }] };
    const event = extractEvent(message({ value: Buffer.from(JSON.stringify(value)) }), {
      ...OPTIONS,
      entityFields: ["orderId", "customer.id"],
    });
    expect(event.entityKeys).toEqual(["1042", "cus-1"]);
  });

  it("stores a 2 MB value cut to a 1 MB cap, unparsed, with the key still the entity", () => {
    const big = Buffer.from(JSON.stringify({ orderId: "ord-big", blob: "x".repeat(2 * 1000 * 1000) }));
    const event = extractEvent(message({ key: Buffer.from("ord-big"), value: big }), OPTIONS);
    expect(event.value).toMatchObject({ kind: "bytes", truncated: true, byteLength: big.length });
    if (event.value.kind === "bytes") expect(event.value.raw.length).toBe(MiB);
    expect(event.sizeBytes).toBe("ord-big".length + big.length);
    expect(event).toMatchObject({ entityKeys: ["ord-big"], entitySource: "key", flags: ["value-truncated"] });
  });

  it("stores a tombstone", () => {
    const event = extractEvent(message({ value: null }), OPTIONS);
    expect(event).toMatchObject({ value: { kind: "tombstone" }, entityKeys: ["ord-1"], flags: ["tombstone"] });
  });

  it("recognises a Spring dead letter with its binary origin, and flags nothing for Spring's binary headers", () => {
    const event = extractEvent(
      message({
        topic: "orders-dlt",
        offset: "3",
        headers: {
          traceparent: Buffer.from(TRACEPARENT),
          "kafka_dlt-original-topic": Buffer.from("orders"),
          "kafka_dlt-original-partition": int32(2),
          "kafka_dlt-original-offset": int64(41n),
          "kafka_dlt-original-timestamp": int64(1_735_689_600_000n),
          "kafka_dlt-exception-fqcn": Buffer.from("java.lang.IllegalStateException"),
          "kafka_dlt-exception-message": Buffer.from("stock unavailable"),
        },
      }),
      OPTIONS,
    );
    expect(event.deadLetter).toMatchObject({
      source: "headers",
      convention: "spring",
      originTopic: "orders",
      originTopicHint: "orders",
      originPartition: 2,
      originOffset: "41",
      errorClass: "java.lang.IllegalStateException",
      errorMessage: "stock unavailable",
    });
    expect(event.topicClass).toEqual({ kind: "dlq", of: "orders" });
    expect(event.flags).toEqual([]);
  });

  it("recognises a dead letter by topic name only, as a hint", () => {
    const event = extractEvent(message({ topic: "dlq.payments" }), OPTIONS);
    expect(event.deadLetter).toMatchObject({ source: "topic-name", originTopic: null, originTopicHint: "payments" });
  });

  it("flags a malformed dead-letter header and still stores the event", () => {
    const event = extractEvent(
      message({ topic: "orders.DLT", headers: { "kafka_dlt-original-offset": Buffer.from([0x00, 0xff, 0x03]) } }),
      OPTIONS,
    );
    expect(event.deadLetter).toMatchObject({ convention: "spring", originOffset: null });
    // Spring's offset header is binary by design: malformed, but not "binary by accident".
    expect(event.flags).toEqual(["dlq-header-malformed"]);
  });

  it("flags an unreadable timestamp as null", () => {
    expect(extractEvent(message({ timestamp: "-1" }), OPTIONS)).toMatchObject({ timestamp: null, flags: ["timestamp-invalid"] });
    expect(extractEvent(message({ timestamp: "soon" }), OPTIONS).timestamp).toBeNull();
  });

  it("uses defaults when no options are given", () => {
    expect(extractEvent(message()).entityKeys).toEqual(["ord-1"]);
  });

  it("can raise every flag it documents", () => {
    const raised = new Set<ExtractionFlag>();
    const inputs: RawMessage[] = [
      message({ value: null }),
      message({ key: Buffer.from([0xff, 0xfe]) }),
      message({ value: Buffer.alloc(MiB + 1, 0x61) }),
      message({ value: Buffer.from("{oops") }),
      message({ value: Buffer.from('"\\u0000"') }),
      message({ timestamp: "" }),
      message({ headers: { blob: Buffer.from([0xc3, 0x28]) } }),
      message({ headers: { traceparent: ["garbage", TRACEPARENT] } }),
      message({ headers: { ce_traceparent: "garbage" } }),
      message({ headers: { ce_type: "x" } }),
      message({ headers: { "x-original-offset": "minus one" } }),
      message({ value: Buffer.from('{"orderId": 98765432109876543210}') }),
    ];
    for (const input of inputs) for (const flag of extractEvent(input, OPTIONS).flags) raised.add(flag);
    // Schema Registry values: a reader that answers each schema id as the registry would.
    const outcomes = ["schema-unknown", "schema-registry-unavailable", "schema-decode-failed"] as const;
    const wireFormat = {
      read: (value: Buffer) => ({ status: "failed" as const, schemaId: value.readUInt32BE(1), flag: outcomes[value.readUInt32BE(1)]! }),
    };
    for (let id = 0; id < outcomes.length; id++) {
      const framed = Buffer.alloc(6);
      framed.writeUInt32BE(id, 1);
      for (const flag of extractEvent(message({ value: framed }), { ...OPTIONS, wireFormat }).flags) raised.add(flag);
    }
    // Only AMQP header tables hold values of no header type.
    const amqp = { exchange: "orders", routingKeys: ["order.placed"], properties: { headers: { odd: Symbol("odd") } }, body: Buffer.from("{}") };
    for (const flag of extractAmqpEvent("orders", 0, amqp, OPTIONS).flags) raised.add(flag);
    expect([...raised].sort()).toEqual(Object.keys(EXTRACTION_FLAGS).sort());
  });

  it("never throws, whatever the bytes", () => {
    const next = xorshift32(0x2f6b_1d3a);
    const bytes = (max: number) => Buffer.from(Array.from({ length: next() % max }, () => next() & 0xff));
    const interesting = [
      "{",
      "[",
      '{"orderId":',
      TRACEPARENT,
      "application/cloudevents+json",
      '{"top":1}',
      "\u0000",
      "-1",
      "orders.DLT",
    ];
    const pick = () => (next() % 3 === 0 ? Buffer.from(interesting[next() % interesting.length]!) : bytes(64));
    const headerNames = [
      "traceparent",
      "ce_traceparent",
      "content-type",
      "ce_type",
      "ce_source",
      "kafka_dlt-original-partition",
      "kafka_dlt-original-offset",
      "kafka_dlt-original-timestamp",
      "retry_topic-attempts",
      "asyncRetry",
      "x-original-offset",
      "__streams.errors.partition",
      "dead-letter-offset",
    ];
    for (let i = 0; i < 2000; i++) {
      const headers: RawMessage["headers"] = {};
      // Every value given, as [key, bytes or null], in the order it must be kept.
      const given: [string, Buffer | null][] = [];
      for (const name of headerNames) {
        const roll = next() % 4;
        if (roll === 1) {
          const value = pick();
          headers[name] = value;
          given.push([name, value]);
        }
        if (roll === 2) {
          const first = pick();
          const last = pick().toString("latin1");
          headers[name] = [first, null, last];
          given.push([name, first], [name, null], [name, Buffer.from(last, "utf8")]);
        }
        if (roll === 3) {
          headers[name] = undefined;
          given.push([name, null]);
        }
      }
      const input = message({
        topic: next() % 2 === 0 ? "orders.DLT" : "orders",
        timestamp: next() % 5 === 0 ? "x" : String(next()),
        key: next() % 4 === 0 ? null : pick(),
        value: next() % 4 === 0 ? null : pick(),
        headers,
      });
      const event = extractEvent(input, { ...OPTIONS, maxValueBytes: next() % 64 });
      expect(event.offset).toBe("41");
      // Whatever the bytes, no header is dropped, reordered or altered.
      expect(event.headers.map((h) => [h.key, h.value])).toEqual(given);
    }
  });
});
