import { render, screen, within } from "@testing-library/react";
import { describe, expect, test } from "vitest";
import type { WhoConsumesAnswer } from "@/lib/api-schemas/who-consumes";
import { WhoConsumesAnswerView } from "./who-consumes-answer";

const answer: WhoConsumesAnswer = {
  query: { type: "OrderPlaced" },
  topics: [
    {
      source: "rabbit-eu", topic: "orders", kind: null, of: null, matchedBy: ["type"], eventTypes: ["OrderPlaced"],
      producers: [{ producer: "order-service", eventType: "OrderPlaced", count: "12", firstSeenAt: "2026-12-05T22:00:00.000Z", lastSeenAt: "2026-12-05T23:00:00.000Z" }],
      groups: [],
      queues: [
        {
          source: "rabbit-eu", id: "rabbitmq:%2F/billing.orders", vhost: "/", name: "billing.orders", type: "classic", routingKeys: ["order.paid", "order.placed"],
          consumers: [
            { consumerTag: "ctag-1", channel: "c (1)", connection: "127.0.0.1:5000 -> 127.0.0.1:5672", connectionName: "billing-service", peerHost: "127.0.0.1", user: "guest", ackRequired: true, prefetchCount: 20, active: true, exclusive: false },
          ],
          lag: "3", timeLagMs: null, timeLagUnknownReason: "time lag unknown: messages carry no timestamp property",
          health: { status: "OK", reason: "queue billing.orders: consuming, lag 3", judgedAt: "2026-12-05T23:00:00.000Z" },
        },
      ],
    },
  ],
  producers: ["order-service"],
  groups: [],
  queues: ["rabbitmq:%2F/billing.orders"],
};

describe("who consumes, answered by RabbitMQ queues", () => {
  test("an exchange lists its bound queues with routing keys, consumers' connection names, prefetch and ack mode, and lag", () => {
    render(<WhoConsumesAnswerView answer={answer} />);
    const table = screen.getByRole("table", { name: "Queues bound to orders" });
    const row = within(table).getAllByRole("row")[1]!;
    expect(within(row).getByRole("link", { name: "billing.orders" }).getAttribute("href")).toBe("/groups/rabbitmq%3A%252F%2Fbilling.orders?source=rabbit-eu");
    expect(within(row).getByText("order.paid, order.placed")).toBeTruthy();
    expect(within(row).getByText(/billing-service · prefetch 20 · manual ack/)).toBeTruthy();
    expect(within(row).getByText("3")).toBeTruthy();
    expect(screen.queryByText(/no consumer group has committed offsets/)).toBeNull();
    expect(within(screen.getByRole("list", { name: "RabbitMQ queues" })).getByText("billing.orders")).toBeTruthy();
  });
});
