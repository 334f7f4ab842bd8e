import amqp from "amqplib";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { loadConfig, type Config, type RabbitMqSourceConfig } from "../../config.ts";
import type { Database, SourceRef } from "../../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../../db/test-support.ts";
import type { RabbitNode } from "../../rabbitmq/node.ts";
import { startTestRabbitNode } from "../../rabbitmq/test-support.ts";
import { LogCollector } from "../test-support.ts";
import { startRabbitMqCollector, type RunningRabbitMqCollector } from "./rabbitmq-collector.ts";

/** What a RabbitMQ collector test file shares: set in its hooks (rabbitCollectorTestBed). */
export interface RabbitCollectorTestBed {
  node: RabbitNode;
  db: TestDatabase;
  /** The test's own connection, for declaring and publishing. */
  connection: amqp.ChannelModel;
  config: Config;
  /** This test's collector log, printed when it fails. */
  logs: LogCollector;
  /** Collectors the test started: stopped after each test. */
  running: RunningRabbitMqCollector[];
}

/**
 * Registers the hooks of a RabbitMQ collector test file: a node of its own and a database of its
 * own for the file, a fresh log per test (printed when the test fails), the test's collectors
 * stopped after it. The fields are set once the file's first hook has run.
 */
export function rabbitCollectorTestBed(): RabbitCollectorTestBed {
  const bed = { logs: new LogCollector(), running: [] as RunningRabbitMqCollector[] } as RabbitCollectorTestBed;
  let removeDataDir: (() => void) | undefined;

  beforeAll(async () => {
    let started: Awaited<ReturnType<typeof startTestRabbitNode>>;
    [started, bed.db] = await Promise.all([startTestRabbitNode(), createTestDatabase()]);
    ({ node: bed.node, removeDataDir } = started);
    bed.connection = await amqp.connect(bed.node.amqpUrl);
    bed.connection.on("error", () => {});
    bed.config = loadConfig({});
  }, 120_000);

  afterAll(async () => {
    await Promise.all(bed.running.map((collector) => collector.stop()));
    await bed.connection?.close().catch(() => {});
    await bed.node?.stop();
    removeDataDir?.();
    await bed.db?.drop();
  }, 120_000);

  beforeEach(({ onTestFailed }) => {
    const logs = (bed.logs = new LogCollector());
    onTestFailed(() => console.error(`collector log:\n${logs.text()}`));
  });

  afterEach(async () => {
    await Promise.all(bed.running.splice(0).map((collector) => collector.stop()));
  });

  return bed;
}

/** Starts a collector with the tests' short intervals, logging into the test's log; stopped after the test. */
export function startTestCollector(
  bed: RabbitCollectorTestBed,
  sourceConfig: RabbitMqSourceConfig,
  source: SourceRef,
  db: Pick<Database, "pool" | "prisma"> = bed.db,
): RunningRabbitMqCollector {
  const collector = startRabbitMqCollector(bed.config, sourceConfig, {
    db,
    source,
    log: bed.logs.log,
    refreshMs: 500,
    healthIntervalMs: 300,
    reconnectMaxMs: 2_000,
    flushMs: 50,
  });
  bed.running.push(collector);
  return collector;
}
