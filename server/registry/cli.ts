import { parseArgs } from "node:util";
import { startSchemaRegistry } from "./index.ts";

const usage = "usage: npm run schema-registry -- [--port P] [--host H] [--data-dir D]";

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const port = values.port ?? "8081";
if (!/^\d+$/.test(port) || Number(port) > 65535) fail(`--port must be an integer from 0 to 65535, got "${port}"`);
if (values.host === "") fail("--host must not be empty");
if (values["data-dir"] === "") fail("--data-dir must not be empty");

try {
  const registry = await startSchemaRegistry({
    port: Number(port),
    host: values.host ?? "127.0.0.1",
    dataDir: values["data-dir"],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`schema registry listening on ${registry.address}\n`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[registry] ${signal}: stopping\n`);
    registry.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`[registry] stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
} catch (err) {
  fail(`schema registry failed to start: ${(err as Error).message}`);
}
