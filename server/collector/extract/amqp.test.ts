import { describe, expect, it } from "vitest";
import { extractAmqpEvent } from "./amqp.ts";
import { xorshift32 } from "./seeded-random.ts";
import type { AmqpMessage, ExtractOptions } from "./types.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;
const OPTIONS: ExtractOptions = { entityFields: ["orderId"], dlqPatterns: [], maxValueBytes: 1024 * 1024 };

/** A publish copy as the firehose gives it, amqplib-decoded. */
function message(overrides: Partial<AmqpMessage> = {}, properties: AmqpMessage["properties"] = {}): AmqpMessage {
  return {
    exchange: "orders",
    routingKeys: ["order.placed"],
    properties: { contentType: "application/json", ...properties },
    body: Buffer.from(JSON.stringify({ orderId: "ord-1", type: "OrderPlaced", total: 42 })),
    ...overrides,
  };
}

describe("extractAmqpEvent", () => {
  it("reads what an amqplib service instrumented by OpenTelemetry publishes", () => {
    const event = extractAmqpEvent(
      "orders",
      "1207",
      message(
        { connectionName: "order-service@host-1" },
        { timestamp: 1_765_000_000, messageId: "m-1", appId: "order-service", headers: { traceparent: TRACEPARENT, tracestate: "rojo=1" } },
      ),
      OPTIONS,
    );
    expect(event).toMatchObject({
      topic: "orders",
      partition: 0,
      offset: "1207",
      timestamp: new Date("2025-12-06T05:46:40.000Z"),
      key: { kind: "text", text: "order.placed" },
      value: { kind: "json", json: { orderId: "ord-1", type: "OrderPlaced", total: 42 } },
      eventType: "OrderPlaced",
      eventTypeSource: "value-type",
      producer: "order-service",
      producerSource: "amqp-app-id",
      entityKeys: ["ord-1"],
      entityKinds: ["orderId"],
      entitySource: "value",
      trace: { traceId: TRACE_ID, parentSpanId: SPAN_ID, sampled: true, source: "traceparent", traceparent: TRACEPARENT, tracestate: "rojo=1" },
      topicClass: { kind: "normal", of: null },
      deadLetter: null,
      priorFailure: null,
      flags: [],
    });
    expect(event.headers.map((h) => h.key)).toEqual([
      "amqp.exchange",
      "amqp.routing_key",
      "amqp.connection_name",
      "amqp.content_type",
      "amqp.message_id",
      "amqp.timestamp",
      "amqp.app_id",
      "traceparent",
      "tracestate",
    ]);
  });

  it("takes position as text whatever its type, and leaves the timestamp null when the property is absent", () => {
    const event = extractAmqpEvent("orders", 9_007_199_254_740_993n, message(), OPTIONS);
    expect(event.offset).toBe("9007199254740993");
    expect(event.timestamp).toBeNull();
    expect(event.flags).toEqual([]);
    expect(extractAmqpEvent("orders", 3, message(), OPTIONS).offset).toBe("3");
  });

  it("takes the time to the millisecond from timestamp_in_ms, and the seconds of the property without it", () => {
    const both = extractAmqpEvent("orders", 1, message({}, { timestamp: 1_765_000_000, headers: { timestamp_in_ms: 1_765_000_000_123 } }), OPTIONS);
    expect(both.timestamp).toEqual(new Date("2025-12-06T05:46:40.123Z"));
    expect(both.flags).toEqual([]);
    const secondsOnly = extractAmqpEvent("orders", 2, message({}, { timestamp: 1_765_000_000 }), OPTIONS);
    expect(secondsOnly.timestamp).toEqual(new Date("2025-12-06T05:46:40.000Z"));
    // A header that is not a whole number of milliseconds is not a time: the property is used.
    const bogus = extractAmqpEvent("orders", 3, message({}, { timestamp: 1_765_000_000, headers: { timestamp_in_ms: "soon" } }), OPTIONS);
    expect(bogus.timestamp).toEqual(new Date("2025-12-06T05:46:40.000Z"));
    const headerOnly = extractAmqpEvent("orders", 4, message({}, { headers: { timestamp_in_ms: 1_765_000_000_999 } }), OPTIONS);
    expect(headerOnly.timestamp).toEqual(new Date("2025-12-06T05:46:40.999Z"));
  });

  it("never makes the routing key an entity, and has no key for an empty routing key", () => {
    const event = extractAmqpEvent("orders", 1, message({ routingKeys: ["ord-77"], body: Buffer.from('{"status":"ok"}') }), OPTIONS);
    expect(event).toMatchObject({ key: { kind: "text", text: "ord-77" }, entityKeys: [], entityKinds: [], entitySource: null });
    expect(extractAmqpEvent("fanout", 1, message({ routingKeys: [""] }), OPTIONS).key).toBeNull();
    expect(extractAmqpEvent("fanout", 1, message({ routingKeys: [] }), OPTIONS).key).toBeNull();
  });

  describe("event type and producer precedence", () => {
    const ce = { "cloudEvents:specversion": "1.0", "cloudEvents:id": "e-1", "cloudEvents:source": "/orders", "cloudEvents:type": "com.acme.order.placed" };
    const all = { type: "AmqpType", appId: "app-id" };
    const headers = { "event-type": "HeaderType", producer: "header-producer" };
    const connection = { connectionName: "conn-name" };

    it.each([
      ["CloudEvents first", { ...all, headers: { ...headers, ...ce } }, ["com.acme.order.placed", "ce_type", "/orders", "ce_source"]],
      ["then the type and app_id properties", { ...all, headers }, ["AmqpType", "amqp-type", "app-id", "amqp-app-id"]],
      ["then the headers", { headers }, ["HeaderType", "event-type-header", "header-producer", "producer-header"]],
      ["then the value's type field and the connection's name", {}, ["OrderPlaced", "value-type", "conn-name", "amqp-connection"]],
    ])("%s", (_name, properties, expected) => {
      const event = extractAmqpEvent("orders", 1, message(connection, properties), OPTIONS);
      expect([event.eventType, event.eventTypeSource, event.producer, event.producerSource]).toEqual(expected);
    });

    it("is an unknown producer without any of them", () => {
      expect(extractAmqpEvent("orders", 1, message(), OPTIONS).producer).toBeNull();
    });
  });

  describe("CloudEvents AMQP binding", () => {
    it("binary mode: cloudEvents: application properties, the content_type property as the data's type", () => {
      const event = extractAmqpEvent(
        "payments",
        5,
        message(
          { body: Buffer.from('{"orderId":"ord-3","amount":10}') },
          {
            headers: {
              "cloudEvents:specversion": "1.0",
              "cloudEvents:id": "evt-3",
              "cloudEvents:source": "/services/payments",
              "cloudEvents:type": "com.acme.payment.captured",
              "cloudEvents:time": "2026-12-05T22:00:00Z",
              "cloudEvents:traceparent": TRACEPARENT,
            },
          },
        ),
        OPTIONS,
      );
      expect(event).toMatchObject({
        cloudEvent: {
          mode: "binary",
          specVersion: "1.0",
          id: "evt-3",
          source: "/services/payments",
          type: "com.acme.payment.captured",
          subject: null,
          time: "2026-12-05T22:00:00Z",
          dataContentType: "application/json",
        },
        eventType: "com.acme.payment.captured",
        producer: "/services/payments",
        entityKeys: ["ord-3"],
        // No traceparent header: the CloudEvents one links the flow, without a parent span.
        trace: { traceId: TRACE_ID, parentSpanId: null, source: "ce_traceparent" },
        flags: [],
      });
    });

    it("binary mode with the cloudEvents_ and ce_ prefixes seen in the wild", () => {
      for (const prefix of ["cloudEvents_", "ce_"]) {
        const headers = { [`${prefix}specversion`]: "1.0", [`${prefix}id`]: "e", [`${prefix}source`]: "/s", [`${prefix}type`]: "t" };
        const event = extractAmqpEvent("orders", 1, message({}, { headers }), OPTIONS);
        expect([prefix, event.cloudEvent?.type, event.producer, event.flags]).toEqual([prefix, "t", "/s", []]);
      }
    });

    it("flags a binary CloudEvent that lacks required attributes", () => {
      const event = extractAmqpEvent("orders", 1, message({}, { headers: { "cloudEvents:type": "t" } }), OPTIONS);
      expect(event.flags).toEqual(["cloudevent-invalid"]);
      expect(event.eventType).toBe("t");
    });

    it("structured mode: the body is the event, entities and type come from its data", () => {
      const envelope = {
        specversion: "1.0",
        id: "evt-4",
        source: "/services/shipping",
        type: "com.acme.shipment.sent",
        traceparent: TRACEPARENT,
        data: { orderId: "ord-4", type: "not-this" },
      };
      const event = extractAmqpEvent(
        "shipping",
        1,
        message({ body: Buffer.from(JSON.stringify(envelope)) }, { contentType: "application/cloudevents+json; charset=utf-8", type: "AmqpType" }),
        OPTIONS,
      );
      expect(event).toMatchObject({
        cloudEvent: { mode: "structured", id: "evt-4", type: "com.acme.shipment.sent" },
        eventType: "com.acme.shipment.sent",
        eventTypeSource: "cloudevent",
        producer: "/services/shipping",
        producerSource: "cloudevent",
        entityKeys: ["ord-4"],
        trace: { traceId: TRACE_ID, source: "cloudevent" },
        value: { kind: "json", json: envelope },
        flags: [],
      });
    });
  });

  describe("trace context", () => {
    it("flags an invalid traceparent, keeps it raw and links nothing", () => {
      const event = extractAmqpEvent("orders", 1, message({}, { headers: { traceparent: TRACEPARENT.toUpperCase() } }), OPTIONS);
      expect(event.trace).toEqual({
        traceId: null,
        parentSpanId: null,
        sampled: null,
        source: null,
        traceparent: TRACEPARENT.toUpperCase(),
        tracestate: null,
      });
      expect(event.flags).toEqual(["traceparent-invalid"]);
    });

    it("reads a traceparent sent as a byte array, and flags one that is not text", () => {
      const bytes = extractAmqpEvent("orders", 1, message({}, { headers: { traceparent: Buffer.from(TRACEPARENT) } }), OPTIONS);
      expect(bytes.trace.traceId).toBe(TRACE_ID);
      const binary = extractAmqpEvent("orders", 1, message({}, { headers: { traceparent: Buffer.from([0xff, 0x00]) } }), OPTIONS);
      expect(binary.trace.traceId).toBeNull();
      expect(binary.flags).toEqual(["header-binary", "traceparent-invalid"]);
    });
  });

  describe("dead letters", () => {
    /** x-death as amqplib decodes it: the time in its timestamp notation. */
    const xDeath = (reason: string, count = 1) => [
      { count, reason, queue: "orders", time: { "!": "timestamp", value: 1_765_000_000 }, exchange: "orders", "routing-keys": ["order.placed"] },
    ];
    const firstDeath = { "x-first-death-queue": "orders", "x-first-death-reason": "rejected", "x-first-death-exchange": "orders" };

    it("is a dead letter when delivered from the dead-letter queue with the broker's headers", () => {
      const event = extractAmqpEvent(
        "orders.dlq",
        12,
        message({ exchange: "dlx", queue: "orders.dlq", routingKeys: ["order.placed"] }, { headers: { "x-death": xDeath("rejected", 2), ...firstDeath } }),
        OPTIONS,
      );
      expect(event.deadLetter).toEqual({
        source: "headers",
        convention: "rabbitmq",
        originTopic: "orders",
        originPartition: null,
        originOffset: null,
        originTimestamp: new Date("2025-12-06T05:46:40.000Z"),
        originConsumerGroup: "orders",
        originTopicHint: "orders",
        errorClass: "rejected",
        errorMessage: 'Dead-lettered from queue "orders": a consumer rejected it (basic.reject or basic.nack with requeue=false).',
        errorCause: null,
        stackTrace: null,
        attempts: 2,
      });
      expect(event.priorFailure).toBeNull();
      expect(event.flags).toEqual([]);
    });

    it.each(["rejected", "expired", "maxlen", "delivery_limit"])("reads reason %s as the error class", (reason) => {
      const event = extractAmqpEvent("parking-lot", 1, message({ queue: "parking-lot" }, { headers: { "x-death": xDeath(reason) } }), OPTIONS);
      expect(event.deadLetter).toMatchObject({ convention: "rabbitmq", errorClass: reason, originTopic: "orders", originConsumerGroup: "orders" });
    });

    it("is a prior failure when a retry loop delivers it from its origin queue again", () => {
      const event = extractAmqpEvent("orders", 1, message({ queue: "orders" }, { headers: { "x-death": xDeath("expired"), ...firstDeath } }), OPTIONS);
      expect(event.deadLetter).toBeNull();
      expect(event.priorFailure).toMatchObject({ convention: "rabbitmq", errorClass: "expired", errorCause: "rejected" });
    });

    it("recognises a replay by its markers: neither a dead letter nor a prior failure, the markers kept as headers", () => {
      const event = extractAmqpEvent(
        "orders",
        1,
        message({}, { headers: { "x-replay-of": "orders.dlq/0/12", "x-replay-id": "8f1c2a" } }),
        OPTIONS,
      );
      expect(event.deadLetter).toBeNull();
      expect(event.priorFailure).toBeNull();
      expect(event.headers.slice(-2).map((h) => [h.key, h.text])).toEqual([
        ["x-replay-of", "orders.dlq/0/12"],
        ["x-replay-id", "8f1c2a"],
      ]);
    });

    it("falls back on the queue's name without the broker's headers", () => {
      const event = extractAmqpEvent("orders.dlq", 1, message({ queue: "orders.dlq" }), OPTIONS);
      expect(event.deadLetter).toMatchObject({ source: "topic-name", convention: null, originTopic: null, originTopicHint: "orders" });
    });
  });

  describe("hostile input", () => {
    it("keeps a binary body as bytes and a JSON-looking broken one flagged", () => {
      const binary = extractAmqpEvent("orders", 1, message({ body: Buffer.from([0x00, 0xff, 0x10]) }, { contentType: "application/octet-stream" }), OPTIONS);
      expect(binary.value).toEqual({ kind: "bytes", raw: Buffer.from([0x00, 0xff, 0x10]), text: null, truncated: false, byteLength: 3 });
      expect(binary.flags).toEqual([]);
      const broken = extractAmqpEvent("orders", 1, message({ body: Buffer.from("{oops") }), OPTIONS);
      expect(broken.flags).toEqual(["value-not-json"]);
    });

    it("reads an empty or missing body as empty, never as a tombstone", () => {
      for (const body of [Buffer.alloc(0), null as never, undefined as never]) {
        const event = extractAmqpEvent("orders", 1, message({ body }), OPTIONS);
        expect(event.value).toEqual({ kind: "bytes", raw: Buffer.alloc(0), text: "", truncated: false, byteLength: 0 });
      }
    });

    it("cuts a body over the cap", () => {
      const event = extractAmqpEvent("orders", 1, message({ body: Buffer.alloc(100, 0x61) }), { ...OPTIONS, maxValueBytes: 10 });
      expect(event.value).toMatchObject({ kind: "bytes", truncated: true, byteLength: 100 });
      expect(event.flags).toEqual(["value-truncated"]);
    });

    it("flags a non-UTF-8 header, an unusable timestamp and an unreadable header value", () => {
      const event = extractAmqpEvent(
        "orders",
        1,
        message({}, { timestamp: -5, headers: { latin1: Buffer.from([0xe9, 0x74, 0xe9]), odd: () => 0 } }),
        OPTIONS,
      );
      expect(event.timestamp).toBeNull();
      expect(event.flags).toEqual(["timestamp-invalid", "header-binary", "header-unreadable"]);
    });

    it("survives wrong types everywhere", () => {
      const hostile = {
        exchange: 42,
        routingKeys: [{}, "x"],
        properties: { contentType: 7, type: ["t"], appId: {}, timestamp: "soon", headers: { "x-death": "nope", traceparent: 12 } },
        body: "text body",
        connectionName: 5,
        queue: { name: "q" },
        redelivered: "yes",
      } as unknown as AmqpMessage;
      const event = extractAmqpEvent("orders", 1, hostile, OPTIONS);
      expect(event).toMatchObject({
        key: null,
        value: { kind: "bytes", text: "text body" },
        eventType: null,
        producer: null,
        timestamp: null,
        priorFailure: null,
        deadLetter: { convention: "rabbitmq", errorClass: null },
      });
      expect(event.flags).toEqual(["timestamp-invalid", "traceparent-invalid", "dlq-header-malformed"]);
      expect(event.headers.slice(0, 5).map((h) => [h.key, h.text])).toEqual([
        ["amqp.exchange", "42"],
        ["amqp.routing_key", "{}"],
        ["amqp.routing_key", "x"],
        ["amqp.queue", '{"name":"q"}'],
        ["amqp.redelivered", "yes"],
      ]);
    });

    it("never throws, whatever the shapes", () => {
      const roll = xorshift32(0x2545_f491);
      const next = () => roll() / 0x1_0000_0000;
      const values: unknown[] = [
        null,
        undefined,
        "",
        "text",
        "\ud800",
        -1,
        Number.NaN,
        2n ** 70n,
        true,
        Buffer.from([0xff, 0x00]),
        new Date(Number.NaN),
        { "!": "timestamp", value: "x" },
        { "!": "decimal", value: { places: 300, digits: 1 } },
        [[[]]],
        Symbol("s"),
      ];
      const pick = () => values[Math.floor(next() * values.length)];
      for (let i = 0; i < 500; i++) {
        const headers: Record<string, unknown> = {};
        for (const name of ["x-death", "traceparent", "cloudEvents:type", "x-first-death-exchange", "type", "producer"]) {
          if (next() < 0.5) headers[name] = pick();
        }
        const msg = {
          exchange: pick(),
          routingKeys: next() < 0.5 ? [pick()] : pick(),
          properties: next() < 0.1 ? pick() : { contentType: pick(), timestamp: pick(), type: pick(), appId: pick(), headers },
          body: next() < 0.5 ? Buffer.from(JSON.stringify({ orderId: i })) : pick(),
          connectionName: pick(),
        } as unknown as AmqpMessage;
        expect(() => extractAmqpEvent("orders", i, msg, OPTIONS)).not.toThrow();
      }
    });
  });
});
