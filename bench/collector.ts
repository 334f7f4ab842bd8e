import { saveStandaloneResult } from "./results.ts";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import avro from "avsc";
import { CompressionTypes, Kafka, logLevel, type IHeaders } from "kafkajs";
import pg from "pg";
import { startBrokerProcess, type BrokerProcess } from "../server/broker/process-support.ts";
import { startCollector } from "../server/collector/collector.ts";
import { startCollectorProcess } from "../server/collector/test-support.ts";
import { DEFAULT_EXTRACT_OPTIONS } from "../server/collector/extract/index.ts";
import { toEventRow } from "../server/collector/to-event-row.ts";
import { loadConfig } from "../server/config.ts";
import { startSchemaRegistry } from "../server/registry/index.ts";
import {
  connectDatabase,
  findFreePort,
  ingestEvents,
  makeTemporaryDataDir,
  pendingFlowSteps,
  runMigrations,
  startEmbeddedPostgres,
  type Database,
  type EmbeddedPostgres,
} from "../server/db/index.ts";
import type { BenchmarkOptions } from "./run.ts";

/**
 * The collector's pipeline (issue 4's benchmark), on one topic pre-filled with N JSON events of
 * ~1 KB with headers (traceparent, CloudEvents binary attributes, content-type):
 *
 *   (a) a kafkajs consumer that does nothing with the messages: Kafka's side of the ceiling
 *   (c) the same rows, extracted beforehand, written with server/db's ingestEvents (COPY) in
 *       writes of the collector's size, without Kafka: the database's side of the ceiling
 *   (b) the collector catching up on the topic (fetch, extract, write, commit): events/s, and
 *       b / min(a, c), the share of the real ceiling the pipeline reaches; flows on (the default:
 *       ingest queues each event's step, the collector folds them), and how long after the last
 *       event was stored the fold had counted every step
 *   (b') the same catch-up with EVENTSCOPE_FLOWS=off (its own group, its own database): what
 *       flows cost the catch-up, in the same run
 *   (d) the collector catching up on the same events as Avro in the Schema Registry wire format
 *       (the embedded registry, in this process): events/s, and d / b, the cost of decoding
 *
 * then, with the collector caught up (now as its own process, the CLI), a live load of 5,000
 * events/s for a while: the latency from `send` to the event being visible to a query (p50, p99).
 *
 * The broker runs as its own process (with --data-dir, as a real broker keeps its log on disk);
 * PostgreSQL is a fresh embedded server with its normal durability; the collector runs in this
 * process, so this process's CPU during (b) is the collector's. Each phase writes into a database
 * of its own, so (b) and (c) both start from an empty table with every index.
 *
 *   npm run bench -- collector [--messages N]
 *   npx tsx bench/collector.ts [--messages N] [--live-seconds S] [--live-rate R] [--no-save]   (saves bench/results/ too)
 *   node --cpu-prof --import tsx bench/collector.ts --messages 200000  (to see where (b) spends)
 */

export const DEFAULT_MESSAGES = 1_000_000;
const PARTITIONS = 3;
const VALUE_BYTES = 1_000;
const PRODUCE_BATCH = 500;
const SENDS_IN_FLIGHT = 4;
/** The collector's rows per database write (its default), also used for (c). */
const WRITE_ROWS = 5_000;
const LIVE_RATE = 5_000;
const DEFAULT_LIVE_SECONDS = 30;
const PHASE_TIMEOUT_MS = 60 * 60_000;

export const GOALS = {
  collectorEventsPerSec: 50_000,
  ratioToCeiling: 0.8,
  latencyP99Ms: 1_000,
  /** The catch-up with flows may be at most this much slower than without, in percent. */
  flowsCostPercent: 10,
} as const;

// ------------------------------------------------------------------ the events

const PAD = "x".repeat(VALUE_BYTES);
const TYPES = ["OrderPlaced", "PaymentCaptured", "OrderShipped"];

