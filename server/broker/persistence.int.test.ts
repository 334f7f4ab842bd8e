/**
 * `--data-dir` survives a crash: the broker CLI runs as a child process and is killed with
 * SIGKILL (no shutdown hook, no final fsync), then started again on the same directory.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel, type IHeaders, type Message as KafkajsMessage } from "kafkajs";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startBrokerProcess, waitFor, type BrokerProcess } from "./process-support.ts";

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

const dataDirs: string[] = [];
const running = new Set<BrokerProcess>();

function makeDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-persistence-"));
  dataDirs.push(dir);
  return dir;
}

async function start(dataDir: string, port = 0): Promise<BrokerProcess> {
  const b = await startBrokerProcess({ dataDir, port, partitions: 3 });
  running.add(b);
  return b;
}

/** kill -9: the process gets no chance to flush or close anything. */
async function crash(b: BrokerProcess): Promise<void> {
  const exit = await b.kill("SIGKILL");
  running.delete(b);
  expect(exit.signal).toBe("SIGKILL");
}

afterEach(async () => {
  for (const b of running) await b.kill("SIGKILL");
  running.clear();
});

afterAll(() => {
  for (const d of dataDirs) fs.rmSync(d, { recursive: true, force: true });
});

function client(b: BrokerProcess): Kafka {
  return new Kafka({ clientId: "persistence", brokers: [b.address], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

interface Stored {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: string;
  headers: Record<string, string | string[]>;
}

function normalizeHeaders(h: IHeaders | undefined): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(h ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => String(x)) : String(v)]),
  );
}

/** High watermark of every partition of `topic`. */
async function endOffsets(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  } finally {
    await admin.disconnect();
  }
}

/** Everything stored in `topics`, read with a fresh consumer group, in (topic, partition, offset) order. */
async function readAll(kafka: Kafka, topics: string[]): Promise<Stored[]> {
  let total = 0;
  for (const t of topics) total += (await endOffsets(kafka, t)).reduce((a, b) => a + b, 0);
  const seen: Stored[] = [];
  const consumer = kafka.consumer({ groupId: unique("reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        seen.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          timestamp: message.timestamp,
          headers: normalizeHeaders(message.headers),
        });
      },
    });
    await waitFor(`a reader to fetch all ${total} stored messages`, () => seen.length >= total, { timeoutMs: 20_000 });
  } finally {
    await consumer.disconnect();
  }
  return seen.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset);
}

async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries(t!.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** Sends `messages` with acks=-1 and returns what a reader must find: the offsets the broker acknowledged. */
async function produceAcked(kafka: Kafka, topic: string, batches: KafkajsMessage[][]): Promise<Omit<Stored, "timestamp">[]> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const acked: Omit<Stored, "timestamp">[] = [];
  try {
    for (const messages of batches) {
      const meta = await producer.send({ topic, acks: -1, messages });
      for (const m of meta) expect(m.errorCode).toBe(0);
      // kafkajs answers one entry per partition: the base offset of that partition's batch.
      const base = new Map(meta.map((m) => [m.partition, Number(m.baseOffset)]));
      const next = new Map<number, number>();
      for (const msg of messages) {
        const p = msg.partition!;
        const offset = base.get(p)! + (next.get(p) ?? 0);
        next.set(p, (next.get(p) ?? 0) + 1);
        acked.push({
          topic,
          partition: p,
          offset,
          key: msg.key == null ? null : String(msg.key),
          value: msg.value == null ? null : String(msg.value),
          headers: normalizeHeaders(msg.headers),
        });
      }
    }
  } finally {
    await producer.disconnect();
  }
  return acked;
}

/** Where each batch of a log file starts: a batch takes 12 + its length field bytes. */
function batchStarts(log: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 12 <= log.length; at += 12 + log.readInt32BE(at + 8)) starts.push(at);
  return starts;
}

const sortStored = <T extends Omit<Stored, "timestamp">>(xs: T[]) =>
  [...xs].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset);

