import { parseArgs } from "node:util";

/**
 * What the standalone servers' CLIs (the embedded broker and schema registry) share. Node
 * built-ins only: both run on Node alone.
 */

/** A function that prints `message` and the usage, and exits with 2 (a usage error). */
export function usageError(usage: string): (message: string) => never {
  return (message) => {
    process.stderr.write(`${message}\n${usage}\n`);
    process.exit(2);
  };
}

/**
 * On the first SIGINT or SIGTERM, calls `stop` and exits: 0 once it is done, 1 when it fails.
 * `label` prefixes the log lines, as `[broker]`.
 */
export function stopOnSignals(label: string, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[${label}] ${signal}: stopping\n`);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`[${label}] stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

/**
 * Parses the command line, where every flag takes a value (`--port 9092`), plus `--help`, which
 * prints the usage and exits. An unknown flag or a flag without its value is a usage error naming it.
 */
export function parseStringFlags<const N extends string>(usage: string, names: readonly N[]): { [K in N]?: string } {
  const options: Record<string, { type: "string" | "boolean" }> = Object.fromEntries(names.map((name) => [name, { type: "string" }]));
  options.help = { type: "boolean" };
  let values;
  try {
    ({ values } = parseArgs({ options, strict: true }));
  } catch (err) {
    return usageError(usage)((err as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values as { [K in N]?: string };
}
