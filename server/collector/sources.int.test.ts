/**
 * Several clusters at once, as users run them: one collector process reading a sources file
 * (EVENTSCOPE_SOURCES_FILE) that names two brokers. Both are collected side by side, a topic of
 * the same name on each kept apart by its source; when one broker goes away, health names that
 * source as stale and says why, while the other goes on being collected.
 */
import fs from "node:fs";
import path from "node:path";
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { makeTempDir, uniqueName, waitUntil } from "../broker/test-support.ts";
import { getCollectorHealthReport, searchEvents } from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { createTopics, produceSequence, startCollectorProcess, testKafka, type CollectorProcess } from "./test-support.ts";

let alphaBroker: RunningBroker;
let betaBroker: RunningBroker | undefined;
let db: TestDatabase;
let alpha: Kafka;
let beta: Kafka;
let collector: CollectorProcess | undefined;
const tempDir = makeTempDir("eventscope-sources-test");
const prefix = uniqueName("src");
const group = `${prefix}-collector`;
const POLL_MS = 500;

beforeAll(async () => {
  alphaBroker = await startBroker({ port: 0, log: () => {} });
  betaBroker = await startBroker({ port: 0, log: () => {} });
  db = await createTestDatabase();
  alpha = testKafka(alphaBroker.address);
  beta = testKafka(betaBroker.address);
});

afterAll(async () => {
  await collector?.kill("SIGKILL");
  await db?.drop();
  await alphaBroker?.stop();
  await betaBroker?.stop();
  fs.rmSync(tempDir, { recursive: true, force: true });
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`collector output:\n${collector?.output() ?? "(not started)"}`));
});

/** Stored events of `topic` per source name. */
async function countsBySource(topic: string): Promise<Record<string, number>> {
  const { rows } = await db.pool.query<{ name: string; n: number }>(
    `SELECT s.name, count(*)::int AS n FROM events e JOIN sources s ON s.id = e.source_id WHERE e.channel = $1 GROUP BY s.name`,
    [topic],
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.n]));
}

test("collects two clusters from a sources file side by side, and reports the one that goes down while the other is still collected", async () => {
  const topic = `${prefix}-orders`;
  await createTopics(alpha, [topic], 2);
  await createTopics(beta, [topic], 2);
  const sourcesFile = path.join(tempDir, "sources.yaml");
  fs.writeFileSync(
    sourcesFile,
    `sources:
  - name: alpha
    kind: kafka
    brokers: [${alphaBroker.address}]
    topics: { include: "^${prefix}-" }
  - name: beta
    kind: kafka
    brokers: [${betaBroker!.address}]
    topics: { include: "^${prefix}-" }
`,
  );
  collector = startCollectorProcess({
    EVENTSCOPE_SOURCES_FILE: sourcesFile,
    DATABASE_URL: db.url,
    EVENTSCOPE_COLLECTOR_GROUP: group,
    EVENTSCOPE_POLL_MS: String(POLL_MS),
  });
  await waitUntil("the collector to start both sources", () => /started: source alpha: .*; source beta: /.test(collector!.output()), {
    timeoutMs: 60_000,
  });

  // The same topic name, the same partitions and offsets, on both clusters.
  await produceSequence(alpha, topic, { count: 20, partitions: 2 });
  await produceSequence(beta, topic, { count: 10, partitions: 2 });
  await waitUntil(
    "both clusters' events to be stored, each under its own source",
    async () => {
      const counts = await countsBySource(topic);
      return counts.alpha === 20 && counts.beta === 10 ? counts : undefined;
    },
    { timeoutMs: 60_000, describe: () => countsBySource(topic) },
  );
  const betaPage = await searchEvents(db, { topic, source: "beta", limit: 50 });
  expect(betaPage.events).toHaveLength(10);
  expect(new Set(betaPage.events.map((event) => event.source))).toEqual(new Set(["beta"]));

  // Both sources current, each with its own report.
  await waitUntil(
    "health to list both sources as current",
    async () => {
      const report = await getCollectorHealthReport(db, { pollMs: POLL_MS, collectorGroup: group });
      return report.sources.length === 2 && report.sources.every((source) => !source.stale) ? report : undefined;
    },
    { timeoutMs: 30_000, describe: () => getCollectorHealthReport(db, { pollMs: POLL_MS, collectorGroup: group }) },
  );

  // The beta cluster goes away: alpha goes on being collected, health names beta.
  await betaBroker!.stop();
  betaBroker = undefined;
  await produceSequence(alpha, topic, { count: 6, partitions: 2, startSeq: 20 });
  await waitUntil("alpha's new events to be stored while beta is down", async () => ((await countsBySource(topic)).alpha === 26 ? true : undefined), {
    timeoutMs: 30_000,
    describe: () => countsBySource(topic),
  });
  const report = await waitUntil(
    "health to report beta as stale and alpha as current",
    async () => {
      const health = await getCollectorHealthReport(db, { pollMs: POLL_MS, collectorGroup: group });
      const byName = Object.fromEntries(health.sources.map((source) => [source.name, source]));
      return byName.beta?.stale && !byName.alpha?.stale ? health : undefined;
    },
    { timeoutMs: 60_000, describe: () => getCollectorHealthReport(db, { pollMs: POLL_MS, collectorGroup: group }) },
  );
  expect(report.stale).toBe(true);
  expect(report.staleReason).toMatch(/^source beta: /);
  expect(report.staleReason).not.toContain("source alpha");

  // A stop finishes whatever the missing broker's state.
  const exit = await collector.kill("SIGTERM");
  expect(exit.code).toBe(0);
}, 240_000);
