/**
 * Test support: the broker CLI as a real child process, and polling with a deadline.
 *
 * The CLI runs as `node --import tsx cli.ts`, one process and not `npx tsx` (which puts npm and
 * a tsx supervisor in between), so that a SIGKILL reaches the broker itself, as `kill -9` would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "cli.ts");
const READY = /^broker listening on (\S+):(\d+)$/m;

export interface BrokerProcessOptions {
  /** Default 0: a free port, read back from the CLI's ready line. */
  port?: number;
  host?: string;
  dataDir?: string;
  partitions?: number;
  /** Paths of PEM files: `--tls-cert`, `--tls-key` and, for mutual TLS, `--tls-client-ca`. */
  tls?: { cert: string; key: string; clientCa?: string };
  /** How long the CLI may take to print its ready line. Default 30 s (tsx compiles on the fly). */
  startTimeoutMs?: number;
}

export interface BrokerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** `host:port`, ready for a client's broker list. */
  readonly address: string;
  /** Everything the broker wrote to stderr so far (its log). */
  stderr(): string;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the process to be gone. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `cli.ts` and resolves once it has printed `broker listening on HOST:PORT`. */
export async function startBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const args = ["--import", "tsx", CLI, "--port", String(options.port ?? 0)];
  if (options.host !== undefined) args.push("--host", options.host);
  if (options.dataDir !== undefined) args.push("--data-dir", options.dataDir);
  if (options.partitions !== undefined) args.push("--partitions", String(options.partitions));
  if (options.tls !== undefined) {
    args.push("--tls-cert", options.tls.cert, "--tls-key", options.tls.key);
    if (options.tls.clientCa !== undefined) args.push("--tls-client-ca", options.tls.clientCa);
  }
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  try {
    const [host, port] = await new Promise<[string, number]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`broker CLI printed no ready line within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`)),
        timeoutMs,
      );
      child.stdout!.on("data", (s: string) => {
        stdout += s;
        const m = READY.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve([m[1]!, Number(m[2])]);
        }
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`broker CLI exited (code ${code}, signal ${signal}) before it was ready\nstderr: ${stderr}`));
      });
    });
    return {
      child,
      pid: child.pid!,
      host,
      port,
      address: `${host}:${port}`,
      stderr: () => stderr,
      exited,
      kill: async (signal = "SIGTERM") => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    throw err;
  }
}

/**
 * Polls `probe` until it returns something other than `undefined`/`false`, and returns that.
 * Fails with `what` and the last value or error seen when `timeoutMs` passes first.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as Exclude<T, false | undefined>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