/** The Avro schema of benchBody's content, for the Schema Registry case (d). */
const BENCH_AVRO_SCHEMA = {
  type: "record",
  name: "BenchEvent",
  namespace: "com.example.bench",
  fields: [
    { name: "type", type: "string" },
    { name: "orderId", type: "string" },
    { name: "customer", type: { type: "record", name: "Customer", fields: [{ name: "id", type: "string" }, { name: "email", type: "string" }] } },
    { name: "amount", type: "double" },
    { name: "items", type: { type: "array", items: { type: "record", name: "Item", fields: [{ name: "sku", type: "string" }, { name: "quantity", type: "int" }] } } },
    { name: "note", type: "string" },
  ],
};
const benchAvroType = avro.Type.forSchema(BENCH_AVRO_SCHEMA as avro.Schema);

/** Event i as Avro in the Schema Registry wire format (byte 0, the schema id, the Avro binary): the same content as benchMessage(i). */
export function benchAvroMessage(i: number, schemaId: number): { partition: number; key: string; value: Buffer; headers: IHeaders } {
  const json = benchMessage(i);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  const { "content-type": _contentType, ...headers } = json.headers;
  return { ...json, value: Buffer.concat([header, benchAvroType.toBuffer(JSON.parse(json.value.toString()))]), headers };
}

/** Event i: a ~1 KB JSON value and the headers an instrumented CloudEvents producer writes. */
export function benchMessage(i: number): { partition: number; key: string; value: Buffer; headers: IHeaders } {
  const orderId = `ord-${(i % 50_000).toString().padStart(6, "0")}`;
  const type = TYPES[i % 3]!;
  const traceId = (BigInt(i) * 2654435761n + 1n).toString(16).padStart(32, "0").slice(-32);
  const spanId = (BigInt(i) * 40503n + 1n).toString(16).padStart(16, "0").slice(-16);
  const body = {
    type,
    orderId,
    customer: { id: `cust-${i % 977}`, email: `c${i % 977}@example.com` },
    amount: (i % 1000) + 0.5,
    items: [{ sku: `sku-${i % 31}`, quantity: 1 + (i % 3) }],
    note: "",
  };
  const base = Buffer.byteLength(JSON.stringify(body));
  body.note = PAD.slice(0, Math.max(0, VALUE_BYTES - base));
  return {
    partition: i % PARTITIONS,
    key: orderId,
    value: Buffer.from(JSON.stringify(body)),
    headers: {
      traceparent: `00-${traceId}-${spanId}-01`,
      ce_specversion: "1.0",
      ce_id: `evt-${i}`,
      ce_type: type,
      ce_source: "order-service",
      "content-type": "application/json",
    },
  };
}

// ------------------------------------------------------------------ CPU meters (/proc)

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / CLK_TCK;
  } catch {
    return 0; // exited
  }
}

/** The postmaster and its children (the backends doing the writes). */
function postgresPids(dataDir: string): number[] {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const pids = [postmaster];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

function machineBusySeconds(): number {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
}

export interface CpuSplit {
  /** CPU cores kept busy on average over the phase, per process (1.0 = one core all the time). */
  benchProcess: number;
  broker: number;
  postgres: number;
  other: number;
}

/** CPU of this process, the broker and PostgreSQL (backends started during the phase included). */
export function cpuMeter(brokerPid: number, pgDataDir: string) {
  const self0 = process.cpuUsage();
  const broker0 = processCpuSeconds(brokerPid);
  const machine0 = machineBusySeconds();
  const pg0 = new Map(postgresPids(pgDataDir).map((pid) => [pid, processCpuSeconds(pid)]));
  return (wallSeconds: number): CpuSplit => {
    const self = process.cpuUsage(self0);
    const benchProcess = (self.user + self.system) / 1e6;
    const broker = processCpuSeconds(brokerPid) - broker0;
    let postgres = 0;
    for (const pid of postgresPids(pgDataDir)) postgres += processCpuSeconds(pid) - (pg0.get(pid) ?? 0);
    const other = Math.max(0, machineBusySeconds() - machine0 - benchProcess - broker - postgres);
    const round = (seconds: number) => Math.round((seconds / wallSeconds) * 100) / 100;
    return { benchProcess: round(benchProcess), broker: round(broker), postgres: round(postgres), other: round(other) };
  };
}

// ------------------------------------------------------------------ helpers

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const rate = (count: number, seconds: number) => Math.round(count / seconds);
const print = (line: string) => process.stdout.write(`${line}\n`);

export async function createDatabase(server: EmbeddedPostgres, name: string): Promise<Database> {
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return connectDatabase(url.toString(), { maxConnections: 4, applicationName: `bench-${name}` });
}

// ------------------------------------------------------------------ phases

async function produceAll(kafka: Kafka, topic: string, messages: number, messageOf: (i: number) => ReturnType<typeof benchMessage> = benchMessage): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const start = performance.now();
    let next = 0;
    const sendLoop = async () => {
      while (next < messages) {
        const from = next;
        next = Math.min(messages, next + PRODUCE_BATCH);
        const batch = [];
        for (let i = from; i < next; i++) batch.push(messageOf(i));
        await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: batch });
      }
    };
    await withDeadline(Promise.all(Array.from({ length: SENDS_IN_FLIGHT }, sendLoop)), PHASE_TIMEOUT_MS, "produce");
    return (performance.now() - start) / 1000;
  } finally {
    await producer.disconnect();
  }
}

