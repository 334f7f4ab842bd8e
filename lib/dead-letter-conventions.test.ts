import { describe, expect, test } from "vitest";
import { deadLetterTargetOf } from "./dead-letter-conventions";

describe("where a RabbitMQ queue dead-letters", () => {
  test("nowhere without an argument or a policy that says so", () => {
    expect(deadLetterTargetOf({ arguments: { "x-message-ttl": 1000 } })).toBeNull();
    expect(deadLetterTargetOf({ arguments: {}, policy: "ttl", effective_policy_definition: { "message-ttl": 1000 } })).toBeNull();
  });

  test("to the exchange its arguments name, with their routing key", () => {
    expect(deadLetterTargetOf({ arguments: { "x-dead-letter-exchange": "orders.dlx", "x-dead-letter-routing-key": "dead" } })).toEqual({
      exchange: "orders.dlx",
      routingKey: "dead",
      setBy: "arguments",
      policy: null,
    });
  });

  test("to its policy's exchange, named by the policy", () => {
    expect(deadLetterTargetOf({ arguments: {}, policy: "dlx-all", effective_policy_definition: { "dead-letter-exchange": "dlx" } })).toEqual({
      exchange: "dlx",
      routingKey: null,
      setBy: "policy",
      policy: "dlx-all",
    });
  });

  test("the arguments overrule the policy, key by key", () => {
    const queue = {
      arguments: { "x-dead-letter-exchange": "own.dlx" },
      policy: "dlx-all",
      effective_policy_definition: { "dead-letter-exchange": "shared.dlx", "dead-letter-routing-key": "parked" },
    };
    expect(deadLetterTargetOf(queue)).toEqual({ exchange: "own.dlx", routingKey: "parked", setBy: "arguments", policy: null });
  });

  test("the default exchange is a target: the routing key names the queue", () => {
    expect(deadLetterTargetOf({ arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "work.dlq" } })).toMatchObject({
      exchange: "",
      routingKey: "work.dlq",
    });
  });

  test("values that are not text are not names", () => {
    expect(deadLetterTargetOf({ arguments: { "x-dead-letter-exchange": 42 } })).toBeNull();
  });
});
