import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CompressionTypes, Kafka, logLevel, Partitioners } from "kafkajs";
import type { BenchmarkOptions } from "./run.ts";

/**
 * Throughput and footprint of the embedded broker (server/broker/) under a kafkajs producer and a
 * kafkajs consumer group.
 *
 * The broker runs as its own process (the CLI), so its CPU time and memory are read from
 * /proc/<pid> and are not mixed with the client's. Both share the machine's cores: the bench
 * process's own CPU is reported next to the broker's to show which side limits throughput.
 */

const KAFKAJS_VERSION = (createRequire(import.meta.url)("kafkajs/package.json") as { version: string }).version;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BROKER_CLI = path.join(REPO_ROOT, "server", "broker", "cli.ts");

export const DEFAULT_MESSAGES = 1_000_000;
const VALUE_BYTES = 1024;
const BATCH_SIZE = 100;
/** Produce requests in flight at once: enough that the broker always has the next one queued. */
const SENDS_IN_FLIGHT = 8;
const PARTITIONS = 3;
const FETCH_MAX_BYTES = 10 * 1024 * 1024;
/** Memory is sampled this many times over the produce phase. */
const RSS_SAMPLES = 10;
/** Produced and consumed on a throw-away topic before measuring, so neither JIT starts cold. */
const WARMUP_MESSAGES = 20_000;
/** Other processes' CPU during a phase above which the figures are flagged as measured under contention. */
const CONTENDED_CORES = 0.2;
const BROKER_START_TIMEOUT_MS = 30_000;
const BROKER_STOP_TIMEOUT_MS = 30_000;
const PHASE_TIMEOUT_MS = 15 * 60_000;

/** The goals, on the 2-core machine. */
export const GOALS = {
  produceMsgPerSec: 100_000,
  consumeMsgPerSec: 200_000,
  /**
   * With --data-dir, the broker's RSS may not grow with the messages stored: over the second half
   * of the produce phase (heap warm-up done) it grows by less than this share of the payload written.
   */
  dataDirRssGrowthPerPayloadByte: 0.05,
  /** Below this many messages the memory verdict is noise (GC heap sizing), not a finding. */
  minMessagesForMemoryVerdict: 100_000,
} as const;

export type BrokerMode = "memory" | "data-dir";
const MODES: BrokerMode[] = ["memory", "data-dir"];

type Verdict = "PASS" | "BELOW" | "n/a";

interface ProcessCpu {
  /** CPU seconds (user + system) of the process during the phase. */
  seconds: number;
  perMillionMessages: number;
  /** seconds / wall seconds: 1.0 is one core kept busy for the whole phase. */
  cores: number;
}

interface PhaseResult {
  messages: number;
  payloadBytes: number;
  wallSeconds: number;
  msgPerSec: number;
  /** Payload (record values) only, 10^6 bytes per MB. */
  mbPerSec: number;
  broker: ProcessCpu;
  bench: ProcessCpu;
  otherCores: number;
  goalMsgPerSec: number;
  verdict: Verdict;
}

export interface ModeResult {
  mode: BrokerMode;
  produce: PhaseResult;
  consume: PhaseResult & {
    /** From consumer.run() until the group was joined; not in wallSeconds nor in the CPU figures. */
    groupJoinSeconds: number;
  };
  memory: {
    rssStartBytes: number;
    rssAfterProduceBytes: number;
    rssEndBytes: number;
    /** VmHWM: the broker's peak resident set over its whole life. */
    peakRssBytes: number;
    /** RSS as the produce phase went on: messages acknowledged so far → broker RSS. */
    produceRssSamples: { messages: number; rssBytes: number }[];
    /** RSS growth over the second half of the produce phase ÷ payload bytes written in it. */
    secondHalfGrowthPerPayloadByte: number;
    /** Judged for --data-dir only; in memory every stored batch is resident by design. */
    verdict: Verdict;
  };
  /** Size of the log files after the produce phase (data-dir mode). */
  dataDirBytes: number | null;
  /**
   * The same messages produced by kcat (librdkafka, C) instead of kafkajs: a client cheap enough
   * that the broker's own produce capacity shows. Its `bench` CPU is this process idling.
   */
  librdkafkaProduce: PhaseResult;
}

