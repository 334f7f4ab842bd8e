/**
 * Replay of RabbitMQ dead letters against a real RabbitMQ node and a real PostgreSQL: a dead
 * letter stored as the collector stores one (toEventRowFromAmqp + ingestEvents, on a source of
 * kind rabbitmq) is published again to its original exchange with its original routing key and
 * properties, without RabbitMQ's dead-lettering headers, through the guard; a missing exchange is
 * refused and a broker that cannot be reached is `unavailable`, both with nothing claimed; a
 * replay that dead-letters again is seen as failed again.
 */
import amqp, { type Channel, type ChannelModel, type GetMessage } from "amqplib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findFreePort } from "../../scripts/support/ports.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { DEFAULT_EXTRACT_OPTIONS } from "../collector/extract/index.ts";
import type { AmqpMessage } from "../collector/extract/types.ts";
import { toEventRowFromAmqp } from "../collector/to-event-row.ts";
import { ensureSource, getDeadLetter, ingestEvents, listAuditLog } from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import type { RabbitNode } from "../rabbitmq/node.ts";
import { startTestRabbitNode } from "../rabbitmq/test-support.ts";
import { ValidationError } from "../../lib/errors.ts";
import { createRabbitReplayPublisher, type RabbitReplayPublisher } from "./rabbitmq.ts";
import { replayDeadLetter, replayDeadLetters, type BulkReplayItem, type ReplayDeps } from "./replay.ts";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const SOURCE = "rabbit-replay";
const DLQ = "orders.dlq";

let node: RabbitNode;
let removeDataDir: () => void;
let db: TestDatabase;
let sourceId: number;
let connection: ChannelModel;
let channel: Channel;
let publisher: RabbitReplayPublisher;
let deps: ReplayDeps;
let position = 0;

function brokerSettings(amqpUrl: string) {
  const url = new URL(amqpUrl);
  url.username = "";
  url.password = "";
  return { name: SOURCE, amqpUrl: url.toString().replace(/\/$/, ""), username: "guest", password: "guest" };
}

beforeAll(async () => {
  ({ node, removeDataDir } = await startTestRabbitNode());
  db = await createTestDatabase();
  sourceId = (await ensureSource(db, { name: SOURCE, kind: "rabbitmq" })).id;
  connection = await amqp.connect(node.amqpUrl);
  channel = await connection.createChannel();
  publisher = await createRabbitReplayPublisher(brokerSettings(node.amqpUrl), "/");
  const refuse = () => Promise.reject(new Error("no Kafka in this test"));
  deps = { db, producer: refuse, partitionCount: refuse, rabbitmq: async () => ({ publisher, username: "guest" }) };
}, 120_000);

afterAll(async () => {
  await publisher?.close();
  await connection?.close().catch(() => {});
  await node?.stop();
  removeDataDir?.();
  await db?.drop();
});

/** A message as RabbitMQ dead-letters it out of `queue` (published to `exchange` with `routingKey`), read from the DLQ. */
function deadLettered(exchange: string, queue: string, routingKey: string, extraHeaders: Record<string, unknown> = {}): AmqpMessage {
  return {
    exchange: "orders.dlx",
    routingKeys: [routingKey],
    queue: DLQ,
    redelivered: false,
    body: Buffer.from('{"orderId":"ord-1","total":  19.99}', "utf8"),
    properties: {
      messageId: "msg-1",
      appId: "order-service",
      type: "OrderPlaced",
      timestamp: 1_764_979_200,
      contentType: "application/json",
      correlationId: "corr-1",
      deliveryMode: 2,
      headers: {
        traceparent: TRACEPARENT,
        tenant: "acme",
        ...extraHeaders,
        "x-death": [
          { count: 1, reason: "rejected", queue, exchange, "routing-keys": [routingKey], time: { "!": "timestamp", value: 1_764_979_260 } },
        ],
        "x-first-death-exchange": exchange,
        "x-first-death-queue": queue,
        "x-first-death-reason": "rejected",
      },
    },
  };
}

