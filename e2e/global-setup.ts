/**
 * Starts the whole demo stack once for every spec: `scripts/demo.ts` (what `npm run demo` runs)
 * on free ports with a fresh temporary data directory, so a test run never touches `.eventscope/`.
 * The demo services run fast and fail often (10 orders/s, a 6 s payment-gateway outage every
 * 30 s, 10% malformed orders) and change the Avro payments schema 8 s after they start (a
 * compatible change), so that every kind of data, and payments of both schema versions, exist
 * within a minute. Two sources (`--sources 2`): the warehouse's cluster is a second embedded
 * broker, and every shipped order crosses over to it. Waits for the
 * ready line, then until the database holds events of several types and at least one dead letter.
 *
 * With E2E_BASE_URL set, nothing is started: the specs run against that stack (E2E_ADMIN_TOKEN,
 * E2E_DATABASE_URL and E2E_KAFKA_BROKERS default to what `npm run demo` uses).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connectDatabase, listDeadLetters, searchEvents } from "../server/db/index.ts";
import { findFreePort, pollUntil } from "../scripts/support/ports.ts";
import { STACK_ENV } from "./support/stack.ts";
import { stopLauncher } from "./support/launcher.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** A first run builds the web UI: minutes on a 2-core machine. */
const READY_TIMEOUT_MS = 15 * 60_000;
const DATA_TIMEOUT_MS = 3 * 60_000;
/** Event types the saga produces in its first seconds, and what the specs rely on. */
const EXPECTED_TYPES = ["OrderPlaced", "InventoryReserved", "PaymentProcessed", "OrderShipped"];

function log(line: string): void {
  process.stdout.write(`[e2e stack] ${line}\n`);
}

