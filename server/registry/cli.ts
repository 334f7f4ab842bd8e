import { parseStringFlags, stopOnSignals, usageError } from "../cli-support.ts";
import { startSchemaRegistry } from "./index.ts";

const usage = "usage: npm run schema-registry -- [--port P] [--host H] [--data-dir D]";

// Annotated so that TypeScript knows code after a call to it is unreachable.
const fail: (message: string) => never = usageError(usage);

const values = parseStringFlags(usage, ["port", "host", "data-dir"]);
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
  stopOnSignals("registry", () => registry.stop());
} catch (err) {
  fail(`schema registry failed to start: ${(err as Error).message}`);
}
