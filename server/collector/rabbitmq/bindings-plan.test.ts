import { describe, expect, test } from "vitest";
import type { ManagementBinding, ManagementExchange, ManagementQueue } from "../../rabbitmq/management.ts";
import { deadLetterExchangesOf, planCollectedExchanges, StreamBindingTimes, topicMatches } from "./bindings-plan.ts";

const exchange = (name: string, type: string): ManagementExchange => ({ name, vhost: "/", type, durable: true, auto_delete: false, internal: false, arguments: {} });
const binding = (source: string, destination: string, routingKey: string, destinationType: "queue" | "exchange" = "queue"): ManagementBinding => ({
  source,
  vhost: "/",
  destination,
  destination_type: destinationType,
  routing_key: routingKey,
  arguments: {},
});
const all = { include: undefined, exclude: undefined };

describe("planCollectedExchanges", () => {
  test("binds each kind so that its stream receives every message, and leaves out the default, amq.* and unknown types", () => {
    const { collected, skipped } = planCollectedExchanges(
      "prod",
      "/",
      [exchange("", "direct"), exchange("amq.topic", "topic"), exchange("orders", "topic"), exchange("audit", "fanout"), exchange("shipping", "headers"), exchange("payments", "direct"), exchange("hash", "x-consistent-hash")],
      [
        binding("payments", "payments.work", "charged"),
        binding("payments", "payments.audit", "charged"),
        binding("payments", "refunds", "refunded", "exchange"),
        // Eventscope's own queues' bindings are not keys of the user's.
        binding("payments", "eventscope.prod.payments", "old-key"),
      ],
      new Set(),
      all,
    );
    expect(collected.map((c) => [c.exchange, c.queue, c.channel, c.bindings])).toEqual([
      ["orders", "eventscope.prod.orders", "orders", [{ routingKey: "#", arguments: {} }]],
      ["audit", "eventscope.prod.audit", "audit", [{ routingKey: "", arguments: {} }]],
      ["shipping", "eventscope.prod.shipping", "shipping", [{ routingKey: "", arguments: { "x-match": "all" } }]],
      ["payments", "eventscope.prod.payments", "payments", [{ routingKey: "charged", arguments: {} }, { routingKey: "refunded", arguments: {} }]],
    ]);
    expect(skipped.map((s) => s.exchange)).toEqual(["hash"]);
    expect(collected.every((c) => c.relayQueue === null)).toBe(true);
  });

  test("with unroutable: leave, mirrors the user's bindings of each kind, so that the stream receives what the exchange routes and nothing more", () => {
    const headers = (args: Record<string, unknown>) => ({ ...binding("shipping", "shipping.eu", ""), arguments: args });
    const { collected, skipped } = planCollectedExchanges(
      "prod",
      "/",
      [
        exchange("", "direct"),
        exchange("amq.topic", "topic"),
        exchange("orders", "topic"),
        exchange("everything", "topic"),
        exchange("audit", "fanout"),
        exchange("unbound", "fanout"),
        exchange("shipping", "headers"),
        exchange("payments", "direct"),
        exchange("hash", "x-consistent-hash"),
      ],
      [
        binding("orders", "billing", "order.placed"),
        binding("orders", "shipping", "order.*"),
        binding("orders", "audit.orders", "order.*"),
        binding("everything", "audit.all", "#"),
        binding("everything", "billing", "order.placed"),
        binding("audit", "audit.all", ""),
        headers({ "x-match": "any", region: "eu" }),
        { ...headers({ region: "eu", "x-match": "any" }), destination: "shipping.eu.backup" },
        headers({ "x-match": "all", priority: "high" }),
        binding("payments", "payments.work", "charged"),
        binding("payments", "payments.audit", "charged"),
        binding("payments", "refunds", "refunded", "exchange"),
        // Eventscope's own queues' bindings are not the user's.
        binding("payments", "eventscope.prod.payments", "old-key"),
        binding("unbound", "eventscope.prod.unbound", ""),
      ],
      new Set(),
      all,
      { unroutable: "leave" },
    );
    expect(collected.map((c) => [c.exchange, c.queue, c.channel, c.bindings])).toEqual([
      ["orders", "eventscope.prod.orders", "orders", [{ routingKey: "order.*", arguments: {} }, { routingKey: "order.placed", arguments: {} }]],
      // "#" matches every key: the other patterns add nothing.
      ["everything", "eventscope.prod.everything", "everything", [{ routingKey: "#", arguments: {} }]],
      ["audit", "eventscope.prod.audit", "audit", [{ routingKey: "", arguments: {} }]],
      // Nothing of the user's is bound: what it gets is unroutable, and stays so.
      ["unbound", "eventscope.prod.unbound", "unbound", []],
      [
        "shipping",
        "eventscope.prod.shipping",
        "shipping",
        [
          { routingKey: "", arguments: { "x-match": "all", priority: "high" } },
          { routingKey: "", arguments: { "x-match": "any", region: "eu" } },
        ],
      ],
      ["payments", "eventscope.prod.payments", "payments", [{ routingKey: "charged", arguments: {} }, { routingKey: "refunded", arguments: {} }]],
    ]);
    expect(collected.find((c) => c.exchange === "unbound")!.staleBindings).toEqual([{ queue: "eventscope.prod.unbound", routingKey: "", arguments: {} }]);
    expect(skipped.map((s) => s.exchange)).toEqual(["hash"]);
    expect(collected.every((c) => c.relayQueue === null)).toBe(true);
  });

  test("with unroutable: leave, a dead-letter exchange is still bound for everything: a dead letter no queue is bound for is still seen", () => {
    const { collected } = planCollectedExchanges("prod", "/", [exchange("dlx", "topic"), exchange("dlx.fanout", "fanout"), exchange("dlx.headers", "headers")], [], new Set(["dlx", "dlx.fanout", "dlx.headers"]), all, {
      unroutable: "leave",
    });
    expect(collected.map((c) => [c.exchange, c.relayQueue, c.bindings])).toEqual([
      ["dlx", "eventscope.prod:relay.dlx", [{ routingKey: "#", arguments: {} }]],
      ["dlx.fanout", "eventscope.prod:relay.dlx.fanout", [{ routingKey: "", arguments: {} }]],
      ["dlx.headers", "eventscope.prod:relay.dlx.headers", [{ routingKey: "", arguments: { "x-match": "all" } }]],
    ]);
  });

  test("an exchange with an alternate exchange (argument or policy) is mirrored whatever the mode: its alternate exchange keeps getting what it cannot route", () => {
    const withArgument = { ...exchange("orders", "topic"), arguments: { "alternate-exchange": "unrouted" } };
    const policy = { name: "ae", vhost: "/", pattern: "^ship", "apply-to": "exchanges", definition: { "alternate-exchange": "unrouted" }, priority: 0 };
    const { collected } = planCollectedExchanges(
      "prod",
      "/",
      [withArgument, exchange("shipping", "fanout"), exchange("billing", "fanout"), exchange("unrouted", "fanout")],
      [binding("orders", "orders.work", "order.*"), binding("billing", "billing.work", "")],
      new Set(),
      all,
      { unroutable: "collect", policies: [policy] },
    );
    expect(collected.map((c) => [c.exchange, c.bindings.map((b) => b.routingKey)])).toEqual([
      ["orders", ["order.*"]],
      // Nothing is bound to it: everything goes to its alternate exchange.
      ["shipping", []],
      ["billing", [""]],
      ["unrouted", [""]],
    ]);
  });

  test("names outside vhost / carry the vhost; filters apply; dead-letter exchanges get a relay queue", () => {
    const queues = [
      { name: "work", arguments: { "x-dead-letter-exchange": "dlx" } },
      { name: "other", arguments: {}, effective_policy_definition: { "dead-letter-exchange": "policy-dlx" } },
      // The argument overrules the policy: "overruled" receives nothing.
      { name: "both", arguments: { "x-dead-letter-exchange": "dlx" }, effective_policy_definition: { "dead-letter-exchange": "overruled" } },
      // The default exchange: nothing can be bound to it.
      { name: "direct-to-dlq", arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "work.dlq" } },
    ] as unknown as ManagementQueue[];
    expect([...deadLetterExchangesOf(queues)]).toEqual(["dlx", "policy-dlx"]);
    // A policy's exchange counts before any queue shows the policy; one for exchanges only sets no dead-lettering.
    const policy = (name: string, applyTo: string, definition: Record<string, unknown>) => ({ name, vhost: "shop", pattern: ".*", "apply-to": applyTo, definition, priority: 0 });
    expect([
      ...deadLetterExchangesOf(queues, [
        policy("dead", "queues", { "dead-letter-exchange": "fresh-dlx" }),
        policy("all", "all", { "dead-letter-exchange": "all-dlx", "message-ttl": 60000 }),
        policy("ae", "exchanges", { "alternate-exchange": "unrouted" }),
        policy("ttl", "queues", { "message-ttl": 1000 }),
      ]),
    ]).toEqual(["dlx", "policy-dlx", "fresh-dlx", "all-dlx"]);
    const { collected } = planCollectedExchanges("prod", "shop", [exchange("dlx", "fanout"), exchange("orders", "topic"), exchange("orders.tmp", "topic")], [], deadLetterExchangesOf(queues), {
      include: /^(dlx|orders)/,
      exclude: /\.tmp$/,
    });
    expect(collected.map((c) => [c.queue, c.channel, c.relayQueue])).toEqual([
      ["eventscope.prod.shop.dlx", "shop/dlx", "eventscope.prod:relay.shop.dlx"],
      ["eventscope.prod.shop.orders", "shop/orders", null],
    ]);
  });

  test("a direct exchange's key that only Eventscope's stream still binds is unbound; wanted bindings stay", () => {
    const { collected } = planCollectedExchanges(
      "prod",
      "/",
      [exchange("payments", "direct"), exchange("orders", "topic"), exchange("dlx", "fanout")],
      [
        binding("payments", "payments.work", "charged"),
        binding("payments", "eventscope.prod.payments", "charged"),
        // The queue that bound "refunded" unbound it: only the stream still does.
        binding("payments", "eventscope.prod.payments", "refunded"),
        binding("orders", "orders.work", "#"),
        binding("orders", "eventscope.prod.orders", "#"),
        // The exchange became a dead-letter exchange: the relay queue is bound now, not the stream.
        binding("dlx", "eventscope.prod.dlx", ""),
        binding("dlx", "eventscope.prod:relay.dlx", ""),
      ],
      new Set(["dlx"]),
      all,
    );
    expect(collected.map((c) => [c.exchange, c.staleBindings])).toEqual([
      ["payments", [{ queue: "eventscope.prod.payments", routingKey: "refunded", arguments: {} }]],
      ["orders", []],
      ["dlx", [{ queue: "eventscope.prod.dlx", routingKey: "", arguments: {} }]],
    ]);
  });

  test("an exchange comes before the exchanges it is bound into; the bindings the listing shows are already bound", () => {
    const { collected } = planCollectedExchanges(
      "prod",
      "/",
      [exchange("audit", "fanout"), exchange("shipping", "topic"), exchange("orders", "topic"), exchange("loop-a", "fanout"), exchange("loop-b", "fanout")],
      [
        binding("orders", "shipping", "order.shipped", "exchange"),
        binding("shipping", "audit", "#", "exchange"),
        binding("loop-a", "loop-b", "", "exchange"),
        binding("loop-b", "loop-a", "", "exchange"),
        binding("orders", "eventscope.prod.orders", "#"),
      ],
      new Set(),
      all,
    );
    expect(collected.map((c) => c.exchange)).toEqual(["orders", "shipping", "audit", "loop-a", "loop-b"]);
    expect(collected.map((c) => [c.exchange, c.alreadyBound])).toContainEqual(["orders", [{ routingKey: "#", arguments: {} }]]);
    expect(collected.find((c) => c.exchange === "shipping")!.alreadyBound).toEqual([]);
  });
});

