/**
 * The demo's embedded PostgreSQL, run from a process of its own that the launcher starts in a
 * separate process group: a Ctrl-C in the terminal then reaches the launcher only, and the
 * database goes down last, after the collector has stored and committed what it fetched.
 *
 * Usage: node --import tsx scripts/support/postgres-process.ts DATA_DIR PORT
 * Prints one line `postgres ready {"url":…,"port":…,"owned":…}`. Stops the server on SIGINT or
 * SIGTERM, and when its standard input ends (the launcher is gone, however it died).
 */
import { runMigrations, startEmbeddedPostgres } from "../../server/db/index.ts";

const [dataDir, portText] = process.argv.slice(2);
if (!dataDir || !portText || !/^\d+$/.test(portText)) {
  process.stderr.write("usage: postgres-process.ts DATA_DIR PORT\n");
  process.exit(2);
}

let stop: (() => Promise<void>) | undefined;
let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await stop?.();
    process.exit(0);
  } catch (error) {
    process.stderr.write(`stopping PostgreSQL failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());
process.stdin.on("end", () => void shutdown());
process.stdin.on("error", () => void shutdown());
process.stdin.resume();

try {
  const server = await startEmbeddedPostgres({
    dataDir,
    port: Number(portText),
    onLog: (line) => process.stderr.write(`${line}\n`),
  });
  stop = () => server.stop();
  if (stopping) {
    await server.stop();
    process.exit(0);
  }
  const migrations = await runMigrations(server.url, { log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(
    `migrations: ${migrations.applied.length} applied, ${migrations.alreadyApplied.length} already there\n`,
  );
  process.stdout.write(`postgres ready ${JSON.stringify({ url: server.url, port: server.port, owned: server.owned })}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  await stop?.().catch(() => undefined);
  process.exit(1);
}
