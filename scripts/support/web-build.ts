/**
 * Whether the production build of the web UI (`.next/`) is current, and building it when not.
 *
 * A build is current when `.next/BUILD_ID` exists and `.next/eventscope-build.json` says it was
 * built by us from sources with the same content hash (app/, components/, lib/, server/, public/,
 * prisma/schema.prisma, next.config.ts, tsconfig.json, package-lock.json; test files and docs do
 * not count). Hashing content rather than dates: a `git checkout` that changes nothing does not
 * cost a build. A build someone ran by hand (another BUILD_ID) is rebuilt once, since we cannot
 * know what it was built from.
 */
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { indent } from "./managed-process.ts";

const SOURCE_DIRS = ["app", "components", "lib", "server", "public"];
const SOURCE_FILES = ["next.config.ts", "tsconfig.json", "package-lock.json", "prisma/schema.prisma"];
const SKIPPED = /(?:\.test\.tsx?|\.md)$/;
const STAMP_FILE = "eventscope-build.json";

interface BuildStamp {
  buildId: string;
  sourceHash: string;
  /** How long the build took, for the next "(~N s)" estimate. */
  seconds: number;
}

/** Content hash of everything that goes into the web UI's build. */
export function hashWebSources(root: string): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && !entry.name.startsWith(".")) walk(relative);
      } else if (entry.isFile() && !SKIPPED.test(entry.name)) {
        files.push(relative);
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  for (const file of SOURCE_FILES) if (fs.existsSync(path.join(root, file))) files.push(file);
  const hash = crypto.createHash("sha256");
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(path.join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function readStamp(distDir: string): BuildStamp | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(distDir, STAMP_FILE), "utf8")) as BuildStamp;
  } catch {
    return undefined;
  }
}

function readBuildId(distDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(distDir, "BUILD_ID"), "utf8").trim();
  } catch {
    return undefined;
  }
}

export function isWebBuildCurrent(root: string): boolean {
  const distDir = path.join(root, ".next");
  const buildId = readBuildId(distDir);
  const stamp = readStamp(distDir);
  return buildId !== undefined && stamp?.buildId === buildId && stamp.sourceHash === hashWebSources(root);
}

/**
 * One build at a time per checkout, among our launchers (Next's own lock makes a second
 * `next build` fail at once rather than wait).
 */
async function withBuildLock<T>(root: string, run: () => Promise<T>): Promise<T> {
  const key = crypto.createHash("sha1").update(path.resolve(root)).digest("hex").slice(0, 16);
  const lockPath = path.join(os.tmpdir(), `eventscope-web-build-${key}.lock`);
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(lockPath, "utf8").trim() || "0");
      let alive = false;
      try {
        if (holder > 0) process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (!alive) fs.rmSync(lockPath, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await run();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

export interface EnsureWebBuildOptions {
  root: string;
  /** Where `next build`'s output goes. */
  logFile: string;
  /** Progress lines. */
  say: (line: string) => void;
  /** Aborts a running build (the launcher was asked to stop). */
  signal?: AbortSignal;
}

/** Builds the web UI when it is not current; resolves true when it built. */
export async function ensureWebBuild(options: EnsureWebBuildOptions): Promise<boolean> {
  const { root, say } = options;
  if (isWebBuildCurrent(root)) return false;
  return withBuildLock(root, async () => {
    // Another launcher may have built it while we waited for the lock.
    if (isWebBuildCurrent(root)) return false;
    const distDir = path.join(root, ".next");
    const previous = readStamp(distDir);
    const sourceHash = hashWebSources(root);
    const first = readBuildId(distDir) === undefined;
    say(
      `building the web UI (${first ? "first start only" : "its sources changed"}, ~${previous?.seconds ?? 120} s; log: ${options.logFile})`,
    );
    const started = Date.now();
    await runNextBuild(options);
    const buildId = readBuildId(distDir);
    if (!buildId) throw new Error(`next build finished without writing .next/BUILD_ID (log: ${options.logFile})`);
    const seconds = Math.round((Date.now() - started) / 1000);
    const stamp: BuildStamp = { buildId, sourceHash, seconds };
    fs.writeFileSync(path.join(distDir, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`);
    say(`web UI built in ${seconds} s`);
    return true;
  });
}

function runNextBuild(options: EnsureWebBuildOptions): Promise<void> {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = fs.createWriteStream(options.logFile, { flags: "a" });
  log.write(`---- ${new Date().toISOString()} next build\n`);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [nextBin(options.root), "build"], {
      cwd: options.root,
      env: {
        ...process.env,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
        // Types are checked by `npm test`; a build that only has to run skips Next's own check
        // (next.config.ts).
        EVENTSCOPE_BUILD_SKIP_TYPECHECK: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const onAbort = () => child.kill("SIGTERM");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const collect = (chunk: Buffer) => {
      log.write(chunk);
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        lines.push(line);
        if (lines.length > 2_000) lines.shift();
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      options.signal?.removeEventListener("abort", onAbort);
      log.end();
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `building the web UI failed (next build: ${signal ?? `exit code ${code}`}):\n${indent(
              errorExcerpt(lines),
            )}\n(full log: ${options.logFile})`,
          ),
        );
    });
  });
}

/** The build's first error and what follows it (30 lines at most); else its last lines. */
function errorExcerpt(lines: string[]): string {
  const first = lines.findIndex((line) => /error|failed/i.test(line));
  return (first >= 0 ? lines.slice(first, first + 30) : lines.slice(-30)).join("\n");
}

/** Next's command-line entry, run with `node` directly (no npx, no shell in between). */
export function nextBin(root: string): string {
  return path.join(root, "node_modules", "next", "dist", "bin", "next");
}
