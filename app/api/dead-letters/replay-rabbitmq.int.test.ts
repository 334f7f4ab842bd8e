/**
 * POST /api/dead-letters/{id}/replay for a dead letter of a RabbitMQ source, through the web
 * server's own replay dependencies (serverReplayDeps: the sources file, the source's credentials,
 * one connection per source and vhost): 200 with the exchange and routing key, the message in a
 * queue bound to the original exchange; 409 the second time; 422 on `topic` for an exchange that
 * does not exist; and POST /api/dead-letters/replay for a whole group of them (origin exchange and
 * reason), each sent once.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import amqp, { type Channel, type ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureSource, getDatabase, ingestEvents } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { closeRabbitReplayPublishers } from "@/server/replay";
import { DEFAULT_EXTRACT_OPTIONS } from "@/server/collector/extract";
import { toEventRowFromAmqp } from "@/server/collector/to-event-row";
import type { RabbitNode } from "@/server/rabbitmq/node";
import { startTestRabbitNode } from "@/server/rabbitmq/test-support";
import { waitUntil } from "@/server/broker/test-support";
import { POST as replay } from "./[id]/replay/route.ts";
import { POST as replayBulk } from "./replay/route.ts";

const suffix = crypto.randomBytes(4).toString("hex");
const ADMIN_TOKEN = `admin-${suffix}`;
const EXCHANGE = `orders-${suffix}`;
const QUEUE = `orders.work-${suffix}`;
const ENV = ["DATABASE_URL", "EVENTSCOPE_ADMIN_TOKEN", "EVENTSCOPE_READ_TOKEN", "EVENTSCOPE_USERS_FILE", "EVENTSCOPE_SOURCES_FILE", "KAFKA_BROKERS", "RABBIT_REPLAY_PASSWORD"];
const saved = { ...process.env };

let db: TestDatabase;
let node: RabbitNode;
let removeDataDir: () => void;
let tempDir: string;
let connection: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  ({ node, removeDataDir } = await startTestRabbitNode());
  db = await createTestDatabase();
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-replay-rabbitmq-"));
  const sourcesFile = path.join(tempDir, "sources.yaml");
  const amqpUrl = new URL(node.amqpUrl);
  fs.writeFileSync(
    sourcesFile,
    `sources:
  - name: rabbit
    kind: rabbitmq
    url: amqp://127.0.0.1:${amqpUrl.port}
    managementUrl: ${node.managementUrl}
    username: guest
    passwordEnv: RABBIT_REPLAY_PASSWORD
`,
  );
  for (const name of ENV) delete process.env[name];
  process.env.DATABASE_URL = db.url;
  process.env.EVENTSCOPE_ADMIN_TOKEN = ADMIN_TOKEN;
  process.env.EVENTSCOPE_SOURCES_FILE = sourcesFile;
  process.env.RABBIT_REPLAY_PASSWORD = "guest";

  connection = await amqp.connect(node.amqpUrl);
  channel = await connection.createChannel();
  await channel.assertExchange(EXCHANGE, "direct", { durable: false });
  await channel.assertQueue(QUEUE, { durable: false });
  await channel.bindQueue(QUEUE, EXCHANGE, "order.placed");
}, 120_000);

afterAll(async () => {
  await closeRabbitReplayPublishers();
  await connection?.close().catch(() => {});
  await node?.stop();
  removeDataDir?.();
  await (await getDatabase()).close();
  for (const name of ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  fs.rmSync(tempDir, { recursive: true, force: true });
  await db?.drop();
});

let position = 0;

/** A message RabbitMQ dead-lettered out of QUEUE (published to `exchange`), stored as the collector does; its id. */
async function storeDeadLetter(exchange: string, queue = QUEUE): Promise<string> {
  const sourceId = (await ensureSource(db, { name: "rabbit", kind: "rabbitmq" })).id;
  const at = ++position;
  const message = {
    exchange: "orders.dlx",
    routingKeys: ["order.placed"],
    body: Buffer.from('{"orderId":"ord-7"}'),
    properties: {
      messageId: `m-${at}`,
      contentType: "application/json",
      headers: {
        "x-death": [{ count: 1, reason: "rejected", queue, exchange, "routing-keys": ["order.placed"], time: { "!": "timestamp", value: 1_764_979_260 } }],
        "x-first-death-exchange": exchange,
        "x-first-death-queue": queue,
        "x-first-death-reason": "rejected",
      },
    },
  };
  await ingestEvents(db, [toEventRowFromAmqp(sourceId, "orders.dlq", at, message, DEFAULT_EXTRACT_OPTIONS)]);
  const { rows } = await db.pool.query<{ id: string }>(`SELECT id::text AS id FROM dead_letters WHERE source_id = $1 AND position = $2`, [sourceId, at]);
  return rows[0]!.id;
}

