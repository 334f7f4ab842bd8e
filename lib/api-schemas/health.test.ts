import { describe, expect, it } from "vitest";
import { brokerWords } from "./health";

describe("the words health texts use for the broker", () => {
  it("names the one kind of broker the sources have", () => {
    expect(brokerWords(["rabbitmq"])).toEqual({ broker: "RabbitMQ", state: "queues, consumers and lag" });
    expect(brokerWords(["kafka", "kafka"])).toEqual({ broker: "Kafka", state: "consumer groups and lag" });
  });

  it("says the brokers when the sources are of several kinds", () => {
    expect(brokerWords(["kafka", "rabbitmq"])).toEqual({ broker: "the brokers", state: "consumers and lag" });
  });

  it("keeps Kafka's words before any source has reported", () => {
    expect(brokerWords([])).toEqual({ broker: "Kafka", state: "consumer groups and lag" });
  });
});
