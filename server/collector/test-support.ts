/**
 * Helpers for the collector's integration tests: the collector CLI as a real child process,
 * producing known values, and the "exactly once" check of the issue: per partition, the stored
 * offsets are contiguous from the log's first offset to its end offset, and the stored values
 * equal the produced ones, in order (not a row count, which the primary key would make pass).
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { fileURLToPath } from "node:url";
import { CompressionTypes, Kafka, logLevel, type Message, type SASLOptions } from "kafkajs";
import type pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { loadConfig, type Config } from "../config.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startCollector, type CollectorOptions, type RunningCollector } from "./collector.ts";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "cli.ts");
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface CollectorProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the collector logged so far (stdout and stderr). */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the process to be gone. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `server/collector/cli.ts` as its own process (`node --import tsx`, so that SIGKILL
 * reaches the collector itself, not a launcher in between). `env` is added to a clean copy of
 * this process's environment without any Eventscope or Kafka variable of the test runner's.
 */
export function startCollectorProcess(env: Record<string, string>): CollectorProcess {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(KAFKA_|EVENTSCOPE_|DATABASE_URL$)/.test(name)),
  );
  const child = spawn(process.execPath, ["--import", "tsx", CLI], {
    cwd: REPO_ROOT,
    env: { ...base, ...env } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (output += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Collector processes started by a test file's tests: each one's output printed when its test
 * fails, every one killed (SIGKILL) after its test. Call at the top level of the file.
 */
export function useCollectorProcesses(): { start(env: Record<string, string>): CollectorProcess } {
  let processes: CollectorProcess[] = [];
  beforeEach(({ onTestFailed }) => {
    processes = [];
    onTestFailed(() => {
      for (const [i, p] of processes.entries()) console.error(`collector process ${i + 1} (pid ${p.pid}) output:\n${p.output()}`);
    });
  });
  afterEach(async () => {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
  });
  return {
    start(env) {
      const p = startCollectorProcess(env);
      processes.push(p);
      return p;
    },
  };
}

export function testKafka(address: string, sasl?: SASLOptions): Kafka {
  return new Kafka({
    clientId: "eventscope-collector-test",
    brokers: [address],
    sasl,
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
}

export async function createTopics(kafka: Kafka, topics: string[], partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Per partition: [first offset in the log, end offset], from ListOffsets. */
export async function partitionOffsets(kafka: Kafka, topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
  } finally {
    await admin.disconnect();
  }
}

/** A JSON value that names its own place in the sequence: what the exactly-once check compares. */
/** `entities`: how many orders the values belong to (seq modulo it); default one order per value. */
export function sequenceValue(topic: string, partition: number, seq: number, padBytes = 0, entities?: number): Record<string, unknown> {
  const orderId = entities ? `ord-${seq % entities}` : `ord-${partition}-${seq}`;
  return { topic, partition, seq, orderId, ...(padBytes > 0 ? { pad: "x".repeat(padBytes) } : {}) };
}

/**
 * Produces `count` JSON values round-robin over `partitions` partitions, in sends of `batch`
 * messages, one send at a time (so each partition's order is the order sent). Returns, per
 * partition, the values in order.
 */
export async function produceSequence(
  kafka: Kafka,
  topic: string,
  options: { count: number; partitions: number; batch?: number; padBytes?: number; startSeq?: number; into?: Map<number, unknown[]>; entities?: number },
): Promise<Map<number, unknown[]>> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const produced = options.into ?? new Map<number, unknown[]>();
  try {
    const batch = options.batch ?? 1_000;
    const start = options.startSeq ?? 0;
    for (let from = start; from < start + options.count; from += batch) {
      const messages: Message[] = [];
      const values: [number, unknown][] = [];
      for (let seq = from; seq < Math.min(from + batch, start + options.count); seq++) {
        const partition = seq % options.partitions;
        const value = sequenceValue(topic, partition, seq, options.padBytes, options.entities);
        messages.push({ partition, key: `ord-${partition}-${seq}`, value: JSON.stringify(value) });
        values.push([partition, value]);
      }
      await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.None });
      for (const [partition, value] of values) {
        let list = produced.get(partition);
        if (!list) produced.set(partition, (list = []));
        list.push(value);
      }
    }
    return produced;
  } finally {
    await producer.disconnect();
  }
}

/** Stored rows of a topic per partition, in offset order: offset and parsed JSON value. */
export async function storedValues(
  db: { pool: pg.Pool },
  topic: string,
): Promise<Map<number, { offset: bigint; value: unknown }[]>> {
  const { rows } = await db.pool.query<{ partition: number; offset_text: string; value_json: unknown }>(
    // Ordered by the bigint column: the text alias would sort 10 before 2.
    `SELECT partition, position::text AS offset_text, value_json FROM events e WHERE channel = $1 ORDER BY partition, e.position`,
    [topic],
  );
  const stored = new Map<number, { offset: bigint; value: unknown }[]>();
  for (const row of rows) {
    let list = stored.get(row.partition);
    if (!list) stored.set(row.partition, (list = []));
    list.push({ offset: BigInt(row.offset_text), value: row.value_json });
  }
  return stored;
}

export async function countEvents(db: { pool: pg.Pool }, topic: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM events WHERE channel = $1`, [topic]);
  return Number(rows[0]!.n);
}

/**
 * Throws, naming the first difference, unless every partition's stored offsets run without a gap
 * from the log's first offset to its end offset and the stored values equal `expected`, in order.
 * (A hand-written comparison: a diff of 100k-element arrays would take longer than the test.)
 */
export async function expectExactlyOnce(
  db: { pool: pg.Pool },
  kafka: Kafka,
  topic: string,
  expected: ReadonlyMap<number, readonly unknown[]>,
): Promise<void> {
  const offsets = await partitionOffsets(kafka, topic);
  const stored = await storedValues(db, topic);
  for (const partition of stored.keys()) {
    if (!offsets.has(partition)) throw new Error(`${topic}: rows stored for partition ${partition}, which the topic does not have`);
  }
  for (const [partition, { low, high }] of offsets) {
    const rows = stored.get(partition) ?? [];
    const values = expected.get(partition) ?? [];
    if (high - low !== BigInt(values.length)) {
      throw new Error(`${topic}/${partition}: the log holds offsets ${low}..${high - 1n} but ${values.length} values were produced`);
    }
    for (let i = 0; i < Math.max(rows.length, values.length); i++) {
      const row = rows[i];
      const want = low + BigInt(i);
      if (!row) throw new Error(`${topic}/${partition}: offset ${want} (and after) not stored; stored ${rows.length} of ${values.length}`);
      if (row.offset !== want) {
        throw new Error(
          `${topic}/${partition}: stored offsets are not contiguous: expected ${want} at position ${i}, found ${row.offset} ` +
            `(stored around it: ${rows.slice(Math.max(0, i - 3), i + 3).map((r) => String(r.offset)).join(",")}; ` +
            `${rows.length} stored, log ${low}..${high - 1n})`,
        );
      }
      if (i >= values.length) throw new Error(`${topic}/${partition}: offset ${row.offset} stored beyond the end offset ${high}`);
      if (!isDeepStrictEqual(row.value, values[i])) {
        throw new Error(
          `${topic}/${partition}: offset ${row.offset} holds ${JSON.stringify(row.value)?.slice(0, 200)}, produced ${JSON.stringify(values[i])?.slice(0, 200)}`,
        );
      }
    }
  }
}

/** Collects log lines so that a failing test can show what the collector said. */
export class LogCollector {
  readonly lines: string[] = [];
  readonly log = (line: string): void => {
    this.lines.push(`${new Date().toISOString()} ${line}`);
  };
  text(): string {
    return this.lines.join("\n") || "(nothing logged)";
  }
}

export interface CollectorTestBed {
  readonly broker: RunningBroker;
  readonly db: TestDatabase;
  readonly kafka: Kafka;
  /** This test's collector log (a new one per test). */
  readonly logs: LogCollector;
  /**
   * Starts a collector in this process that collects the topics named `<prefix>-…` only (other
   * tests' topics share the broker), as group `<prefix>-collector`; stopped after the file.
   */
  collect(prefix: string, env?: Record<string, string>, options?: Partial<CollectorOptions>): { collector: RunningCollector; config: Config };
}

/**
 * The usual set-up of a collector integration test file: the embedded broker over TCP, a database
 * of its own, a kafkajs client; each test's collector and broker logs printed when it fails.
 * Call at the top level of the file.
 */
export function useCollectorTestBed(): CollectorTestBed {
  let broker: RunningBroker | undefined;
  let db: TestDatabase | undefined;
  let kafka: Kafka | undefined;
  let logs = new LogCollector();
  const brokerLog: string[] = [];
  const running: RunningCollector[] = [];
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started: use the test bed inside tests and hooks`);
    return value;
  };

  beforeAll(async () => {
    broker = await startBroker({ port: 0, log: (line) => brokerLog.push(line) });
    db = await createTestDatabase();
    kafka = testKafka(broker.address);
  });
  afterAll(async () => {
    await Promise.all(running.map((collector) => collector.stop()));
    await db?.drop();
    await broker?.stop();
  });
  beforeEach(({ onTestFailed }) => {
    logs = new LogCollector();
    const brokerMark = brokerLog.length;
    const testLogs = logs;
    onTestFailed(() => {
      console.error(`collector log:\n${testLogs.text()}`);
      console.error(`broker log:\n${brokerLog.slice(brokerMark).join("\n") || "(nothing)"}`);
    });
  });

  return {
    get broker() {
      return ready(broker, "the broker");
    },
    get db() {
      return ready(db, "the database");
    },
    get kafka() {
      return ready(kafka, "the kafkajs client");
    },
    get logs() {
      return logs;
    },
    collect(prefix, env = {}, options = {}) {
      const config = loadConfig({
        KAFKA_BROKERS: ready(broker, "the broker").address,
        EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`,
        EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-`,
        ...env,
      });
      const collector = startCollector(config, {
        db: ready(db, "the database"),
        // The source every migrated database has (id 1): what the collector's CLI uses alone.
        source: { id: 1, name: "default" },
        log: logs.log,
        healthIntervalMs: 300,
        ...options,
      });
      running.push(collector);
      return { collector, config };
    },
  };
}