describe("a broker with --data-dir killed with SIGKILL", () => {
  it("keeps every acknowledged message, committed offsets and topics, and continues at the next offset", async () => {
    const dataDir = makeDataDir();
    const first = await start(dataDir);
    const kafka1 = client(first);
    const orders = unique("orders");
    const audit = unique("audit");
    const admin1 = kafka1.admin();
    await admin1.connect();
    expect(
      await admin1.createTopics({
        topics: [
          { topic: orders, numPartitions: 3 },
          { topic: audit, numPartitions: 1 },
        ],
        waitForLeaders: true,
      }),
    ).toBe(true);

    // Several batches across partitions; keys, headers (one repeated), a null value, explicit timestamps.
    const t0 = Date.now() - 5 * 60 * 1000;
    const orderBatches: KafkajsMessage[][] = Array.from({ length: 4 }, (_, b) =>
      Array.from({ length: 6 }, (_, i) => ({
        partition: i % 3,
        key: `order-${b}-${i}`,
        value: i === 5 && b === 2 ? null : JSON.stringify({ orderId: `ord-${b}-${i}`, n: b * 6 + i }),
        timestamp: String(t0 + b * 1000 + i),
        headers: { traceparent: `00-${String(b).padStart(32, "0")}-${String(i).padStart(16, "0")}-01`, hop: ["a", "b"] },
      })),
    );
    const auditBatches: KafkajsMessage[][] = [
      [{ partition: 0, key: "a1", value: "created" }, { partition: 0, key: "a2", value: "updated" }],
      [{ partition: 0, key: "a3", value: "deleted", headers: { actor: "ops" } }],
      [{ partition: 0, key: null, value: "keyless" }, { partition: 0, key: "a5", value: "" }],
    ];
    const acked = sortStored([...(await produceAcked(kafka1, orders, orderBatches)), ...(await produceAcked(kafka1, audit, auditBatches))]);
    expect(acked).toHaveLength(29);

    // Group 1 consumes the audit topic and lets kafkajs commit; group 2's offsets are set by admin.
    const readerGroup = unique("audit-readers");
    const consumer = kafka1.consumer({ groupId: readerGroup, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: audit, fromBeginning: true });
    let consumed = 0;
    await consumer.run({ eachMessage: async () => void consumed++ });
    await waitFor("the audit reader to commit all 5 offsets", async () => {
      const c = await committedOffsets(kafka1, readerGroup, audit);
      return consumed === 5 && c[0] === "5";
    });
    await consumer.disconnect();
    const adminGroup = unique("order-processors");
    await admin1.setOffsets({ groupId: adminGroup, topic: orders, partitions: [{ partition: 0, offset: "3" }, { partition: 1, offset: "8" }, { partition: 2, offset: "1" }] });
    const committedBefore = {
      reader: await committedOffsets(kafka1, readerGroup, audit),
      admin: await committedOffsets(kafka1, adminGroup, orders),
    };
    expect(committedBefore).toEqual({ reader: { 0: "5" }, admin: { 0: "3", 1: "8", 2: "1" } });

    const before = await readAll(kafka1, [orders, audit]);
    expect(before.map(({ timestamp: _t, ...rest }) => rest)).toEqual(acked);
    await admin1.disconnect();

    await crash(first);

    const second = await start(dataDir);
    const kafka2 = client(second);
    const admin2 = kafka2.admin();
    await admin2.connect();
    try {
      const topics = await admin2.listTopics();
      expect(topics).toEqual(expect.arrayContaining([orders, audit]));
      const md = await admin2.fetchTopicMetadata({ topics: [orders, audit] });
      expect(md.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual([[audit, 1], [orders, 3]].sort());

      expect(await endOffsets(kafka2, orders)).toEqual([8, 8, 8]);
      expect(await endOffsets(kafka2, audit)).toEqual([5]);
      // Same offsets, keys, values, headers and timestamps as before the crash.
      expect(await readAll(kafka2, [orders, audit])).toEqual(before);

      expect(await committedOffsets(kafka2, readerGroup, audit)).toEqual(committedBefore.reader);
      expect(await committedOffsets(kafka2, adminGroup, orders)).toEqual(committedBefore.admin);

      // New produces continue at the next offset of each partition, without a gap.
      const more = await produceAcked(kafka2, orders, [[0, 1, 2, 0].map((p, i) => ({ partition: p, key: `after-${i}`, value: `v${i}` }))]);
      expect(more.map((m) => [m.partition, m.offset])).toEqual([[0, 8], [1, 8], [2, 8], [0, 9]]);
      const after = await readAll(kafka2, [orders]);
      for (const p of [0, 1, 2]) {
        const offsets = after.filter((m) => m.partition === p).map((m) => m.offset);
        expect(offsets).toEqual(Array.from({ length: p === 0 ? 10 : 9 }, (_, i) => i));
      }
      // A consumer of the reader group resumes where it committed: only new audit messages.
      await produceAcked(kafka2, audit, [[{ partition: 0, key: "a6", value: "after the crash" }]]);
      const resumed: string[] = [];
      const c2 = kafka2.consumer({ groupId: readerGroup, maxWaitTimeInMs: 100 });
      await c2.connect();
      await c2.subscribe({ topic: audit, fromBeginning: true });
      await c2.run({ eachMessage: async ({ message }) => void resumed.push(`${message.offset}:${message.value}`) });
      await waitFor("the reader group to resume after its committed offset", () => resumed.length >= 1);
      await c2.disconnect();
      expect(resumed).toEqual(["5:after the crash"]);
    } finally {
      await admin2.disconnect();
    }
  });

  it("recovers from a torn batch at the end of a partition's log", async () => {
    const dataDir = makeDataDir();
    const first = await start(dataDir);
    const topic = unique("torn");
    const kafka1 = client(first);
    const admin1 = kafka1.admin();
    await admin1.connect();
    await admin1.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin1.disconnect();
    const acked = await produceAcked(kafka1, topic, [
      [{ partition: 0, key: "k0", value: "first" }, { partition: 0, key: "k1", value: "second" }],
      [{ partition: 0, key: "k2", value: "third", headers: { h: "x" } }],
      [{ partition: 0, key: "k3", value: "fourth" }],
    ]);
    expect(acked.map((m) => m.offset)).toEqual([0, 1, 2, 3]);
    const before = await readAll(kafka1, [topic]);
    await crash(first);

    const logFile = path.join(dataDir, "logs", `${topic}-0`, "00000000000000000000.log");
    const intact = fs.readFileSync(logFile);
    const starts = batchStarts(intact);
    expect(starts).toHaveLength(3);
    const lastBatch = intact.subarray(starts[2]!);

    // A crash mid-write: a copy of the last batch without its final bytes. Its header is whole,
    // its length field promises 5 bytes more than the file holds.
    fs.appendFileSync(logFile, lastBatch.subarray(0, lastBatch.length - 5));

    // Same port as before: the CLI can bind it again at once after a kill -9.
    const second = await start(dataDir, first.port);
    expect(second.port).toBe(first.port);
    const kafka2 = client(second);
    expect(await endOffsets(kafka2, topic)).toEqual([4]);
    expect(await readAll(kafka2, [topic])).toEqual(before);
    // The torn bytes are cut off, so what is appended next lands right after the last whole batch.
    expect(fs.statSync(logFile).size).toBe(intact.length);
    const more = await produceAcked(kafka2, topic, [[{ partition: 0, key: "k4", value: "fifth" }]]);
    expect(more.map((m) => m.offset)).toEqual([4]);
    await crash(second);

    // A whole last batch whose CRC does not match (pages that reached the disk out of order):
    // dropped as well, and everything before it stays.
    const withFifth = fs.readFileSync(logFile);
    const fifthAt = batchStarts(withFifth).at(-1)!;
    expect(fifthAt).toBe(intact.length);
    const bad = Buffer.from(withFifth.subarray(fifthAt));
    bad[bad.length - 1]! ^= 0xff;
    fs.appendFileSync(logFile, bad);

    const third = await start(dataDir);
    const kafka3 = client(third);
    expect(await endOffsets(kafka3, topic)).toEqual([5]);
    expect(fs.statSync(logFile).size).toBe(withFifth.length);
    const last = await produceAcked(kafka3, topic, [[{ partition: 0, key: "k5", value: "sixth" }]]);
    expect(last.map((m) => m.offset)).toEqual([5]);
    await crash(third);

    // A few garbage bytes, fewer than a batch header.
    const withSixth = fs.readFileSync(logFile);
    fs.appendFileSync(logFile, Buffer.from([0, 0, 0, 0, 0, 0, 0, 6, 0xde, 0xad]));

    const fourth = await start(dataDir);
    const kafka4 = client(fourth);
    expect(await endOffsets(kafka4, topic)).toEqual([6]);
    expect(fs.statSync(logFile).size).toBe(withSixth.length);
    const all = await readAll(kafka4, [topic]);
    expect(all.slice(0, 4)).toEqual(before);
    expect(all.map((m) => [m.offset, m.key, m.value])).toEqual([
      [0, "k0", "first"],
      [1, "k1", "second"],
      [2, "k2", "third"],
      [3, "k3", "fourth"],
      [4, "k4", "fifth"],
      [5, "k5", "sixth"],
    ]);
    const next = await produceAcked(kafka4, topic, [[{ partition: 0, key: "k6", value: "seventh" }]]);
    expect(next.map((m) => m.offset)).toEqual([6]);
  });
});
