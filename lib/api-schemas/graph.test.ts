import { describe, expect, it } from "vitest";
import { graphNodeId, graphNodeIdSchema, overviewHref, parseGraphQuery, parseOverviewPageQuery, splitNodeId } from "./graph.ts";

describe("graph query schemas", () => {
  it("reads the rate window in seconds", () => {
    expect(parseGraphQuery(new URLSearchParams(""))).toEqual({});
    expect(parseGraphQuery(new URLSearchParams("window=300"))).toEqual({ window: 300 });
    expect(() => parseGraphQuery({ window: "0" })).toThrow(/from 1 to 86400 seconds/);
    expect(() => parseGraphQuery({ window: "abc" })).toThrow(/number of seconds/);
    expect(() => parseGraphQuery({ window: "1.5" })).toThrow(/whole number/);
  });

  it("accepts producer, topic and group node ids and nothing else", () => {
    expect(parseOverviewPageQuery({ node: "topic:orders" })).toEqual({ node: "topic:orders" });
    expect(parseOverviewPageQuery({ node: "" })).toEqual({});
    expect(graphNodeIdSchema.safeParse("group:payment-service").success).toBe(true);
    expect(graphNodeIdSchema.safeParse("producer:").success).toBe(false);
    expect(() => parseOverviewPageQuery({ node: "orders" })).toThrow(/producer:<name>, topic:<name> or group:<group id>/);
  });

  it("accepts RabbitMQ's exchange, queue and consumer node ids, qualified by source or not", () => {
    expect(parseOverviewPageQuery({ node: "queue:email.jobs" })).toEqual({ node: "queue:email.jobs" });
    expect(parseOverviewPageQuery({ node: "exchange:staging/orders" })).toEqual({ node: "exchange:staging/orders" });
    expect(graphNodeIdSchema.safeParse("consumer@rabbit-eu:10.0.0.4:5000 -> 10.0.0.9:5672").success).toBe(true);
    expect(splitNodeId("consumer@rabbit-eu:10.0.0.4:5000 -> 10.0.0.9:5672")).toEqual({ kind: "consumer", name: "10.0.0.4:5000 -> 10.0.0.9:5672", source: "rabbit-eu" });
    expect(graphNodeIdSchema.safeParse("binding:email").success).toBe(false);
    expect(() => parseOverviewPageQuery({ node: "email" })).toThrow(/exchange:<name>, queue:<name> or consumer:<name>/);
  });

  it("splits a node id at the first colon only", () => {
    expect(splitNodeId("topic:a:b")).toEqual({ kind: "topic", name: "a:b" });
    expect(overviewHref("group:a b")).toBe("/?node=group%3Aa%20b");
    expect(overviewHref("topic:orders", "prod-eu")).toBe("/?source=prod-eu&node=topic%3Aorders");
    expect(overviewHref(undefined, "prod-eu")).toBe("/?source=prod-eu");
  });

  it("reads the source of a node whose name is on several sources", () => {
    expect(graphNodeIdSchema.safeParse("topic@prod-eu:orders").success).toBe(true);
    expect(graphNodeIdSchema.safeParse("producer@prod-eu:svc").success).toBe(false);
    expect(splitNodeId("topic@prod-eu:a:b")).toEqual({ kind: "topic", name: "a:b", source: "prod-eu" });
    expect(graphNodeId("group", "billing", "prod-eu", true)).toBe("group@prod-eu:billing");
    expect(graphNodeId("group", "billing", "prod-eu", false)).toBe("group:billing");
  });
});
