/**
 * The demo services' process: `node --import tsx server/demo/cli.ts [flags]` (see --help).
 * Prints `demo services ready` on stdout once every consumer has joined its group and orders are
 * being placed; SIGINT/SIGTERM stop it cleanly (exit 0). A bad flag exits with status 2.
 */
import { ConfigError, loadConfig } from "../config.ts";
import { startTelemetry, type RunningTelemetry } from "../telemetry/index.ts";
import { DEMO_USAGE, parseDemoCommandLine, UsageError, type DemoOptions } from "./options.ts";

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} demo: ${line}\n`);

function usageFailure(message: string): never {
  process.stderr.write(`${message}\n\n${DEMO_USAGE}\n`);
  process.exit(2);
}

let config: ReturnType<typeof loadConfig>;
let options: DemoOptions;
try {
  config = loadConfig(process.env);
  const parsed = parseDemoCommandLine(process.argv.slice(2), {
    brokers: config.kafkaBrokers,
    databaseUrl: config.databaseUrl,
    schemaRegistryUrl: config.schemaRegistry?.url,
  });
  if (parsed.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    process.exit(0);
  }
  options = parsed.options;
} catch (error) {
  if (error instanceof UsageError || error instanceof ConfigError) usageFailure(error.message);
  throw error;
}

// OpenTelemetry first: it patches kafkajs when kafkajs is required, which run-services.ts (through
// kafka.ts) does only after this line.
const telemetry: RunningTelemetry = startTelemetry({ serviceName: "eventscope-demo-services", spansFile: options.spansFile });
const { startDemoServices } = await import("./run-services.ts");

log(
  `starting: Kafka ${options.brokers.join(",")}, PostgreSQL ${new URL(options.databaseUrl).host}, ` +
    `Schema Registry ${new URL(options.schemaRegistryUrl).host}`,
);
const services = startDemoServices(options, {
  log,
  security: config.kafka,
  schemaRegistryAuth: { username: config.schemaRegistry?.username, password: config.schemaRegistry?.password },
});
let stopping = false;

async function shutdown(reason: string, code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log(`${reason}: stopping`);
    await services.stop().catch((error: unknown) => log(`stopping failed: ${error instanceof Error ? error.message : String(error)}`));
    await telemetry.shutdown().catch(() => {});
    log("stopped");
    process.exit(code);
  }
  return new Promise<never>(() => {});
}
process.on("SIGINT", () => void shutdown("SIGINT", 0));
process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

try {
  await services.ready;
  log(
    `services running against ${options.brokers.join(",")}: ${options.ordersPerSecond} orders/s, ` +
      `declines ${options.declineRate}, transient failures ${options.transientRate}, malformed ${options.malformedRate}, ` +
      (options.outageEverySeconds > 0
        ? `a ${options.outageLengthSeconds} s gateway outage every ${options.outageEverySeconds} s`
        : "no gateway outages") +
      `, duplicate deliveries ${options.duplicateRate}, re-keyed outcomes ${options.rekeyRate}, ` +
      (options.stallEverySeconds > 0
        ? `a ${options.stallLengthSeconds} s order-service stall every ${options.stallEverySeconds} s`
        : "no consumer stalls") +
      (options.schemaChange === "none"
        ? ", no payments schema change"
        : `, a ${options.schemaChange} payments schema change after ${options.schemaChangeAfterSeconds} s`),
  );
  process.stdout.write("demo services ready\n");
} catch (error) {
  if (!stopping) {
    log(`start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown("start-up failed", 1);
  }
}
