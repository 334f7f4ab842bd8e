/**
 * The collector through real outages while events stream in: its PostgreSQL server stopped for
 * 10 s and started again, and its broker killed (SIGKILL) and started again on the same port and
 * data directory. Nothing may be lost and nothing stored twice.
 */
import fs from "node:fs";
import path from "node:path";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { startBrokerProcess, type BrokerProcess } from "../broker/process-support.ts";
import { makeTempDir, uniqueName, waitUntil } from "../broker/test-support.ts";
import { loadConfig } from "../config.ts";
import {
  connectDatabase,
  findFreePort,
  makeTemporaryDataDir,
  runMigrations,
  startEmbeddedPostgres,
  type Database,
  type EmbeddedPostgres,
} from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startCollector, type RunningCollector } from "./collector.ts";
import { countEvents, createTopics, expectExactlyOnce, LogCollector, partitionOffsets, produceSequence, testKafka } from "./test-support.ts";

let logs: LogCollector;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(({ onTestFailed }) => {
  logs = new LogCollector();
  onTestFailed(() => console.error(`collector log:\n${logs.text()}`));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
});

/** Produces a few messages every 50 ms until stop() (the "stream"); collects what was acked. */
function startStream(kafka: Kafka, topic: string, partitions: number) {
  const produced = new Map<number, unknown[]>();
  let seq = 0;
  let failedSends = 0;
  let streaming = true;
  const done = (async () => {
    while (streaming) {
      try {
        await produceSequence(kafka, topic, { count: 30, partitions, batch: 30, startSeq: seq, into: produced });
      } catch {
        // The broker was down for longer than the producer's retries: those values may or may
        // not be in the log. The broker-restart test compares with the log itself.
        failedSends += 1;
      }
      seq += 30;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    produced,
    failedSends: () => failedSends,
    count: () => [...produced.values()].reduce((n, list) => n + list.length, 0),
    async stop() {
      streaming = false;
      await done;
    },
  };
}

describe("database outage", () => {
  let broker: RunningBroker;
  let postgres: EmbeddedPostgres;
  let dataDir: string;
  let port: number;
  let db: Database;

  beforeAll(async () => {
    broker = await startBroker({ port: 0, log: () => {} });
    cleanups.push(() => broker.stop());
    // A PostgreSQL server of this test's own, so that stopping it does not stop anyone else's.
    dataDir = makeTemporaryDataDir("eventscope-collector-outage-");
    port = await findFreePort();
    postgres = await startEmbeddedPostgres({ dataDir, port, ephemeral: true });
    cleanups.push(async () => {
      await postgres.stop();
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    });
    await runMigrations(postgres.url);
    db = connectDatabase(postgres.url, { maxConnections: 4 });
    cleanups.push(() => db.close());
  });

  test(
    "PostgreSQL stopped for 10 s during a stream: consumption pauses, retries, resumes; nothing lost or duplicated",
    async () => {
      const prefix = uniqueName("pg-down");
      const topic = `${prefix}-orders`;
      const kafka = testKafka(broker.address);
      await createTopics(kafka, [topic], 3);
      const config = loadConfig({
        KAFKA_BROKERS: broker.address,
        EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`,
        EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-`,
      });
      const collector: RunningCollector = startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, healthIntervalMs: 500 });
      cleanups.push(() => collector.stop());

      const stream = startStream(kafka, topic, 3);
      await waitUntil("events flowing into the database", async () => (await countEvents(db, topic)) >= 300, {
        timeoutMs: 30_000,
      });

      await postgres.stop();
      const stoppedAt = Date.now();
      await waitUntil("the collector to notice", () => logs.text().includes("database unavailable, retrying in"), {
        timeoutMs: 20_000,
      });
      expect(logs.text()).toContain("consumption paused");
      // The outage lasts 10 s (the scenario of the issue), whatever the collector does meanwhile.
      await waitUntil("10 s of outage", () => Date.now() - stoppedAt >= 10_000, { timeoutMs: 15_000, intervalMs: 100 });
      const producedDuringOutage = stream.count();
      postgres = await startEmbeddedPostgres({ dataDir, port, ephemeral: true });

      await waitUntil("the collector to store again", () => logs.text().includes("database available again"), {
        timeoutMs: 30_000,
      });
      // Keep streaming a little past the recovery, then check everything arrived once.
      await waitUntil("more events after the outage", () => stream.count() >= producedDuringOutage + 300, { timeoutMs: 20_000 });
      await stream.stop();
      expect(stream.failedSends()).toBe(0);
      const total = stream.count();
      await waitUntil(`all ${total} events stored`, async () => (await countEvents(db, topic)) === total, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      await expectExactlyOnce(db, kafka, topic, stream.produced);
      expect(logs.text()).toContain("consumption resumed");
      // Health: the error of the outage was recorded, and cleared once writes succeeded again.
      await waitUntil("the health row to show recovery", async () => {
        const row = await db.prisma.collectorInstance.findUnique({ where: { instanceId: collector.instanceId } });
        return row !== null && row.lastError === null && row.lastStoredAt !== null && row.lastStoredAt.getTime() > stoppedAt;
      });
      await collector.stop();
    },
    120_000,
  );
});

describe("broker restart", () => {
  let brokerProcess: BrokerProcess;
  let brokerDir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    brokerDir = makeTempDir("eventscope-collector-broker-restart");
    brokerProcess = await startBrokerProcess({ dataDir: brokerDir });
    cleanups.push(async () => {
      await brokerProcess.kill("SIGKILL");
      fs.rmSync(brokerDir, { recursive: true, force: true });
    });
    db = await createTestDatabase();
    cleanups.push(() => db.drop());
  });

  /** Every partition's values as the broker's log holds them, read back by a fresh consumer. */
  async function readLog(kafka: Kafka, topic: string): Promise<Map<number, unknown[]>> {
    const ends = await partitionOffsets(kafka, topic);
    const values = new Map<number, unknown[]>([...ends.keys()].map((p) => [p, []]));
    const consumer = kafka.consumer({ groupId: uniqueName("log-reader"), allowAutoTopicCreation: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          values.get(partition)!.push(JSON.parse(message.value!.toString("utf8")));
        },
      });
      await waitUntil("the whole log read back", () =>
        [...ends].every(([p, { low, high }]) => BigInt(values.get(p)!.length) === high - low),
      { timeoutMs: 30_000 });
    } finally {
      await consumer.disconnect();
    }
    return values;
  }

  test(
    "the broker killed and restarted during a stream: the collector reconnects and nothing is lost",
    async () => {
      const prefix = uniqueName("broker-down");
      const topic = `${prefix}-orders`;
      const address = brokerProcess.address;
      const kafka = testKafka(address);
      await createTopics(kafka, [topic], 3);
      const config = loadConfig({
        KAFKA_BROKERS: address,
        EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`,
        EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-`,
      });
      const collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, topicRefreshMs: 1_000 });
      cleanups.push(() => collector.stop());

      const stream = startStream(kafka, topic, 3);
      await waitUntil("events flowing into the database", async () => (await countEvents(db, topic)) >= 300, {
        timeoutMs: 30_000,
      });
      const joinsBefore = logs.lines.filter((line) => line.includes("joined group")).length;

      await brokerProcess.kill("SIGKILL");
      brokerProcess = await startBrokerProcess({ dataDir: brokerDir, port: brokerProcess.port });
      expect(brokerProcess.address).toBe(address);

      const storedAtRestart = await countEvents(db, topic);
      await waitUntil(
        "the collector to rejoin and store new events",
        async () =>
          logs.lines.filter((line) => line.includes("joined group")).length > joinsBefore &&
          (await countEvents(db, topic)) >= storedAtRestart + 300,
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      await stream.stop();

      // The log is the truth after a kill: a send cut off by it may or may not have been written.
      const log = await readLog(kafka, topic);
      const total = [...log.values()].reduce((n, list) => n + list.length, 0);
      await waitUntil(`all ${total} events of the log stored`, async () => (await countEvents(db, topic)) === total, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      await expectExactlyOnce(db, kafka, topic, log);
      // And every acknowledged event is in it (kill -9 loses nothing the broker acknowledged).
      for (const [partition, values] of stream.produced) {
        const stored = new Set(log.get(partition)!.map((value) => JSON.stringify(value)));
        const missing = values.filter((value) => !stored.has(JSON.stringify(value)));
        expect(missing, `acknowledged values missing from partition ${partition}`).toEqual([]);
      }
      await collector.stop();
    },
    150_000,
  );
});
