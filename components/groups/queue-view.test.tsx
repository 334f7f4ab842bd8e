import { render, screen, within } from "@testing-library/react";
import { describe, expect, test } from "vitest";
import { QUEUE_TIME_LAG_UNKNOWN, type RabbitQueueView } from "@/lib/api-schemas/groups";
import { QueueView } from "./queue-view";

const view: RabbitQueueView = {
  kind: "rabbitmq-queue", source: "rabbit-eu", id: "rabbitmq:%2F/orders.work", vhost: "/", name: "orders.work", type: "classic",
  durable: true, autoDelete: false, exclusive: false, arguments: { "x-dead-letter-exchange": "orders.dlx", "x-message-ttl": 60000 },
  deadLetterExchange: "orders.dlx", deadLetterRoutingKey: null, deadLetterPolicy: null, state: "running", ready: "4", unacknowledged: "2", lag: "6",
  timeLagMs: null, timeLagUnknownReason: QUEUE_TIME_LAG_UNKNOWN, headMessageAt: null, rates: { publish: 2.5, deliver: 2.5, ack: null },
  firstSeenAt: "2026-12-05T22:00:00.000Z", updatedAt: "2026-12-05T23:00:00.000Z", deletedAt: null,
  health: { status: "WARN", reason: "queue orders.work: lag grew from 2 to 6 over 5 min", judgedAt: "2026-12-05T23:00:00.000Z" },
  healthWindowMs: 300_000,
  consumers: [
    { consumerTag: "amq.ctag-1", channel: "c1 (1)", connection: "127.0.0.1:50000 -> 127.0.0.1:5672", connectionName: "billing-service", peerHost: "127.0.0.1", user: "guest", ackRequired: true, prefetchCount: 10, active: true, exclusive: false },
    { consumerTag: "amq.ctag-2", channel: "c2 (1)", connection: "127.0.0.1:50001 -> 127.0.0.1:5672", connectionName: null, peerHost: "127.0.0.1", user: "guest", ackRequired: false, prefetchCount: 0, active: true, exclusive: false },
  ],
  bindings: [{ exchange: "orders", routingKey: "order.#", arguments: {} }],
  history: {
    from: "2026-12-05T22:45:00.000Z", to: "2026-12-05T23:00:00.000Z", bucketMs: 5_000,
    points: [{ at: "2026-12-05T22:59:55.000Z", lag: "6", ready: "4", unacknowledged: "2", timeLagMs: null }],
  },
};

describe("a RabbitMQ queue's page", () => {
  test("shows each consumer's connection name, prefetch and ack mode", () => {
    render(<QueueView queue={view} window="15m" />);
    const rows = within(screen.getByRole("table", { name: "Consumers" })).getAllByRole("row");
    expect(within(rows[1]!).getByText("billing-service")).toBeTruthy();
    expect(within(rows[1]!).getByText("10")).toBeTruthy();
    expect(within(rows[1]!).getByText("manual ack")).toBeTruthy();
    expect(within(rows[2]!).getByText("none given")).toBeTruthy();
    expect(within(rows[2]!).getByText("unlimited")).toBeTruthy();
    expect(within(rows[2]!).getByText("auto-ack")).toBeTruthy();
  });

  test("shows bindings with routing keys, the dead-letter exchange and the other arguments, lag, rates and health", () => {
    render(<QueueView queue={view} window="15m" />);
    const binding = within(screen.getByRole("table", { name: "Bindings" })).getAllByRole("row")[1]!;
    expect(within(binding).getByText("orders")).toBeTruthy();
    expect(within(binding).getByText("order.#")).toBeTruthy();
    expect(within(screen.getByRole("table", { name: "Arguments" })).getByText("60000")).toBeTruthy();
    const summary = screen.getByText("Dead-letter exchange").closest("div")!;
    expect(within(summary).getByText("orders.dlx")).toBeTruthy();
    expect(screen.getByText(QUEUE_TIME_LAG_UNKNOWN)).toBeTruthy();
    expect(screen.getByText("Publish").closest("div")!.textContent).toBe("Publish2.5/s");
    expect(screen.getByText("Ack").closest("div")!.textContent).toBe("Ack—");
    expect(within(screen.getByRole("status", { name: "Health" })).getByText("WARN")).toBeTruthy();
    expect(screen.getByRole("img", { name: /^Lag \(messages\): lag now 6/ })).toBeTruthy();
  });

  test("a dead-letter exchange a policy sets is named with the policy and its routing key", () => {
    render(<QueueView queue={{ ...view, arguments: {}, deadLetterExchange: "", deadLetterRoutingKey: "orders.parked", deadLetterPolicy: "park-dead" }} window="15m" />);
    const summary = screen.getByText("Dead-letter exchange").closest("div")!;
    expect(summary.textContent).toBe("Dead-letter exchange(default exchange) with key orders.parked (by policy park-dead)");
  });

  test("says so when nobody consumes", () => {
    render(<QueueView queue={{ ...view, consumers: [] }} window="15m" />);
    expect(screen.getByText("No consumers: nothing takes messages from this queue.")).toBeTruthy();
  });
});
