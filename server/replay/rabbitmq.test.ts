import { describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/errors.ts";
import { flattenAmqpHeaders } from "../collector/extract/amqp-headers.ts";
import type { AmqpMessage } from "../collector/extract/types.ts";
import { originalRoutingKeys, toAmqpPublish, vhostOfChannel } from "./rabbitmq.ts";

const h = (key: string, value: string | Buffer | null) => ({ key, value: typeof value === "string" ? Buffer.from(value, "utf8") : value });

describe("vhostOfChannel", () => {
  it("reads the vhost from a `<vhost>/<name>` channel, else the default vhost", () => {
    expect(vhostOfChannel(["/", "shop"], "shop/orders.dlq")).toBe("shop");
    expect(vhostOfChannel(["/", "shop"], "orders.dlq")).toBe("/");
    expect(vhostOfChannel(["shop"], "orders.dlq")).toBe("shop");
  });
});

describe("originalRoutingKeys", () => {
  const deaths = JSON.stringify([
    { queue: "orders.retry", reason: "expired", exchange: "orders.retry", "routing-keys": ["retry.key"] },
    { queue: "orders.work", reason: "rejected", exchange: "orders", "routing-keys": ["order.placed", "audit.cc"] },
  ]);

  it("takes the routing keys of the origin queue's x-death entry", () => {
    expect(originalRoutingKeys([h("amqp.routing_key", "dlx.key"), h("x-death", deaths)], "orders.work")).toEqual(["order.placed", "audit.cc"]);
  });

  it("falls back on the oldest entry, then on the stored amqp.routing_key", () => {
    expect(originalRoutingKeys([h("x-death", deaths)], null)).toEqual(["order.placed", "audit.cc"]);
    expect(originalRoutingKeys([h("amqp.routing_key", "a"), h("amqp.routing_key", "b"), h("x-death", "not json")], null)).toEqual(["a", "b"]);
    expect(originalRoutingKeys([], null)).toBeNull();
  });
});

describe("toAmqpPublish", () => {
  const target = { exchange: "orders", routingKeys: ["order.placed", "audit.cc"], username: "eventscope" };

  it("turns amqp.* headers back into properties, leaves the envelope out, keeps the rest as headers", () => {
    const publish = toAmqpPublish(
      {
        key: Buffer.from("order.placed"),
        value: Buffer.from("{}"),
        headers: [
          h("amqp.exchange", "orders.dlx"),
          h("amqp.routing_key", "order.placed"),
          h("amqp.queue", "orders.dlq"),
          h("amqp.delivery_mode", "2"),
          h("amqp.timestamp", "1764979200"),
          h("amqp.message_id", "m-1"),
          h("amqp.user_id", "someone-else"),
          h("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
          h("blob", Buffer.from([0xff, 0x00])),
          h("x-replay-id", "r-1"),
        ],
      },
      target,
    );
    expect(publish.exchange).toBe("orders");
    expect(publish.routingKey).toBe("order.placed");
    expect(publish.properties).toMatchObject({ deliveryMode: 2, timestamp: 1_764_979_200, messageId: "m-1", CC: ["audit.cc"] });
    // RabbitMQ refuses a user_id that is not the connection's own user.
    expect(publish.properties).not.toHaveProperty("userId");
    expect(publish.properties.headers).toEqual({
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      blob: Buffer.from([0xff, 0x00]),
      "x-replay-id": "r-1",
    });
  });

  it("sends each header back with the AMQP type the collector stored for it", () => {
    const original: AmqpMessage = {
      exchange: "orders",
      routingKeys: ["order.placed"],
      body: Buffer.from("{}"),
      properties: {
        headers: {
          "x-retry-count": 3,
          ratio: 0.25,
          big: 12_345_678_901_234_567_890n,
          urgent: false,
          sent: { "!": "timestamp", value: 1_765_000_000 },
          route: { region: "eu", hops: [1, "two"] },
          amount: { "!": "decimal", value: { places: 2, digits: 1999 } },
          tenant: "acme",
        },
      },
    };
    // As stored: every value as text, and amqp.header_types saying which were not.
    const stored = flattenAmqpHeaders(original).headers.map((header) => ({ key: header.key, value: header.value }));
    const publish = toAmqpPublish({ key: null, value: Buffer.from("{}"), headers: stored }, target);
    expect(publish.properties.headers).toEqual({
      "x-retry-count": 3,
      ratio: 0.25,
      // Beyond what a double holds exactly: sent as its decimal text rather than rounded.
      big: "12345678901234567890",
      urgent: false,
      sent: { "!": "timestamp", value: 1_765_000_000 },
      route: { region: "eu", hops: [1, "two"] },
      amount: "19.99",
      tenant: "acme",
    });
  });

  it("sends an edited header that no longer reads as its type as text", () => {
    const types = h("amqp.header_types", JSON.stringify({ "x-retry-count": "number", urgent: "boolean", sent: "timestamp", route: "json" }));
    const publish = toAmqpPublish(
      {
        key: null,
        value: Buffer.from("{}"),
        headers: [types, h("x-retry-count", "three"), h("urgent", "yes"), h("sent", "soon"), h("route", '{"!": "bytes", "base64": "AA=="}')],
      },
      target,
    );
    expect(publish.properties.headers).toEqual({ "x-retry-count": "three", urgent: "yes", sent: "soon", route: '{"!": "bytes", "base64": "AA=="}' });
  });

  it("refuses a tombstone, a property that is not a number, and an unknown amqp.* header", () => {
    const base = { key: null, value: Buffer.from("x"), headers: [] };
    expect(() => toAmqpPublish({ ...base, value: null }, target)).toThrow(ValidationError);
    expect(() => toAmqpPublish({ ...base, headers: [h("amqp.priority", "high")] }, target)).toThrow(/whole number/);
    expect(() => toAmqpPublish({ ...base, headers: [h("amqp.colour", "red")] }, target)).toThrow(/no AMQP property/);
  });
});
