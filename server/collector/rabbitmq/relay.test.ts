import type amqp from "amqplib";
import { describe, expect, it } from "vitest";
import { channelOfExchange } from "../../../lib/rabbitmq-names.ts";
import { DEFAULT_EXTRACT_OPTIONS } from "../extract/index.ts";
import { toEventRowFromAmqp } from "../to-event-row.ts";
import { passesExchangeFilter } from "./bindings-plan.ts";
import { amqpMessageOf, defaultExchangePlan, defaultExchangePublishOfCopy, isRelayed, relayPublishOf } from "./relay.ts";

/** A `publish.` copy's headers as amqplib decodes them from RabbitMQ 3.10.8 (server/rabbitmq/README.md). */
function publishCopy(queue: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    exchange_name: "",
    routing_keys: [queue],
    properties: {
      app_id: "mailer",
      message_id: "m-1",
      user_id: "guest",
      timestamp: 1_764_979_200,
      content_type: "application/json",
      headers: { seq: 1, at: { "!": "timestamp", value: 1_764_979_201 } },
    },
    node: "rabbit@localhost",
    vhost: "/",
    connection: "127.0.0.1:50000 -> 127.0.0.1:5672",
    channel: 1,
    user: "guest",
    routed_queues: [queue],
    ...extra,
  };
}

const body = Buffer.from('{"orderId":"ord-1"}');

/** What reading the stream hands over for a republish: amqplib's delivery of what was published. */
function asStreamDelivery(queue: string, published: ReturnType<typeof relayPublishOf>): Pick<amqp.Message, "fields" | "properties" | "content"> {
  return {
    fields: { exchange: "", routingKey: queue, deliveryTag: 1, redelivered: false } as amqp.Message["fields"],
    properties: { ...published.options, headers: { ...published.options.headers, "x-stream-offset": 7 } } as unknown as amqp.MessageProperties,
    content: published.content,
  };
}

describe("defaultExchangePublishOfCopy", () => {
  it("reads a publish to the default exchange: routing key = the queue, the properties as published", () => {
    expect(defaultExchangePublishOfCopy("publish.", publishCopy("emails"), body)).toEqual({
      exchange: "",
      routingKey: "emails",
      body,
      properties: {
        appId: "mailer",
        messageId: "m-1",
        userId: "guest",
        timestamp: 1_764_979_200,
        contentType: "application/json",
        headers: { seq: 1, at: { "!": "timestamp", value: 1_764_979_201 } },
      },
    });
  });

  it("relays nothing addressed to Eventscope's own queues: the relay's republishes would loop", () => {
    expect(defaultExchangePublishOfCopy("publish.", publishCopy("eventscope.prod.amq.default"), body)).toBeNull();
    expect(defaultExchangePublishOfCopy("publish.", publishCopy("eventscope.prod:relay.amq.default"), body)).toBeNull();
  });

  it("relays no other copy: another exchange's publish, a delivery, a copy without headers", () => {
    expect(defaultExchangePublishOfCopy("publish.orders", publishCopy("x", { exchange_name: "orders" }), body)).toBeNull();
    expect(defaultExchangePublishOfCopy("publish.", publishCopy("x", { exchange_name: "orders" }), body)).toBeNull();
    expect(defaultExchangePublishOfCopy("deliver.emails", publishCopy("emails"), body)).toBeNull();
    expect(defaultExchangePublishOfCopy("publish.", undefined, body)).toBeNull();
    expect(defaultExchangePublishOfCopy("publish.", publishCopy("x", { routing_keys: [] }), body)).toBeNull();
  });
});

describe("relayPublishOf and amqpMessageOf", () => {
  it("a relayed default-exchange publish reads back from the stream as it was published: exchange \"\", the queue, user_id, headers", () => {
    const routed = defaultExchangePublishOfCopy("publish.", publishCopy("emails"), body)!;
    const published = relayPublishOf(routed);
    // RabbitMQ refuses another user's user_id: it travels in a header.
    expect(published.options.userId).toBeUndefined();
    const delivery = asStreamDelivery("eventscope.prod.amq.default", published);
    expect(isRelayed(delivery)).toBe(true);
    expect(isRelayed({ properties: { headers: { seq: 1 } } as unknown as amqp.MessageProperties })).toBe(false);
    const message = amqpMessageOf(delivery);
    expect(message).toMatchObject({ exchange: "", routingKeys: ["emails"], body });
    expect(message.properties).toMatchObject({ appId: "mailer", messageId: "m-1", userId: "guest", timestamp: 1_764_979_200 });
    expect(message.properties.headers).toEqual({ seq: 1, at: { "!": "timestamp", value: 1_764_979_201 } });

    const row = toEventRowFromAmqp(1, channelOfExchange("/", message.exchange), 7, message, DEFAULT_EXTRACT_OPTIONS);
    expect(row.topic).toBe("amq.default");
    expect(row.key).toMatchObject({ kind: "text", text: "emails" });
  });

  it("a dead letter relayed from a DLX keeps its exchange and routing key", () => {
    const published = relayPublishOf({ exchange: "orders.dlx", routingKey: "order.placed", properties: { messageId: "m-2", headers: { a: "b" } }, body });
    expect(amqpMessageOf(asStreamDelivery("eventscope.prod.orders.dlx", published))).toMatchObject({
      exchange: "orders.dlx",
      routingKeys: ["order.placed"],
      properties: { messageId: "m-2", headers: { a: "b" } },
    });
  });
});

describe("the default exchange as a collected exchange", () => {
  it("is channel amq.default (<vhost>/amq.default elsewhere), its stream and relay named like any exchange's, the relay bound to the firehose with publish.", () => {
    expect(defaultExchangePlan("prod", "/")).toMatchObject({
      exchange: "amq.default",
      channel: "amq.default",
      queue: "eventscope.prod.amq.default",
      relayQueue: "eventscope.prod:relay.amq.default",
      boundExchange: "amq.rabbitmq.trace",
      bindings: [{ routingKey: "publish.", arguments: {} }],
      relaysTraceCopies: true,
    });
    expect(defaultExchangePlan("prod", "shop")).toMatchObject({ channel: "shop/amq.default", queue: "eventscope.prod.shop.amq.default" });
    expect(channelOfExchange("shop", "")).toBe("shop/amq.default");
  });

  it("passes the exchanges filter by the name amq.default", () => {
    expect(passesExchangeFilter("amq.default", { include: undefined, exclude: undefined })).toBe(true);
    expect(passesExchangeFilter("amq.default", { include: /^orders\./, exclude: undefined })).toBe(false);
    expect(passesExchangeFilter("amq.default", { include: undefined, exclude: /^amq\.default$/ })).toBe(false);
  });
});
