import fs from "node:fs";
import { parseStringFlags, stopOnSignals, usageError } from "../cli-support.ts";
import { startBroker, type BrokerTlsOptions } from "./broker.ts";

const usage =
  "usage: npm run broker -- [--port P] [--host H] [--data-dir D] [--partitions N] [--sasl-users FILE]\n" +
  "                         [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]";

// Annotated so that TypeScript knows code after a call to it is unreachable.
const fail: (message: string) => never = usageError(usage);

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    fail(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

function readPem(name: string, file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    fail(`--${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** --tls-cert and --tls-key together make the port TLS-only; --tls-client-ca adds mutual TLS. */
function tlsOptions(cert: string | undefined, key: string | undefined, clientCa: string | undefined): BrokerTlsOptions | undefined {
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined) fail("--tls-client-ca needs --tls-cert and --tls-key");
    return undefined;
  }
  if (cert === undefined || key === undefined) fail("--tls-cert and --tls-key go together");
  return {
    cert: readPem("tls-cert", cert),
    key: readPem("tls-key", key),
    ...(clientCa !== undefined ? { clientCa: readPem("tls-client-ca", clientCa) } : {}),
  };
}

const values = parseStringFlags(usage, ["port", "host", "data-dir", "partitions", "sasl-users", "tls-cert", "tls-key", "tls-client-ca"]);

try {
  const broker = await startBroker({
    port: integer("port", values.port, 9092, 0, 65535),
    host: values.host ?? "127.0.0.1",
    dataDir: values["data-dir"],
    partitions: integer("partitions", values.partitions, 3, 1, 10000),
    saslUsers: values["sasl-users"],
    tls: tlsOptions(values["tls-cert"], values["tls-key"], values["tls-client-ca"]),
  });
  process.stdout.write(`broker listening on ${broker.host}:${broker.port}\n`);
  stopOnSignals("broker", () => broker.stop());
} catch (err) {
  fail(`broker failed to start: ${(err as Error).message}`);
}
