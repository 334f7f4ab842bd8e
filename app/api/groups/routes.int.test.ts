import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callRoute as call } from "../test-support.ts";
import { ensureSource, getDatabase, syncConsumerGroups, syncRabbitVhost, type RabbitQueueSnapshot } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { consumerGroupPageSchema, consumerGroupViewSchema, QUEUE_TIME_LAG_UNKNOWN, rabbitQueueId, rabbitQueueViewSchema } from "@/lib/api-schemas/groups";
import { GET as listGroups } from "./route.ts";
import { GET as getGroup } from "./[id]/route.ts";

/** GET /api/groups and /api/groups/{id} with RabbitMQ queues beside Kafka groups. */

let db: TestDatabase;
const savedUrl = process.env.DATABASE_URL;
const suffix = crypto.randomBytes(3).toString("hex");
const GROUP = `billing-${suffix}`;
const NOW = new Date();

function queue(name: string, overrides: Partial<RabbitQueueSnapshot> = {}): RabbitQueueSnapshot {
  return {
    name, type: "classic", durable: true, autoDelete: false, exclusive: false, arguments: {}, state: "running",
    messagesReady: 0, messagesUnacknowledged: 0, consumers: 1, publishRate: 2.5, deliverRate: 2.5, ackRate: 2.5, processedTotal: 10,
    headMessageAt: null, ...overrides,
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  await syncConsumerGroups(db, 1, [{ groupId: GROUP, state: "Stable", protocolType: "consumer", protocol: "range", members: [] }]);
  const rabbit = await ensureSource(db, { name: "rabbit-eu", kind: "rabbitmq" });
  await syncRabbitVhost(
    db,
    rabbit.id,
    {
      vhost: "/",
      queues: [
        queue("orders.work", { arguments: { "x-dead-letter-exchange": "orders.dlx" }, messagesReady: 4, messagesUnacknowledged: 2 }),
        queue("orders.idle", { consumers: 0, messagesReady: 3, headMessageAt: new Date(NOW.getTime() - 90_000) }),
      ],
      bindings: [{ exchange: "orders", queue: "orders.work", routingKey: "order.#", propertiesKey: "order.%23", arguments: {} }],
      consumers: [
        {
          queue: "orders.work", channel: "127.0.0.1:50000 -> 127.0.0.1:5672 (1)", consumerTag: "amq.ctag-1", connection: "127.0.0.1:50000 -> 127.0.0.1:5672",
          connectionName: "billing-service", peerHost: "127.0.0.1", user: "guest", ackRequired: true, prefetchCount: 10, active: true, exclusive: false,
        },
      ],
    },
    { at: NOW },
  );
  // The same queue name on a vhost of its own: ids differ by vhost.
  await syncRabbitVhost(db, rabbit.id, { vhost: "staging", queues: [queue("orders.work")], bindings: [], consumers: [] }, { at: NOW });
});

afterAll(async () => {
  await (await getDatabase()).close();
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
  await db?.drop();
});


describe("GET /api/groups with RabbitMQ queues", () => {
  it("lists queues beside groups, each with its kind, lag, time lag or why it is unknown, consumers and health", async () => {
    const { status, body } = await call(listGroups, "/api/groups?sort=group&order=asc");
    expect(status).toBe(200);
    const page = consumerGroupPageSchema.parse(body);
    expect(page.groups.map((g) => [g.kind, g.groupId])).toEqual([
      ["kafka-group", GROUP],
      ["rabbitmq-queue", "rabbitmq:%2F/orders.idle"],
      ["rabbitmq-queue", "rabbitmq:%2F/orders.work"],
      ["rabbitmq-queue", "rabbitmq:staging/orders.work"],
    ]);
    const work = page.groups.find((g) => g.groupId === "rabbitmq:%2F/orders.work")!;
    expect(work).toMatchObject({
      source: "rabbit-eu", members: 1, topics: ["orders"], totalLag: "6", timeLagMs: null,
      queue: { vhost: "/", name: "orders.work", type: "classic", ready: "4", unacknowledged: "2", timeLagUnknownReason: QUEUE_TIME_LAG_UNKNOWN },
    });
    const idle = page.groups.find((g) => g.groupId === "rabbitmq:%2F/orders.idle")!;
    expect(idle).toMatchObject({ members: 0, totalLag: "3", timeLagMs: 90_000, health: { status: "STOP" } });
    expect(page.groups.find((g) => g.kind === "kafka-group")!.queue).toBeNull();
  });

  it("sorts queues and groups together, worst health first by default", async () => {
    const page = consumerGroupPageSchema.parse((await call(listGroups, "/api/groups")).body);
    expect(page.groups[0]!.groupId).toBe("rabbitmq:%2F/orders.idle");
  });
});

describe("GET /api/groups/{queue id}", () => {
  it("answers the queue: consumers with connection name and prefetch, bindings, the dead-letter exchange, rates", async () => {
    const { status, body } = await call(getGroup, "/api/groups/x?window=15m", { id: rabbitQueueId("/", "orders.work") });
    expect(status).toBe(200);
    const view = rabbitQueueViewSchema.parse(body);
    expect(view).toMatchObject({
      kind: "rabbitmq-queue", source: "rabbit-eu", vhost: "/", name: "orders.work", lag: "6", deadLetterExchange: "orders.dlx",
      timeLagUnknownReason: QUEUE_TIME_LAG_UNKNOWN, rates: { publish: 2.5, deliver: 2.5, ack: 2.5 },
      consumers: [{ connectionName: "billing-service", prefetchCount: 10, ackRequired: true, consumerTag: "amq.ctag-1" }],
      bindings: [{ exchange: "orders", routingKey: "order.#" }],
    });
    expect(view.history.bucketMs).toBe(5_000);
    expect(view.history.points).toEqual([expect.objectContaining({ lag: "6", ready: "4", unacknowledged: "2", timeLagMs: null })]);
  });

  it("tells vhosts apart, still answers Kafka groups, and 404s an unknown queue", async () => {
    const staging = rabbitQueueViewSchema.parse((await call(getGroup, "/api/groups/x", { id: "rabbitmq:staging/orders.work" })).body);
    expect(staging).toMatchObject({ vhost: "staging", lag: "0", bindings: [] });
    const group = await call(getGroup, "/api/groups/x", { id: GROUP });
    expect(consumerGroupViewSchema.parse(group.body).groupId).toBe(GROUP);
    const unknown = await call(getGroup, "/api/groups/x", { id: "rabbitmq:%2F/nothing" });
    expect(unknown.status).toBe(404);
  });
});
