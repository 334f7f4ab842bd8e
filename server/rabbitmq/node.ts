import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { findFreePort, isPortFree } from "../../scripts/support/ports.ts";
import { isProcessAlive } from "../process-alive.ts";

/**
 * A real RabbitMQ node (Debian's `rabbitmq-server`) started as a child process, for tests, the
 * benchmarks and the demo: everything it writes (Mnesia, streams, logs, its Erlang cookie) lives
 * under `dataDir`, every listener is on 127.0.0.1, and it gets an epmd of its own on its own port,
 * so that several nodes (and a system RabbitMQ) never meet.
 *
 * As root, the node runs as the `rabbitmq` user (Erlang refuses nothing as root, but RabbitMQ's
 * files would then belong to root; Debian's own wrapper does the same), and `dataDir` is given to
 * that user. As anyone else it runs as that user, in directories of their own.
 */

/** Where Debian and Ubuntu's package keeps the real scripts (/usr/sbin holds `su` wrappers only). */
const DEBIAN_BIN_DIR = "/usr/lib/rabbitmq/bin";
const PLUGINS = ["rabbitmq_management", "rabbitmq_stream"];
const DEFAULT_START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;

export interface RabbitNodeOptions {
  /** Created if missing; reused across starts when `nodeName` is kept. */
  dataDir: string;
  amqpPort: number;
  managementPort: number;
  /** The stream protocol's port (rabbitmq_stream). Default: a free port. */
  streamPort?: number;
  /** Erlang distribution (rabbitmqctl talks to the node through it). Default: a free port. */
  distPort?: number;
  /** The node's own epmd. Default: a free port. */
  epmdPort?: number;
  /** Default `eventscope-<random>@localhost`; keep it to reuse the node's data. */
  nodeName?: string;
  /** Default 90 s (a first start on 2 busy cores takes 5–15 s). */
  startTimeoutMs?: number;
  /** The directory holding `rabbitmq-server` and `rabbitmqctl`. Default: Debian's, else PATH's. */
  binDir?: string;
}

/** The environment of the node's scripts (rabbitmq-server, rabbitmqctl): nothing inherited but PATH. */
export type RabbitNodeEnv = Readonly<Record<string, string>> & {
  readonly HOME: string;
  readonly RABBITMQ_NODENAME: string;
  readonly RABBITMQ_PID_FILE: string;
};

export interface RabbitNode {
  /** amqp://guest:guest@127.0.0.1:<amqpPort> (guest may log in from loopback only). */
  readonly amqpUrl: string;
  /** http://127.0.0.1:<managementPort> (basic auth guest:guest). */
  readonly managementUrl: string;
  readonly nodeName: string;
  readonly amqpPort: number;
  readonly managementPort: number;
  readonly streamPort: number;
  readonly distPort: number;
  readonly epmdPort: number;
  readonly dataDir: string;
  /** The node's main log file. */
  readonly logFile: string;
  /** The OS pid of the node's Erlang VM (beam.smp). */
  readonly pid: number;
  /** The environment `rabbitmq-server` ran with; rabbitmqctl needs the same (see rabbitmqctl()). */
  readonly env: RabbitNodeEnv;
  /** Stops the node, then its epmd; waits until both are gone. Idempotent. */
  stop(): Promise<void>;
}

/** Not retriable as such: a missing package, a port in use, a node that does not come up. */
export class RabbitNodeError extends Error {
  override name = "RabbitNodeError";
}

interface NodeInternals {
  binDir: string;
  user: RunAs | undefined;
}

interface RunAs {
  uid: number;
  gid: number;
}

const internals = new WeakMap<RabbitNode, NodeInternals>();

/** Processes still running if our own process exits without stop(): killed then, not left behind. */
const leftOver = new Set<() => void>();
process.once("exit", () => {
  for (const kill of leftOver) kill();
});

/**
 * The directory of `rabbitmq-server` and `rabbitmqctl`: `explicit`, else Debian's, else PATH's.
 * Throws RabbitNodeError saying how to install it when there is none.
 */
export function findRabbitBinDir(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : [DEBIAN_BIN_DIR, ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean)];
  for (const dir of candidates) {
    const server = path.join(dir, "rabbitmq-server");
    // Debian's /usr/sbin/rabbitmq-server is a wrapper that runs `su rabbitmq` and refuses other
    // users: the real script is the one next to rabbitmq-env.
    if (fs.existsSync(server) && fs.existsSync(path.join(dir, "rabbitmq-env"))) return dir;
  }
  throw new RabbitNodeError(
    explicit
      ? `rabbitmq-server was not found in ${explicit}: install it (apt-get install rabbitmq-server) or pass the directory that holds it`
      : "rabbitmq-server is not installed: run `apt-get install rabbitmq-server` (Debian/Ubuntu), or pass binDir",
  );
}

