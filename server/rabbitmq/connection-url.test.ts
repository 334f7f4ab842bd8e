import { describe, expect, it } from "vitest";
import { amqpConnectionUrl } from "./connection-url.ts";

describe("amqpConnectionUrl", () => {
  it("puts the encoded credentials and vhost into the URL, with a heartbeat", () => {
    const url = new URL(amqpConnectionUrl({ amqpUrl: "amqp://rabbit:5672", username: "event scope", password: "p@ss/w:rd" }, "/"));
    expect([decodeURIComponent(url.username), decodeURIComponent(url.password), url.host]).toEqual(["event scope", "p@ss/w:rd", "rabbit:5672"]);
    expect(decodeURIComponent(url.pathname.slice(1))).toBe("/");
    expect(url.searchParams.get("heartbeat")).toBe("10");
    expect(new URL(amqpConnectionUrl({ amqpUrl: "amqps://rabbit", username: "u", password: "p" }, "shop")).pathname).toBe("/shop");
  });
});
