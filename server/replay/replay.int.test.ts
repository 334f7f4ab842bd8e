/**
 * Replay against the embedded broker over TCP and a real PostgreSQL, with the collector running
 * in this process: what a replay sends (byte for byte), the guard across two processes, the route
 * handler's refusal without a token, and the outcome of a replay that is consumed and of one that
 * fails again.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Partitioners, type Consumer, type IHeaders, type Kafka, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { jsonLines, kcat, type KcatMessage, requireKcat } from "../broker/kcat-support.ts";
import { fetchBatches } from "../broker/raw-client.ts";
import { readBatchHeader } from "../broker/record-batch.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { startAdminPoller } from "../collector/admin-poller.ts";
import { startCollector, type RunningCollector } from "../collector/collector.ts";
import { createTopics, testKafka } from "../collector/test-support.ts";
import { loadConfig } from "../config.ts";
import { getDatabase, getDeadLetter, listAuditLog } from "../db/index.ts";
import { ValidationError } from "../../lib/errors.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { COMPRESSION_NAMES, partitionCountOf } from "../kafka/index.ts";
import { closeReplayProducer, createReplayAdmin, createReplayProducer } from "./producer.ts";
import { changeDeadLetterStatus, replayDeadLetter, replayDeadLetters, type BulkReplayItem, type PacingClock, type ReplayDeps } from "./replay.ts";

requireKcat();

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, "..", "..");
const PREFIX = uniqueName("replay");
const COLLECTOR_GROUP = `${PREFIX}-collector`;

let broker: RunningBroker;
let db: TestDatabase;
let kafka: Kafka;
let collector: RunningCollector;
let poller: { stop(): Promise<void> };
let producer: Producer;
let deps: ReplayDeps;
const logs: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: () => {} });
  db = await createTestDatabase();
  kafka = testKafka(broker.address);
  const config = loadConfig({
    KAFKA_BROKERS: broker.address,
    EVENTSCOPE_COLLECTOR_GROUP: COLLECTOR_GROUP,
    EVENTSCOPE_TOPICS_INCLUDE: `^${PREFIX}-`,
    EVENTSCOPE_POLL_MS: "300",
  });
  collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: (line) => logs.push(line), topicRefreshMs: 500, healthIntervalMs: 500 });
  poller = startAdminPoller({ source: { id: 1, name: "default" }, kafka, db, config, log: (line) => logs.push(line) });
  producer = kafka.producer();
  await producer.connect();
  const replayProducer = await createReplayProducer(config);
  cleanups.push(() => replayProducer.disconnect());
  const replayAdmin = await createReplayAdmin(config);
  cleanups.push(() => replayAdmin.disconnect());
  deps = { db, producer: async () => replayProducer, partitionCount: (topic) => partitionCountOf(replayAdmin, topic) };
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await producer?.disconnect();
  await poller?.stop();
  await collector?.stop();
  await db?.drop();
  await broker?.stop();
});

/** Produces a dead letter the way the demo services do and waits until the collector stored it; its id. */
async function produceDeadLetter(
  dlq: string,
  origin: string,
  message: { key: string; value: Buffer | string; headers?: IHeaders; originPartition?: number },
) {
  await producer.send({
    topic: dlq,
    messages: [
      {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          "x-original-topic": origin,
          "x-original-partition": String(message.originPartition ?? 0),
          "x-original-offset": "41",
          "x-error": "payment gateway timed out",
          "x-error-class": "GatewayTimeout",
          "x-attempts": "3",
        },
      },
    ],
  });
  return waitForDeadLetterOf(dlq, message.key);
}

async function waitForDeadLetterOf(dlq: string, key: string, options: { replayId?: string } = {}): Promise<string> {
  return waitUntil(
    `dead letter ${key} in ${dlq}`,
    async () => {
      const { rows } = await db.pool.query<{ id: string }>(
        `SELECT d.id::text AS id FROM dead_letters d JOIN events e USING (source_id, channel, partition, position)
         WHERE d.channel = $1 AND e.key = $2 AND ($3::text IS NULL OR d.replay_id = $3) ORDER BY d.id DESC LIMIT 1`,
        [dlq, key, options.replayId ?? null],
      );
      return rows[0]?.id;
    },
    { timeoutMs: 30_000, intervalMs: 100, describe: () => logs.slice(-20).join("\n") },
  );
}

