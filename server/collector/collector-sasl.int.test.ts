/**
 * The collector against a broker that requires SASL, configured as a user would: through the
 * KAFKA_SASL_* variables (server/config.ts → kafka.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { makeTempDir, uniqueName, waitUntil } from "../broker/test-support.ts";
import { loadConfig } from "../config.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startCollector, type RunningCollector } from "./collector.ts";
import { countEvents, createTopics, expectExactlyOnce, LogCollector, produceSequence, testKafka } from "./test-support.ts";

const USER = { username: "collector", password: "c0llector:secret" };

let broker: RunningBroker;
let db: TestDatabase;
let dir: string;
let logs: LogCollector;
const running: RunningCollector[] = [];

beforeAll(async () => {
  dir = makeTempDir("eventscope-collector-sasl");
  const usersFile = path.join(dir, "users.txt");
  fs.writeFileSync(usersFile, `${USER.username}:${USER.password}\n`);
  broker = await startBroker({ port: 0, saslUsers: usersFile, log: () => {} });
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(running.map((collector) => collector.stop()));
  await db?.drop();
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(({ onTestFailed }) => {
  logs = new LogCollector();
  onTestFailed(() => console.error(`collector log:\n${logs.text()}`));
});

function collect(prefix: string, mechanism: string, password: string): RunningCollector {
  const config = loadConfig({
    KAFKA_BROKERS: broker.address,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: USER.username,
    KAFKA_SASL_PASSWORD: password,
    EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`,
    EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-`,
  });
  const collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, topicRefreshMs: 500 });
  running.push(collector);
  return collector;
}

describe("SASL", () => {
  test.each(["SCRAM-SHA-256", "PLAIN"])("collects with %s credentials from KAFKA_SASL_*", async (mechanism) => {
    const prefix = uniqueName(`sasl-${mechanism.toLowerCase()}`);
    const topic = `${prefix}-orders`;
    const kafka = testKafka(broker.address, { mechanism: "scram-sha-256", ...USER });
    await createTopics(kafka, [topic], 2);
    const produced = await produceSequence(kafka, topic, { count: 200, partitions: 2, batch: 50 });

    const collector = collect(prefix, mechanism, USER.password);
    await waitUntil("200 events stored", async () => (await countEvents(db, topic)) === 200, { timeoutMs: 30_000 });
    await expectExactlyOnce(db, kafka, topic, produced);
    await collector.stop();
  });

  test("with a wrong password it stores nothing, says why, and stops cleanly", async () => {
    const prefix = uniqueName("sasl-wrong");
    const topic = `${prefix}-orders`;
    const kafka = testKafka(broker.address, { mechanism: "scram-sha-256", ...USER });
    await createTopics(kafka, [topic], 1);
    await produceSequence(kafka, topic, { count: 10, partitions: 1 });

    const collector = collect(prefix, "scram-sha-256", "not-the-password");
    await waitUntil("an authentication failure in the log", () => /listing topics failed.*(SASL|auth)/i.test(logs.text()), {
      timeoutMs: 30_000,
    });
    expect(collector.stats().lastError).toMatch(/SASL|auth/i);
    expect(await countEvents(db, topic)).toBe(0);
    await collector.stop();
  });
});
