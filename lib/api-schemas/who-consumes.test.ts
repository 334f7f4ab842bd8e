import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { parseWhoConsumesQuery, resolveWhoConsumes, whoConsumesHref } from "./who-consumes.ts";

describe("parseWhoConsumesQuery", () => {
  it("takes exactly one of type, topic, service and q, trimmed", () => {
    expect(parseWhoConsumesQuery(new URLSearchParams("type=OrderPlaced"))).toEqual({ by: "type", value: "OrderPlaced" });
    expect(parseWhoConsumesQuery({ topic: " orders " })).toEqual({ by: "topic", value: "orders" });
    expect(parseWhoConsumesQuery({ service: "payment-service", q: "" })).toEqual({ by: "service", value: "payment-service" });
    expect(parseWhoConsumesQuery({ q: "OrderPlaced" })).toEqual({ by: "q", value: "OrderPlaced" });
  });

  it("says what is missing or too much", () => {
    expect(() => parseWhoConsumesQuery({})).toThrow(/one of type=<event type>, topic=<topic>, service=<service>/);
    expect(() => parseWhoConsumesQuery({ type: "   " })).toThrow(ZodError);
    expect(() => parseWhoConsumesQuery({ type: "A", topic: "b" })).toThrow(/only one of type, topic, service and q \(got type, topic\)/);
    expect(() => parseWhoConsumesQuery({ type: "x".repeat(1001) })).toThrow(/longer than 1000/);
  });
});

describe("resolveWhoConsumes", () => {
  const answers: Record<string, string[]> = { "type:OrderPlaced": ["orders"], "topic:payments": ["payments"], "service:shipping-service": ["shipments"] };
  const lookup = async (query: object) => {
    const [kind, value] = Object.entries(query)[0]!;
    return { query, topics: answers[`${kind}:${value}`] ?? [] };
  };

  it("tries q as an event type, then a topic, then a service", async () => {
    expect((await resolveWhoConsumes({ by: "q", value: "OrderPlaced" }, lookup)).query).toEqual({ type: "OrderPlaced" });
    expect((await resolveWhoConsumes({ by: "q", value: "payments" }, lookup)).query).toEqual({ topic: "payments" });
    expect((await resolveWhoConsumes({ by: "q", value: "shipping-service" }, lookup)).query).toEqual({ service: "shipping-service" });
    const none = await resolveWhoConsumes({ by: "q", value: "nothing" }, lookup);
    expect(none).toEqual({ query: { service: "nothing" }, topics: [] });
  });

  it("asks an explicit kind only once", async () => {
    const asked: object[] = [];
    await resolveWhoConsumes({ by: "topic", value: "OrderPlaced" }, async (q) => (asked.push(q), lookup(q)));
    expect(asked).toEqual([{ topic: "OrderPlaced" }]);
  });
});

it("whoConsumesHref encodes the term", () => {
  expect(whoConsumesHref({ q: "a b&c" })).toBe("/who-consumes?q=a+b%26c");
});