/** Every record now in `topic` (all partitions), read by a fresh consumer group from the start. */
async function readAll(topic: string): Promise<{ key: Buffer | null; value: Buffer | null; headers: IHeaders; partition: number; offset: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  const records: Awaited<ReturnType<typeof readAll>> = [];
  const consumer = kafka.consumer({ groupId: uniqueName(`${PREFIX}-reader`) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      records.push({ key: message.key, value: message.value, headers: message.headers ?? {}, partition, offset: message.offset });
    },
  });
  try {
    await waitUntil(`${total} records of ${topic}`, () => records.length >= total, { timeoutMs: 20_000 });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

async function endOffsetSum(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** A clock that stands still until told: `advance` and `sleep` move it on; it keeps every wait. */
function manualClock(): PacingClock & { advance(ms: number): void; waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    advance: (ms) => (now += ms),
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    waits,
  };
}

/** `producer`, whose sends each take `ms` on `clock`. */
function producerTaking(clock: { advance(ms: number): void }, ms: number, producer: Producer): Producer {
  return {
    ...producer,
    send: async (record) => {
      clock.advance(ms);
      return producer.send(record);
    },
  };
}

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("replay", () => {
  test("sends exactly one message: original key, value bytes and headers minus the dead-letter ones, plus x-replay-of and x-replay-id", async () => {
    const origin = `${PREFIX}-inventory-a`;
    const dlq = `${PREFIX}-payments-a-dlq`;
    await createTopics(kafka, [origin, dlq], 1);
    // Spacing and key order a jsonb round trip would change; a binary header; a repeated header.
    const value = Buffer.from('{ "orderId":"ord-7",   "z": 1, "a": [1,2.50] }');
    const binary = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    const dlId = await produceDeadLetter(dlq, origin, {
      key: "ord-7",
      value,
      headers: { traceparent: TRACEPARENT, "x-bin": binary, "x-tag": ["one", "two"], producer: "inventory-service" },
    });

    const result = await replayDeadLetter(deps, { deadLetterId: dlId, actor: "alice" });
    expect(result.status).toBe("sent");
    if (result.status !== "sent") return;
    expect(result.targetTopic).toBe(origin);

    const records = await readAll(origin);
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record!.key).toEqual(Buffer.from("ord-7"));
    expect(record!.value).toEqual(value);
    expect(record!.headers).toEqual({
      traceparent: Buffer.from(TRACEPARENT),
      "x-bin": binary,
      "x-tag": [Buffer.from("one"), Buffer.from("two")],
      producer: Buffer.from("inventory-service"),
      "x-replay-of": Buffer.from(`${dlq}/0/0`),
      "x-replay-id": Buffer.from(result.replayId),
    });
    expect(String(record!.offset)).toBe(result.offset);

    const { rows } = await db.pool.query(`SELECT status::text, requested_by, produced_offset::text FROM replays WHERE id = $1`, [result.replayId]);
    expect(rows).toEqual([{ status: "sent", requested_by: "alice", produced_offset: result.offset }]);
    const audit = await listAuditLog(db, { targetType: "dead-letter", targetId: dlId });
    expect(audit.entries.map((e) => [e.actor, e.action, e.result])).toEqual([["alice", "replay", "ok"]]);

    // A second request without "again" is refused with who replayed it and when; nothing more is sent.
    const second = await replayDeadLetter(deps, { deadLetterId: dlId, actor: "bob" });
    expect(second.status).toBe("already-replayed");
    if (second.status === "already-replayed") expect(second.previous.map((p) => p.requestedBy)).toEqual(["alice"]);
    expect(await endOffsetSum(origin)).toBe(1);

    // "Replay again", explicitly, with edits and another topic: the audit keeps the diff.
    const other = `${PREFIX}-inventory-a-copy`;
    await createTopics(kafka, [other], 1);
    const again = await replayDeadLetter(deps, { deadLetterId: dlId, actor: "bob", again: true, seen: 1, topic: other, value: '{"orderId":"ord-7"}' });
    expect(again.status).toBe("sent");
    const copies = await readAll(other);
    expect(copies.map((c) => c.value?.toString())).toEqual(['{"orderId":"ord-7"}']);
    const entries = await listAuditLog(db, { targetType: "dead-letter", targetId: dlId });
    expect(entries.entries[0]!.details).toMatchObject({ targetTopic: other, again: true, edits: { value: { after: '{"orderId":"ord-7"}' } } });
  });

  test("replays go out compressed with each EVENTSCOPE_REPLAY_COMPRESSION codec, and kcat reads them back", async () => {
    for (const codec of COMPRESSION_NAMES) {
      const origin = `${PREFIX}-codec-${codec}`;
      const dlq = `${PREFIX}-codec-${codec}-dlq`;
      await createTopics(kafka, [origin, dlq], 1);
      const value = JSON.stringify({ orderId: `ord-${codec}`, note: "compressible ".repeat(100) });
      const dlId = await produceDeadLetter(dlq, origin, { key: `ord-${codec}`, value, headers: { producer: "payment-service" } });
      const config = loadConfig({ KAFKA_BROKERS: broker.address, EVENTSCOPE_REPLAY_COMPRESSION: codec });
      const result = await replayDeadLetter({ ...deps, compression: config.replayCompression }, { deadLetterId: dlId, actor: "alice" });
      expect(result.status, codec).toBe("sent");
      if (result.status !== "sent") return;

      // Stored as sent: the batch's attributes carry the codec's id.
      const stored = await fetchBatches(broker.address, origin, 0);
      expect(readBatchHeader(stored).attributes & 0x7, codec).toBe(COMPRESSION_NAMES.indexOf(codec));

      // librdkafka decodes it: key, value and headers as replayed.
      const { stdout } = await kcat(["-b", broker.address, "-C", "-t", origin, "-p", "0", "-o", "beginning", "-e", "-J"]);
      const messages = jsonLines<KcatMessage>(stdout);
      expect(messages, codec).toHaveLength(1);
      expect(messages[0]).toMatchObject({ key: `ord-${codec}`, payload: value });
      expect(messages[0]!.headers).toEqual(["producer", "payment-service", "x-replay-of", `${dlq}/0/0`, "x-replay-id", result.replayId]);
    }
  });

  test("two processes replaying the same dead letter at once produce one message", async () => {
    const origin = `${PREFIX}-inventory-b`;
    const dlq = `${PREFIX}-payments-b-dlq`;
    await createTopics(kafka, [origin, dlq], 1);
    const dlId = await produceDeadLetter(dlq, origin, { key: "ord-8", value: '{"orderId":"ord-8"}' });

    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(KAFKA_|EVENTSCOPE_|DATABASE_URL$)/.test(name))),
      DATABASE_URL: db.url,
      KAFKA_BROKERS: broker.address,
    };
    const children = ["carol", "dave"].map((actor) => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join(HERE, "replay-process.ts"), dlId, actor], {
        cwd: REPO_ROOT,
        env: env as unknown as NodeJS.ProcessEnv,
        stdio: ["pipe", "pipe", "pipe"],
      });
      let output = "";
      child.stdout!.setEncoding("utf8").on("data", (text: string) => (output += text));
      child.stderr!.setEncoding("utf8").on("data", (text: string) => (output += text));
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      cleanups.push(async () => child.kill("SIGKILL"));
      return { child, output: () => output, exited };
    });
    // Generous: two cold `node --import tsx` starts on a loaded 2-core machine.
    await waitUntil("both processes ready", () => children.every((c) => c.output().includes("ready\n")), {
      timeoutMs: 90_000,
      describe: () => children.map((c) => c.output()).join("\n---\n"),
    });
    for (const c of children) c.child.stdin!.write("go\n");
    const codes = await Promise.all(children.map((c) => c.exited));
    expect(codes, children.map((c) => c.output()).join("\n---\n")).toEqual([0, 0]);
    const results = children.map((c) => JSON.parse(c.output().split("\n").filter(Boolean).at(-1)!) as { status: string });
    expect(results.map((r) => r.status).sort()).toEqual(["already-replayed", "sent"]);
    expect(await endOffsetSum(origin)).toBe(1);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM replays WHERE dead_letter_id = $1`, [dlId]);
    expect(rows[0].n).toBe(1);
  }, 180_000);

  test("outcome: consumed when the original topic's group passes the replay; failed again when it comes back with the same x-replay-id", async () => {
    const origin = `${PREFIX}-inventory-c`;
    const dlq = `${PREFIX}-payments-c-dlq`;
    await createTopics(kafka, [origin, dlq], 1);
    const good = await produceDeadLetter(dlq, origin, { key: "ord-good", value: '{"orderId":"ord-good"}' });
    const bad = await produceDeadLetter(dlq, origin, { key: "ord-bad", value: '{"orderId":"ord-bad","malformed":true}' });

    // The user's service: consumes the original topic; a malformed message goes to the DLQ again,
    // carrying the x-replay-id it arrived with (as the demo services do).
    const service: Consumer = kafka.consumer({ groupId: `${PREFIX}-payment-service` });
    cleanups.push(() => service.disconnect());
    await service.connect();
    await service.subscribe({ topic: origin, fromBeginning: true });
    await service.run({
      autoCommitThreshold: 1,
      eachMessage: async ({ message, partition }) => {
        if (!message.value?.toString().includes("malformed")) return;
        await producer.send({
          topic: dlq,
          messages: [
            {
              key: message.key,
              value: message.value,
              headers: {
                "x-original-topic": origin,
                "x-original-partition": String(partition),
                "x-original-offset": message.offset,
                "x-error": "orderId is malformed",
                "x-error-class": "ValidationError",
                "x-replay-id": message.headers!["x-replay-id"] as Buffer,
              },
            },
          ],
        });
      },
    });

    const sentGood = await replayDeadLetter(deps, { deadLetterId: good, actor: "erin" });
    const sentBad = await replayDeadLetter(deps, { deadLetterId: bad, actor: "erin" });
    expect([sentGood.status, sentBad.status]).toEqual(["sent", "sent"]);
    if (sentBad.status !== "sent") return;

    const consumed = await waitUntil(
      "the good replay consumed",
      async () => {
        const detail = await getDeadLetter({ ...db, hiddenGroup: COLLECTOR_GROUP }, good);
        return detail?.replays[0]?.outcome === "consumed" ? detail : null;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(consumed.status).toBe("replayed");
    expect(consumed.replays[0]!.groups.map((g) => g.groupId)).toEqual([`${PREFIX}-payment-service`]);

    const again = await waitForDeadLetterOf(dlq, "ord-bad", { replayId: sentBad.replayId });
    const failed = await waitUntil(
      "the bad replay failed again",
      async () => {
        const detail = await getDeadLetter({ ...db, hiddenGroup: COLLECTOR_GROUP }, bad);
        return detail?.replays[0]?.outcome === "failed_again" ? detail : null;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(failed.replays[0]!.failedAgainAs.map((d) => d.id)).toEqual([again]);
    const newLetter = await getDeadLetter({ ...db, hiddenGroup: COLLECTOR_GROUP }, again);
    expect(newLetter?.replayOf).toEqual({ deadLetterId: bad, sequence: 1 });
  });
});

describe("replay to a topic or partition the cluster does not have", () => {
  async function replayCount(dlId: string): Promise<number> {
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM replays WHERE dead_letter_id = $1`, [dlId]);
    return rows[0].n as number;
  }

  test("a missing original topic is refused before anything is claimed; the dead letter goes to a topic the user chooses", async () => {
    const gone = `${PREFIX}-never-created`;
    const dlq = `${PREFIX}-payments-g-dlq`;
    await createTopics(kafka, [dlq], 1);
    const dlId = await produceDeadLetter(dlq, gone, { key: "ord-g", value: '{"orderId":"ord-g"}' });

    const refused = replayDeadLetter(deps, { deadLetterId: dlId, actor: "ivan" });
    await expect(refused).rejects.toThrow(ValidationError);
    await expect(refused).rejects.toThrow(`original topic "${gone}" does not exist in the cluster: choose another topic`);
    expect(await replayCount(dlId)).toBe(0);
    expect((await getDeadLetter(db, dlId))?.status).toBe("new");
    // Bulk: skipped with the same reason, nothing claimed; a dry run says it would be skipped.
    const dry: BulkReplayItem[] = [];
    await replayDeadLetters(deps, { ids: [dlId], dryRun: true, ratePerSecond: 10, actor: "ivan" }, (item) => void dry.push(item));
    expect(dry).toEqual([{ id: dlId, status: "would-skip", reason: expect.stringContaining("does not exist in the cluster") }]);
    const bulk: BulkReplayItem[] = [];
    await replayDeadLetters(deps, { ids: [dlId], dryRun: false, ratePerSecond: 10, actor: "ivan" }, (item) => void bulk.push(item));
    expect(bulk).toEqual([{ id: dlId, status: "skipped", reason: expect.stringContaining("does not exist in the cluster") }]);
    expect(await replayCount(dlId)).toBe(0);

    // Another topic the user typed that does not exist either: refused the same way.
    await expect(replayDeadLetter(deps, { deadLetterId: dlId, actor: "ivan", topic: `${gone}-typo` })).rejects.toThrow(
      `"${gone}-typo" does not exist in the cluster`,
    );
    expect(await replayCount(dlId)).toBe(0);

    // The one replay is still there to use, on a topic that exists.
    const chosen = `${PREFIX}-inventory-g`;
    await createTopics(kafka, [chosen], 1);
    const sent = await replayDeadLetter(deps, { deadLetterId: dlId, actor: "ivan", topic: chosen });
    expect(sent).toMatchObject({ status: "sent", targetTopic: chosen, sequence: 1, missingPartition: null });
    expect((await readAll(chosen)).map((r) => r.key?.toString())).toEqual(["ord-g"]);
  });

  test("back to its original partition when the topic has it; beyond the topic's partitions, the key chooses and the replay says so", async () => {
    const origin = `${PREFIX}-inventory-h`;
    const dlq = `${PREFIX}-payments-h-dlq`;
    await createTopics(kafka, [origin], 3);
    await createTopics(kafka, [dlq], 1);
    // A key that kafkajs's partitioner puts elsewhere than partition 2: only the original partition explains 2.
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    const partitioner = Partitioners.DefaultPartitioner();
    const key = ["ord-h1", "ord-h2", "ord-h3", "ord-h4", "ord-h5"].find(
      (k) => partitioner({ topic: origin, partitionMetadata, message: { key: k, value: null } }) !== 2,
    )!;
    const home = await produceDeadLetter(dlq, origin, { key, value: `{"orderId":"${key}"}`, originPartition: 2 });
    const sentHome = await replayDeadLetter(deps, { deadLetterId: home, actor: "judy" });
    expect(sentHome).toMatchObject({ status: "sent", partition: 2, missingPartition: null });

    // The original topic had more partitions when the message failed: partition 7 is gone.
    const byKey = await produceDeadLetter(dlq, origin, { key: "ord-h9", value: '{"orderId":"ord-h9"}', originPartition: 7 });
    const sent = await replayDeadLetter(deps, { deadLetterId: byKey, actor: "judy" });
    const keyPartition = partitioner({ topic: origin, partitionMetadata, message: { key: "ord-h9", value: null } });
    expect(sent).toMatchObject({ status: "sent", targetTopic: origin, partition: keyPartition, missingPartition: 7 });
    const records = await readAll(origin);
    expect(records.filter((r) => r.key?.toString() === "ord-h9").map((r) => r.partition)).toEqual([keyPartition]);
    // The dead letter's page lists the replay with the partition it could not go to.
    const detail = await getDeadLetter({ ...db, hiddenGroup: COLLECTOR_GROUP }, byKey);
    expect(detail?.replays.map((r) => [r.producedPartition, r.missingPartition])).toEqual([[keyPartition, 7]]);
    const audit = await listAuditLog(db, { targetType: "dead-letter", targetId: byKey });
    expect(audit.entries[0]!.details).toMatchObject({ partition: keyPartition, missingPartition: 7 });
  });
});