export interface BrokerBenchmarkResult {
  messages: number;
  valueBytes: number;
  batchSize: number;
  sendsInFlight: number;
  partitions: number;
  acks: number;
  compression: "none";
  fetchMaxBytes: number;
  clientLibrary: string;
  goals: typeof GOALS;
  modes: ModeResult[];
}

// ------------------------------------------------------------------ /proc readers

/** Clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
function clockTicksPerSecond(): number {
  const out = execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim();
  const n = Number(out);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`getconf CLK_TCK gave "${out}"`);
  return n;
}
const CLK_TCK = clockTicksPerSecond();

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat). */
function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / CLK_TCK;
}

/** A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), in bytes. */
function processStatusBytes(pid: number, key: "VmRSS" | "VmHWM"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(status);
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * CPU seconds all cores spent busy or stolen by the hypervisor (neither idle nor waiting for I/O)
 * since boot, from /proc/stat. What is left after subtracting the broker and the bench is other
 * load, and a figure measured while it is high is not comparable.
 */
function machineBusySeconds(): number {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLK_TCK;
}

function benchCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface PhaseCpu {
  broker: ProcessCpu;
  bench: ProcessCpu;
  /**
   * Everything else that kept the machine's cores busy, in cores: other processes, kernel threads,
   * and time the hypervisor gave to other guests (steal). Near 0 for a comparable figure.
   */
  otherCores: number;
}

/** CPU of the broker, of this process and of the rest of the machine over one phase. */
function cpuMeter(brokerPid: number) {
  const broker0 = processCpuSeconds(brokerPid);
  const bench0 = benchCpuSeconds();
  const machine0 = machineBusySeconds();
  return (messages: number, wallSeconds: number): PhaseCpu => {
    const figure = (seconds: number): ProcessCpu => ({
      seconds,
      perMillionMessages: (seconds / messages) * 1e6,
      cores: seconds / wallSeconds,
    });
    const broker = figure(processCpuSeconds(brokerPid) - broker0);
    const bench = figure(benchCpuSeconds() - bench0);
    const other = machineBusySeconds() - machine0 - broker.seconds - bench.seconds;
    return { broker, bench, otherCores: Math.max(0, other / wallSeconds) };
  };
}

// ------------------------------------------------------------------ the broker process

interface BrokerProcess {
  child: ChildProcess;
  pid: number;
  address: string;
  stop(): Promise<void>;
}

/**
 * Starts `server/broker/cli.ts` as its own Node process. `node --import tsx` rather than
 * `npx tsx`, which would put npm and tsx's own launcher between us and the broker: the pid we
 * read /proc for must be the process that serves.
 */
async function startBrokerProcess(dataDir: string | null, profileDir: string | undefined): Promise<BrokerProcess> {
  const nodeArgs = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const cliArgs = ["--port", "0", ...(dataDir ? ["--data-dir", dataDir] : [])];
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", BROKER_CLI, ...cliArgs], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The broker's log, kept to explain a failure.
  const logTail: string[] = [];
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    logTail.push(...text.split("\n").filter(Boolean));
    logTail.splice(0, Math.max(0, logTail.length - 50));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker did not start within ${BROKER_START_TIMEOUT_MS} ms:\n${logTail.join("\n")}`));
    }, BROKER_START_TIMEOUT_MS);
    child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      out += text;
      const m = /broker listening on (\S+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with code ${code} before listening:\n${logTail.join("\n")}`));
    });
  });

  return {
    child,
    pid: child.pid!,
    address,
    async stop() {
      if (exitCode !== undefined) throw new Error(`broker had already exited with code ${exitCode}:\n${logTail.join("\n")}`);
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), BROKER_STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`broker exited with code ${code} on SIGTERM:\n${logTail.join("\n")}`);
    },
  };
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** Rejects if `promise` has not settled within `ms`, so a stalled phase fails instead of hanging. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------ produce and consume

