/**
 * The child processes of `npm run demo` and `npm start`: each in a process group of its own, so a
 * Ctrl-C in the terminal reaches the launcher only and the launcher stops them in order (the web
 * UI and the services before the collector, the collector before the broker and the database).
 * Their output goes to a log file; the last lines are kept for error messages.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const TAIL_LINES = 40;

export interface ManagedProcessOptions {
  /** Shown in progress lines and errors: "collector", "web UI". */
  name: string;
  /** Arguments of `node` (the same Node binary as the launcher). */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Everything the process writes, appended (none: kept in memory only, the last lines). */
  logFile?: string;
  /** Also copy everything the process writes here (npm start: our own stdout). */
  echo?: NodeJS.WritableStream;
  cwd?: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every process started and not yet gone: killed if the launcher exits without stopping them. */
const running = new Set<ManagedProcess>();
process.once("exit", () => {
  for (const child of running) child.killGroup("SIGKILL");
});

export function describeExit(status: ExitStatus): string {
  return status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string | undefined;
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private exitStatus: ExitStatus | undefined;
  private stopping: Promise<ExitStatus> | undefined;

  constructor(options: ManagedProcessOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    let log: NodeJS.WritableStream | undefined;
    if (options.logFile) {
      fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
      log = fs.createWriteStream(options.logFile, { flags: "a" });
    }
    log?.write(`---- ${new Date().toISOString()} starting ${options.name}: node ${options.args.join(" ")}\n`);
    this.child = spawn(process.execPath, options.args, {
      cwd: options.cwd,
      env: options.env,
      // stdin stays open: a helper of ours (postgres-process.ts) takes its end as the launcher's death.
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    running.add(this);
    let partial = "";
    const onData = (chunk: Buffer) => {
      log?.write(chunk);
      options.echo?.write(chunk);
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) this.noteLine(line);
    };
    this.child.stdout!.on("data", onData);
    this.child.stderr!.on("data", onData);
    this.child.stdin!.on("error", () => {});
    this.exited = new Promise<ExitStatus>((resolve) => {
      const finish = (status: ExitStatus) => {
        if (this.exitStatus) return;
        this.exitStatus = status;
        running.delete(this);
        resolve(status);
      };
      this.child.once("error", (error) => {
        this.noteLine(`could not start: ${error.message}`);
        finish({ code: null, signal: null });
      });
      // "exit", not "close": a process it started may hold its output open after it is gone.
      this.child.once("exit", (code, signal) => finish({ code, signal }));
      this.child.once("close", (code, signal) => {
        if (partial) this.noteLine(partial);
        log?.end(`---- ${new Date().toISOString()} ${options.name} ended (${describeExit({ code, signal })})\n`);
        finish({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** The last lines the process wrote (stdout and stderr interleaved). */
  lastLines(count = TAIL_LINES): string {
    return this.tail.slice(-count).join("\n");
  }

  private noteLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    for (const listener of this.lineListeners) listener(line);
  }

  /**
   * Resolves with the first line matching `pattern` (past lines included); rejects when the
   * process exits first or `timeoutMs` passes, with its last lines in the message.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const seen = this.tail.map((line) => pattern.exec(line)).find((match) => match !== null);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
      };
      const onLine = (line: string) => {
        const match = pattern.exec(line);
        if (match) {
          done();
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(this.failure(`did not get ready within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.lineListeners.add(onLine);
      void this.exited.then((status) => {
        done();
        reject(this.failure(`stopped before it was ready (${describeExit(status)})`));
      });
    });
  }

  /** An Error naming the process, saying what went wrong, with its last lines and log file. */
  failure(what: string): Error {
    const lines = this.lastLines(20);
    return new Error(
      `the ${this.name} ${what}${lines ? `; its last lines:\n${indent(lines)}` : ""}${
        this.logFile ? `\n(full log: ${this.logFile})` : ""
      }`,
    );
  }

  /** Signals the process group (the process and anything it started). */
  killGroup(signal: NodeJS.Signals, evenAfterExit = false): void {
    if ((this.exitStatus && !evenAfterExit) || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGINT (a clean stop), then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs = 15_000): Promise<ExitStatus> {
    if (this.exitStatus) return Promise.resolve(this.exitStatus);
    this.stopping ??= (async () => {
      this.killGroup("SIGINT");
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), graceMs);
      });
      const first = await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
      if (first === "timeout") {
        this.killGroup("SIGKILL");
        return this.exited;
      }
      // The group may hold processes the leader started (next start's workers): none survive it.
      this.killGroup("SIGKILL", true);
      return first;
    })();
    return this.stopping;
  }
}

export function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}
