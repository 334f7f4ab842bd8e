import { saveStandaloneResult } from "./results.ts";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { Session } from "node:inspector/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CompressionTypes, Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { startBrokerProcess, type BrokerProcess } from "../server/broker/process-support.ts";
import { startCollector } from "../server/collector/collector.ts";
import { loadConfig } from "../server/config.ts";
import { connectDatabase, findFreePort, makeTemporaryDataDir, runMigrations, startEmbeddedPostgres, type Database, type EmbeddedPostgres } from "../server/db/index.ts";
import { benchMessage, consumeOnly } from "./collector.ts";
import { buildBatch, ddl, LAYOUTS, writeBatch } from "./ingest-layouts.ts";
import { DEFAULT_EXTRACT_OPTIONS } from "../server/collector/extract/index.ts";
import { toEventRow } from "../server/collector/to-event-row.ts";
import type { EventRow } from "../server/db/index.ts";

/**
 * Where the collector's CPU goes while it catches up. The real collector
 * (server/collector's startCollector, in this process) reads a topic pre-filled with the collector
 * benchmark's ~1 KB JSON events from the embedded broker (its own process) into a fresh embedded
 * PostgreSQL (normal durability), under V8's sampling profiler (node:inspector, in-process).
 * Before it, a kafkajs consumer that does nothing reads the same topic (the ceiling, same run).
 *
 * Prints: events/s of both, CPU µs per event of this process, PostgreSQL and the broker, the
 * profile's self time grouped by what the code is (kafkajs fetch/decode, extraction, building the
 * COPY, the pg driver, GC, …; a built-in such as JSON.parse counts for the code that called it),
 * and the top self-time functions. Saves the summary to bench/results/collector-profile-<date>.json
 * and the whole profile (.cpuprofile, for Chrome DevTools) to the system's temporary directory.
 *
 * Then, with --prototype (the default), a prototype of the recommended write path
 * (bench/ingest-layouts.md) on the same topic, profiled the same way: kafkajs with the collector's
 * fetch settings, extraction by the collector's own toEventRow, binary COPY into the `lean` layout
 * of bench/ingest-layouts.ts (events + side tables), two writes in flight on distinct partitions,
 * offsets committed after their rows are stored. It leaves out what the collector does besides
 * (dead letters, aggregates, health, undecodable batches), so it bounds what the layout and the
 * write path can give rather than predicting the collector exactly.
 *
 *   npx tsx bench/collector-profile.ts [--messages N] [--no-prototype] [--no-save]
 */

const PARTITIONS = 3;
const print = (line: string) => process.stdout.write(`${line}\n`);

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}
function postgresCpuSeconds(dataDir: string): number {
  const postmaster = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  let total = processCpuSeconds(postmaster);
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster) total += processCpuSeconds(Number(entry));
    } catch {
      // gone
    }
  }
  return total;
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ------------------------------------------------------------------ the profile, summarised

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What the code at a URL is; null: a built-in or runtime frame, counted for its caller. */
function categoryOf(url: string, name: string): string | null {
  if (name === "(garbage collector)") return "garbage collection";
  if (name === "(idle)") return "idle";
  if (name === "(program)") return "program (V8, not attributed)";
  if (url.includes("node_modules/kafkajs/src/protocol")) return "kafkajs protocol (fetch decode, record batches)";
  if (url.includes("node_modules/kafkajs")) return "kafkajs client (consumer, network)";
  if (url.includes("/server/kafka/")) return "server/kafka (codecs, undecodable-batch wrapper)";
  if (url.includes("/server/collector/extract/")) return "extraction (server/collector/extract)";
  if (url.includes("/server/collector/to-event-row")) return "to-event-row";
  if (url.includes("/server/collector/")) return "collector plumbing (session, writer)";
  if (url.includes("/bench/ingest-layouts")) return "prototype: binary COPY build (bench/ingest-layouts.ts)";
  if (url.includes("/server/db/ingest")) return "ingest: rows to COPY text (server/db/ingest.ts)";
  if (url.includes("/lib/json-shape")) return "ingest: JSON shape for event_type_fields (lib/json-shape.ts)";
  if (url.includes("node_modules/pg-copy-streams")) return "pg driver (pg, pg-protocol, pg-copy-streams)";
  if (url.includes("node_modules/pg")) return "pg driver (pg, pg-protocol, pg-copy-streams)";
  if (url.startsWith("node:")) return null;
  if (url.includes("node_modules/")) return `other package: ${url.slice(url.lastIndexOf("node_modules/") + 13).split("/")[0]}`;
  if (url === "") return null;
  return `other: ${path.basename(url)}`;
}

