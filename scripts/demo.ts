/**
 * `npm run demo`: the whole thing in one command, no configuration. In order: the embedded Kafka
 * broker (in this process), the embedded PostgreSQL with migrations applied, the collector, the
 * demo services (a simulated order saga: the "user's system") and the web UI; then the URL, a
 * login link for writes and three things to try. Ctrl-C stops everything in the reverse order;
 * the data stays under the data directory, so the next run continues with it.
 *
 * `--kafka host:port` (or KAFKA_BROKERS) runs the same services and collector against a cluster of
 * your own instead of the embedded broker; DATABASE_URL, when set, replaces the embedded
 * PostgreSQL likewise.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startBroker, type RunningBroker } from "../server/broker/index.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "../server/registry/index.ts";
import { ConfigError, loadConfig, withoutPassword, type Config } from "../server/config.ts";
import { COMPRESSION_NAMES } from "../server/kafka/compression-names.ts";
import { connectDatabase, runMigrations, searchEvents } from "../server/db/index.ts";
import { runningServerPort } from "../server/db/embedded.ts";
import { findRabbitBinDir, RabbitNodeError, rabbitmqctl, startRabbitNode, type RabbitNode } from "../server/rabbitmq/node.ts";
import { describeExit, indent, ManagedProcess } from "./support/managed-process.ts";
import { isPortFree, pollUntil } from "./support/ports.ts";
import { ensureWebBuild } from "./support/web-build.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `usage: npm run demo -- [options]

Starts the embedded Kafka broker, the embedded PostgreSQL, the collector, the demo services (a
simulated order saga) and the web UI, and prints the URL. Ctrl-C stops everything; the data is
kept in the data directory and the next run continues with it.

  --port N             the web UI's port (default: PORT, else 3000)
  --broker-port N      the embedded Kafka broker's port (default 9092)
  --registry-port N    the embedded schema registry's port (default 8081): the collector decodes
                       Avro, Protobuf and JSON Schema values registered there
  --db-port N          the embedded PostgreSQL's port (default 54329)
  --data-dir DIR       where the broker, the database, the admin token and the logs live
                       (default .eventscope)
  --kafka HOST:PORT    use this Kafka cluster (comma-separated brokers) instead of the embedded
                       broker (default: KAFKA_BROKERS); KAFKA_SASL_* and KAFKA_SSL* apply
  --sources N          1 (the default) or 2: a second embedded broker, the warehouse's cluster,
                       collected as a second source ("warehouse" beside "default"); a bridge
                       service hands shipped orders over to it, so an order's timeline crosses
                       clusters. Not with --kafka.
  --warehouse-broker-port N
                       the second embedded broker's port (default: the broker port + 1)
  --rabbitmq           also a RabbitMQ node (Debian's rabbitmq-server, as a child process, data
                       and logs under DIR/rabbitmq, loopback only, guest/guest), collected as the
                       source "rabbitmq": notification-service turns notifications into e-mail
                       jobs on it, email-sender consumes them and refuses some, which RabbitMQ
                       dead-letters; an order's timeline then runs from Kafka into RabbitMQ.
                       The demo plays your system: it turns RabbitMQ's firehose on for its own
                       node (rabbitmqctl trace_on -p /), as you would on yours, so that the
                       source (deliveries: firehose) shows which queue delivered each message.
                       EVENTSCOPE_RABBITMQ_BIN_DIR names where rabbitmq-server is, if not in
                       Debian's place or on PATH
  --rabbitmq-port N    its AMQP port (default 5672)
  --rabbitmq-management-port N
                       its management API and UI port (default 15672)

The demo services (passed through; their defaults apply when a flag is absent):
  --rate N             orders placed per second
  --decline-rate P     share of payments declined (0 to 1): the compensation chain
  --transient-rate P   share of payments failing transiently (0 to 1): retried with backoff
  --malformed-rate P   share of malformed orders (0 to 1): dead letters that fail again on replay
  --shipping-failure-rate P
                       share of shipments that fail (0 to 1): refund and release the stock
  --outage-every S     a payment-gateway outage every S seconds (0: none)
  --outage-length S    lasting S seconds (shorter than --outage-every): its orders end up as
                       dead letters that replay fine once it is over
  --max-attempts N     payment attempts before a message goes to the dead-letter topic
  --email-failure-rate P
                       with --rabbitmq: share of e-mail jobs the mail server refuses (0 to 1)
  --duplicate-rate P   share of payments events the payment service's producer delivers twice
                       (0 to 1): the same key, value and headers a moment later
  --rekey-rate P       share of order outcomes keyed by something else than the order id (0 to
                       1): the order's events spread over two partitions of orders
  --stall-every S      the order service stops consuming every S seconds (0: never), the
                       first time after min(S, 300) seconds: its lag grows, orders wait for it
  --stall-length S     for S seconds (shorter than --stall-every), then it catches up
  --compression CODEC  what the services produce with: none, gzip, snappy, lz4 or zstd

The payment service writes the payments topic in Avro, registered in the schema registry
(subject payments-value); the other services write JSON. While it runs it changes that schema:
  --schema-change KIND compatible (a new optional field, the default), breaking (a new required
                       field, which BACKWARD compatibility forbids; the embedded registry
                       accepts it) or none
  --schema-change-after S
                       seconds after the services start (default 120)

DATABASE_URL, when set, replaces the embedded PostgreSQL. Logs: DIR/logs/.`;

class UsageError extends Error {}

// --- flags -----------------------------------------------------------------------------------------

const SERVICE_FLAGS = {
  rate: { min: 0.01, max: 10_000, integer: false },
  "decline-rate": { min: 0, max: 1, integer: false },
  "transient-rate": { min: 0, max: 1, integer: false },
  "malformed-rate": { min: 0, max: 1, integer: false },
  "shipping-failure-rate": { min: 0, max: 1, integer: false },
  "outage-every": { min: 0, max: 86_400, integer: true },
  "outage-length": { min: 1, max: 86_400, integer: true },
  "max-attempts": { min: 1, max: 100, integer: true },
  "duplicate-rate": { min: 0, max: 1, integer: false },
  "rekey-rate": { min: 0, max: 1, integer: false },
  "stall-every": { min: 0, max: 86_400, integer: true },
  "stall-length": { min: 1, max: 86_400, integer: true },
  "email-failure-rate": { min: 0, max: 1, integer: false },
  "schema-change-after": { min: 0, max: 86_400, integer: true },
} as const;
const SCHEMA_CHANGES = ["compatible", "breaking", "none"];
type ServiceFlag = keyof typeof SERVICE_FLAGS;

interface DemoOptions {
  port: number;
  brokerPort: number;
  /** The embedded schema registry's port. */
  registryPort: number;
  dbPort: number;
  dataDir: string;
  /** An external cluster; undefined: the embedded broker. */
  kafkaBrokers: string[] | undefined;
  /** 2: a second embedded broker, collected as the source "warehouse" (the demo's bridge). */
  sources: 1 | 2;
  warehouseBrokerPort: number;
  /** --rabbitmq: a RabbitMQ node, collected as the source "rabbitmq" (the demo's e-mail jobs). */
  rabbitmq: boolean;
  rabbitmqPort: number;
  rabbitmqManagementPort: number;
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  serviceArgs: string[];
  /** For tests of the launcher: no web UI (and no `next build`), no demo services. */
  web: boolean;
  services: boolean;
  config: Config;
}

