import { describe, expect, it } from "vitest";
import { flattenAmqpHeaders, MAX_AMQP_TABLE_DEPTH, readAmqpTimestamp } from "./amqp-headers.ts";
import type { AmqpMessage, AmqpProperties } from "./types.ts";

function message(properties: AmqpProperties, overrides: Partial<AmqpMessage> = {}): AmqpMessage {
  return { exchange: "orders", routingKeys: ["order.placed"], properties, body: Buffer.from("{}"), ...overrides };
}

/** [key, text] pairs: what the header list shows. */
function texts(msg: AmqpMessage): Array<[string, string | null]> {
  return flattenAmqpHeaders(msg).headers.map((h) => [h.key, h.text]);
}

describe("flattenAmqpHeaders", () => {
  it("keeps the envelope and every property as amqp.* headers, then the headers table under its own keys", () => {
    const msg = message(
      {
        contentType: "application/json",
        contentEncoding: "utf-8",
        headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tenant: "acme" },
        deliveryMode: 2,
        priority: 5,
        correlationId: "req-17",
        replyTo: "amq.rabbitmq.reply-to",
        expiration: "60000",
        messageId: "msg-81",
        timestamp: 1_765_000_000,
        type: "OrderPlaced",
        userId: "guest",
        appId: "order-service",
      },
      { routingKeys: ["order.placed", "audit"], queue: "orders", redelivered: false, connectionName: "orders-api" },
    );
    expect(texts(msg)).toEqual([
      ["amqp.exchange", "orders"],
      ["amqp.routing_key", "order.placed"],
      ["amqp.routing_key", "audit"],
      ["amqp.queue", "orders"],
      ["amqp.redelivered", "false"],
      ["amqp.connection_name", "orders-api"],
      ["amqp.content_type", "application/json"],
      ["amqp.content_encoding", "utf-8"],
      ["amqp.delivery_mode", "2"],
      ["amqp.priority", "5"],
      ["amqp.correlation_id", "req-17"],
      ["amqp.reply_to", "amq.rabbitmq.reply-to"],
      ["amqp.expiration", "60000"],
      ["amqp.message_id", "msg-81"],
      ["amqp.timestamp", "1765000000"],
      ["amqp.type", "OrderPlaced"],
      ["amqp.user_id", "guest"],
      ["amqp.app_id", "order-service"],
      ["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
      ["tenant", "acme"],
    ]);
    expect(flattenAmqpHeaders(msg).headers[0]!.value).toEqual(Buffer.from("orders"));
  });

  it("keeps the default exchange as empty text and leaves absent properties out", () => {
    expect(texts(message({}, { exchange: "", routingKeys: ["orders"] }))).toEqual([
      ["amqp.exchange", ""],
      ["amqp.routing_key", "orders"],
    ]);
  });

  it("renders typed values readably, as amqplib decodes them", () => {
    const msg = message({
      headers: {
        retries: 3,
        ratio: 0.25,
        urgent: true,
        nothing: null,
        sent: { "!": "timestamp", value: 1_765_000_000 },
        amount: { "!": "decimal", value: { places: 2, digits: 1999 } },
        cents: { "!": "decimal", value: { places: 3, digits: 5 } },
        at: new Date("2026-12-05T22:00:00.000Z"),
        big: 12_345_678_901_234_567_890n,
        small: 42n,
        bytes: Buffer.from("plain text"),
        route: { region: "eu", hops: [1, "two", { "!": "timestamp", value: 0 }] },
        "x-death": [
          {
            count: 1,
            reason: "rejected",
            queue: "orders",
            time: { "!": "timestamp", value: 1_765_000_000 },
            exchange: "",
            "routing-keys": ["orders"],
          },
        ],
      },
    });
    expect(texts(msg).slice(2)).toEqual([
      ["retries", "3"],
      ["ratio", "0.25"],
      ["urgent", "true"],
      ["nothing", null],
      ["sent", "2025-12-06T05:46:40.000Z"],
      ["amount", "19.99"],
      ["cents", "0.005"],
      ["at", "2026-12-05T22:00:00.000Z"],
      ["big", "12345678901234567890"],
      ["small", "42"],
      ["bytes", "plain text"],
      ["route", '{"region":"eu","hops":[1,"two","1970-01-01T00:00:00.000Z"]}'],
      [
        "x-death",
        '[{"count":1,"reason":"rejected","queue":"orders","time":"2025-12-06T05:46:40.000Z","exchange":"","routing-keys":["orders"]}]',
      ],
      [
        "amqp.header_types",
        JSON.stringify({
          retries: "number",
          ratio: "number",
          urgent: "boolean",
          sent: "timestamp",
          at: "timestamp",
          big: "number",
          small: "number",
          route: "json",
          "x-death": "json",
        }),
      ],
    ]);
    expect(flattenAmqpHeaders(msg).unreadable).toBe(false);
  });

  it("keeps binary byte arrays as bytes, and shows binary inside a table as base64", () => {
    const blob = Buffer.from([0xff, 0x00, 0xfe]);
    const { headers, unreadable } = flattenAmqpHeaders(message({ headers: { blob, nested: { blob } } }));
    expect(headers[2]).toEqual({ key: "blob", value: blob, text: null });
    expect(headers[3]).toMatchObject({ key: "nested", text: '{"blob":{"!":"bytes","base64":"/wD+"}}' });
    expect(unreadable).toBe(false);
  });

  it("keeps a string with NUL as bytes (PostgreSQL text refuses NUL) and escapes it inside JSON", () => {
    const { headers } = flattenAmqpHeaders(message({ headers: { nul: "a\u0000b", table: { nul: "a\u0000b" } } }));
    expect(headers[2]).toEqual({ key: "nul", value: Buffer.from("a\u0000b"), text: null });
    expect(headers[3]!.text).toBe('{"nul":"a\\u0000b"}');
  });

  it("flags what it cannot show faithfully, and never throws", () => {
    let deep: object = { leaf: 1 };
    for (let i = 0; i < 10_000; i++) deep = { deep };
    const cycle: Record<string, unknown> = { name: "loop" };
    cycle.self = cycle;
    const throwing = {
      get boom(): never {
        throw new Error("getter");
      },
    };
    const cases: Array<[string, unknown, string | null]> = [
      ["lone surrogate", "\ud800x", "\ufffdx"],
      ["function", () => 1, "[function]"],
      ["symbol", Symbol("s"), "[symbol]"],
      ["NaN", Number.NaN, "NaN"],
      ["invalid date", new Date(Number.NaN), "[invalid date]"],
      ["timestamp out of range", { "!": "timestamp", value: 1e300 }, "[invalid date]"],
      ["throwing getter", throwing, null],
    ];
    for (const [name, value, text] of cases) {
      const result = flattenAmqpHeaders(message({ headers: { [name]: value } }));
      expect([name, result.headers[2]!.text, result.unreadable]).toEqual([name, text, name !== "NaN"]);
    }
    const nested = flattenAmqpHeaders(message({ headers: { deep, cycle } }));
    expect(nested.unreadable).toBe(true);
    expect(nested.headers[2]!.text).toBe(`${'{"deep":'.repeat(MAX_AMQP_TABLE_DEPTH)}"[nested too deep]"${"}".repeat(MAX_AMQP_TABLE_DEPTH)}`);
    expect(nested.headers[3]!.text).toContain('"name":"loop","self":{"name":"loop"');
    // A headers "table" that is not a table, and no properties at all.
    expect(flattenAmqpHeaders(message({ headers: "x-death" as never })).unreadable).toBe(true);
    expect(texts({ exchange: "e", routingKeys: "rk" as never, properties: null as never, body: Buffer.alloc(0) })).toEqual([
      ["amqp.exchange", "e"],
      ["amqp.routing_key", "rk"],
    ]);
  });

  it("keeps a __proto__ key as a key", () => {
    const table = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    expect(texts(message({ headers: { table } }))[2]).toEqual(["table", '{"__proto__":{"polluted":true}}']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("keeps a huge header whole", () => {
    const huge = "x".repeat(2 * 1024 * 1024);
    expect(flattenAmqpHeaders(message({ headers: { huge } })).headers[2]!.value!.length).toBe(2 * 1024 * 1024);
  });
});

describe("readAmqpTimestamp", () => {
  it("reads seconds since the epoch; absent is null and nothing wrong", () => {
    expect(readAmqpTimestamp(1_765_000_000)).toEqual({ timestamp: new Date("2025-12-06T05:46:40.000Z"), invalid: false });
    expect(readAmqpTimestamp({ "!": "timestamp", value: 0 })).toEqual({ timestamp: new Date(0), invalid: false });
    expect(readAmqpTimestamp(undefined)).toEqual({ timestamp: null, invalid: false });
    expect(readAmqpTimestamp(null)).toEqual({ timestamp: null, invalid: false });
  });

  it("refuses negative, non-numeric and out-of-range times", () => {
    for (const raw of [-1, Number.NaN, "1765000000", 1e300, {}]) {
      expect(readAmqpTimestamp(raw)).toEqual({ timestamp: null, invalid: true });
    }
  });
});