describe("StreamBindingTimes: a message routed from one collected exchange into another is stored once", () => {
  // Mirrored bindings (unroutable: leave), so that which binding of a stream matches a message matters.
  const plan = (name: string, type: string, bindings: ManagementBinding[]) =>
    planCollectedExchanges("prod", "/", [exchange(name, type)], bindings, new Set(), all, { unroutable: "leave" }).collected[0]!;
  // orders routes order.shipped.* on into shipping (an exchange-to-exchange binding), which a queue reads.
  const ordersBindings = [binding("orders", "shipping", "order.shipped.*", "exchange"), binding("orders", "billing", "order.placed")];
  const shippingBindings = [binding("shipping", "shipping.work", "")];

  test("skipped in the exchange it was routed into when its own exchange's stream was bound first", () => {
    const times = new StreamBindingTimes();
    const orders = plan("orders", "topic", ordersBindings);
    const shipping = plan("shipping", "fanout", shippingBindings);
    times.declared(orders, 100, 110);
    times.declared(shipping, 120, 130);
    expect(times.storedFromOrigin(shipping, "orders", ["order.shipped.eu"])).toBe(true);
    // A key no binding of orders' stream matches is not in its stream.
    expect(times.storedFromOrigin(shipping, "orders", ["refund.issued"])).toBe(false);
    // Its own messages, the default exchange's and an exchange not collected: stored.
    expect(times.storedFromOrigin(shipping, "shipping", [""])).toBe(false);
    expect(times.storedFromOrigin(shipping, "", ["shipping.q"])).toBe(false);
    expect(times.storedFromOrigin(shipping, "legacy", ["x"])).toBe(false);
  });

  test("kept when its own exchange's stream was bound after (or while) the other's: twice rather than never", () => {
    const times = new StreamBindingTimes();
    const orders = plan("orders", "topic", ordersBindings);
    const shipping = plan("shipping", "fanout", shippingBindings);
    times.declared(shipping, 100, 110);
    times.declared(orders, 105, 115);
    expect(times.storedFromOrigin(shipping, "orders", ["order.shipped.eu"])).toBe(false);
    // A later refresh changes nothing: the first binding's times stay.
    times.declared(orders, 500, 510);
    expect(times.storedFromOrigin(shipping, "orders", ["order.shipped.eu"])).toBe(false);
  });

  test("a binding of the origin's stream newer than the other stream's: kept until both are old", () => {
    const times = new StreamBindingTimes();
    times.declared(plan("orders", "topic", [binding("orders", "billing", "order.placed")]), 100, 110);
    const shipping = plan("shipping", "fanout", shippingBindings);
    times.declared(shipping, 120, 130);
    // The user binds orders into shipping later: orders' stream gets the pattern at the next refresh.
    times.declared(plan("orders", "topic", ordersBindings), 300, 310);
    expect(times.storedFromOrigin(shipping, "orders", ["order.shipped.eu"])).toBe(false);
  });

  test("bindings that existed before the collector started count as bound from the start", () => {
    const times = new StreamBindingTimes();
    const orders = plan("orders", "topic", [...ordersBindings, binding("orders", "eventscope.prod.orders", "order.shipped.*")]);
    const shipping = plan("shipping", "fanout", [...shippingBindings, binding("shipping", "eventscope.prod.shipping", "")]);
    times.declared(shipping, 100, 110);
    times.declared(orders, 200, 210);
    expect(times.storedFromOrigin(shipping, "orders", ["order.shipped.eu"])).toBe(true);
  });

  test("a direct exchange counts the binding of the message's routing key", () => {
    const times = new StreamBindingTimes();
    const payments = plan("payments", "direct", [binding("payments", "billing", "charged", "exchange")]);
    const billing = plan("billing", "fanout", [binding("billing", "billing.work", "")]);
    times.declared(payments, 100, 110);
    times.declared(billing, 120, 130);
    expect(times.storedFromOrigin(billing, "payments", ["charged"])).toBe(true);
    // A key the stream of payments is not bound to (yet): not in its stream.
    expect(times.storedFromOrigin(billing, "payments", ["refunded"])).toBe(false);
    const later = plan("payments", "direct", [binding("payments", "billing", "charged", "exchange"), binding("payments", "billing", "refunded", "exchange")]);
    times.declared(later, 300, 310);
    expect(times.storedFromOrigin(billing, "payments", ["refunded"])).toBe(false);
    expect(times.storedFromOrigin(billing, "payments", ["charged"])).toBe(true);
  });
});