function parsePort(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65_535) {
    throw new UsageError(`--${flag} must be a TCP port, a whole number from 1 to 65535; got "${text}"`);
  }
  return Number(text);
}

function parseServiceFlag(flag: ServiceFlag, text: string): string {
  const { min, max, integer } = SERVICE_FLAGS[flag];
  const value = Number(text);
  const shape = integer ? /^\d+$/ : /^\d+(?:\.\d+)?$/;
  if (!shape.test(text.trim()) || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(
      `--${flag} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}; got "${text}"`,
    );
  }
  return String(value);
}

function parseOptions(argv: string[]): DemoOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        "broker-port": { type: "string" },
        "registry-port": { type: "string" },
        "db-port": { type: "string" },
        "data-dir": { type: "string" },
        kafka: { type: "string" },
        sources: { type: "string" },
        "warehouse-broker-port": { type: "string" },
        rabbitmq: { type: "boolean" },
        "rabbitmq-port": { type: "string" },
        "rabbitmq-management-port": { type: "string" },
        compression: { type: "string" },
        "schema-change": { type: "string" },
        ...(Object.fromEntries(Object.keys(SERVICE_FLAGS).map((flag) => [flag, { type: "string" }])) as Record<
          ServiceFlag,
          { type: "string" }
        >),
        // For the launcher's own tests (not in --help): skip the web UI, skip the demo services.
        "no-web": { type: "boolean" },
        "no-services": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";

  let config: Config;
  try {
    config = loadConfig({
      ...process.env,
      ...(values.kafka !== undefined ? { KAFKA_BROKERS: values.kafka } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError && values.kafka !== undefined) {
      const kafkaIssue = error.issues.find((issue) => issue.variable === "KAFKA_BROKERS");
      if (kafkaIssue) throw new UsageError(`--kafka: ${kafkaIssue.message}`);
    }
    throw error;
  }

  const serviceArgs: string[] = [];
  for (const flag of Object.keys(SERVICE_FLAGS) as ServiceFlag[]) {
    const text = values[flag];
    if (text !== undefined) serviceArgs.push(`--${flag}`, parseServiceFlag(flag, text));
  }
  if (values.compression !== undefined) {
    const codec = values.compression.trim().toLowerCase();
    if (!(COMPRESSION_NAMES as readonly string[]).includes(codec)) {
      throw new UsageError(`--compression must be one of ${COMPRESSION_NAMES.join(", ")}; got "${values.compression}"`);
    }
    serviceArgs.push("--compression", codec);
  }
  if (values["schema-change"] !== undefined) {
    const change = values["schema-change"].trim().toLowerCase();
    if (!SCHEMA_CHANGES.includes(change)) {
      throw new UsageError(`--schema-change must be one of ${SCHEMA_CHANGES.join(", ")}; got "${values["schema-change"]}"`);
    }
    serviceArgs.push("--schema-change", change);
  }
  const outageEvery = values["outage-every"] === undefined ? undefined : Number(values["outage-every"]);
  const outageLength = values["outage-length"] === undefined ? undefined : Number(values["outage-length"]);
  if (outageEvery !== undefined && outageEvery > 0 && outageLength !== undefined && outageLength >= outageEvery) {
    throw new UsageError("--outage-length must be shorter than --outage-every");
  }
  const stallEvery = values["stall-every"] === undefined ? undefined : Number(values["stall-every"]);
  const stallLength = values["stall-length"] === undefined ? undefined : Number(values["stall-length"]);
  if (stallEvery !== undefined && stallEvery > 0 && stallLength !== undefined && stallLength >= stallEvery) {
    throw new UsageError("--stall-length must be shorter than --stall-every");
  }
  const sources = values.sources === undefined ? 1 : Number(values.sources.trim());
  if (sources !== 1 && sources !== 2) throw new UsageError(`--sources must be 1 or 2; got "${values.sources}"`);
  if (sources === 2 && (config.kafkaBrokers !== undefined || config.sources.length > 0)) {
    throw new UsageError(
      "--sources 2 runs two embedded brokers; for clusters of your own, list them in a sources file (EVENTSCOPE_SOURCES_FILE) and run npm start",
    );
  }
  if (!values.rabbitmq && (values["rabbitmq-port"] !== undefined || values["rabbitmq-management-port"] !== undefined || values["email-failure-rate"] !== undefined)) {
    throw new UsageError("--rabbitmq-port, --rabbitmq-management-port and --email-failure-rate go with --rabbitmq");
  }
  if (values.rabbitmq && (config.kafkaBrokers !== undefined || config.sources.length > 0)) {
    throw new UsageError("--rabbitmq runs with the embedded broker; for servers of your own, list them in a sources file (EVENTSCOPE_SOURCES_FILE) and run npm start");
  }
  const brokerPort = parsePort("broker-port", values["broker-port"], 9092);
  if (values["data-dir"] !== undefined && values["data-dir"].trim() === "") {
    throw new UsageError("--data-dir must not be empty");
  }
  return {
    port: parsePort("port", values.port, config.port),
    brokerPort,
    sources,
    warehouseBrokerPort: parsePort("warehouse-broker-port", values["warehouse-broker-port"], brokerPort === 65_535 ? 65_534 : brokerPort + 1),
    rabbitmq: values.rabbitmq === true,
    rabbitmqPort: parsePort("rabbitmq-port", values["rabbitmq-port"], 5672),
    rabbitmqManagementPort: parsePort("rabbitmq-management-port", values["rabbitmq-management-port"], 15_672),
    registryPort: parsePort("registry-port", values["registry-port"], 8081),
    dbPort: parsePort("db-port", values["db-port"], 54_329),
    dataDir: path.resolve(values["data-dir"] ?? ".eventscope"),
    kafkaBrokers: config.kafkaBrokers,
    databaseUrl: config.databaseUrl,
    adminToken: config.adminToken,
    serviceArgs,
    web: !values["no-web"],
    services: !values["no-services"],
    config,
  };
}

// --- output ----------------------------------------------------------------------------------------

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function complain(line: string): void {
  process.stderr.write(`${line}\n`);
}

// --- pieces ----------------------------------------------------------------------------------------

/** The admin token of this data directory: made once, kept readable by its owner only. */
function loadOrCreateAdminToken(dataDir: string): string {
  const file = path.join(dataDir, "admin-token");
  try {
    const existing = fs.readFileSync(file, "utf8").trim();
    if (existing.length >= 8) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const token = crypto.randomBytes(24).toString("base64url");
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return token;
}

interface PortCheck {
  port: number;
  what: string;
  flag: string;
  alternative?: string;
}

function portTakenMessage(check: PortCheck): string {
  return `port ${check.port} is taken (${check.what}): choose another with ${check.flag} N${
    check.alternative ? `, or ${check.alternative}` : ""
  }`;
}

function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";
}

async function waitForHttpOk(url: string, web: ManagedProcess, timeoutMs: number): Promise<void> {
  await pollUntil(
    `${url} to answer 200`,
    async () => {
      if (web.hasExited) throw web.failure("stopped before it was ready");
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      return response.status === 200 ? true : undefined;
    },
    timeoutMs,
    500,
  ).catch((error: unknown) => {
    if (web.hasExited) throw web.failure("stopped before it was ready");
    throw error;
  });
}

/** An order id from the database, to link to its timeline; undefined if none arrives soon. */
async function findAnOrderId(databaseUrl: string): Promise<string | undefined> {
  const db = connectDatabase(databaseUrl, { maxConnections: 1, applicationName: "eventscope-demo" });
  try {
    return await pollUntil(
      "an order",
      async () => {
        const page = await searchEvents(db, { type: "OrderPlaced", limit: 1 });
        const event = page.events[0];
        return event?.entityKeys[0] ?? event?.key ?? undefined;
      },
      15_000,
      500,
    );
  } catch {
    return undefined;
  } finally {
    await db.close();
  }
}

/** An embedded broker on 127.0.0.1 logging to `logFile`; a taken port is said with the flag that changes it. */
async function startEmbeddedBroker(logFile: string, dataDir: string, port: PortCheck): Promise<RunningBroker> {
  const brokerLog = fs.createWriteStream(logFile, { flags: "a" });
  try {
    return await startBroker({
      port: port.port,
      host: "127.0.0.1",
      dataDir,
      log: (line) => brokerLog.write(`${new Date().toISOString()} ${line}\n`),
    });
  } catch (error) {
    if (isAddressInUse(error)) throw new Error(portTakenMessage(port));
    throw error;
  }
}

/**
 * The sources file of `--sources 2` and `--rabbitmq` (the format of EVENTSCOPE_SOURCES_FILE),
 * written into the data directory: the collector and the web UI read it instead of KAFKA_BROKERS.
 */
function writeSourcesFile(
  dataDir: string,
  sources: { name: string; brokers: string[]; registryUrl?: string }[],
  rabbitmq: { name: string; url: string; managementUrl: string; passwordEnv: string } | undefined,
): string {
  const file = path.join(dataDir, "sources.json");
  const body = {
    sources: [
      ...sources.map(({ name, brokers, registryUrl }) => ({
        name,
        kind: "kafka",
        brokers,
        ...(registryUrl ? { schemaRegistry: { url: registryUrl } } : {}),
      })),
      ...(rabbitmq
        ? [
            {
              name: rabbitmq.name,
              kind: "rabbitmq",
              url: rabbitmq.url,
              managementUrl: rabbitmq.managementUrl,
              username: "guest",
              passwordEnv: rabbitmq.passwordEnv,
              // Deliveries from the firehose, which the demo turns on for its own node (step 1b).
              deliveries: "firehose",
            },
          ]
        : []),
    ],
  };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

// --- the run ---------------------------------------------------------------------------------------

const STOP_GRACE_MS = 20_000;

/** The variable the demo's sources file names for RabbitMQ's password (guest's, on loopback). */
const DEMO_RABBITMQ_PASSWORD_ENV = "EVENTSCOPE_DEMO_RABBITMQ_PASSWORD";

async function main(): Promise<number> {
  let options: DemoOptions | "help";
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      complain(`npm run demo: ${error.message}\n(npm run demo -- --help lists the options)`);
      return 2;
    }
    if (error instanceof ConfigError) {
      complain(`npm run demo: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (options === "help") {
    say(USAGE);
    return 0;
  }
  const opts = options;
  // From the process's start: loading TypeScript through tsx counts too.
  const startedAt = Date.now() - performance.now();
  const logDir = path.join(opts.dataDir, "logs");
  const relativeDataDir = path.relative(process.cwd(), opts.dataDir);
  const shownDataDir = relativeDataDir.startsWith("..") ? opts.dataDir : relativeDataDir || ".";
  const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  const progress = (line: string) => say(`[${elapsed()}] ${line}`);

  // Every port first, before anything starts: a taken one is reported with the flag that changes it.
  const pgDataDir = path.join(opts.dataDir, "postgres");
  const checks: PortCheck[] = [];
  if (opts.web) checks.push({ port: opts.port, what: "the web UI", flag: "--port" });
  if (!opts.kafkaBrokers) {
    checks.push({
      port: opts.brokerPort,
      what: "the embedded Kafka broker",
      flag: "--broker-port",
      alternative: "use a running Kafka with --kafka HOST:PORT",
    });
  }
  if (opts.sources === 2) {
    checks.push({ port: opts.warehouseBrokerPort, what: "the warehouse's embedded Kafka broker", flag: "--warehouse-broker-port" });
  }
  if (opts.rabbitmq) {
    checks.push({ port: opts.rabbitmqPort, what: "RabbitMQ's AMQP listener", flag: "--rabbitmq-port" });
    checks.push({ port: opts.rabbitmqManagementPort, what: "RabbitMQ's management API", flag: "--rabbitmq-management-port" });
  }
  if (!opts.config.schemaRegistry) checks.push({ port: opts.registryPort, what: "the embedded schema registry", flag: "--registry-port" });
  if (!opts.databaseUrl && runningServerPort(pgDataDir) !== opts.dbPort) {
    checks.push({ port: opts.dbPort, what: "the embedded PostgreSQL", flag: "--db-port" });
  }
  // --rabbitmq without RabbitMQ installed: said before anything starts.
  if (opts.rabbitmq) {
    try {
      findRabbitBinDir(process.env.EVENTSCOPE_RABBITMQ_BIN_DIR || undefined);
    } catch (error) {
      if (!(error instanceof RabbitNodeError)) throw error;
      complain(`npm run demo: --rabbitmq needs RabbitMQ: ${error.message}. Nothing was started.`);
      return 1;
    }
  }
  const taken: PortCheck[] = [];
  for (const check of checks) if (!(await isPortFree(check.port))) taken.push(check);
  if (taken.length > 0) {
    for (const check of taken) complain(`npm run demo: ${portTakenMessage(check)}`);
    return 1;
  }

  fs.mkdirSync(logDir, { recursive: true });
  const adminToken = opts.adminToken ?? loadOrCreateAdminToken(opts.dataDir);
  progress(`starting Eventscope's demo (data in ${shownDataDir}, logs in ${path.join(shownDataDir, "logs")})`);

  let broker: RunningBroker | undefined;
  let warehouseBroker: RunningBroker | undefined;
  let rabbitNode: RabbitNode | undefined;
  let registry: RunningSchemaRegistry | undefined;
  let postgres: ManagedProcess | undefined;
  const children: { collector?: ManagedProcess; services?: ManagedProcess; web?: ManagedProcess } = {};
  const buildAbort = new AbortController();
  let stopping: Promise<number> | undefined;
  /** Once a part is up, its stopping stops the demo: it would be lying otherwise. */
  const watch = (child: ManagedProcess) => {
    void child.exited.then((status) => {
      if (stopping) return;
      complain(
        `\nthe ${child.name} stopped unexpectedly (${describeExit(status)}); its last lines:\n${indent(child.lastLines(20))}\n(full log: ${child.logFile})`,
      );
      void shutdown(1).then((code) => process.exit(code));
    });
  };

  const shutdown = (code: number): Promise<number> =>
    (stopping ??= (async () => {
      buildAbort.abort();
      const stopStep = async (what: string, stop: () => Promise<unknown>) => {
        try {
          await stop();
        } catch (error) {
          complain(`stopping ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
          code = code || 1;
        }
      };
      const running = [children.web, children.services].filter((child) => child && !child.hasExited);
      if (running.length > 0) {
        say(`stopping the ${running.map((child) => child!.name).join(" and the ")}…`);
        await Promise.all(running.map((child) => stopStep(`the ${child!.name}`, () => child!.stop(STOP_GRACE_MS))));
      }
      if (children.collector && !children.collector.hasExited) {
        say("stopping the collector…");
        await stopStep("the collector", () => children.collector!.stop(STOP_GRACE_MS));
      }
      if (broker) {
        say(warehouseBroker ? "stopping the Kafka brokers…" : "stopping the Kafka broker…");
        await stopStep("the Kafka broker", () => broker!.stop());
      }
      if (warehouseBroker) await stopStep("the warehouse's Kafka broker", () => warehouseBroker!.stop());
      if (rabbitNode) {
        say("stopping RabbitMQ…");
        await stopStep("RabbitMQ", () => rabbitNode!.stop());
      }
      if (registry) {
        say("stopping the schema registry…");
        await stopStep("the schema registry", () => registry!.stop());
      }
      if (postgres && !postgres.hasExited) {
        say("stopping PostgreSQL…");
        await stopStep("PostgreSQL", () => postgres!.stop(STOP_GRACE_MS));
      }
      say(code === 0 ? `stopped; the data stays in ${shownDataDir}` : "stopped");
      return code;
    })());

  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // A Ctrl-C can arrive twice at once: from the terminal and forwarded by npm. Only a second
    // one a moment later means "do not wait".
    if (stopping && Date.now() - firstSignalAt < 1_000) return;
    firstSignalAt = Date.now();
    if (stopping) {
      complain(`${signal} again: killing everything without waiting`);
      for (const child of [children.web, children.services, children.collector, postgres]) child?.killGroup("SIGKILL");
      process.exit(130);
    }
    say(`\n${signal}: stopping everything (again to kill at once)`);
    void shutdown(0).then((code) => process.exit(code));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    // The build is the slow part of a first start: it runs while the rest starts.
    const built = opts.web
      ? ensureWebBuild({ root: ROOT, logFile: path.join(logDir, "next-build.log"), say: progress, signal: buildAbort.signal })
      : Promise.resolve(false);
    built.catch(() => {});

    // 1. Kafka
    let kafkaBrokers: string[];
    if (opts.kafkaBrokers) {
      kafkaBrokers = opts.kafkaBrokers;
      progress(`using the Kafka cluster at ${kafkaBrokers.join(",")} (no embedded broker)`);
    } else {
      broker = await startEmbeddedBroker(path.join(logDir, "broker.log"), path.join(opts.dataDir, "broker"), {
        port: opts.brokerPort,
        what: "the embedded Kafka broker",
        flag: "--broker-port",
        alternative: "use a running Kafka with --kafka HOST:PORT",
      });
      kafkaBrokers = [broker.address];
      progress(`Kafka broker (embedded) listening on ${broker.address}`);
    }
    if (stopping) return await stopping;

    // 1a. --sources 2: the warehouse's cluster, a second embedded broker
    if (opts.sources === 2) {
      warehouseBroker = await startEmbeddedBroker(path.join(logDir, "broker-warehouse.log"), path.join(opts.dataDir, "broker-warehouse"), {
        port: opts.warehouseBrokerPort,
        what: "the warehouse's embedded Kafka broker",
        flag: "--warehouse-broker-port",
      });
      progress(`the warehouse's Kafka broker (embedded, a second source) listening on ${warehouseBroker.address}`);
    }
    if (stopping) return await stopping;

    // 1b. --rabbitmq: a RabbitMQ node of the demo's own, its data kept under the data directory
    if (opts.rabbitmq) {
      progress(`starting RabbitMQ (ports ${opts.rabbitmqPort} and ${opts.rabbitmqManagementPort})…`);
      try {
        rabbitNode = await startRabbitNode({
          dataDir: path.join(opts.dataDir, "rabbitmq"),
          amqpPort: opts.rabbitmqPort,
          managementPort: opts.rabbitmqManagementPort,
          nodeName: "eventscope-demo@localhost",
          binDir: process.env.EVENTSCOPE_RABBITMQ_BIN_DIR || undefined,
        });
      } catch (error) {
        if (error instanceof RabbitNodeError && /port (\d+) .*already in use/.test(error.message)) {
          const port = Number(/port (\d+)/.exec(error.message)![1]);
          const management = port === opts.rabbitmqManagementPort;
          throw new Error(
            portTakenMessage({
              port,
              what: management ? "RabbitMQ's management API" : "RabbitMQ",
              flag: management ? "--rabbitmq-management-port" : "--rabbitmq-port",
            }),
          );
        }
        throw error;
      }
      progress(`RabbitMQ ready: AMQP ${withoutPassword(rabbitNode.amqpUrl)}, management ${rabbitNode.managementUrl} (guest/guest)`);
      // The demo plays the user's system: like a user, it turns the firehose on for its own node,
      // so that Eventscope (which never does) can show which queue delivered each message. Without
      // it the demo runs all the same; the source's status then says tracing is off.
      try {
        await rabbitmqctl(rabbitNode, ["trace_on", "-p", "/"]);
        progress("RabbitMQ firehose on for vhost / (rabbitmqctl trace_on -p /, as you would run it on your own broker): deliveries are collected");
      } catch (error) {
        progress(`turning RabbitMQ's firehose on failed (deliveries will not be seen; the rest runs): ${(error as Error).message}`);
      }
    }
    if (stopping) return await stopping;

    // 1c. The schema registry: SCHEMA_REGISTRY_URL's, else the embedded one (for demos and tests)
    let registryUrl: string;
    if (opts.config.schemaRegistry) {
      registryUrl = opts.config.schemaRegistry.url;
      progress(`using the schema registry at ${registryUrl} (no embedded registry)`);
    } else {
      try {
        registry = await startSchemaRegistry({ port: opts.registryPort, host: "127.0.0.1", dataDir: path.join(opts.dataDir, "registry") });
      } catch (error) {
        if (isAddressInUse(error)) {
          throw new Error(portTakenMessage({ port: opts.registryPort, what: "the embedded schema registry", flag: "--registry-port" }));
        }
        throw error;
      }
      registryUrl = registry.url;
      progress(`schema registry (embedded) listening on ${registry.address}`);
    }
    if (stopping) return await stopping;

    // 2. PostgreSQL, migrated
    let databaseUrl: string;
    if (opts.databaseUrl) {
      databaseUrl = opts.databaseUrl;
      const result = await runMigrations(databaseUrl);
      progress(`PostgreSQL from DATABASE_URL, migrated (${result.applied.length} migrations applied)`);
    } else {
      progress(`starting PostgreSQL (embedded, port ${opts.dbPort})…`);
      postgres = new ManagedProcess({
        name: "embedded PostgreSQL",
        args: ["--import", "tsx", path.join(ROOT, "scripts", "support", "postgres-process.ts"), pgDataDir, String(opts.dbPort)],
        env: process.env,
        cwd: ROOT,
        logFile: path.join(logDir, "postgres.log"),
      });
      const ready = await postgres.waitForLine(/^postgres ready (\{.*\})$/, 180_000).catch((error: unknown) => {
        if (/EADDRINUSE|could not bind|Address already in use/i.test(postgres!.lastLines())) {
          throw new Error(portTakenMessage({ port: opts.dbPort, what: "the embedded PostgreSQL", flag: "--db-port" }));
        }
        throw error;
      });
      watch(postgres);
      const info = JSON.parse(ready[1]!) as { url: string; port: number; owned: boolean };
      databaseUrl = info.url;
      progress(
        `PostgreSQL (embedded) ready on port ${info.port}${info.owned ? "" : " (already running, reused)"}, migrations applied`,
      );
    }
    if (stopping) return await stopping;

    // One source: KAFKA_BROKERS and SCHEMA_REGISTRY_URL. More: a sources file naming them.
    const sourcesFile =
      warehouseBroker || rabbitNode
        ? writeSourcesFile(
            opts.dataDir,
            [
              { name: "default", brokers: kafkaBrokers, registryUrl },
              ...(warehouseBroker ? [{ name: "warehouse", brokers: [warehouseBroker.address] }] : []),
            ],
            rabbitNode
              ? { name: "rabbitmq", url: `amqp://127.0.0.1:${rabbitNode.amqpPort}`, managementUrl: rabbitNode.managementUrl, passwordEnv: DEMO_RABBITMQ_PASSWORD_ENV }
              : undefined,
          )
        : undefined;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(sourcesFile
        ? { EVENTSCOPE_SOURCES_FILE: sourcesFile, KAFKA_BROKERS: undefined, SCHEMA_REGISTRY_URL: undefined }
        : { KAFKA_BROKERS: kafkaBrokers.join(","), SCHEMA_REGISTRY_URL: registryUrl }),
      DATABASE_URL: databaseUrl,
      EVENTSCOPE_POLL_MS: "2000",
      // guest's password, for the sources file's RabbitMQ source (loopback only).
      ...(rabbitNode ? { [DEMO_RABBITMQ_PASSWORD_ENV]: "guest" } : {}),
      EVENTSCOPE_ADMIN_TOKEN: adminToken,
    };

    // 3. The collector
    children.collector = new ManagedProcess({
      name: "collector",
      args: ["--import", "tsx", path.join(ROOT, "server", "collector", "cli.ts")],
      env,
      cwd: ROOT,
      logFile: path.join(logDir, "collector.log"),
    });
    await children.collector.waitForLine(/collector: started:/, 120_000);
    watch(children.collector);
    progress("collector running (polls groups and lag every 2 s)");
    if (stopping) return await stopping;

    // 4. The demo services: the user's system
    if (opts.services) {
      const servicesCli = path.join(ROOT, "server", "demo", "cli.ts");
      if (!fs.existsSync(servicesCli)) {
        throw new Error("the demo services could not start: server/demo/cli.ts is missing from this checkout");
      }
      children.services = new ManagedProcess({
        name: "demo services",
        args: [
          "--import",
          "tsx",
          servicesCli,
          "--kafka",
          kafkaBrokers.join(","),
          "--schema-registry",
          registryUrl,
          ...(warehouseBroker ? ["--warehouse-kafka", warehouseBroker.address] : []),
          ...(rabbitNode ? ["--rabbitmq", `amqp://127.0.0.1:${rabbitNode.amqpPort}`] : []),
          // The database through DATABASE_URL (env): command lines end up in logs and `ps`.
          ...opts.serviceArgs,
        ],
        env,
        cwd: ROOT,
        logFile: path.join(logDir, "demo-services.log"),
      });
      await children.services.waitForLine(/demo services ready/, 120_000);
      watch(children.services);
      progress(
        `demo services running: order, inventory, payment, shipping, notification, analytics${
          warehouseBroker ? "; warehouse-bridge and warehouse-service on the warehouse's cluster" : ""
        }${rabbitNode ? "; email-sender on RabbitMQ" : ""}`,
      );
      // The payments schema change happens later, in the services' log: said here too, when it does.
      void children.services
        .waitForLine(/payment-service: (schema change rolled out .*)$/, 2 ** 31 - 1)
        .then((match) => progress(match[1]!))
        .catch(() => {
          // The services stopped first (reported by watch()), or never changed the schema.
        });
    }
    if (stopping) return await stopping;

    // 5. The web UI
    const baseUrl = `http://127.0.0.1:${opts.port}`;
    if (opts.web) {
      await built;
      if (stopping) return await stopping;
      if (!(await isPortFree(opts.port))) {
        throw new Error(portTakenMessage({ port: opts.port, what: "the web UI", flag: "--port" }));
      }
      progress("starting the web UI…");
      children.web = new ManagedProcess({
        name: "web UI",
        args: ["--import", "tsx", path.join(ROOT, "scripts", "web-server.ts"), "--port", String(opts.port), "--hostname", "127.0.0.1"],
        env: { ...env, NODE_ENV: "production", PORT: String(opts.port), HOST: "127.0.0.1", NEXT_TELEMETRY_DISABLED: "1" },
        cwd: ROOT,
        logFile: path.join(logDir, "web.log"),
      });
      await waitForHttpOk(`${baseUrl}/api/health/live`, children.web, 120_000).catch((error: unknown) => {
        if (/EADDRINUSE/.test(children.web!.lastLines())) {
          throw new Error(portTakenMessage({ port: opts.port, what: "the web UI", flag: "--port" }));
        }
        throw error;
      });
      watch(children.web);
    }
    if (stopping) return await stopping;

    const orderId = opts.web && opts.services ? await findAnOrderId(databaseUrl) : undefined;
    if (stopping) return await stopping;
    say("");
    if (opts.web) {
      say(`Eventscope is ready: ${baseUrl}`);
      // A token of the user's (EVENTSCOPE_ADMIN_TOKEN) is theirs to keep out of terminals and logs.
      say(
        opts.adminToken
          ? `Log in for replays and other writes at ${baseUrl}/login with EVENTSCOPE_ADMIN_TOKEN`
          : `Log in for replays and other writes: ${baseUrl}/login#token=${adminToken}`,
      );
      say("Three things to try (each page's JSON is beside it):");
      const order = orderId ? encodeURIComponent(orderId) : undefined;
      say(
        order
          ? `  - what happened to one order:  ${baseUrl}/entities/${order}   JSON: ${baseUrl}/api/entities/${order}`
          : `  - what happened to one order:  ${baseUrl}/entities/<an order id, from the home page>`,
      );
      say(`  - who consumes OrderPlaced:    ${baseUrl}/who-consumes?q=OrderPlaced   JSON: ${baseUrl}/api/who-consumes?type=OrderPlaced`);
      say(`  - the dead-letter inbox:       ${baseUrl}/dead-letters   JSON: ${baseUrl}/api/dead-letters`);
      say("    (replay a dead letter with a click once logged in)");
    } else {
      say("Eventscope is ready (without the web UI)");
    }
    // A DATABASE_URL of the user's is shown without its password; the embedded database's is
    // shown whole (its password is a fixed one, for that local database only), to connect to it.
    say(`Kafka: ${kafkaBrokers.join(",")}${warehouseBroker ? ` (source default), ${warehouseBroker.address} (source warehouse)` : ""}   database: ${opts.databaseUrl ? withoutPassword(databaseUrl) : databaseUrl}`);
    say(`Schema registry: ${registryUrl}`);
    if (rabbitNode) say(`RabbitMQ: ${withoutPassword(rabbitNode.amqpUrl)} (source rabbitmq)   management: ${rabbitNode.managementUrl} (guest/guest)`);
    say(`Started in ${elapsed()}. Ctrl-C stops everything; the data stays in ${shownDataDir} for the next run.`);
    return await new Promise<number>(() => {
      // Runs until a signal or a failing part calls shutdown(), which exits.
    });
  } catch (error) {
    if (stopping) return await stopping;
    complain(`\nnpm run demo failed: ${error instanceof Error ? error.message : String(error)}`);
    return await shutdown(1);
  }
}

const code = await main();
process.exit(code);