interface Timed {
  seconds: number;
  cpu: PhaseCpu;
}

/**
 * Sends `messages` values in sends of BATCH_SIZE, SENDS_IN_FLIGHT at a time; resolves when every
 * send is acknowledged (acks -1). `onAcked` sees the running count after each acknowledgement.
 */
async function produceAll(kafka: Kafka, brokerPid: number, topic: string, messages: number, onAcked: (acked: number, sendsDone: number) => void): Promise<Timed> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const value = Buffer.alloc(VALUE_BYTES, "eventscope ");
    const sends = Math.ceil(messages / BATCH_SIZE);
    let nextSend = 0;
    let acked = 0;
    let sendsDone = 0;
    const sendLoop = async () => {
      while (nextSend < sends) {
        const i = nextSend++;
        const count = Math.min(BATCH_SIZE, messages - i * BATCH_SIZE);
        await producer.send({
          topic,
          acks: -1,
          compression: CompressionTypes.None,
          messages: Array.from({ length: count }, () => ({ value })),
        });
        acked += count;
        onAcked(acked, ++sendsDone);
      }
    };
    const meter = cpuMeter(brokerPid);
    const start = performance.now();
    await withDeadline(Promise.all(Array.from({ length: SENDS_IN_FLIGHT }, sendLoop)), PHASE_TIMEOUT_MS, "produce");
    const seconds = (performance.now() - start) / 1000;
    return { seconds, cpu: meter(messages, seconds) };
  } finally {
    await producer.disconnect();
  }
}

/**
 * Reads `topic` from the beginning in a new consumer group until `messages` have been seen. The
 * clock and the CPU meters start once the group is joined: joining is reported on its own.
 */
async function consumeAll(kafka: Kafka, brokerPid: number, topic: string, messages: number): Promise<Timed & { joinSeconds: number; bytes: number }> {
  const consumer = kafka.consumer({
    groupId: `${topic}-group`,
    maxBytes: FETCH_MAX_BYTES,
    maxBytesPerPartition: FETCH_MAX_BYTES,
    // The data is all there, so a fetch never waits; short so that disconnect() is prompt.
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let seen = 0;
    let bytes = 0;
    let joinedAt = 0;
    let meter: ReturnType<typeof cpuMeter> | null = null;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (joinedAt !== 0) return;
      joinedAt = performance.now();
      meter = cpuMeter(brokerPid);
    });
    let allSeen!: () => void;
    const allSeenPromise = new Promise<void>((resolve) => (allSeen = resolve));
    const runStart = performance.now();
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        seen += batch.messages.length;
        if (seen >= messages) allSeen();
      },
    });
    await withDeadline(allSeenPromise, PHASE_TIMEOUT_MS, "consume");
    const seconds = (performance.now() - joinedAt) / 1000;
    const cpu = meter!(messages, seconds);
    if (seen !== messages) throw new Error(`consumed ${seen} messages of ${topic}, produced ${messages}`);
    return { seconds, cpu, joinSeconds: (joinedAt - runStart) / 1000, bytes };
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Produces `messages` values of VALUE_BYTES with kcat from a file written beforehand (so that
 * generating them costs nothing during the measurement); acks=all, librdkafka's own batching.
 */