describe("bulk replay, resolve and discard", () => {
  test("a dry run lists what would be sent and sends nothing; the run skips what was replayed, paces itself, and is audited", async () => {
    const origin = `${PREFIX}-inventory-e`;
    const dlq = `${PREFIX}-payments-e-dlq`;
    await createTopics(kafka, [origin, dlq], 1);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(await produceDeadLetter(dlq, origin, { key: `ord-bulk-${n}`, value: `{"orderId":"ord-bulk-${n}"}` }));
    await replayDeadLetter(deps, { deadLetterId: ids[0]!, actor: "frank" });
    expect(await endOffsetSum(origin)).toBe(1);

    const dry: BulkReplayItem[] = [];
    const drySummary = await replayDeadLetters(deps, { ids, dryRun: true, ratePerSecond: 50, actor: "grace" }, (item) => {
      dry.push(item);
    });
    expect(dry.map((item) => [item.id, item.status])).toEqual([
      [ids[0], "would-skip"],
      [ids[1], "would-send"],
      [ids[2], "would-send"],
    ]);
    expect(drySummary).toEqual({ total: 3, dryRun: true, counts: { "would-skip": 1, "would-send": 2 } });
    expect(await endOffsetSum(origin)).toBe(1);

    // A clock of the test's own: each send takes 150 ms on it, and waiting moves it on.
    const clock = manualClock();
    const paced: ReplayDeps = { ...deps, clock, producer: async (source) => producerTaking(clock, 150, await deps.producer(source)) };
    const progress: [string, number, number, number][] = [];
    const summary = await replayDeadLetters(paced, { ids, dryRun: false, ratePerSecond: 2, actor: "grace" }, (item, done, total) => {
      progress.push([item.status, done, total, clock.now()]);
    });
    // 2 per second: after a send that is not the last, it waits out the rest of its 500 ms, so
    // the second send starts 500 ms after the first; nothing waits after the skip or the last one.
    expect(progress).toEqual([
      ["already-replayed", 1, 3, 0],
      ["sent", 2, 3, 150],
      ["sent", 3, 3, 650],
    ]);
    expect(clock.waits).toEqual([350]);
    expect(summary.counts).toEqual({ "already-replayed": 1, sent: 2 });
    expect(await endOffsetSum(origin)).toBe(3);
    const bulkAudit = await listAuditLog(db, { action: "replay-bulk", actor: "grace" });
    expect(bulkAudit.entries.map((e) => [e.result, e.details])).toEqual([["ok", { total: 3, counts: { "already-replayed": 1, sent: 2 }, ratePerSecond: 2 }]]);
  });

  test("a send slower than the rate allows is followed by no wait", async () => {
    const origin = `${PREFIX}-inventory-j`;
    const dlq = `${PREFIX}-payments-j-dlq`;
    await createTopics(kafka, [origin, dlq], 1);
    const ids: string[] = [];
    for (const n of [1, 2]) ids.push(await produceDeadLetter(dlq, origin, { key: `ord-slow-${n}`, value: `{"orderId":"ord-slow-${n}"}` }));
    const clock = manualClock();
    const paced: ReplayDeps = { ...deps, clock, producer: async (source) => producerTaking(clock, 300, await deps.producer(source)) };
    const summary = await replayDeadLetters(paced, { ids, dryRun: false, ratePerSecond: 5, actor: "grace" }, () => {});
    expect(summary.counts).toEqual({ sent: 2 });
    expect(clock.waits).toEqual([]);
    expect(clock.now()).toBe(600);
    expect(await endOffsetSum(origin)).toBe(2);
  });

  test("resolve and discard change the status and are audited; unknown ids are 404s", async () => {
    const origin = `${PREFIX}-inventory-f`;
    const dlq = `${PREFIX}-payments-f-dlq`;
    await createTopics(kafka, [origin, dlq], 1);
    const a = await produceDeadLetter(dlq, origin, { key: "ord-f1", value: "{}" });
    const b = await produceDeadLetter(dlq, origin, { key: "ord-f2", value: "{}" });
    await changeDeadLetterStatus(deps, { deadLetterId: a, status: "resolved", actor: "heidi", note: "fixed upstream" });
    await changeDeadLetterStatus(deps, { deadLetterId: b, status: "discarded", actor: "heidi" });
    const { rows } = await db.pool.query(`SELECT id::text, status::text FROM dead_letters WHERE id = ANY($1::bigint[]) ORDER BY dead_letters.id`, [[a, b]]);
    expect(rows).toEqual([
      { id: a, status: "resolved" },
      { id: b, status: "discarded" },
    ]);
    const audit = await listAuditLog(db, { actor: "heidi" });
    expect(audit.entries.map((e) => [e.action, e.targetId, e.details])).toEqual([
      ["discard", b, { previous: "new" }],
      ["resolve", a, { previous: "new", note: "fixed upstream" }],
    ]);
    await expect(changeDeadLetterStatus(deps, { deadLetterId: "999999999", status: "resolved", actor: "heidi" })).rejects.toThrow(/no dead letter/);
  });
});