describe("StreamBindingTimes on a headers exchange", () => {
  test("a binding with other arguments is new though one with the same (empty) routing key was bound already", () => {
    const times = new StreamBindingTimes();
    const headers = (args: Record<string, unknown>, destination = "shipping", type: "queue" | "exchange" = "exchange") => ({ ...binding("parcels", destination, ""), destination_type: type, arguments: args });
    const plan = (bindings: ManagementBinding[]) =>
      planCollectedExchanges("prod", "/", [exchange("parcels", "headers")], bindings, new Set(), all, { unroutable: "leave" }).collected[0]!;
    const shipping = planCollectedExchanges("prod", "/", [exchange("shipping", "fanout")], [binding("shipping", "shipping.work", "")], new Set(), all).collected[0]!;
    // eu was bound before the collector started; us is new.
    const eu = { "x-match": "any", region: "eu" };
    const us = { "x-match": "any", region: "us" };
    const parcels = plan([headers(eu), headers(us), { ...headers(eu, "eventscope.prod.parcels", "queue") }]);
    expect(parcels.alreadyBound).toEqual([{ routingKey: "", arguments: eu }]);
    times.declared(shipping, 100, 110);
    times.declared(parcels, 200, 210);
    // A headers exchange's match is not worked out: the newest of its bindings decides, and us is newer than shipping's.
    expect(times.storedFromOrigin(shipping, "parcels", [""])).toBe(false);
  });
});

describe("topicMatches", () => {
  test.each([
    ["order.*", "order.placed", true],
    ["order.*", "order.placed.eu", false],
    ["order.#", "order", true],
    ["order.#", "order.placed.eu", true],
    ["#", "", true],
    ["#.eu", "order.placed.eu", true],
    ["*.placed.#", "order.placed", true],
    ["*", "", false],
    ["order..eu", "order..eu", true],
    ["order.placed", "order.paid", false],
    ["", "", true],
  ])("%s against %s: %s", (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });
});