export function summariseProfile(profile: Profile, top = 30) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfMicros = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const categoryCache = new Map<number, string>();
  const categoryOfNode = (id: number): string => {
    const known = categoryCache.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    let category = categoryOf(node.callFrame.url, node.callFrame.functionName);
    if (category === null) {
      const up = parent.get(id);
      category = up === undefined ? "node internals / runtime" : categoryOfNode(up);
      if (category === "idle" || category === "program (V8, not attributed)") category = "node internals / runtime";
      if (up !== undefined && byId.get(up)!.callFrame.functionName === "(root)") category = "node internals / runtime";
    }
    categoryCache.set(id, category);
    return category;
  };
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id)!;
    const category = node.callFrame.functionName === "(root)" ? "node internals / runtime" : categoryOfNode(id);
    categories.set(category, (categories.get(category) ?? 0) + micros);
    total += micros;
    if (category !== "idle") busy += micros;
    const url = node.callFrame.url;
    const where = url ? `${url.includes("node_modules/") ? url.slice(url.lastIndexOf("node_modules/") + 13) : url.replace(/^.*?\/(server|lib|bench)\//, "$1/")}:${node.callFrame.lineNumber + 1}` : "(native)";
    const name = `${node.callFrame.functionName || "(anonymous)"} ${where}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return {
    sampledSeconds: Math.round(total / 1e4) / 100,
    busySeconds: Math.round(busy / 1e4) / 100,
    categories: sorted(categories).map(([category, micros]) => ({ category, seconds: Math.round(micros / 1e4) / 100, shareOfBusy: category === "idle" ? null : Math.round((micros / busy) * 1000) / 10 })),
    topFunctions: sorted(functions)
      .filter(([name]) => !name.startsWith("(idle)"))
      .slice(0, top)
      .map(([fn, micros]) => ({ function: fn, seconds: Math.round(micros / 1e4) / 100, shareOfBusy: Math.round((micros / busy) * 1000) / 10 })),
  };
}

// ------------------------------------------------------------------ the run

async function produceAll(kafka: Kafka, topic: string, messages: number): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let next = 0;
  const sendLoop = async () => {
    while (next < messages) {
      const from = next;
      next = Math.min(messages, next + 500);
      const batch = [];
      for (let i = from; i < next; i++) batch.push(benchMessage(i));
      await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: batch });
    }
  };
  await Promise.all(Array.from({ length: 4 }, sendLoop));
  await producer.disconnect();
}


/** The recommended write path, in miniature: fetch → toEventRow → binary COPY (lean layout), two writes in flight, commit after store. */
async function runPrototype(kafka: Kafka, topic: string, messages: number, db: Database): Promise<{ seconds: number }> {
  const layout = LAYOUTS.lean!;
  for (const sql of ddl(layout)) await db.pool.query(sql);
  const clients = await Promise.all([db.pool.connect(), db.pool.connect()]);
  const consumer = kafka.consumer({
    groupId: `${topic}-prototype`,
    allowAutoTopicCreation: false,
    maxBytes: 16 * 1024 * 1024,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 1_000,
  });
  type Chunk = { partition: number; rows: EventRow[]; next: string };
  const queue: Chunk[] = [];
  const busy = new Set<number>();
  let queuedRows = 0;
  let stored = 0;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const workers = clients.map(async (client) => {
    while (stored < messages && failure === null) {
      const at = queue.findIndex((chunk) => !busy.has(chunk.partition));
      if (at < 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
        continue;
      }
      const [chunk] = queue.splice(at, 1) as [Chunk];
      busy.add(chunk.partition);
      try {
        await writeBatch(client, layout, await buildBatch(layout, chunk.rows, true));
        await consumer.commitOffsets([{ topic, partition: chunk.partition, offset: chunk.next }]);
      } catch (error) {
        failure = error;
      }
      busy.delete(chunk.partition);
      queuedRows -= chunk.rows.length;
      stored += chunk.rows.length;
      notify();
    }
  });
  await consumer.connect();
  let joinedAt = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joinedAt === 0) joinedAt = performance.now();
  });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      // Backpressure as the EventWriter's: at most 20,000 rows waiting.
      while (queuedRows > 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        await heartbeat();
      }
      for (let from = 0; from < batch.messages.length; from += 5_000) {
        const slice = batch.messages.slice(from, from + 5_000);
        const rows = slice.map((message) => toEventRow(1, batch.topic, batch.partition, message, DEFAULT_EXTRACT_OPTIONS));
        const last = slice[slice.length - 1]!.offset;
        queue.push({ partition: batch.partition, rows, next: (BigInt(last) + 1n).toString() });
        queuedRows += rows.length;
        resolveOffset(last);
      }
      notify();
    },
  });
  try {
    await waitFor("the prototype to store every event", () => stored >= messages || failure !== null, 30 * 60_000);
    if (failure !== null) throw failure;
    const seconds = (performance.now() - joinedAt) / 1000;
    const { rows } = await db.pool.query<{ n: string }>("SELECT count(*)::text AS n FROM events");
    if (Number(rows[0]!.n) !== messages) throw new Error(`prototype stored ${rows[0]!.n} of ${messages} events`);
    return { seconds };
  } finally {
    await consumer.disconnect();
    await Promise.all(workers);
    for (const client of clients) client.release();
  }
}

async function createDatabase(server: EmbeddedPostgres, name: string, migrate: boolean): Promise<Database> {
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server.adminUrl.replace(/\/postgres$/, `/${name}`);
  if (migrate) await runMigrations(url);
  return connectDatabase(url, { maxConnections: 4 });
}

async function profiled<T>(run: () => Promise<T>): Promise<{ result: T; profile: Profile }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  try {
    const result = await run();
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

function printSummary(summary: ReturnType<typeof summariseProfile>, messages: number, profileFile: string): void {
  print(`profile (${summary.busySeconds} s busy of ${summary.sampledSeconds} s sampled; whole profile: ${profileFile}):`);
  for (const c of summary.categories) {
    const perEvent = (c.seconds * 1e6) / messages;
    print(`  ${c.category.padEnd(62)} ${c.seconds.toFixed(2).padStart(7)} s ${perEvent.toFixed(1).padStart(6)} µs/event ${c.shareOfBusy === null ? "" : `${c.shareOfBusy}%`}`);
  }
  print("top self-time functions:");
  for (const f of summary.topFunctions) print(`  ${f.shareOfBusy.toFixed(1).padStart(5)}% ${f.seconds.toFixed(2).padStart(6)} s  ${f.function}`);
}

export async function runCollectorProfile(options: { messages?: number; prototype?: boolean } = {}) {
  const messages = options.messages ?? 200_000;
  const brokerDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-profile-broker-"));
  const pgDataDir = makeTemporaryDataDir("eventscope-profile-pg-");
  let broker: BrokerProcess | undefined;
  let server: EmbeddedPostgres | undefined;
  let db: Database | undefined;
  try {
    broker = await startBrokerProcess({ dataDir: brokerDir, partitions: PARTITIONS });
    server = await startEmbeddedPostgres({ dataDir: pgDataDir, port: await findFreePort() });
    db = await createDatabase(server, "profile_collector", true);

    const kafka = new Kafka({ clientId: "eventscope-profile", brokers: [broker.address], logLevel: logLevel.WARN });
    const topic = `profile-${Date.now()}`;
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await kafkaAdmin.disconnect();
    print(`producing ${messages} events...`);
    await produceAll(kafka, topic, messages);

    const self0 = process.cpuUsage();
    const consumeSeconds = (await consumeOnly(kafka, topic, messages)).seconds;
    const selfConsume = process.cpuUsage(self0);
    const consume = { eventsPerSec: Math.round(messages / consumeSeconds), nodeMicrosPerEvent: Math.round((selfConsume.user + selfConsume.system) / messages) };
    print(`(a) kafkajs doing nothing: ${consume.eventsPerSec} events/s, ${consume.nodeMicrosPerEvent} µs CPU/event (this process)`);

    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 500 });

    const config = loadConfig({ KAFKA_BROKERS: broker.address, EVENTSCOPE_COLLECTOR_GROUP: `${topic}-collector`, EVENTSCOPE_TOPICS_INCLUDE: `^${topic}$` });
    let joinedAt = 0;
    let cpu0 = process.cpuUsage();
    let pg0 = 0;
    let broker0 = 0;
    const collector = startCollector(config, {
      db,
      source: { id: 1, name: "default" },
      log: (line) => {
        if (line.startsWith("joined group") && joinedAt === 0) {
          joinedAt = performance.now();
          cpu0 = process.cpuUsage();
          pg0 = postgresCpuSeconds(pgDataDir);
          broker0 = processCpuSeconds(broker!.pid);
          void session.post("Profiler.start");
        }
      },
    });
    let profile: Profile;
    let collect;
    try {
      await waitFor("the collector to join", () => joinedAt !== 0, 60_000);
      await waitFor("the collector to store every event", () => collector.stats().storedRows >= messages, 30 * 60_000);
      const seconds = (performance.now() - joinedAt) / 1000;
      const cpu = process.cpuUsage(cpu0);
      ({ profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile });
      const pgSeconds = postgresCpuSeconds(pgDataDir) - pg0;
      const brokerSeconds = processCpuSeconds(broker.pid) - broker0;
      collect = {
        eventsPerSec: Math.round(messages / seconds),
        ratioToKafkajs: Math.round((messages / seconds / consume.eventsPerSec) * 100) / 100,
        collectorMicrosPerEvent: Math.round((cpu.user + cpu.system) / messages),
        postgresMicrosPerEvent: Math.round((pgSeconds * 1e6) / messages),
        brokerMicrosPerEvent: Math.round((brokerSeconds * 1e6) / messages),
        cores: {
          collector: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100) / 100,
          postgres: Math.round((pgSeconds / seconds) * 100) / 100,
          broker: Math.round((brokerSeconds / seconds) * 100) / 100,
        },
      };
    } finally {
      await collector.stop();
      session.disconnect();
    }
    print(
      `(b) collector: ${collect.eventsPerSec} events/s = ${collect.ratioToKafkajs} × (a); CPU µs/event: collector ${collect.collectorMicrosPerEvent}, PostgreSQL ${collect.postgresMicrosPerEvent}, broker ${collect.brokerMicrosPerEvent}; cores ${JSON.stringify(collect.cores)}`,
    );
    const profileFile = path.join(os.tmpdir(), `eventscope-collector-${Date.now()}.cpuprofile`);
    fs.writeFileSync(profileFile, JSON.stringify(profile));
    const summary = summariseProfile(profile);
    printSummary(summary, messages, profileFile);

    let prototype;
    if (options.prototype !== false) {
      const protoDb = await createDatabase(server, "profile_prototype", false);
      try {
        const cpu0 = process.cpuUsage();
        const pgStart = postgresCpuSeconds(pgDataDir);
        const { result, profile: protoProfile } = await profiled(() => runPrototype(kafka, topic, messages, protoDb));
        const cpu = process.cpuUsage(cpu0);
        const pgSeconds = postgresCpuSeconds(pgDataDir) - pgStart;
        // The prototype's clock starts at its group join, like (b)'s; its CPU includes the join (a few ms).
        prototype = {
          eventsPerSec: Math.round(messages / result.seconds),
          ratioToKafkajs: Math.round((messages / result.seconds / consume.eventsPerSec) * 100) / 100,
          ratioToCollector: Math.round((messages / result.seconds / collect.eventsPerSec) * 100) / 100,
          nodeMicrosPerEvent: Math.round((cpu.user + cpu.system) / messages),
          postgresMicrosPerEvent: Math.round((pgSeconds * 1e6) / messages),
          cores: {
            node: Math.round(((cpu.user + cpu.system) / 1e6 / result.seconds) * 100) / 100,
            postgres: Math.round((pgSeconds / result.seconds) * 100) / 100,
          },
        };
        print(
          `(c) prototype (lean layout, binary COPY, two writes in flight): ${prototype.eventsPerSec} events/s = ${prototype.ratioToKafkajs} × (a), ${prototype.ratioToCollector} × (b); CPU µs/event: node ${prototype.nodeMicrosPerEvent}, PostgreSQL ${prototype.postgresMicrosPerEvent}; cores ${JSON.stringify(prototype.cores)}`,
        );
        const protoFile = path.join(os.tmpdir(), `eventscope-prototype-${Date.now()}.cpuprofile`);
        fs.writeFileSync(protoFile, JSON.stringify(protoProfile));
        const protoSummary = summariseProfile(protoProfile);
        printSummary(protoSummary, messages, protoFile);
        prototype = { ...prototype, profile: protoSummary };
      } finally {
        await protoDb.close();
      }
    }
    return { messages, consume, collect, profile: summary, prototype };
  } finally {
    await db?.close().catch(() => undefined);
    await server?.stop();
    await broker?.kill("SIGTERM");
    fs.rmSync(brokerDir, { recursive: true, force: true });
    fs.rmSync(path.dirname(pgDataDir), { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--messages");
  const result = await runCollectorProfile({ messages: at >= 0 ? Number(args[at + 1]) : undefined, prototype: !args.includes("--no-prototype") });
  if (args.includes("--no-save")) return;
  saveStandaloneResult("collector-profile", result, (line) => process.stdout.write(`${line}\n`));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
