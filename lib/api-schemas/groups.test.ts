import { describe, expect, it } from "vitest";
import { parseRabbitQueueId, rabbitQueueId } from "./groups.ts";

describe("a RabbitMQ queue's id", () => {
  it("encodes the vhost so that vhost and queue come back apart, slashes and all", () => {
    expect(rabbitQueueId("/", "orders.work")).toBe("rabbitmq:%2F/orders.work");
    for (const [vhost, queue] of [["/", "orders.work"], ["team/a", "b/c"], ["staging", "x:y"], ["ü", "/"]] as const) {
      expect(parseRabbitQueueId(rabbitQueueId(vhost, queue))).toEqual({ vhost, queue });
    }
  });

  it("is not taken from a Kafka group id, nor from a malformed one", () => {
    expect(parseRabbitQueueId("billing")).toBeNull();
    expect(parseRabbitQueueId("rabbitmq:")).toBeNull();
    expect(parseRabbitQueueId("rabbitmq:%2F/")).toBeNull();
    expect(parseRabbitQueueId("rabbitmq:/orders")).toBeNull();
    expect(parseRabbitQueueId("rabbitmq:%E0%A4%A/orders")).toBeNull();
  });
});
