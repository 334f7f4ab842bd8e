import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitUntil } from "../broker/test-support.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, "cli.ts");
const REPO_ROOT = path.resolve(HERE, "..", "..");

/** The demo services as their own process (server/demo/cli.ts), for the tests that run them. */
export interface DemoServicesProcess {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** Resolves with its exit code when it exits. */
  exited: Promise<number | null>;
  /** SIGKILL, unless it has exited already. */
  kill(): void;
}

/**
 * Starts the demo services against a broker, a database and a registry, with `args` after those,
 * and waits until they say they are ready. The environment's Kafka, Eventscope, registry and
 * database variables are left out: the flags say everything.
 */
export async function startDemoServices(
  connection: { kafka: string; databaseUrl: string; registryUrl: string },
  args: readonly string[],
): Promise<DemoServicesProcess> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(KAFKA_|EVENTSCOPE_|SCHEMA_REGISTRY_|DATABASE_URL$)/.test(name)),
  );
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      CLI,
      ...["--kafka", connection.kafka, "--database-url", connection.databaseUrl, "--schema-registry", connection.registryUrl],
      ...args,
    ],
    { cwd: REPO_ROOT, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const services: DemoServicesProcess = {
    child,
    output: () => output,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
  try {
    await waitUntil("the demo services to be ready", () => output.includes("demo services ready\n"), { timeoutMs: 80_000, describe: () => output });
  } catch (error) {
    services.kill();
    throw error;
  }
  return services;
}