/** The `rabbitmq` user, when we are root: the node runs as that user. */
function runAsFor(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("rabbitmq:"));
  const fields = line?.split(":");
  if (!fields || fields.length < 4) {
    throw new RabbitNodeError("running as root, but there is no `rabbitmq` user to run the node as (apt-get install rabbitmq-server creates it)");
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function chownTree(dir: string, user: RunAs): void {
  fs.chownSync(dir, user.uid, user.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, user);
    else fs.lchownSync(full, user.uid, user.gid);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.setTimeout(1_000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function managementAnswers(managementUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${managementUrl}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}


function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function lastLines(file: string, count: number): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-count).join("\n");
  } catch {
    return "";
  }
}

/** Starts a node and resolves once AMQP accepts connections and the management API answers. */
export async function startRabbitNode(options: RabbitNodeOptions): Promise<RabbitNode> {
  const binDir = findRabbitBinDir(options.binDir);
  const user = runAsFor();
  const streamPort = options.streamPort ?? (await findFreePort());
  const distPort = options.distPort ?? (await findFreePort());
  const epmdPort = options.epmdPort ?? (await findFreePort());
  const ports: [string, number][] = [
    ["AMQP", options.amqpPort],
    ["management", options.managementPort],
    ["stream", streamPort],
    ["Erlang distribution", distPort],
    ["epmd", epmdPort],
  ];
  for (const [what, port] of ports) {
    if (ports.filter(([, p]) => p === port).length > 1) throw new RabbitNodeError(`port ${port} is given twice (${what} and another listener)`);
    if (!(await isPortFree(port))) throw new RabbitNodeError(`port ${port} (${what}) is already in use on 127.0.0.1`);
  }

  const shortName = `eventscope-${randomBytes(4).toString("hex")}`;
  const nodeName = options.nodeName ?? `${shortName}@localhost`;
  const dataDir = path.resolve(options.dataDir);
  const logDir = path.join(dataDir, "log");
  fs.mkdirSync(path.join(dataDir, "mnesia"), { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  // The rabbitmq user must get through to dataDir (mkdtemp makes 0700 directories).
  if (user) fs.chmodSync(path.dirname(dataDir), fs.statSync(path.dirname(dataDir)).mode | 0o011);
  fs.writeFileSync(path.join(dataDir, "enabled_plugins"), `[${PLUGINS.join(",")}].\n`);
  fs.writeFileSync(path.join(dataDir, "rabbitmq-env.conf"), "# Empty: this node's settings are in its environment.\n");
  // Listeners that have no environment variable of their own; loopback only.
  fs.writeFileSync(
    path.join(dataDir, "rabbitmq.conf"),
    [
      `management.tcp.ip = 127.0.0.1`,
      `management.tcp.port = ${options.managementPort}`,
      `stream.listeners.tcp.1 = 127.0.0.1:${streamPort}`,
      // A small disk must not block publishers in tests (the default limit is 50 MB free).
      `disk_free_limit.absolute = 1MB`,
      "",
    ].join("\n"),
  );
  const cookieFile = path.join(dataDir, ".erlang.cookie");
  if (!fs.existsSync(cookieFile)) fs.writeFileSync(cookieFile, randomBytes(20).toString("hex").toUpperCase(), { mode: 0o400 });
  if (user) chownTree(dataDir, user);

  const logFile = path.join(logDir, `${nodeName}.log`);
  const startupLog = path.join(logDir, "startup.log");
  const env: RabbitNodeEnv = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    // The Erlang cookie is read from $HOME by the node and by rabbitmqctl.
    HOME: dataDir,
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_CRASH_DUMP: path.join(logDir, "erl_crash.dump"),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(options.amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dataDir, "mnesia"),
    RABBITMQ_LOG_BASE: logDir,
    RABBITMQ_LOGS: logFile,
    RABBITMQ_PID_FILE: path.join(dataDir, "rabbit.pid"),
    RABBITMQ_CONFIG_FILE: path.join(dataDir, "rabbitmq.conf"),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dataDir, "advanced.config"),
    RABBITMQ_CONF_ENV_FILE: path.join(dataDir, "rabbitmq-env.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dataDir, "enabled_plugins"),
    RABBITMQ_FEATURE_FLAGS_FILE: path.join(dataDir, "feature_flags"),
    // Distribution on loopback only; epmd is ours, started before the node.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false",
  };
  // (Next's types make NODE_ENV required in ProcessEnv; the node's scripts do without it.)
  const spawnOptions = { cwd: dataDir, env: Object.assign({} as NodeJS.ProcessEnv, env), ...(user ?? {}) };

  const epmd = spawn("epmd", ["-port", String(epmdPort), "-address", "127.0.0.1"], {
    ...spawnOptions,
    stdio: "ignore",
    detached: true,
  });
  const killEpmd = () => signal(epmd.pid, "SIGKILL");
  leftOver.add(killEpmd);
  const epmdFailed = new Promise<Error>((resolve) => epmd.once("error", resolve));
  const epmdUp = await Promise.race([waitFor(() => canConnect(epmdPort), 10_000), epmdFailed]);
  if (epmdUp !== true) {
    killEpmd();
    leftOver.delete(killEpmd);
    const why = epmdUp instanceof Error ? epmdUp.message : "it did not listen within 10 s";
    throw new RabbitNodeError(`could not start epmd on port ${epmdPort} (${why}); Erlang's epmd comes with rabbitmq-server (apt-get install rabbitmq-server)`);
  }

  // A pid file left by an earlier run names a process that is gone (or, worse, someone else's).
  fs.rmSync(env.RABBITMQ_PID_FILE, { force: true });
  const startup = fs.openSync(startupLog, "a");
  // A process group of its own: the start script, the Erlang VM and its helpers go together.
  const child = spawn(path.join(binDir, "rabbitmq-server"), [], { ...spawnOptions, stdio: ["ignore", startup, startup], detached: true });
  fs.closeSync(startup);
  const killNode = () => {
    if (child.pid !== undefined) signal(-child.pid, "SIGKILL");
    const pid = readPid(env);
    if (pid !== undefined) signal(pid, "SIGKILL");
  };
  leftOver.add(killNode);

  let stopping: Promise<void> | undefined;
  // The VM's pid, once the node is up (the pid file may be gone by the time stop() runs).
  const vm: { pid?: number } = {};
  const stop = () =>
    (stopping ??= (async () => {
      if (!child.killed && child.exitCode === null && child.signalCode === null) {
        try {
          await runCtl(binDir, env, user, ["stop", env.RABBITMQ_PID_FILE], STOP_TIMEOUT_MS);
        } catch {
          // Fall back on signals: SIGTERM is a clean stop for the VM, SIGKILL is not.
          signal(vm.pid ?? readPid(env), "SIGTERM");
          if (!(await waitFor(() => child.exitCode !== null || child.signalCode !== null, STOP_TIMEOUT_MS))) killNode();
        }
        await exited(child);
      }
      // Erlang's helpers (erl_child_setup, inet_gethost) and the VM itself, if the script left first.
      const pid = vm.pid ?? readPid(env);
      if (pid !== undefined && !(await waitFor(() => !isProcessAlive(pid), 10_000))) signal(pid, "SIGKILL");
      if (child.pid !== undefined) signal(-child.pid, "SIGKILL");
      leftOver.delete(killNode);
      signal(epmd.pid, "SIGTERM");
      await exited(epmd);
      leftOver.delete(killEpmd);
    })());

  const managementUrl = `http://127.0.0.1:${options.managementPort}`;
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let childExited = false;
  void exited(child).then(() => (childExited = true));
  const ready = await waitFor(
    async () => childExited || ((await canConnect(options.amqpPort)) && (await managementAnswers(managementUrl))),
    timeoutMs,
    250,
  );
  if (!ready || childExited) {
    const tail = lastLines(logFile, 15) || lastLines(startupLog, 15);
    const what = childExited
      ? `stopped before it was ready (${child.signalCode ?? `exit code ${child.exitCode}`})`
      : `did not answer on AMQP port ${options.amqpPort} and the management API within ${timeoutMs / 1000} s`;
    await stop();
    throw new RabbitNodeError(
      `RabbitMQ node ${nodeName} ${what}; see its log ${logFile} (and ${startupLog})${tail ? `; last lines:\n${tail}` : ""}`,
    );
  }
  vm.pid = readPid(env);
  if (vm.pid === undefined) {
    await stop();
    throw new RabbitNodeError(`RabbitMQ node ${nodeName} wrote no pid file (${env.RABBITMQ_PID_FILE})`);
  }

  const node: RabbitNode = {
    amqpUrl: `amqp://guest:guest@127.0.0.1:${options.amqpPort}`,
    managementUrl,
    nodeName,
    amqpPort: options.amqpPort,
    managementPort: options.managementPort,
    streamPort,
    distPort,
    epmdPort,
    dataDir,
    logFile,
    pid: vm.pid,
    env,
    stop,
  };
  internals.set(node, { binDir, user });
  return node;
}

function readPid(env: RabbitNodeEnv): number | undefined {
  try {
    const pid = Number(fs.readFileSync(env.RABBITMQ_PID_FILE, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function runCtl(binDir: string, env: RabbitNodeEnv, user: RunAs | undefined, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(binDir, "rabbitmqctl"),
      ["--node", env.RABBITMQ_NODENAME, ...args],
      { cwd: env.HOME, env: Object.assign({} as NodeJS.ProcessEnv, env), timeout: timeoutMs, ...(user ?? {}) },
      (error, stdout, stderr) => {
        if (error) reject(new RabbitNodeError(`rabbitmqctl ${args.join(" ")} failed: ${(stderr || error.message).trim()}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * Runs `rabbitmqctl <args>` against `node` (same environment, same user), e.g.
 * `rabbitmqctl(node, ["trace_on", "-p", "/"])`; resolves with its standard output.
 */
export function rabbitmqctl(node: RabbitNode, args: string[], timeoutMs = 60_000): Promise<string> {
  const own = internals.get(node);
  if (!own) throw new RabbitNodeError("rabbitmqctl() takes a node returned by startRabbitNode()");
  return runCtl(own.binDir, node.env, own.user, args, timeoutMs);
}