/** (a): a consumer group that only counts, with the collector's fetch settings. */
export async function consumeOnly(kafka: Kafka, topic: string, messages: number) {
  const consumer = kafka.consumer({
    groupId: `${topic}-noop`,
    allowAutoTopicCreation: false,
    maxBytes: 16 * 1024 * 1024,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 1_000,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    let joinedAt = 0;
    let finishedAt = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (joinedAt === 0) joinedAt = performance.now();
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= messages && finishedAt === 0) finishedAt = performance.now();
      },
    });
    await withDeadline(waitFor("(a) to see every message", () => finishedAt !== 0, PHASE_TIMEOUT_MS, 20), PHASE_TIMEOUT_MS, "(a)");
    const seconds = (finishedAt - joinedAt) / 1000;
    return { seconds, eventsPerSec: rate(messages, seconds) };
  } finally {
    await consumer.disconnect();
  }
}

/** (c): the same rows, extracted beforehand (not timed), written by ingestEvents (timed). */
async function ingestOnly(db: Database, topic: string, messages: number) {
  let ingestSeconds = 0;
  const offsets = new Array<number>(PARTITIONS).fill(0);
  for (let from = 0; from < messages; from += WRITE_ROWS) {
    const rows = [];
    for (let i = from; i < Math.min(messages, from + WRITE_ROWS); i++) {
      const m = benchMessage(i);
      const offset = offsets[m.partition]!++;
      rows.push(
        toEventRow(
          1,
          topic,
          m.partition,
          { key: Buffer.from(m.key), value: m.value, headers: m.headers, timestamp: String(Date.now()), attributes: 0, offset: String(offset) },
          DEFAULT_EXTRACT_OPTIONS,
        ),
      );
    }
    const start = performance.now();
    await ingestEvents(db, rows);
    ingestSeconds += (performance.now() - start) / 1000;
  }
  return { seconds: ingestSeconds, eventsPerSec: rate(messages, ingestSeconds) };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Live load: LIVE_RATE events/s for `seconds`; latency from send to visible in `events`. */
async function liveLatency(kafka: Kafka, db: Database, topic: string, seconds: number, firstIndex: number, eventsPerSec: number) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  // Per partition, the sends not yet seen: [first offset, last offset, send time].
  const pending = Array.from({ length: PARTITIONS }, () => [] as { last: bigint; count: number; sentAt: number }[]);
  const latencies: number[] = [];
  let polling = true;
  const poller = (async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      while (polling || pending.some((list) => list.length > 0)) {
        const { rows } = await client.query<{ partition: number; max: string | null }>(
          `SELECT p AS partition, (SELECT max(position) FROM events WHERE source_id = 1 AND channel = $1 AND partition = p)::text AS max
             FROM generate_series(0, $2 - 1) AS p`,
          [topic, PARTITIONS],
        );
        const now = performance.now();
        for (const row of rows) {
          if (row.max === null) continue;
          const max = BigInt(row.max);
          const list = pending[row.partition]!;
          while (list.length > 0 && list[0]!.last <= max) {
            const sent = list.shift()!;
            for (let k = 0; k < sent.count; k++) latencies.push(now - sent.sentAt);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await client.end();
    }
  })();

  const sendsPerSecond = 100;
  const perSend = Math.max(1, Math.round(eventsPerSec / sendsPerSecond));
  const totalSends = seconds * sendsPerSecond;
  const start = performance.now();
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  for (let s = 0; s < totalSends; s++) {
    // Paced against the clock, not against the previous send: a slow send does not lower the rate.
    const due = start + (s * 1000) / sendsPerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const messages = Array.from({ length: perSend }, (_, k) => benchMessage(firstIndex + sent + k));
    sent += perSend;
    const sentAt = performance.now();
    const send = producer
      .send({ topic, acks: -1, compression: CompressionTypes.None, messages })
      .then((metadata) => {
        for (const m of metadata) {
          const count = messages.filter((msg) => msg.partition === m.partition).length;
          if (count === 0) continue;
          const list = pending[m.partition]!;
          const entry = { last: BigInt(m.baseOffset!) + BigInt(count - 1), count, sentAt };
          // Keep each partition's list in offset order (acknowledgements may overtake each other).
          let at = list.length;
          while (at > 0 && list[at - 1]!.last > entry.last) at--;
          list.splice(at, 0, entry);
        }
      })
      .finally(() => inFlight.delete(send));
    inFlight.add(send);
  }
  await Promise.all(inFlight);
  const produceSeconds = (performance.now() - start) / 1000;
  polling = false;
  await withDeadline(poller, 120_000, "the live events to become visible");
  await producer.disconnect();
  latencies.sort((x, y) => x - y);
  return {
    targetRate: eventsPerSec,
    events: sent,
    seconds,
    achievedRate: rate(sent, produceSeconds),
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    maxMs: Math.round(latencies[latencies.length - 1] ?? NaN),
  };
}

// ------------------------------------------------------------------ the benchmark

export interface CollectorBenchmarkResult {
  messages: number;
  partitions: number;
  valueBytes: number;
  writeRows: number;
  produce: { seconds: number; eventsPerSec: number };
  consumeOnly: { seconds: number; eventsPerSec: number; cpu: CpuSplit };
  ingestOnly: { seconds: number; eventsPerSec: number; cpu: CpuSplit };
  collector: { seconds: number; eventsPerSec: number; joinSeconds: number; writes: number; cpu: CpuSplit };
  /** (b) counted its flows `caughtUpSeconds` after its last event was stored; (b') is the catch-up without flows. */
  flows: {
    caughtUpSeconds: number;
    steps: number;
    withoutFlows: { seconds: number; eventsPerSec: number; writes: number; cpu: CpuSplit };
    dropPercent: number;
    /**
     * CPU of this process (the collector, its fold included) and PostgreSQL per event, µs, with and
     * without flows: what flows cost when the machine's other load moves the wall-clock rates.
     */
    cpuMicrosPerEvent: { withFlows: number; withoutFlows: number };
  };
  /** After (b): bytes the events table takes per stored event (heap with TOAST, and its indexes), next to bytes received per event. */
  storage: { receivedBytesPerEvent: number; tableBytesPerEvent: number; indexBytesPerEvent: number; totalBytesPerEvent: number };
  /** (d): the collector on the same events as Avro in the Schema Registry wire format, and its share of (b). */
  avro: { seconds: number; eventsPerSec: number; ratioToJson: number; cpu: CpuSplit };
  ratioToCeiling: number;
  live: Awaited<ReturnType<typeof liveLatency>> & { cpu?: CpuSplit };
  goals: typeof GOALS;
  verdicts: { throughput: string; ratio: string; latency: string; flowsCost: string };
}

export async function runCollectorBenchmark(
  options: BenchmarkOptions & { liveSeconds?: number; liveRate?: number } = {},
): Promise<CollectorBenchmarkResult> {
  const messages = options.messages ?? DEFAULT_MESSAGES;
  const liveSeconds = options.liveSeconds ?? DEFAULT_LIVE_SECONDS;
  const liveRate = options.liveRate ?? LIVE_RATE;
  const brokerDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-bench-collector-broker-"));
  const pgDataDir = makeTemporaryDataDir("eventscope-bench-collector-pg-");
  let broker: BrokerProcess | undefined;
  let server: EmbeddedPostgres | undefined;
  const databases: Database[] = [];
  try {
    broker = await startBrokerProcess({ dataDir: brokerDir, partitions: PARTITIONS });
    server = await startEmbeddedPostgres({ dataDir: pgDataDir, port: await findFreePort() });
    const kafka = new Kafka({ clientId: "eventscope-bench", brokers: [broker.address], logLevel: logLevel.WARN, retry: { retries: 5 } });
    const topic = `bench-collector-${Date.now()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();

    print(`producing ${messages} events of ~${VALUE_BYTES} B with 6 headers to ${PARTITIONS} partitions...`);
    const produceSeconds = await produceAll(kafka, topic, messages);
    print(`  produced in ${produceSeconds.toFixed(1)} s (${rate(messages, produceSeconds)}/s)`);

    print("(a) kafkajs consumer that does nothing...");
    let meter = cpuMeter(broker.pid, pgDataDir);
    const a = await consumeOnly(kafka, topic, messages);
    const aResult = { ...a, cpu: meter(a.seconds) };
    print(`  ${aResult.eventsPerSec} events/s (${a.seconds.toFixed(1)} s); cores: ${JSON.stringify(aResult.cpu)}`);

    print(`(c) ingestEvents (COPY) of the same rows, ${WRITE_ROWS} per write, without Kafka...`);
    const dbC = await createDatabase(server, "bench_ingest_only");
    databases.push(dbC);
    meter = cpuMeter(broker.pid, pgDataDir);
    const cStart = performance.now();
    const c = await ingestOnly(dbC, topic, messages);
    const cResult = { ...c, cpu: meter((performance.now() - cStart) / 1000) };
    print(`  ${cResult.eventsPerSec} events/s (${c.seconds.toFixed(1)} s in ingest); cores (extraction included): ${JSON.stringify(cResult.cpu)}`);
    await dbC.close();

    print("(b) the collector catching up...");
    const dbB = await createDatabase(server, "bench_collector");
    databases.push(dbB);
    const config = loadConfig({ KAFKA_BROKERS: broker.address, EVENTSCOPE_COLLECTOR_GROUP: `${topic}-collector` });
    let joinedAt = 0;
    const collectorLog: string[] = [];
    const started = performance.now();
    const collector = startCollector(config, {
      db: dbB,
      source: { id: 1, name: "default" },
      log: (line) => {
        collectorLog.push(line);
        if (line.startsWith("joined group") && joinedAt === 0) joinedAt = performance.now();
        if (/unavailable|failed|crashed/.test(line)) print(`  collector: ${line}`);
      },
    });
    let bResult: CollectorBenchmarkResult["collector"];
    let flowsCaughtUpSeconds = 0;
    let flowSteps = 0;
    let storage: CollectorBenchmarkResult["storage"];
    let live: CollectorBenchmarkResult["live"];
    let liveCpu: CpuSplit | undefined;
    try {
      await waitFor("the collector to join", () => joinedAt !== 0, 60_000, 10);
      meter = cpuMeter(broker.pid, pgDataDir);
      await withDeadline(waitFor("the collector to store every event", () => collector.stats().storedRows >= messages, PHASE_TIMEOUT_MS, 20), PHASE_TIMEOUT_MS, "(b)");
      const seconds = (performance.now() - joinedAt) / 1000;
      bResult = {
        seconds,
        eventsPerSec: rate(messages, seconds),
        joinSeconds: (joinedAt - started) / 1000,
        writes: collector.stats().writes,
        cpu: meter(seconds),
      };
      print(`  ${bResult.eventsPerSec} events/s (${seconds.toFixed(1)} s after joining, ${bResult.writes} writes); cores: ${JSON.stringify(bResult.cpu)}`);
      // The collector folds on its own timer (every 20 s while more than 100k steps wait, then every 2 s).
      const storedAt = performance.now();
      await withDeadline(waitFor("the fold to count every step", async () => (await pendingFlowSteps(dbB)) === 0, PHASE_TIMEOUT_MS, 100), PHASE_TIMEOUT_MS, "(b) flows");
      flowsCaughtUpSeconds = (performance.now() - storedAt) / 1000;
      const { rows: counted } = await dbB.pool.query<{ steps: string | null }>(`SELECT sum(event_count)::text AS steps FROM flow_entities`);
      flowSteps = Number(counted[0]!.steps ?? 0);
      print(`  flows caught up ${flowsCaughtUpSeconds.toFixed(1)} s after the events were stored (${flowSteps} steps)`);
      storage = await storagePerEvent(dbB);
      print(
        `  on disk per event: ${storage.totalBytesPerEvent} B (table ${storage.tableBytesPerEvent} B + indexes ${storage.indexBytesPerEvent} B) for ${storage.receivedBytesPerEvent} B received`,
      );

    } finally {
      await collector.stop();
    }

    print("(b') the collector catching up on the same topic with EVENTSCOPE_FLOWS=off...");
    const dbNoFlows = await createDatabase(server, "bench_collector_no_flows");
    databases.push(dbNoFlows);
    let withoutFlows: CollectorBenchmarkResult["flows"]["withoutFlows"];
    const noFlowsConfig = loadConfig({
      KAFKA_BROKERS: broker.address,
      EVENTSCOPE_COLLECTOR_GROUP: `${topic}-collector-no-flows`,
      EVENTSCOPE_TOPICS_INCLUDE: `^${topic}$`,
      EVENTSCOPE_FLOWS: "off",
    });
    let noFlowsJoinedAt = 0;
    const noFlowsCollector = startCollector(noFlowsConfig, {
      db: dbNoFlows,
      source: { id: 1, name: "default" },
      log: (line) => {
        if (line.startsWith("joined group") && noFlowsJoinedAt === 0) noFlowsJoinedAt = performance.now();
        if (/unavailable|failed|crashed/.test(line)) print(`  collector: ${line}`);
      },
    });
    try {
      await waitFor("the collector without flows to join", () => noFlowsJoinedAt !== 0, 60_000, 10);
      meter = cpuMeter(broker.pid, pgDataDir);
      await withDeadline(
        waitFor("the collector without flows to store every event", () => noFlowsCollector.stats().storedRows >= messages, PHASE_TIMEOUT_MS, 20),
        PHASE_TIMEOUT_MS,
        "(b')",
      );
      const seconds = (performance.now() - noFlowsJoinedAt) / 1000;
      withoutFlows = { seconds, eventsPerSec: rate(messages, seconds), writes: noFlowsCollector.stats().writes, cpu: meter(seconds) };
      print(`  ${withoutFlows.eventsPerSec} events/s (${seconds.toFixed(1)} s after joining, ${withoutFlows.writes} writes); cores: ${JSON.stringify(withoutFlows.cpu)}`);
    } finally {
      await noFlowsCollector.stop();
      await dbNoFlows.close();
    }
    const flowsDrop = Math.round(((withoutFlows.eventsPerSec - bResult.eventsPerSec) / withoutFlows.eventsPerSec) * 1000) / 10;
    const cpuPerEvent = (phase: { seconds: number; cpu: CpuSplit }) =>
      Math.round((((phase.cpu.benchProcess + phase.cpu.postgres) * phase.seconds) / messages) * 1e7) / 10;
    const flowsCpu = { withFlows: cpuPerEvent(bResult), withoutFlows: cpuPerEvent(withoutFlows) };

    print("(d) the collector catching up on the same events as Avro, through the Schema Registry...");
    const registry = await startSchemaRegistry({ port: 0, log: () => {} });
    let avroResult: CollectorBenchmarkResult["avro"];
    try {
      const avroTopic = `${topic}-avro`;
      const avroAdmin = kafka.admin();
      await avroAdmin.connect();
      await avroAdmin.createTopics({ topics: [{ topic: avroTopic, numPartitions: PARTITIONS }], waitForLeaders: true });
      await avroAdmin.disconnect();
      const registered = await fetch(`${registry.url}/subjects/${avroTopic}-value/versions`, {
        method: "POST",
        headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
        body: JSON.stringify({ schema: JSON.stringify(BENCH_AVRO_SCHEMA) }),
      });
      const { id: schemaId } = (await registered.json()) as { id: number };
      const avroProduceSeconds = await produceAll(kafka, avroTopic, messages, (i) => benchAvroMessage(i, schemaId));
      print(`  produced in ${avroProduceSeconds.toFixed(1)} s`);
      const dbD = await createDatabase(server, "bench_collector_avro");
      databases.push(dbD);
      const avroConfig = loadConfig({
        KAFKA_BROKERS: broker.address,
        EVENTSCOPE_COLLECTOR_GROUP: `${avroTopic}-collector`,
        EVENTSCOPE_TOPICS_INCLUDE: `^${avroTopic}$`,
        SCHEMA_REGISTRY_URL: registry.url,
      });
      let avroJoinedAt = 0;
      const avroCollector = startCollector(avroConfig, {
        db: dbD,
        source: { id: 1, name: "default" },
        log: (line) => {
          if (line.startsWith("joined group") && avroJoinedAt === 0) avroJoinedAt = performance.now();
          if (/unavailable|failed|crashed/.test(line)) print(`  collector: ${line}`);
        },
      });
      try {
        await waitFor("the Avro collector to join", () => avroJoinedAt !== 0, 60_000, 10);
        meter = cpuMeter(broker.pid, pgDataDir);
        await withDeadline(
          waitFor("the Avro collector to store every event", () => avroCollector.stats().storedRows >= messages, PHASE_TIMEOUT_MS, 20),
          PHASE_TIMEOUT_MS,
          "(d)",
        );
        const seconds = (performance.now() - avroJoinedAt) / 1000;
        const eventsPerSec = rate(messages, seconds);
        avroResult = { seconds, eventsPerSec, ratioToJson: Math.round((eventsPerSec / bResult.eventsPerSec) * 100) / 100, cpu: meter(seconds) };
        const { rows } = await dbD.pool.query<{ decoded: string }>(
          `SELECT count(*) FILTER (WHERE schema_id IS NOT NULL AND event_type IS NOT NULL)::text AS decoded FROM events`,
        );
        print(
          `  ${eventsPerSec} events/s (${seconds.toFixed(1)} s, ${rows[0]!.decoded} decoded), ${avroResult.ratioToJson} of JSON's ${bResult.eventsPerSec}/s; cores: ${JSON.stringify(avroResult.cpu)}`,
        );
      } finally {
        await avroCollector.stop();
        await dbD.close();
      }
    } finally {
      await registry.stop();
    }

    // The live load comes from this process; the collector runs as its own process (the CLI, as
    // users run it, admin poller included), so that producing does not share its event loop.
    print(`live: ${liveRate} events/s for ${liveSeconds} s, send → visible in events (collector as its own process)...`);
    const collectorProcess = startCollectorProcess({
      KAFKA_BROKERS: broker.address,
      DATABASE_URL: dbB.url,
      EVENTSCOPE_COLLECTOR_GROUP: `${topic}-collector`,
      // Only the JSON topic: (d)'s Avro topic is not this phase's to read.
      EVENTSCOPE_TOPICS_INCLUDE: `^${topic}$`,
    });
    try {
      await waitFor("the collector process to join its group", () => collectorProcess.output().includes("joined group"), 60_000);
      meter = cpuMeter(broker.pid, pgDataDir);
      live = await liveLatency(kafka, dbB, topic, liveSeconds, messages, liveRate);
      liveCpu = meter(liveSeconds);
      print(
        `  ${live.events} events at ${live.achievedRate}/s: p50 ${live.p50Ms} ms, p99 ${live.p99Ms} ms, max ${live.maxMs} ms; ` +
          `cores (the collector process is in "other"): ${JSON.stringify(liveCpu)}`,
      );
    } catch (error) {
      print(`collector process output:\n${collectorProcess.output()}`);
      throw error;
    } finally {
      await collectorProcess.kill("SIGTERM");
      await dbB.close();
    }

    const ratio = Math.round((bResult.eventsPerSec / Math.min(aResult.eventsPerSec, cResult.eventsPerSec)) * 100) / 100;
    const verdicts = {
      throughput: bResult.eventsPerSec >= GOALS.collectorEventsPerSec ? "PASS" : "BELOW",
      ratio: ratio >= GOALS.ratioToCeiling ? "PASS" : "BELOW",
      latency: live.p99Ms < GOALS.latencyP99Ms ? "PASS" : "BELOW",
      flowsCost: flowsDrop <= GOALS.flowsCostPercent ? "PASS" : "ABOVE",
    };
    print(
      `b / min(a, c) = ${bResult.eventsPerSec} / ${Math.min(aResult.eventsPerSec, cResult.eventsPerSec)} = ${ratio}` +
        ` (goal >= ${GOALS.ratioToCeiling}: ${verdicts.ratio}); b goal >= ${GOALS.collectorEventsPerSec}/s: ${verdicts.throughput};` +
        ` p99 goal < ${GOALS.latencyP99Ms} ms: ${verdicts.latency}; flows cost goal <= ${GOALS.flowsCostPercent}%: ${verdicts.flowsCost}`,
    );
    const rawRatio = Math.round((bResult.eventsPerSec / aResult.eventsPerSec) * 100) / 100;
    print(`collector catch-up: ${bResult.eventsPerSec} events/s = ${rawRatio} x raw kafkajs consume (${aResult.eventsPerSec} events/s), same run`);
    print(
      `flows cost: catch-up ${bResult.eventsPerSec} events/s with flows, ${withoutFlows.eventsPerSec} events/s without = ${flowsDrop}% drop` +
        ` (goal <= ${GOALS.flowsCostPercent}%), same run`,
    );
    print(`flows caught up ${flowsCaughtUpSeconds.toFixed(1)} s after the events were stored (${flowSteps} steps)`);
    print(`flows CPU: ${flowsCpu.withFlows} µs per event with flows, ${flowsCpu.withoutFlows} µs without (collector with its fold, and PostgreSQL)`);
    return {
      messages,
      partitions: PARTITIONS,
      valueBytes: VALUE_BYTES,
      writeRows: WRITE_ROWS,
      produce: { seconds: produceSeconds, eventsPerSec: rate(messages, produceSeconds) },
      consumeOnly: aResult,
      ingestOnly: cResult,
      collector: bResult,
      flows: { caughtUpSeconds: Math.round(flowsCaughtUpSeconds * 10) / 10, steps: flowSteps, withoutFlows, dropPercent: flowsDrop, cpuMicrosPerEvent: flowsCpu },
      storage,
      avro: avroResult,
      ratioToCeiling: ratio,
      live: { ...live, cpu: liveCpu },
      goals: GOALS,
      verdicts,
    };
  } finally {
    for (const db of databases) await db.close().catch(() => undefined);
    await server?.stop();
    await broker?.kill("SIGTERM");
    fs.rmSync(brokerDir, { recursive: true, force: true });
    fs.rmSync(path.dirname(pgDataDir), { recursive: true, force: true });
  }
}

