import { describe, expect, it } from "vitest";
import { describeReplayTarget } from "./format";

describe("describeReplayTarget", () => {
  it("names the topic, partition and offset of a replay that went where it was meant to", () => {
    expect(describeReplayTarget({ targetTopic: "orders", partition: 2, offset: "41", missingPartition: null })).toBe(
      "orders, partition 2, offset 41",
    );
  });

  it("says that the key chose the partition when the original one does not exist", () => {
    expect(describeReplayTarget({ targetTopic: "orders", partition: 1, offset: "7", missingPartition: 5 })).toBe(
      "orders, partition 1, offset 7: partition 1 was chosen by the key, not the original partition 5, which orders does not have",
    );
  });

  it("names the exchange and routing key of a RabbitMQ replay, which has no offset", () => {
    expect(describeReplayTarget({ targetTopic: "orders", partition: 0, offset: null, routingKey: "order.placed", missingPartition: null })).toBe(
      "exchange orders, routing key order.placed",
    );
    expect(describeReplayTarget({ targetTopic: "", partition: 0, offset: null, routingKey: "emails", missingPartition: null })).toBe(
      "the default exchange, routing key emails",
    );
  });
});
