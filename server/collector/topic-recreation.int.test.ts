/**
 * A topic deleted and created again (kafkajs admin against the embedded broker over TCP) starts
 * its offsets at 0 again: the collector must store the new events, not take them for duplicates
 * of the old rows at the same (topic, partition, offset), and must not keep the old incarnation's
 * rows mixed with the new log.
 */
import type { Kafka } from "kafkajs";
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { loadConfig } from "../config.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startCollector, type RunningCollector } from "./collector.ts";
import { countEvents, createTopics, expectExactlyOnce, LogCollector, produceSequence, testKafka } from "./test-support.ts";

let broker: RunningBroker;
let db: TestDatabase;
let kafka: Kafka;
let logs: LogCollector;
const brokerLog: string[] = [];
let collector: RunningCollector | null = null;

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: (line) => brokerLog.push(line) });
  db = await createTestDatabase();
  kafka = testKafka(broker.address);
});

afterAll(async () => {
  await db?.drop();
  await broker?.stop();
});

beforeEach(({ onTestFailed }) => {
  logs = new LogCollector();
  const mark = brokerLog.length;
  onTestFailed(() => {
    console.error(`collector log:\n${logs.text()}`);
    console.error(`broker log:\n${brokerLog.slice(mark).join("\n") || "(nothing)"}`);
  });
});

afterEach(async () => {
  await collector?.stop();
  collector = null;
});

function collect(prefix: string, topicRefreshMs: number, env: Record<string, string> = {}): RunningCollector {
  const config = loadConfig({
    KAFKA_BROKERS: broker.address,
    EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`,
    EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-`,
    ...env,
  });
  return startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, topicRefreshMs, healthIntervalMs: 500 });
}

async function deleteTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

/** Polls until the stored rows of `topic` are exactly the produced ones (see expectExactlyOnce). */
async function waitForExactlyOnce(topic: string, produced: Map<number, unknown[]>): Promise<void> {
  let last = "";
  await waitUntil(
    "the new incarnation stored exactly once, and nothing of the old one left",
    async () => {
      try {
        await expectExactlyOnce(db, kafka, topic, produced);
        return true;
      } catch (error) {
        last = (error as Error).message;
        return false;
      }
    },
    { timeoutMs: 40_000, intervalMs: 250, describe: () => last },
  );
}

test("deleted and created again between two topic listings: the new events replace the old rows", async () => {
  const prefix = uniqueName("recreate-fast");
  const topic = `${prefix}-orders`;
  await createTopics(kafka, [topic], 2);
  await produceSequence(kafka, topic, { count: 10, partitions: 2 });
  // Topic listings a minute apart: the collector's consumer never sees the topic gone.
  collector = collect(prefix, 60_000);
  await waitUntil("10 events stored", async () => (await countEvents(db, topic)) === 10, { timeoutMs: 30_000 });

  await deleteTopic(topic);
  await createTopics(kafka, [topic], 2);
  // Fewer events than before (2 per partition where 5 were): offsets 0 and 1 collide with old
  // rows, and the old rows at 2..4 lie beyond the new log's end.
  const produced = await produceSequence(kafka, topic, { count: 4, partitions: 2, startSeq: 1_000 });

  await waitForExactlyOnce(topic, produced);
  expect(logs.text()).toMatch(new RegExp(`topic ${topic} partition 0 was deleted and created again.*deleted 5 stored events`));
  expect(logs.text()).toMatch(new RegExp(`topic ${topic} partition 1 was deleted and created again.*deleted 5 stored events`));
  // The producers table counts what was inserted, old and new incarnations alike.
  const { rows } = await db.pool.query<{ n: string }>(`SELECT sum(count)::text AS n FROM producers WHERE topic = $1`, [topic]);
  expect(rows[0]!.n).toBe("14");
}, 90_000);

test("seen gone, then back: read from its beginning even with EVENTSCOPE_START=latest, old rows replaced", async () => {
  const prefix = uniqueName("recreate-slow");
  const topic = `${prefix}-orders`;
  await createTopics(kafka, [topic], 2);
  collector = collect(prefix, 1_500, { EVENTSCOPE_START: "latest" });
  await waitUntil("the collector to join with the topic assigned", () => logs.text().includes(`assigned ${topic} [0,1]`), {
    timeoutMs: 30_000,
  });
  await produceSequence(kafka, topic, { count: 10, partitions: 2 });
  await waitUntil("10 events stored", async () => (await countEvents(db, topic)) === 10, { timeoutMs: 30_000 });

  await deleteTopic(topic);
  await waitUntil("the collector to drop the deleted topic", () => logs.text().includes(`-${topic}`), { timeoutMs: 30_000 });
  await createTopics(kafka, [topic], 2);
  // Produced at once, before the collector lists the topic again: with "latest" applied to it, the
  // new consumer would start after these and never store them.
  const produced = await produceSequence(kafka, topic, { count: 30, partitions: 2, startSeq: 1_000 });

  await waitForExactlyOnce(topic, produced);
  expect(logs.text()).toMatch(new RegExp(`topic ${topic} partition 0 was deleted and created again.*deleted 5 stored events of its previous incarnation from offset 0 on`));
}, 90_000);