describe("the replay route handler", () => {
  const ADMIN_TOKEN = "route-test-admin-token";
  const saved = { ...process.env };

  afterAll(async () => {
    await closeReplayProducer();
    await (await getDatabase()).close();
    for (const name of ["DATABASE_URL", "KAFKA_BROKERS", "EVENTSCOPE_ADMIN_TOKEN", "EVENTSCOPE_READ_TOKEN", "EVENTSCOPE_USERS_FILE"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  test("without a valid token it answers 401 and produces nothing; with one it replays", async () => {
    const origin = `${PREFIX}-inventory-d`;
    const dlq = `${PREFIX}-payments-d-dlq`;
    await createTopics(kafka, [origin, dlq], 1);
    const dlId = await produceDeadLetter(dlq, origin, { key: "ord-9", value: '{"orderId":"ord-9"}' });
    process.env.DATABASE_URL = db.url;
    process.env.KAFKA_BROKERS = broker.address;
    delete process.env.EVENTSCOPE_READ_TOKEN;
    delete process.env.EVENTSCOPE_USERS_FILE;
    const { POST } = await import("../../app/api/dead-letters/[id]/replay/route.ts");
    const call = (headers: Record<string, string>) =>
      POST(new Request(`http://127.0.0.1/api/dead-letters/${dlId}/replay`, { method: "POST", headers, body: "{}" }), {
        params: Promise.resolve({ id: dlId }),
      });

    // No token configured at all: read-only.
    delete process.env.EVENTSCOPE_ADMIN_TOKEN;
    const readOnly = await call({ authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(readOnly.status).toBe(401);
    expect(((await readOnly.json()) as { message: string }).message).toMatch(/read-only/);

    process.env.EVENTSCOPE_ADMIN_TOKEN = ADMIN_TOKEN;
    const anonymous = await call({});
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { message: string }).message).toMatch(/sign in/);
    const wrong = await call({ authorization: "Bearer not-the-admin-token" });
    expect(wrong.status).toBe(401);
    const forged = await call({ cookie: "eventscope_session=eyJuIjoiYWRtaW4iLCJyIjoiYWRtaW4iLCJlIjo5OTk5OTk5OTk5OTk5fQ.forged" });
    expect(forged.status).toBe(401);

    expect(await endOffsetSum(origin)).toBe(0);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM replays WHERE dead_letter_id = $1`, [dlId]);
    expect(rows[0].n).toBe(0);

    const ok = await call({ authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "sent", targetTopic: origin });
    const twice = await call({ authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(twice.status).toBe(409);
    expect(await twice.json()).toMatchObject({ status: "already-replayed", previous: [{ requestedBy: "admin" }] });
    expect(await endOffsetSum(origin)).toBe(1);
  });

  test("a dead letter whose original topic does not exist is answered 422 with what to do, and nothing is claimed", async () => {
    const gone = `${PREFIX}-gone-route`;
    const dlq = `${PREFIX}-payments-i-dlq`;
    await createTopics(kafka, [dlq], 1);
    const dlId = await produceDeadLetter(dlq, gone, { key: "ord-i", value: '{"orderId":"ord-i"}' });
    process.env.DATABASE_URL = db.url;
    process.env.KAFKA_BROKERS = broker.address;
    process.env.EVENTSCOPE_ADMIN_TOKEN = ADMIN_TOKEN;
    const { POST } = await import("../../app/api/dead-letters/[id]/replay/route.ts");
    const response = await POST(
      new Request(`http://127.0.0.1/api/dead-letters/${dlId}/replay`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: "{}",
      }),
      { params: Promise.resolve({ id: dlId }) },
    );
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: "validation",
      field: "topic",
      message: expect.stringContaining(`"${gone}" does not exist in the cluster: choose another topic`),
    });
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM replays WHERE dead_letter_id = $1`, [dlId]);
    expect(rows[0].n).toBe(0);
  });
});