/** The NDJSON lines of a bulk replay. */
async function replayGroup(body: object): Promise<{ status: number; lines: Record<string, unknown>[] }> {
  const response = await replayBulk(
    new Request("http://127.0.0.1/api/dead-letters/replay", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(body),
    }),
    {},
  );
  const text = await response.text();
  return { status: response.status, lines: text.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

async function replayAs(id: string, body: object = {}) {
  const response = await replay(
    new Request(`http://127.0.0.1/api/dead-letters/${id}/replay`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(body),
    }),
    { params: Promise.resolve({ id }) },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("POST /api/dead-letters/{id}/replay on a RabbitMQ source", () => {
  it("publishes to the original exchange with the original routing key, once", async () => {
    const id = await storeDeadLetter(EXCHANGE);
    const first = await replayAs(id);
    expect(first).toMatchObject({ status: 200, body: { status: "sent", targetTopic: EXCHANGE, routingKey: "order.placed", partition: 0, offset: null } });
    const got = await waitUntil("the replay in its queue", async () => (await channel.get(QUEUE, { noAck: true })) || null, { timeoutMs: 10_000, intervalMs: 50 });
    expect(got.properties.messageId).toBe(`m-${position}`);
    expect(got.properties.headers?.["x-death"]).toBeUndefined();

    const second = await replayAs(id);
    expect(second).toMatchObject({ status: 409, body: { status: "already-replayed" } });
    expect((await channel.checkQueue(QUEUE)).messageCount).toBe(0);
  });

  it("answers 422 on topic for an exchange that does not exist", async () => {
    const id = await storeDeadLetter(`missing-${suffix}`);
    const refused = await replayAs(id);
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toMatch(/does not exist/);
    expect(JSON.stringify(refused.body)).toMatch(/topic/);
  });

  it("replays a whole group (origin exchange and reason) with the bulk route: each once, the second run sends none again", async () => {
    const exchange = `payments-${suffix}`;
    const queue = `payments.work-${suffix}`;
    await channel.assertExchange(exchange, "direct", { durable: false });
    await channel.assertQueue(queue, { durable: false });
    await channel.bindQueue(queue, exchange, "order.placed");
    const ids = [await storeDeadLetter(exchange, queue), await storeDeadLetter(exchange, queue), await storeDeadLetter(exchange, queue)];
    const group = { group: { originTopic: exchange, errorClass: "rejected", source: "rabbit" }, ratePerSecond: 100 };

    const first = await replayGroup(group);
    expect(first.status).toBe(200);
    const items = first.lines.filter((line) => line.type === "item").map((line) => line.item as { id: string; status: string; targetTopic?: string });
    expect(items.map((item) => [item.id, item.status, item.targetTopic]).sort()).toEqual(ids.map((id) => [id, "sent", exchange]).sort());
    expect(first.lines.at(-1)).toMatchObject({ type: "summary", total: 3, counts: { sent: 3 } });
    await waitUntil("three replays in the queue", async () => (await channel.checkQueue(queue)).messageCount === 3, { timeoutMs: 10_000 });

    const again = await replayGroup(group);
    expect(again.lines.filter((line) => line.type === "item").map((line) => (line.item as { status: string }).status)).toEqual(["already-replayed", "already-replayed", "already-replayed"]);
    expect((await channel.checkQueue(queue)).messageCount).toBe(3);
  });
});
