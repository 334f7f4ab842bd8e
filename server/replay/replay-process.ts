/**
 * One replay request in a process of its own, for the test of the guard across processes:
 * connects to the database (DATABASE_URL) and the cluster (KAFKA_BROKERS) first, prints "ready",
 * waits for a line on stdin, replays dead letter argv[2] as argv[3], prints the result as JSON.
 */
import readline from "node:readline";
import { connectDatabase } from "../db/index.ts";
import { loadConfig } from "../config.ts";
import { partitionCountOf } from "../kafka/index.ts";
import { createReplayAdmin, createReplayProducer } from "./producer.ts";
import { replayDeadLetter } from "./replay.ts";

const [deadLetterId, actor] = process.argv.slice(2);
const config = loadConfig();
const db = connectDatabase(config.databaseUrl!, { maxConnections: 2, applicationName: "eventscope-replay-test" });
const producer = await createReplayProducer(config);
const admin = await createReplayAdmin(config);
await db.pool.query("SELECT 1");
process.stdout.write("ready\n");
const input = readline.createInterface({ input: process.stdin });
await new Promise<void>((resolve) => input.once("line", () => resolve()));
input.close();
try {
  const result = await replayDeadLetter(
    { db, producer: async () => producer, partitionCount: (topic) => partitionCountOf(admin, topic), compression: config.replayCompression },
    { deadLetterId: deadLetterId!, actor: actor! },
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await producer.disconnect();
  await admin.disconnect();
  await db.close();
}
