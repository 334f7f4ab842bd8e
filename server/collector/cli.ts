/**
 * `npm run collector`: the collector alone (see README.md in this folder).
 *
 * Reads the environment (server/config.ts); opens the database (DATABASE_URL, or the embedded
 * PostgreSQL under .eventscope/ when it is unset); starts the embedded broker (data under
 * .eventscope/broker, port 9092) when KAFKA_BROKERS is unset; then the ingest pipeline and the
 * admin poller. SIGINT / SIGTERM: stop consuming, store and commit what was fetched, close.
 *
 * With NODE_ENV=production, KAFKA_BROKERS and DATABASE_URL are required (no embedded defaults).
 */
import path from "node:path";
import { ConfigError, loadConfig, redactSecrets, type Config } from "../config.ts";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { openDatabase, type OpenedDatabase } from "../db/index.ts";
import { startAdminPoller } from "./admin-poller.ts";
import { startCollector, type RunningCollector } from "./collector.ts";
import { createKafka } from "../kafka/index.ts";

const EMBEDDED_BROKER_PORT = 9092;
const EMBEDDED_BROKER_DATA_DIR = path.join(".eventscope", "broker");

let config: Config | undefined;

/** Every line goes out without the configuration's secrets (redactSecrets), whatever an error quotes. */
function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} collector: ${config ? redactSecrets(line, config) : line}\n`);
}

function fail(message: string): never {
  process.stderr.write(`collector: ${message}\n`);
  process.exit(1);
}

try {
  config = loadConfig(process.env, { production: process.env.NODE_ENV === "production" });
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}

let broker: RunningBroker | undefined;
let db: OpenedDatabase | undefined;
let collector: RunningCollector | undefined;
let adminPoller: { stop(): Promise<void> } | undefined;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    log(`${signal} again: exiting without waiting`);
    process.exit(1);
  }
  stopping = true;
  log(`${signal}: stopping (again to exit at once)`);
  let code = 0;
  for (const [what, stop] of [
    ["admin poller", () => adminPoller?.stop()],
    ["collector", () => collector?.stop()],
    ["database", () => db?.close()],
    ["embedded broker", () => broker?.stop()],
  ] as const) {
    try {
      await stop();
    } catch (error) {
      code = 1;
      log(`stopping the ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  log("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

try {
  if (!config.kafkaBrokers) {
    try {
      broker = await startBroker({ port: EMBEDDED_BROKER_PORT, host: "127.0.0.1", dataDir: EMBEDDED_BROKER_DATA_DIR });
    } catch (error) {
      fail(
        `KAFKA_BROKERS is unset and the embedded broker could not start on 127.0.0.1:${EMBEDDED_BROKER_PORT} ` +
          `(${error instanceof Error ? error.message : String(error)}); if a broker already runs there, set KAFKA_BROKERS=127.0.0.1:${EMBEDDED_BROKER_PORT}`,
      );
    }
    log(`embedded broker listening on ${broker.host}:${broker.port}, data in ${EMBEDDED_BROKER_DATA_DIR}`);
    config = { ...config, kafkaBrokers: [`${broker.host}:${broker.port}`] };
  }
  db = await openDatabase({ url: config.databaseUrl, log, applicationName: "eventscope-collector" });
  if (stopping) process.exit(0);
  collector = startCollector(config, { db, log });
  const running = collector;
  adminPoller = startAdminPoller({
    kafka: createKafka(config, { clientId: "eventscope-admin-poller", log }),
    db,
    config,
    log,
    onPoll: (result) => running.noteAdminPoll(result.at),
  });
  log(
    `started: instance ${collector.instanceId}, group ${config.collectorGroup}, brokers ${config.kafkaBrokers!.join(",")}, ` +
      `database ${db.embedded ? `embedded (port ${db.embedded.port})` : "DATABASE_URL"}`,
  );
} catch (error) {
  log(`start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await db?.close().catch(() => undefined);
  await broker?.stop().catch(() => undefined);
  process.exit(1);
}
