/**
 * `npm start`: Eventscope in production. The collector and the web UI (`next start`) against the
 * cluster in KAFKA_BROKERS (the source named default) or the sources of EVENTSCOPE_SOURCES_FILE
 * (one of the two), and the database in DATABASE_URL, required (no embedded broker or database in
 * production). Applies pending migrations first; needs a build (`npm run build`).
 * HOST defaults to 127.0.0.1, PORT to 3000. SIGINT / SIGTERM stop the web UI and the collector
 * side by side, each within STOP_GRACE_MS (the collector bounds its own stop to about 10 s, whatever
 * the broker's or the database's state); one that is still running then is killed, and the log says so.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, type Config } from "../server/config.ts";
import { runMigrations } from "../server/db/index.ts";
import { describeExit, indent, ManagedProcess } from "./support/managed-process.ts";
import { isPortFree, pollUntil } from "./support/ports.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STOP_GRACE_MS = 20_000;

function say(line: string): void {
  process.stdout.write(`${new Date().toISOString()} start: ${line}\n`);
}

function complain(line: string): void {
  process.stderr.write(`${new Date().toISOString()} start: ${line}\n`);
}

async function main(): Promise<number> {
  if (process.argv.length > 2) {
    complain(`npm start takes no arguments (got ${process.argv.slice(2).join(" ")}); it is configured by the environment`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(process.env, { production: true });
  } catch (error) {
    if (error instanceof ConfigError) {
      complain(error.message);
      return 2;
    }
    throw error;
  }
  if (!fs.existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    complain("the web UI is not built: run `npm run build` first");
    return 1;
  }
  const host = config.host;
  if (!(await isPortFree(config.port, host))) {
    complain(`port ${config.port} on ${host} is taken: choose another with PORT`);
    return 1;
  }

  const migrations = await runMigrations(config.databaseUrl!, { log: say });
  say(`database migrated (${migrations.applied.length} applied, ${migrations.alreadyApplied.length} already there)`);

  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: "production", HOST: host, PORT: String(config.port) };
  const collector = new ManagedProcess({
    name: "collector",
    args: ["--import", "tsx", path.join(ROOT, "server", "collector", "cli.ts")],
    env,
    cwd: ROOT,
    echo: process.stdout,
  });
  let web: ManagedProcess | undefined;

  let stopping: Promise<number> | undefined;
  const stopPart = async (part: ManagedProcess | undefined) => {
    if (!part || part.hasExited) return;
    say(`stopping the ${part.name}`);
    const status = await part.stop(STOP_GRACE_MS);
    if (status.signal === "SIGKILL") {
      complain(
        `stop cut short: the ${part.name} did not stop within ${STOP_GRACE_MS / 1000} s and was killed` +
          (part === collector ? " (what it stored stays; it commits no offset before storing, so nothing unstored was committed)" : ""),
      );
    }
  };
  const shutdown = (code: number) =>
    (stopping ??= (async () => {
      await Promise.all([stopPart(web), stopPart(collector)]);
      say("stopped");
      return code;
    })());
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // npm forwards the terminal's Ctrl-C, which the terminal also sends us: one stop for both.
    if (stopping && Date.now() - firstSignalAt < 1_000) return;
    if (stopping) {
      complain(`${signal} again: killing without waiting`);
      web?.killGroup("SIGKILL");
      collector.killGroup("SIGKILL");
      process.exit(130);
    }
    firstSignalAt = Date.now();
    say(`${signal}: stopping`);
    void shutdown(0).then((code) => process.exit(code));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const watch = (child: ManagedProcess) => {
    void child.exited.then((status) => {
      if (stopping) return;
      complain(`the ${child.name} stopped unexpectedly (${describeExit(status)}); its last lines:\n${indent(child.lastLines(20))}`);
      void shutdown(1).then((code) => process.exit(code));
    });
  };

  try {
    await collector.waitForLine(/collector: started:/, 120_000);
    watch(collector);
    web = new ManagedProcess({
      name: "web UI",
      args: ["--import", "tsx", path.join(ROOT, "scripts", "web-server.ts"), "--port", String(config.port), "--hostname", host],
      env,
      cwd: ROOT,
      echo: process.stdout,
    });
    const started = web;
    const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    await pollUntil(
      "the web UI to answer /api/health/live",
      async () => {
        if (started.hasExited) throw started.failure("stopped before it was ready");
        const response = await fetch(`http://${urlHost}:${config.port}/api/health/live`, { signal: AbortSignal.timeout(5_000) });
        await response.arrayBuffer();
        return response.status === 200 ? true : undefined;
      },
      120_000,
      500,
    );
    watch(web);
    say(`Eventscope is ready: http://${urlHost}:${config.port}`);
  } catch (error) {
    if (stopping) return await stopping;
    complain(`start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    return await shutdown(1);
  }
  return await new Promise<number>(() => {
    // Runs until a signal or a failing part calls shutdown(), which exits.
  });
}

process.exit(await main());