/** The launcher's environment: none of the developer's Eventscope or Kafka settings leak in. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(?:EVENTSCOPE_|KAFKA_|E2E_)/.test(name) || ["DATABASE_URL", "PORT", "HOST"].includes(name)) delete env[name];
  }
  return env;
}

async function waitForData(databaseUrl: string): Promise<void> {
  const db = connectDatabase(databaseUrl, { maxConnections: 2, applicationName: "eventscope-e2e" });
  try {
    await pollUntil(
      `events of the types ${EXPECTED_TYPES.join(", ")} and a dead letter in the database`,
      async () => {
        for (const type of EXPECTED_TYPES) {
          const page = await searchEvents(db, { type, limit: 1 });
          if (page.events.length === 0) return undefined;
        }
        const deadLetters = await listDeadLetters(db, { limit: 1 });
        return deadLetters.deadLetters.length > 0 ? true : undefined;
      },
      DATA_TIMEOUT_MS,
      1_000,
    );
  } finally {
    await db.close();
  }
}

async function reuseRunningStack(baseUrl: string): Promise<void> {
  log(`using the stack at ${baseUrl} (E2E_BASE_URL)`);
  if (!process.env[STACK_ENV.adminToken]) {
    const tokenFile = path.join(ROOT, ".eventscope", "admin-token");
    if (!fs.existsSync(tokenFile)) {
      throw new Error(`E2E_BASE_URL is set but E2E_ADMIN_TOKEN is not, and there is no ${tokenFile} to read it from`);
    }
    process.env[STACK_ENV.adminToken] = fs.readFileSync(tokenFile, "utf8").trim();
  }
  process.env[STACK_ENV.databaseUrl] ??= "postgresql://postgres:eventscope@127.0.0.1:54329/eventscope";
  process.env[STACK_ENV.kafkaBrokers] ??= "127.0.0.1:9092";
  const response = await fetch(new URL("/api/health", baseUrl));
  if (response.status !== 200) throw new Error(`${baseUrl}/api/health answered ${response.status}`);
}

export default async function globalSetup(): Promise<void> {
  const reuse = process.env[STACK_ENV.baseUrl];
  if (reuse) return reuseRunningStack(reuse);

  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-e2e-"));
  // Run as root, PostgreSQL runs as the postgres user, which must get through to its data.
  fs.chmodSync(tempDir, 0o755);
  const dataDir = path.join(tempDir, "data");
  const ports = new Set<number>();
  while (ports.size < 7) ports.add(await findFreePort());
  const [port, brokerPort, dbPort, registryPort, warehouseBrokerPort, rabbitmqPort, rabbitmqManagementPort] = [...ports];
  const args = [
    "--import",
    "tsx",
    path.join(ROOT, "scripts", "demo.ts"),
    "--data-dir",
    dataDir,
    "--port",
    String(port),
    "--broker-port",
    String(brokerPort),
    "--db-port",
    String(dbPort),
    "--registry-port",
    String(registryPort),
    // Two sources: the warehouse's cluster on a second embedded broker, bridged from shipping.
    "--sources",
    "2",
    // A third, RabbitMQ: the e-mail jobs of the notifications, with refused ones dead-lettered.
    "--rabbitmq",
    "--rabbitmq-port",
    String(rabbitmqPort),
    "--rabbitmq-management-port",
    String(rabbitmqManagementPort),
    "--warehouse-broker-port",
    String(warehouseBrokerPort),
    "--rate",
    "10",
    "--outage-every",
    "30",
    "--outage-length",
    "6",
    "--malformed-rate",
    "0.1",
    "--schema-change",
    "compatible",
    "--schema-change-after",
    "8",
    // No consumer stalls: specs that follow an order to its shipment must not wait two minutes.
    // The timeline spec makes its own stuck order (one whose next step never comes).
    "--stall-every",
    "0",
  ];
  log(`starting the demo stack (data in ${dataDir}); a first run builds the web UI, which takes minutes`);
  const launcher: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: cleanEnvironment(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  process.env[STACK_ENV.launcherPid] = String(launcher.pid);
  process.env[STACK_ENV.tempDir] = tempDir;

  const output: string[] = [];
  let baseUrl: string | undefined;
  let kafkaBrokers: string | undefined;
  let databaseUrl: string | undefined;
  let exit: string | undefined;
  const onLine = (line: string) => {
    output.push(line);
    if (line.trim()) log(line);
    baseUrl ??= /^Eventscope is ready: (http\S+)$/.exec(line)?.[1];
    const where = /^Kafka: (\S+)(?: \(source default\), \S+ \(source warehouse\))?\s+database: (\S+)$/.exec(line);
    if (where) [, kafkaBrokers, databaseUrl] = where;
  };
  for (const stream of [launcher.stdout!, launcher.stderr!]) {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      lines.forEach(onLine);
    });
  }
  launcher.once("exit", (code, signal) => {
    exit = signal ? `killed by ${signal}` : `exit code ${code}`;
  });

  try {
    await pollUntil(
      "the demo stack's ready line",
      () => {
        if (exit) throw new Error(`the demo launcher stopped (${exit}) before it was ready:\n${output.join("\n")}`);
        return baseUrl && kafkaBrokers && databaseUrl ? true : undefined;
      },
      READY_TIMEOUT_MS,
      250,
    ).catch((error: unknown) => {
      // pollUntil keeps the last error as the cause: say why the launcher stopped, in full.
      if (exit) throw new Error(`the demo launcher stopped (${exit}) before it was ready:\n${output.join("\n")}`);
      throw error;
    });
    process.env[STACK_ENV.baseUrl] = baseUrl;
    process.env[STACK_ENV.adminToken] = fs.readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
    process.env[STACK_ENV.databaseUrl] = databaseUrl;
    process.env[STACK_ENV.kafkaBrokers] = kafkaBrokers;
    log("waiting for events of several types and a dead letter…");
    await waitForData(databaseUrl!);
    log(`ready: ${baseUrl}`);
  } catch (error) {
    await stopLauncher();
    throw error;
  }
}
