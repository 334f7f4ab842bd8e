import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where every benchmark's figures go, with the machine and the code they were measured on:
 * bench/results/<name>-<date>.json (and <name>-latest.json for `npm run bench`). One owner for the
 * runner (run.ts) and the benchmarks that also run on their own (`npx tsx bench/<name>.ts`).
 */

export const RESULTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");

/** The code measured: the commit, and the tracked files changed on top of it when the run started. */
export function sourceContext() {
  const git = (...args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: path.dirname(RESULTS_DIR), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return null;
    }
  };
  const changed = git("diff", "--name-only", "HEAD");
  return { commit: git("rev-parse", "HEAD"), uncommittedChanges: changed ? changed.split("\n") : [] };
}

/** The checkout's root, as a path and as a file URL: dropped from what a result records. */
const CHECKOUT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

function withinCheckout(argument: string): string {
  return argument.replaceAll(`file://${CHECKOUT}/`, "").replaceAll(`${CHECKOUT}/`, "");
}

export function machineContext() {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  return {
    date: new Date().toISOString(),
    node: process.version,
    /**
     * Node flags the run had (e.g. --max-semi-space-size), which change the garbage collector's
     * share; paths inside the checkout are written relative to it (`node_modules/tsx/…`).
     */
    execArgv: process.execArgv.map(withinCheckout),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    kernel: os.release(),
    /** 1, 5 and 15 minute load averages when the benchmark started: other work skews the figures. */
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Writes through a `.tmp` file (git-ignored) so an interrupted run never leaves half a JSON file. */
function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/**
 * Saves `result` as bench/results/<name>-<its date>.json (and <name>-latest.json with `latest`);
 * returns the files written.
 */
export function saveResult(name: string, result: object & { date: string }, options: { latest?: boolean } = {}): string[] {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  // ISO 8601 in its basic form for the time: colons are not portable in file names.
  const stamp = result.date.replace(/\.\d+Z$/, "Z").replace(/:/g, "");
  const files = [path.join(RESULTS_DIR, `${name}-${stamp}.json`), ...(options.latest ? [path.join(RESULTS_DIR, `${name}-latest.json`)] : [])];
  for (const f of files) writeJson(f, result);
  return files;
}

/** A benchmark run on its own: its figures with their context, saved, and the files said. */
export function saveStandaloneResult(name: string, figures: object, say: (line: string) => void): void {
  const result = { benchmark: name, ...machineContext(), source: sourceContext(), ...figures };
  const files = saveResult(name, result);
  say(`saved ${files.map((f) => path.relative(process.cwd(), f)).join(" and ")}`);
}
