import { describe, expect, it } from "vitest";
import { DEFAULT_EXTRACT_OPTIONS } from "../extract/index.ts";
import { toEventRowFromAmqp } from "../to-event-row.ts";
import { fingerprintOfEventRow } from "../../db/index.ts";
import { copyHashOf, deliveriesQueueName, deliveryRowOf, readDeliveryCopy } from "./firehose-deliveries.ts";

/** A `deliver.<queue>` copy's headers as amqplib decodes them from RabbitMQ 3.10 (server/rabbitmq/README.md). */
function copyHeaders(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    exchange_name: "orders",
    routing_keys: ["order.placed"],
    properties: {
      message_id: "m-1",
      content_type: "application/json",
      timestamp: { "!": "timestamp", value: 1_764_979_200 },
      delivery_mode: 2,
      headers: { ce_id: "evt-1", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    },
    node: "rabbit@localhost",
    vhost: "/",
    connection: "127.0.0.1:50000 -> 127.0.0.1:5672",
    channel: 1,
    user: "guest",
    redelivered: 1,
    ...extra,
  };
}

const body = Buffer.from('{"orderId":"ord-1"}');

describe("readDeliveryCopy", () => {
  it("reads the queue, the message as published, the redelivered flag and the consuming connection", () => {
    const copy = readDeliveryCopy("deliver.orders.work", copyHeaders(), body);
    expect(copy).toMatchObject({
      queue: "orders.work",
      redelivered: true,
      connection: "127.0.0.1:50000 -> 127.0.0.1:5672",
      replayId: null,
      message: {
        exchange: "orders",
        routingKeys: ["order.placed"],
        body,
        properties: { messageId: "m-1", contentType: "application/json", timestamp: 1_764_979_200, deliveryMode: 2 },
      },
    });
  });

  it("takes a replay's x-replay-id, as text or bytes, and reads redelivered 0 as false", () => {
    const headers = copyHeaders({ redelivered: 0 });
    (headers.properties as { headers: Record<string, unknown> }).headers["x-replay-id"] = Buffer.from("42");
    expect(readDeliveryCopy("deliver.q", headers, body)).toMatchObject({ replayId: "42", redelivered: false });
  });

  it("is null for a publish copy", () => {
    expect(readDeliveryCopy("publish.orders", copyHeaders(), body)).toBeNull();
  });
});

describe("deliveryRowOf", () => {
  it("gives the fingerprint ingest gives the message stored from the exchange's stream, and the channel of its exchange", () => {
    const copy = readDeliveryCopy("deliver.orders.work", copyHeaders(), body)!;
    const row = deliveryRowOf(3, "shop", copy, DEFAULT_EXTRACT_OPTIONS, new Date(0), copyHeaders(), false);
    // What the collector reads from the stream: the same message with amqplib's property names.
    const stored = toEventRowFromAmqp(3, "shop/orders", 17, {
      exchange: "orders",
      routingKeys: ["order.placed"],
      body,
      properties: { messageId: "m-1", contentType: "application/json", timestamp: 1_764_979_200, deliveryMode: 2, headers: { ce_id: "evt-1", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } },
    }, DEFAULT_EXTRACT_OPTIONS);
    expect(row.channel).toBe("shop/orders");
    expect(row.fingerprint).toBe(fingerprintOfEventRow(stored));
    expect(row.fingerprint).toBeGreaterThan(0);
  });

  it("hashes a copy the same way each time it is handed over, and another copy differently", () => {
    expect(copyHashOf(copyHeaders(), body).equals(copyHashOf(copyHeaders(), body))).toBe(true);
    expect(copyHashOf(copyHeaders({ channel: 2 }), body).equals(copyHashOf(copyHeaders(), body))).toBe(false);
  });
});

describe("deliveriesQueueName", () => {
  it("cannot be an exchange's stream: `:` is in no source name", () => {
    expect(deliveriesQueueName("shop", "/")).toBe("eventscope.shop:deliveries");
    expect(deliveriesQueueName("shop", "billing")).toBe("eventscope.shop:deliveries.billing");
  });
});