async function produceWithKcat(address: string, brokerPid: number, topic: string, messages: number): Promise<Timed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-bench-kcat-"));
  try {
    const file = path.join(dir, "values");
    const line = Buffer.alloc(VALUE_BYTES + 1, "e");
    line[VALUE_BYTES] = 0x0a;
    const chunkLines = 4096;
    const chunk = Buffer.concat(Array.from({ length: chunkLines }, () => line));
    const fd = fs.openSync(file, "w");
    for (let written = 0; written < messages; written += chunkLines) {
      const n = Math.min(chunkLines, messages - written);
      fs.writeSync(fd, chunk, 0, n * line.length);
    }
    fs.closeSync(fd);
    const meter = cpuMeter(brokerPid);
    const start = performance.now();
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        const kcat = spawn(
          "kcat",
          ["-P", "-b", address, "-t", topic, "-l", file, "-X", "acks=all", "-X", "linger.ms=5", "-X", "batch.num.messages=10000", "-X", "queue.buffering.max.messages=1000000"],
          { stdio: ["ignore", "ignore", "pipe"] },
        );
        let stderr = "";
        kcat.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        kcat.on("error", (err) => reject(new Error(`kcat could not start (install the Debian package kcat): ${err.message}`)));
        kcat.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited with ${code}: ${stderr.trim()}`))));
      }),
      PHASE_TIMEOUT_MS,
      "kcat produce",
    );
    const seconds = (performance.now() - start) / 1000;
    return { seconds, cpu: meter(messages, seconds) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ one mode

async function runMode(mode: BrokerMode, messages: number, profileDir: string | undefined): Promise<ModeResult> {
  const dataDir = mode === "data-dir" ? fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-bench-broker-")) : null;
  const broker = await startBrokerProcess(dataDir, profileDir);
  try {
    const kafka = new Kafka({
      clientId: "eventscope-bench",
      brokers: [broker.address],
      logLevel: logLevel.WARN,
      retry: { retries: 3 },
    });
    const topic = `bench-${mode}-${Date.now()}`;
    const warmupTopic = `${topic}-warmup`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [topic, warmupTopic].map((t) => ({ topic: t, numPartitions: PARTITIONS })),
      waitForLeaders: true,
    });

    // Both processes' JIT warms up on a topic of its own, deleted before the measured phases.
    const warmup = Math.min(WARMUP_MESSAGES, messages);
    await produceAll(kafka, broker.pid, warmupTopic, warmup, () => {});
    await consumeAll(kafka, broker.pid, warmupTopic, warmup);
    await admin.deleteTopics({ topics: [warmupTopic] });
    await admin.disconnect();

    const rssStartBytes = processStatusBytes(broker.pid, "VmRSS");
    const produceRssSamples: { messages: number; rssBytes: number }[] = [];
    const sends = Math.ceil(messages / BATCH_SIZE);
    const sampleEvery = Math.max(1, Math.floor(sends / RSS_SAMPLES));
    const produced = await produceAll(kafka, broker.pid, topic, messages, (acked, sendsDone) => {
      if (sendsDone % sampleEvery === 0 || sendsDone === sends) {
        produceRssSamples.push({ messages: acked, rssBytes: processStatusBytes(broker.pid, "VmRSS") });
      }
    });
    const rssAfterProduceBytes = processStatusBytes(broker.pid, "VmRSS");
    const dataDirBytes = dataDir ? directoryBytes(dataDir) : null;

    const consumed = await consumeAll(kafka, broker.pid, topic, messages);
    const rssEndBytes = processStatusBytes(broker.pid, "VmRSS");
    const peakRssBytes = processStatusBytes(broker.pid, "VmHWM");
    const kcatTopic = `${topic}-librdkafka`;
    const kcatAdmin = kafka.admin();
    await kcatAdmin.connect();
    await kcatAdmin.createTopics({ topics: [{ topic: kcatTopic, numPartitions: PARTITIONS }], waitForLeaders: true });
    const kcatProduced = await produceWithKcat(broker.address, broker.pid, kcatTopic, messages);
    const kcatStored = (await kcatAdmin.fetchTopicOffsets(kcatTopic)).reduce((sum, p) => sum + Number(p.high), 0);
    await kcatAdmin.disconnect();
    if (kcatStored !== messages) throw new Error(`kcat produced ${messages} messages but the broker stored ${kcatStored}`);
    await broker.stop();

    const payloadBytes = messages * VALUE_BYTES;
    const phase = (wallSeconds: number, cpu: PhaseCpu, bytes: number, goal: number): PhaseResult => {
      const msgPerSec = messages / wallSeconds;
      return {
        messages,
        payloadBytes: bytes,
        wallSeconds,
        msgPerSec,
        mbPerSec: bytes / wallSeconds / 1e6,
        ...cpu,
        goalMsgPerSec: goal,
        verdict: msgPerSec >= goal ? "PASS" : "BELOW",
      };
    };

    const mid = produceRssSamples[Math.floor((produceRssSamples.length - 1) / 2)]!;
    const last = produceRssSamples[produceRssSamples.length - 1]!;
    const secondHalfPayload = (last.messages - mid.messages) * VALUE_BYTES;
    const secondHalfGrowthPerPayloadByte = secondHalfPayload > 0 ? (last.rssBytes - mid.rssBytes) / secondHalfPayload : 0;
    let memoryVerdict: Verdict = "n/a";
    if (mode === "data-dir" && messages >= GOALS.minMessagesForMemoryVerdict) {
      memoryVerdict = secondHalfGrowthPerPayloadByte < GOALS.dataDirRssGrowthPerPayloadByte ? "PASS" : "BELOW";
    }

    return {
      mode,
      produce: phase(produced.seconds, produced.cpu, payloadBytes, GOALS.produceMsgPerSec),
      consume: { ...phase(consumed.seconds, consumed.cpu, consumed.bytes, GOALS.consumeMsgPerSec), groupJoinSeconds: consumed.joinSeconds },
      memory: {
        rssStartBytes,
        rssAfterProduceBytes,
        rssEndBytes,
        peakRssBytes,
        produceRssSamples,
        secondHalfGrowthPerPayloadByte,
        verdict: memoryVerdict,
      },
      dataDirBytes,
      librdkafkaProduce: phase(kcatProduced.seconds, kcatProduced.cpu, payloadBytes, GOALS.produceMsgPerSec),
    };
  } finally {
    if (broker.child.exitCode === null && broker.child.signalCode === null) broker.child.kill("SIGKILL");
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ report

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fixed = (n: number, digits: number) => n.toFixed(digits);
const mb = (bytes: number) => `${int(bytes / 1024 / 1024)} MiB`;

function printTable(result: BrokerBenchmarkResult): void {
  const modes = result.modes;
  const rows: string[][] = [["", ...modes.map((m) => m.mode), "goal"]];
  const row = (label: string, cell: (m: ModeResult) => string, goal = "") => rows.push([label, ...modes.map(cell), goal]);
  const withVerdict = (value: string, verdict: Verdict) => (verdict === "n/a" ? value : `${value} ${verdict}`);

  row("produce msg/s", (m) => withVerdict(int(m.produce.msgPerSec), m.produce.verdict), `≥ ${int(GOALS.produceMsgPerSec)}`);
  row("produce MB/s", (m) => fixed(m.produce.mbPerSec, 1));
  row("produce msg/s, kcat (librdkafka)", (m) => withVerdict(int(m.librdkafkaProduce.msgPerSec), m.librdkafkaProduce.verdict), `≥ ${int(GOALS.produceMsgPerSec)}`);
  row("broker CPU s / 1M msgs, kcat produce", (m) => fixed(m.librdkafkaProduce.broker.perMillionMessages, 2));
  row("broker cores busy, kcat produce", (m) => fixed(m.librdkafkaProduce.broker.cores, 2));
  row("consume msg/s", (m) => withVerdict(int(m.consume.msgPerSec), m.consume.verdict), `≥ ${int(GOALS.consumeMsgPerSec)}`);
  row("consume MB/s", (m) => fixed(m.consume.mbPerSec, 1));
  row("consumer group join s", (m) => fixed(m.consume.groupJoinSeconds, 2));
  row("broker CPU s / 1M msgs, produce", (m) => fixed(m.produce.broker.perMillionMessages, 2));
  row("broker CPU s / 1M msgs, consume", (m) => fixed(m.consume.broker.perMillionMessages, 2));
  row("broker cores busy, produce", (m) => fixed(m.produce.broker.cores, 2));
  row("broker cores busy, consume", (m) => fixed(m.consume.broker.cores, 2));
  row("broker msg/s per busy core, produce", (m) => int(1e6 / m.produce.broker.perMillionMessages));
  row("broker msg/s per busy core, consume", (m) => int(1e6 / m.consume.broker.perMillionMessages));
  row("bench CPU s / 1M msgs, produce", (m) => fixed(m.produce.bench.perMillionMessages, 2));
  row("bench CPU s / 1M msgs, consume", (m) => fixed(m.consume.bench.perMillionMessages, 2));
  row("bench cores busy, produce", (m) => fixed(m.produce.bench.cores, 2));
  row("bench cores busy, consume", (m) => fixed(m.consume.bench.cores, 2));
  row("other load on the machine, cores, produce", (m) => fixed(m.produce.otherCores, 2), "≈ 0");
  row("other load on the machine, cores, consume", (m) => fixed(m.consume.otherCores, 2), "≈ 0");
  row("broker RSS at start", (m) => mb(m.memory.rssStartBytes));
  row("broker RSS after produce", (m) => mb(m.memory.rssAfterProduceBytes));
  row("broker RSS at end", (m) => mb(m.memory.rssEndBytes));
  row("broker peak RSS (VmHWM)", (m) => mb(m.memory.peakRssBytes));
  row(
    "RSS growth / payload, 2nd half of produce",
    (m) => withVerdict(`${fixed(m.memory.secondHalfGrowthPerPayloadByte * 100, 1)}%`, m.memory.verdict),
    `< ${GOALS.dataDirRssGrowthPerPayloadByte * 100}% (data-dir)`,
  );
  row("log files on disk", (m) => (m.dataDirBytes === null ? "-" : mb(m.dataDirBytes)));

  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("   "));
  lines.splice(1, 0, "-".repeat(lines[0]!.length));
  process.stdout.write(`\n${lines.join("\n")}\n`);

  const contended = modes.flatMap((m) => [m.produce, m.consume].filter((ph) => ph.otherCores > CONTENDED_CORES).map(() => m.mode));
  if (contended.length > 0) {
    process.stdout.write(
      `WARNING: other load took more than ${CONTENDED_CORES} cores during ${[...new Set(contended)].join(" and ")}: ` +
        `these figures are not comparable; re-run on an idle machine.\n`,
    );
  }
  for (const m of modes) {
    const samples = m.memory.produceRssSamples.map((s) => `${int(s.messages / 1000)}k:${int(s.rssBytes / 1024 / 1024)}`).join(" ");
    process.stdout.write(`broker RSS (MiB) during produce, ${m.mode}: ${samples}\n`);
  }
}

// ------------------------------------------------------------------ entry

export async function runBrokerBenchmark(options: BenchmarkOptions): Promise<BrokerBenchmarkResult> {
  const messages = options.messages ?? DEFAULT_MESSAGES;
  process.stdout.write(
    `broker: ${int(messages)} messages of ${VALUE_BYTES} B, ${BATCH_SIZE} per send, ${SENDS_IN_FLIGHT} sends in flight, ` +
      `acks -1, no compression, ${PARTITIONS} partitions; consumer group with eachBatch, fetches up to ${mb(FETCH_MAX_BYTES)}; ` +
      `MB/s counts record values, 10^6 bytes per MB\n`,
  );
  const modes: ModeResult[] = [];
  for (const mode of MODES) {
    process.stdout.write(`broker: running ${mode}…\n`);
    const m = await runMode(mode, messages, options.profileDir);
    process.stdout.write(
      `broker: ${mode}: produce ${int(m.produce.msgPerSec)} msg/s in ${fixed(m.produce.wallSeconds, 1)} s, ` +
        `consume ${int(m.consume.msgPerSec)} msg/s in ${fixed(m.consume.wallSeconds, 1)} s\n`,
    );
    modes.push(m);
  }
  const result: BrokerBenchmarkResult = {
    messages,
    valueBytes: VALUE_BYTES,
    batchSize: BATCH_SIZE,
    sendsInFlight: SENDS_IN_FLIGHT,
    partitions: PARTITIONS,
    acks: -1,
    compression: "none",
    fetchMaxBytes: FETCH_MAX_BYTES,
    clientLibrary: `kafkajs ${KAFKAJS_VERSION}`,
    goals: GOALS,
    modes,
  };
  printTable(result);
  return result;
}
