/**
 * `npm run collector`: the collector alone (see README.md in this folder).
 *
 * Reads the environment (server/config.ts); opens the database (DATABASE_URL, or the embedded
 * PostgreSQL under .eventscope/ when it is unset); starts the embedded broker (data under
 * .eventscope/broker, port 9092) when KAFKA_BROKERS is unset; then, per source, the ingest
 * pipeline and the admin poller (Kafka), or the RabbitMQ collector (rabbitmq/rabbitmq-collector.ts). SIGINT / SIGTERM: stop consuming, store and commit what was fetched, close, within
 * about 10 s whatever the broker's or the database's state (what was cut short is logged).
 *
 * With NODE_ENV=production, KAFKA_BROKERS and DATABASE_URL are required (no embedded defaults).
 */
import path from "node:path";
import { ConfigError, configForSource, defaultSource, loadConfig, redactSecrets, type Config } from "../config.ts";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { ensureSource, openDatabase, type OpenedDatabase } from "../db/index.ts";
import { startAdminPoller } from "./admin-poller.ts";
import { startCollector } from "./collector.ts";
import { startRabbitMqCollector } from "./rabbitmq/rabbitmq-collector.ts";
import { startRabbitQueuePoller } from "./rabbitmq/queue-poller.ts";
import { createKafka } from "../kafka/index.ts";
import { settlesWithin } from "./time-limit.ts";

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
/** One pipeline and one admin poller per source, side by side: a source that is down holds up no other. */
const collectors: { stop(): Promise<void> }[] = [];
const adminPollers: { stop(): Promise<void> }[] = [];

/**
 * How long a stop may take, whatever the broker's or the database's state: the collector's own
 * bound (collector.ts, stopTimeoutMs) and the admin poller's, which stop side by side, then a
 * little for closing the database. What is cut short is logged; stored rows stay, and offsets are
 * only ever committed after their rows are stored, so exiting then loses nothing.
 */
const STOP_TIMEOUT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 2_000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    log(`${signal} again: exiting without waiting`);
    process.exit(1);
  }
  stopping = true;
  log(`${signal}: stopping (again to exit at once)`);
  let code = 0;
  const attempt = async (what: string, stop: () => Promise<void> | undefined, timeoutMs: number) => {
    const stopped = Promise.resolve()
      .then(stop)
      .catch((error: unknown) => {
        code = 1;
        log(`stopping the ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    if (!(await settlesWithin(stopped, timeoutMs))) {
      log(`stop cut short after ${Math.round(timeoutMs / 1000)} s: the ${what} did not finish (the broker or the database did not answer)`);
    }
  };
  await Promise.all([
    attempt("admin poller", async () => void (await Promise.all(adminPollers.map((poller) => poller.stop()))), STOP_TIMEOUT_MS),
    // The collector bounds its own stop and says what it cut short; this is the backstop.
    attempt("collector", async () => void (await Promise.all(collectors.map((collector) => collector.stop()))), STOP_TIMEOUT_MS + CLOSE_TIMEOUT_MS),
  ]);
  // An embedded PostgreSQL is a server of ours to shut down (a fast shutdown), not only a pool to close.
  await attempt("database", () => db?.close(), db?.embedded ? STOP_TIMEOUT_MS : CLOSE_TIMEOUT_MS);
  await attempt("embedded broker", () => broker?.stop(), CLOSE_TIMEOUT_MS);
  log("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

try {
  // The sources: EVENTSCOPE_SOURCES_FILE's, or KAFKA_BROKERS's (named default), or else the
  // embedded broker's, named default too.
  let sources = config.sources;
  if (sources.length === 0) {
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
    sources = [defaultSource({ ...config, kafkaBrokers: [`${broker.host}:${broker.port}`] })];
  }
  db = await openDatabase({ url: config.databaseUrl, log, applicationName: "eventscope-collector" });
  if (stopping) process.exit(0);
  const several = sources.length > 1;
  const startedLines: string[] = [];
  for (const sourceConfig of sources) {
    const source = await ensureSource(db, { name: sourceConfig.name, kind: sourceConfig.kind });
    // With several sources every line says whose it is.
    const sourceLog = several ? (line: string) => log(`[${source.name}] ${line}`) : log;
    if (sourceConfig.kind === "rabbitmq") {
      // Its messages (through streams of Eventscope's own), and its queues, bindings, consumers and
      // lag from the management API (stopped with the admin pollers).
      const running = startRabbitMqCollector(config, sourceConfig, { db, log: sourceLog, source });
      collectors.push(running);
      adminPollers.push(
        startRabbitQueuePoller({ source, config: sourceConfig, db, log: sourceLog, pollMs: config.pollMs, onPoll: (result) => running.noteAdminPoll(result.at) }),
      );
      startedLines.push(`source ${source.name}: instance ${running.instanceId}, RabbitMQ ${sourceConfig.amqpUrl} (vhosts ${sourceConfig.vhosts.join(",")})`);
      continue;
    }
    const sourceConfigured = configForSource(config!, sourceConfig);
    const running = startCollector(sourceConfigured, { db, log: sourceLog, source });
    collectors.push(running);
    adminPollers.push(
      startAdminPoller({
        source,
        kafka: createKafka(sourceConfigured, { clientId: "eventscope-admin-poller", log: sourceLog }),
        db,
        config: sourceConfigured,
        log: sourceLog,
        onPoll: (result) => running.noteAdminPoll(result.at),
      }),
    );
    startedLines.push(`source ${source.name}: instance ${running.instanceId}, brokers ${sourceConfig.kafkaBrokers.join(",")}`);
  }
  log(
    `started: ${startedLines.join("; ")}; group ${config.collectorGroup}, ` +
      `database ${db.embedded ? `embedded (port ${db.embedded.port})` : "DATABASE_URL"}`,
  );
} catch (error) {
  log(`start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await db?.close().catch(() => undefined);
  await broker?.stop().catch(() => undefined);
  process.exit(1);
}