/** Stores `message` read from the DLQ the way the collector does; the dead letter's id. */
async function storeDeadLetter(message: AmqpMessage): Promise<string> {
  const at = ++position;
  await ingestEvents(db, [toEventRowFromAmqp(sourceId, DLQ, at, message, DEFAULT_EXTRACT_OPTIONS)]);
  const { rows } = await db.pool.query<{ id: string }>(
    `SELECT id::text AS id FROM dead_letters WHERE source_id = $1 AND channel = $2 AND position = $3`,
    [sourceId, DLQ, at],
  );
  if (!rows[0]) throw new Error(`message ${at} was not stored as a dead letter`);
  return rows[0].id;
}

/** A queue bound to `exchange` (declared, topic) for `pattern`. */
async function boundQueue(exchange: string, pattern: string): Promise<string> {
  const queue = uniqueName("orders.work");
  await channel.assertExchange(exchange, "topic", { durable: false, autoDelete: false });
  await channel.assertQueue(queue, { durable: false });
  await channel.bindQueue(queue, exchange, pattern);
  return queue;
}

async function nextMessage(queue: string): Promise<GetMessage> {
  return waitUntil(`a message in ${queue}`, async () => (await channel.get(queue, { noAck: true })) || null, { timeoutMs: 10_000, intervalMs: 50 });
}

async function queueDepth(queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount;
}

