import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { runBrokerBenchmark } from "./broker.ts";
import { runDbIngestBenchmark } from "./db-ingest.ts";
import { runQueriesBenchmark } from "./queries.ts";
import { machineContext, saveResult, sourceContext } from "./results.ts";

/**
 * Runs Eventscope's benchmarks, prints their figures and saves them with the machine they were
 * measured on to bench/results/<name>-<date>.json and bench/results/<name>-latest.json.
 * Goals are printed next to the figures; a miss does not fail the run (see STYLE.md: performance
 * goals live here, never in tests).
 *
 *   npm run bench                          every benchmark, full size
 *   npm run bench -- broker --messages 20000 --no-save    a quick smoke run of one
 */

export interface BenchmarkOptions {
  /** Overrides the benchmark's default message count (for smoke runs). */
  messages?: number;
  /** Write `node --cpu-prof` profiles of the processes a benchmark starts into this directory. */
  profileDir?: string;
}

interface Benchmark {
  name: string;
  /** Prints its own figures as it goes and returns them, JSON-serialisable, for saving. */
  run(options: BenchmarkOptions): Promise<object>;
}

const BENCHMARKS: Benchmark[] = [
  { name: "broker", run: runBrokerBenchmark },
  { name: "db-ingest", run: (options) => runDbIngestBenchmark({ rows: options.messages }) },
  { name: "queries", run: (options) => runQueriesBenchmark({ events: options.messages }) },
  { name: "collector", run: async (options) => (await import("./collector.ts")).runCollectorBenchmark(options) },
  { name: "web", run: async (options) => (await import("./web.ts")).runWebBenchmark(options) },
  { name: "graph", run: async () => (await import("./graph-legibility.ts")).runGraphLegibilityBenchmark() },
  { name: "lag-history", run: async (options) => (await import("./lag-history.ts")).runLagHistoryBenchmark(options) },
  {
    name: "rabbitmq-firehose",
    run: async (options) => (await import("./rabbitmq-firehose.ts")).runRabbitmqFirehoseBenchmark(options),
  },
  { name: "rabbitmq", run: async (options) => (await import("./rabbitmq.ts")).runRabbitmqBenchmark(options) },
];

const usage = `usage: npm run bench -- [${BENCHMARKS.map((b) => b.name).join("|")} ...] [--messages N] [--no-save] [--profile-dir D]
  --messages N     messages per benchmark instead of its default (also BENCH_MESSAGES=N)
  --no-save        print only; leave bench/results/ alone (for smoke runs)
  --profile-dir D  node --cpu-prof the processes the benchmarks start, into D`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        messages: { type: "string" },
        "no-save": { type: "boolean" },
        "profile-dir": { type: "string" },
        help: { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const messagesText = values.messages ?? process.env.BENCH_MESSAGES;
  let messages: number | undefined;
  if (messagesText !== undefined) {
    if (!/^[1-9]\d*$/.test(messagesText)) fail(`--messages must be a positive integer, got "${messagesText}"`);
    messages = Number(messagesText);
  }
  const unknown = positionals.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) fail(`unknown benchmark(s): ${unknown.join(", ")}`);
  const selected = positionals.length > 0 ? BENCHMARKS.filter((b) => positionals.includes(b.name)) : BENCHMARKS;
  const profileDir = values["profile-dir"] ? path.resolve(values["profile-dir"]) : undefined;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });

  for (const b of selected) {
    const context = { ...machineContext(), source: sourceContext() };
    process.stdout.write(`\n== ${b.name} (${context.cpuModel}, ${context.cores} cores, node ${context.node}) ==\n`);
    const figures = await b.run({ messages, profileDir });
    const result = { benchmark: b.name, ...context, ...figures };
    if (values["no-save"]) continue;
    const files = saveResult(b.name, result, { latest: true });
    process.stdout.write(`saved ${files.map((f) => path.relative(process.cwd(), f)).join(" and ")}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
