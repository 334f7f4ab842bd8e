/**
 * Stopping the collector process while its broker is gone: the broker runs as its own process and
 * is killed (SIGKILL) under a running collector, which is then sent one SIGTERM. The stop must
 * end on its own, cleanly, saying what it cut short, and leave every stored row as it was.
 */
import fs from "node:fs";
import { afterAll, afterEach, beforeEach, expect, test } from "vitest";
import { startBrokerProcess, type BrokerProcess } from "../broker/process-support.ts";
import { makeTempDir, uniqueName, waitUntil } from "../broker/test-support.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { countEvents, createTopics, produceSequence, startCollectorProcess, storedValues, testKafka, type CollectorProcess } from "./test-support.ts";

let db: TestDatabase | undefined;
let broker: BrokerProcess | undefined;
let collector: CollectorProcess | undefined;
const dirs: string[] = [];

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`collector output:\n${collector?.output() ?? "(not started)"}`));
});

afterEach(async () => {
  await collector?.kill("SIGKILL");
  await broker?.kill("SIGKILL");
});

afterAll(async () => {
  await db?.drop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

test(
  "SIGTERM with the broker killed: the collector exits by itself, says what it cut short, and keeps what it stored",
  async () => {
    const prefix = uniqueName("stop-broker-gone");
    const topic = `${prefix}-orders`;
    const dataDir = makeTempDir("eventscope-collector-stop");
    dirs.push(dataDir);
    broker = await startBrokerProcess({ dataDir });
    db = await createTestDatabase();
    const kafka = testKafka(broker.address);
    await createTopics(kafka, [topic], 3);
    const produced = await produceSequence(kafka, topic, { count: 600, partitions: 3, batch: 100 });

    collector = startCollectorProcess({
      KAFKA_BROKERS: broker.address,
      DATABASE_URL: db.url,
      EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`,
      EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-`,
      EVENTSCOPE_POLL_MS: "1000",
    });
    const running = collector;
    await waitUntil("all 600 events stored", async () => (await countEvents(db!, topic)) === 600, {
      timeoutMs: 90_000,
      intervalMs: 200,
      describe: () => running.output(),
    });

    await broker.kill("SIGKILL");
    // The collector is retrying: its clients have failed to reach the broker a few times.
    const before = running.output().length;
    await waitUntil("the collector to retry the broker that is gone", () => running.output().slice(before).split("ECONNREFUSED").length > 6, {
      timeoutMs: 30_000,
      describe: () => running.output(),
    });

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void running.exited.then((status) => (exit = status));
    running.child.kill("SIGTERM");
    // One signal only: the deadline is generous for a loaded machine, not a measure of speed.
    await waitUntil("the collector to exit after one SIGTERM", () => exit, {
      timeoutMs: 30_000,
      intervalMs: 100,
      describe: () => running.output(),
    });
    expect(exit, running.output()).toEqual({ code: 0, signal: null });
    expect(running.output()).toMatch(/stop cut short after \d+ s: .*(broker|cluster)/);
    expect(running.output()).toMatch(/stopped\n?$/);

    const stored = await storedValues(db, topic);
    for (const [partition, values] of produced) {
      expect(stored.get(partition)?.map((row) => row.value), `partition ${partition}`).toEqual(values);
    }
  },
  180_000,
);
