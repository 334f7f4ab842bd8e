import { render, screen, within } from "@testing-library/react";
import { describe, expect, test } from "vitest";
import { QUEUE_TIME_LAG_UNKNOWN, type ConsumerGroupListItem } from "@/lib/api-schemas/groups";
import { GroupsTable } from "./groups-table";

const group: ConsumerGroupListItem = {
  kind: "kafka-group", source: "default", groupId: "billing", state: "Stable", protocol: "range", members: 2, topics: ["orders"],
  partitions: 3, totalLag: "12", unknownLagPartitions: 0, timeLagMs: 4_000, health: { status: "OK", reason: "3 partitions OK, total lag 12", judgedAt: "2026-12-05T23:00:00.000Z" },
  queue: null,
};

const queue: ConsumerGroupListItem = {
  kind: "rabbitmq-queue", source: "rabbit-eu", groupId: "rabbitmq:%2F/orders.held", state: "running", protocol: null, members: 1,
  topics: ["orders"], partitions: 0, totalLag: "8", unknownLagPartitions: 0, timeLagMs: null,
  health: { status: "STALL", reason: "queue orders.held: 1 consumer but nothing acked for 5 min while lag is 8", judgedAt: "2026-12-05T23:00:00.000Z" },
  queue: { vhost: "/", name: "orders.held", type: "quorum", ready: "3", unacknowledged: "5", timeLagUnknownReason: QUEUE_TIME_LAG_UNKNOWN },
};

describe("the consumers list with RabbitMQ queues", () => {
  test("a queue shows its kind, lag split into ready and unacknowledged, why its time lag is unknown, and links to its page", () => {
    render(<GroupsTable groups={[group, queue]} sort="health" order="desc" />);
    const row = screen.getByRole("link", { name: "orders.held" }).closest("tr")!;
    expect(within(row).getByText("rabbitmq queue")).toBeTruthy();
    expect(within(row).getByText("quorum")).toBeTruthy();
    expect(within(row).getByText("3 ready, 5 unacked")).toBeTruthy();
    expect(within(row).getByText(QUEUE_TIME_LAG_UNKNOWN)).toBeTruthy();
    expect(within(row).getByText("STALL")).toBeTruthy();
    expect(screen.getByRole("link", { name: "orders.held" }).getAttribute("href")).toBe("/groups/rabbitmq%3A%252F%2Forders.held?source=rabbit-eu");
  });

  test("a Kafka group keeps its id and says it is a group", () => {
    render(<GroupsTable groups={[group, queue]} sort="health" order="desc" />);
    const row = screen.getByRole("link", { name: "billing" }).closest("tr")!;
    expect(within(row).getByText("kafka group")).toBeTruthy();
    expect(within(row).queryByText(/unacked/)).toBeNull();
  });

  test("a queue on another vhost is named with it", () => {
    render(<GroupsTable groups={[{ ...queue, groupId: "rabbitmq:staging/orders.held", queue: { ...queue.queue!, vhost: "staging" } }]} sort="health" order="desc" />);
    expect(screen.getByRole("link", { name: "orders.held (vhost staging)" })).toBeTruthy();
  });
});