/** The events table's size (heap with TOAST, then its indexes) per stored row, and the bytes received per row. */
async function storagePerEvent(db: { pool: pg.Pool }): Promise<CollectorBenchmarkResult["storage"]> {
  await db.pool.query("VACUUM ANALYZE events");
  const { rows } = await db.pool.query<{ rows: string; received: string; heap: string; indexes: string }>(
    `SELECT count(*)::text AS rows, coalesce(sum(size), 0)::text AS received,
            pg_table_size('events')::text AS heap, pg_indexes_size('events')::text AS indexes FROM events`,
  );
  const count = Math.max(1, Number(rows[0]!.rows));
  const per = (bytes: string) => Math.round(Number(bytes) / count);
  const table = per(rows[0]!.heap);
  const indexes = per(rows[0]!.indexes);
  return { receivedBytesPerEvent: per(rows[0]!.received), tableBytesPerEvent: table, indexBytesPerEvent: indexes, totalBytesPerEvent: table + indexes };
}

// ------------------------------------------------------------------ standalone

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const messagesText = flag("--messages") ?? process.env.BENCH_MESSAGES;
  const liveText = flag("--live-seconds");
  const rateText = flag("--live-rate");
  const result = await runCollectorBenchmark({
    messages: messagesText ? Number(messagesText) : undefined,
    liveSeconds: liveText ? Number(liveText) : undefined,
    liveRate: rateText ? Number(rateText) : undefined,
  });
  if (args.includes("--no-save")) return;
  saveStandaloneResult("collector", result, print);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