async function replayCount(deadLetterId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM replays WHERE dead_letter_id = $1::bigint`, [deadLetterId]);
  return rows[0]!.n;
}

describe("replay of a RabbitMQ dead letter", () => {
  test("publishes one message to the original exchange: same body and properties, no x-death, x-replay-of and x-replay-id; then the guard", async () => {
    const exchange = uniqueName("orders");
    const queue = await boundQueue(exchange, "order.*");
    const id = await storeDeadLetter(deadLettered(exchange, queue, "order.placed", { "x-retry-count": 3, urgent: true }));

    const result = await replayDeadLetter(deps, { deadLetterId: id, actor: "alice" });
    expect(result).toMatchObject({ status: "sent", targetTopic: exchange, partition: 0, offset: null, routingKey: "order.placed" });
    if (result.status !== "sent") return;

    const got = await nextMessage(queue);
    expect(got.content.toString("utf8")).toBe('{"orderId":"ord-1","total":  19.99}');
    expect(got.fields.exchange).toBe(exchange);
    expect(got.fields.routingKey).toBe("order.placed");
    const p = got.properties;
    expect([p.messageId, p.appId, p.type, p.timestamp, p.contentType, p.correlationId, p.deliveryMode]).toEqual([
      "msg-1",
      "order-service",
      "OrderPlaced",
      1_764_979_200,
      "application/json",
      "corr-1",
      2,
    ]);
    const headers = p.headers ?? {};
    expect(String(headers.traceparent)).toBe(TRACEPARENT);
    expect(String(headers.tenant)).toBe("acme");
    // Typed headers come back typed: a consumer reading x-retry-count as a number still can.
    expect([headers["x-retry-count"], headers.urgent]).toEqual([3, true]);
    expect(String(headers["x-replay-id"])).toBe(result.replayId);
    expect(String(headers["x-replay-of"])).toBe(`${DLQ}/0/${position}`);
    expect(Object.keys(headers).filter((k) => k.startsWith("x-death") || k.startsWith("x-first-death") || k.startsWith("x-last-death"))).toEqual([]);
    expect(Object.keys(headers).filter((k) => k.startsWith("amqp."))).toEqual([]);
    expect(await queueDepth(queue)).toBe(0);

    const second = await replayDeadLetter(deps, { deadLetterId: id, actor: "bob" });
    expect(second).toMatchObject({ status: "already-replayed", previous: [expect.objectContaining({ requestedBy: "alice", status: "sent" })] });
    expect(await queueDepth(queue)).toBe(0);

    const again = await replayDeadLetter(deps, { deadLetterId: id, actor: "bob", again: true, seen: 1 });
    expect(again).toMatchObject({ status: "sent", sequence: 2 });
    const twice = await nextMessage(queue);
    expect(String(twice.properties.headers?.["x-replay-id"])).toBe(again.status === "sent" ? again.replayId : "?");

    const audit = await listAuditLog(db, { targetId: id });
    expect(audit.entries.map((e) => [e.actor, e.action, e.result])).toEqual([
      ["bob", "replay", "ok"],
      ["alice", "replay", "ok"],
    ]);
    expect(audit.entries[1]!.details).toMatchObject({ targetTopic: exchange, routingKey: "order.placed", partition: 0, offset: null });

    const detail = await getDeadLetter(db, id);
    expect(detail?.replays.map((r) => [r.outcome, r.routingKey, r.consumption, r.producedPartition, r.producedOffset])).toEqual([
      ["sent", "order.placed", "unknown", 0, null],
      ["sent", "order.placed", "unknown", 0, null],
    ]);
  });

  test("a dead letter of the default exchange goes back through it, to the queue it died in", async () => {
    const queue = uniqueName("emails");
    await channel.assertQueue(queue, { durable: false });
    const id = await storeDeadLetter(deadLettered("", queue, queue));
    const result = await replayDeadLetter(deps, { deadLetterId: id, actor: "carol" });
    expect(result).toMatchObject({ status: "sent", targetTopic: "", routingKey: queue });
    const got = await nextMessage(queue);
    expect(got.properties.messageId).toBe("msg-1");
  });

  test("sent to amq.default (the default exchange's channel), it goes through exchange \"\", which RabbitMQ knows by no other name", async () => {
    const queue = uniqueName("emails");
    await channel.assertQueue(queue, { durable: false });
    const id = await storeDeadLetter(deadLettered("", queue, queue));
    const result = await replayDeadLetter(deps, { deadLetterId: id, actor: "carol", topic: "amq.default" });
    expect(result).toMatchObject({ status: "sent", routingKey: queue });
    const got = await nextMessage(queue);
    expect(got.fields.exchange).toBe("");
    expect(got.properties.messageId).toBe("msg-1");
  });

  test("an exchange that does not exist is refused on `topic`, nothing claimed, and the next replay still works", async () => {
    const missing = uniqueName("gone");
    const id = await storeDeadLetter(deadLettered(missing, "orders.work", "order.placed"));
    const refused = await replayDeadLetter(deps, { deadLetterId: id, actor: "dave" }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).message).toMatch(/exchange .* does not exist/);
    expect((refused as ValidationError).field).toBe("topic");
    expect(await replayCount(id)).toBe(0);
    expect((await getDeadLetter(db, id))?.status).toBe("new");

    const exchange = uniqueName("orders");
    const queue = await boundQueue(exchange, "#");
    const other = await replayDeadLetter(deps, { deadLetterId: id, actor: "dave", topic: exchange });
    expect(other).toMatchObject({ status: "sent", targetTopic: exchange, routingKey: "order.placed" });
    await nextMessage(queue);
  });

  test("an exchange that routes it to no queue: the broker returns it, and the replay is failed (audited), not sent", async () => {
    const exchange = uniqueName("orders");
    const queue = await boundQueue(exchange, "order.*");
    const unbound = uniqueName("nowhere");
    await channel.assertExchange(unbound, "topic", { durable: false });
    const id = await storeDeadLetter(deadLettered(exchange, queue, "order.placed"));
    const result = await replayDeadLetter(deps, { deadLetterId: id, actor: "hal", topic: unbound });
    expect(result).toMatchObject({ status: "failed", error: expect.stringMatching(/routed it to no queue/) });
    const audit = await listAuditLog(db, { targetId: id });
    expect(audit.entries.map((e) => e.result)).toEqual(["error"]);
    expect((await getDeadLetter(db, id))?.replays.map((r) => r.outcome)).toEqual(["failed"]);
  });

  test("edits: headers and value as text; a tombstone is refused before anything is claimed", async () => {
    const exchange = uniqueName("orders");
    const queue = await boundQueue(exchange, "order.*");
    const id = await storeDeadLetter(deadLettered(exchange, queue, "order.placed"));
    const tombstone = await replayDeadLetter(deps, { deadLetterId: id, actor: "erin", value: null }).catch((error: unknown) => error);
    expect(tombstone).toBeInstanceOf(ValidationError);
    expect(await replayCount(id)).toBe(0);

    const edited = await replayDeadLetter(deps, {
      deadLetterId: id,
      actor: "erin",
      value: '{"orderId":"ord-1","total":20}',
      headers: [
        { key: "amqp.content_type", value: "application/json" },
        { key: "amqp.message_id", value: "msg-1b" },
        { key: "tenant", value: "globex" },
      ],
    });
    expect(edited).toMatchObject({ status: "sent" });
    const got = await nextMessage(queue);
    expect(got.content.toString("utf8")).toBe('{"orderId":"ord-1","total":20}');
    expect(got.properties.messageId).toBe("msg-1b");
    expect(got.properties.appId).toBeUndefined();
    expect(String(got.properties.headers?.tenant)).toBe("globex");
    expect(got.properties.headers?.traceparent).toBeUndefined();
  });

  test("bulk: a dry run says what would be published and sends nothing; the run publishes each once", async () => {
    const exchange = uniqueName("orders");
    const queue = await boundQueue(exchange, "order.*");
    const ids = [await storeDeadLetter(deadLettered(exchange, queue, "order.placed")), await storeDeadLetter(deadLettered(exchange, queue, "order.placed"))];
    const dry: BulkReplayItem[] = [];
    await replayDeadLetters(deps, { ids, dryRun: true, ratePerSecond: 1000, actor: "ivy" }, (item) => {
      dry.push(item);
    });
    expect(dry.map((item) => [item.status, "targetTopic" in item ? item.targetTopic : null])).toEqual([
      ["would-send", exchange],
      ["would-send", exchange],
    ]);
    expect(await queueDepth(queue)).toBe(0);
    const summary = await replayDeadLetters(deps, { ids: [...ids, ids[0]!], dryRun: false, ratePerSecond: 1000, actor: "ivy" }, () => {});
    expect(summary.counts).toEqual({ sent: 2 });
    await waitUntil("both replays in the queue", async () => (await queueDepth(queue)) === 2, { timeoutMs: 10_000, intervalMs: 50 });
  });

  test("a replay that dead-letters again is failed again", async () => {
    const exchange = uniqueName("orders");
    const queue = await boundQueue(exchange, "order.*");
    const id = await storeDeadLetter(deadLettered(exchange, queue, "order.placed"));
    const sent = await replayDeadLetter(deps, { deadLetterId: id, actor: "frank" });
    expect(sent.status).toBe("sent");
    if (sent.status !== "sent") return;
    const got = await nextMessage(queue);
    // What RabbitMQ would dead-letter when the consumer rejects the replay: its headers, a new x-death.
    const again = await storeDeadLetter(
      deadLettered(exchange, queue, "order.placed", {
        "x-replay-of": String(got.properties.headers?.["x-replay-of"]),
        "x-replay-id": String(got.properties.headers?.["x-replay-id"]),
      }),
    );
    const detail = await getDeadLetter(db, id);
    expect(detail?.replays[0]).toMatchObject({ outcome: "failed_again", consumption: "unknown", failedAgainAs: [expect.objectContaining({ id: again })] });
    expect((await getDeadLetter(db, again))?.replayOf).toEqual({ deadLetterId: id, sequence: 1 });
  });

  test("a broker that cannot be reached: unavailable, nothing claimed", async () => {
    const exchange = uniqueName("orders");
    const id = await storeDeadLetter(deadLettered(exchange, "orders.work", "order.placed"));
    const closedPort = await findFreePort();
    const unreachable: ReplayDeps = {
      ...deps,
      rabbitmq: async () => ({
        publisher: await createRabbitReplayPublisher(brokerSettings(`amqp://127.0.0.1:${closedPort}`), "/"),
        username: "guest",
      }),
    };
    const result = await replayDeadLetter(unreachable, { deadLetterId: id, actor: "gina" });
    expect(result).toMatchObject({ status: "unavailable", error: expect.stringMatching(/cannot connect to RabbitMQ source/) });
    expect(await replayCount(id)).toBe(0);

    // The node stopped under a connected publisher: the same.
    await node.stop();
    const stopped = await replayDeadLetter(deps, { deadLetterId: id, actor: "gina" });
    expect(stopped).toMatchObject({ status: "unavailable" });
    expect(await replayCount(id)).toBe(0);
    expect((await getDeadLetter(db, id))?.status).toBe("new");
  }, 60_000);
});
