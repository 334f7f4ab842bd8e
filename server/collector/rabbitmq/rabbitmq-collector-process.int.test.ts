/**
 * The collector as its own process (`server/collector/cli.ts`) with a sources file naming a
 * RabbitMQ source: killed with SIGKILL while messages flow, then started again. Every published
 * message must be stored exactly once, at its stream offset.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import amqp from "amqplib";
import { afterAll, beforeAll, expect, test } from "vitest";
import { uniqueName, waitUntil } from "../../broker/test-support.ts";
import { createTestDatabase, type TestDatabase } from "../../db/test-support.ts";
import type { RabbitNode } from "../../rabbitmq/node.ts";
import { startTestRabbitNode } from "../../rabbitmq/test-support.ts";
import { useCollectorProcesses, type CollectorProcess } from "../test-support.ts";
import { sequenceOf, storedRowsOf } from "./test-support.ts";

let node: RabbitNode;
let removeDataDir: () => void;
let db: TestDatabase;
let connection: amqp.ChannelModel;
let sourcesDir: string;
const processes = useCollectorProcesses();

beforeAll(async () => {
  [{ node, removeDataDir }, db] = await Promise.all([startTestRabbitNode(), createTestDatabase()]);
  connection = await amqp.connect(node.amqpUrl);
  sourcesDir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-rabbit-sources-"));
}, 120_000);

afterAll(async () => {
  await connection?.close().catch(() => {});
  await node?.stop();
  removeDataDir?.();
  await db?.drop();
  fs.rmSync(sourcesDir, { recursive: true, force: true });
}, 120_000);

function collectorProcess(sourceName: string, prefix: string): CollectorProcess {
  const file = path.join(sourcesDir, `${sourceName}.yaml`);
  fs.writeFileSync(
    file,
    [
      "sources:",
      `  - name: ${sourceName}`,
      "    kind: rabbitmq",
      `    url: amqp://127.0.0.1:${node.amqpPort}`,
      `    managementUrl: ${node.managementUrl}`,
      "    username: guest",
      "    passwordEnv: TEST_RABBITMQ_PASSWORD",
      `    exchanges: { include: "^${prefix}\\\\." }`,
      "",
    ].join("\n"),
  );
  return processes.start({ EVENTSCOPE_SOURCES_FILE: file, TEST_RABBITMQ_PASSWORD: "guest", DATABASE_URL: db.url });
}

async function sourceIdOf(name: string): Promise<number> {
  return waitUntil(`source ${name} registered`, async () => (await db.pool.query<{ id: number }>("SELECT id FROM sources WHERE name = $1", [name])).rows[0]?.id);
}

async function countStored(sourceId: number): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>("SELECT count(*)::text AS n FROM events WHERE source_id = $1", [sourceId]);
  return Number(rows[0]!.n);
}

test("SIGKILL while messages flow, then a restart: every published message stored exactly once, at its stream offset", async () => {
  const prefix = uniqueName("kill");
  const exchange = `${prefix}.orders`;
  const setup = await connection.createChannel();
  await setup.assertExchange(exchange, "topic", { durable: true });

  const first = collectorProcess(prefix, prefix);
  const sourceId = await sourceIdOf(prefix);
  await waitUntil("the collector reads its stream", () => first.output().includes(`into channel ${exchange}`), { timeoutMs: 60_000 });

  const total = 30_000;
  const publisher = await connection.createConfirmChannel();
  let published = 0;
  const publishing = (async () => {
    while (published < total) {
      for (let i = 0; i < 500; i++, published++) {
        publisher.publish(exchange, "order.placed", Buffer.from(JSON.stringify({ orderId: `o-${published % 1000}`, seq: published })), {
          contentType: "application/json",
          headers: { seq: published },
        });
      }
      await publisher.waitForConfirms();
    }
  })();

  await waitUntil("some messages stored", async () => (await countStored(sourceId)) >= 2_000, { timeoutMs: 60_000, intervalMs: 50 });
  expect(await first.kill("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
  const storedAtKill = await countStored(sourceId);
  await publishing;
  // Killed in the middle, or this test proves nothing about a restart.
  expect(storedAtKill).toBeLessThan(total);

  const second = collectorProcess(prefix, prefix);
  await waitUntil(`all ${total} stored`, async () => (await countStored(sourceId)) >= total, { timeoutMs: 120_000, intervalMs: 200 });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const rows = await storedRowsOf(db, sourceId);
  expect(rows).toHaveLength(total);
  expect(rows.map((row) => Number(row.position))).toEqual(Array.from({ length: total }, (_, i) => i));
  expect(sequenceOf(rows, exchange)).toEqual(Array.from({ length: total }, (_, i) => i));
  // It resumed after what was stored, rather than reading the whole stream again.
  expect(second.output()).toMatch(new RegExp(`into channel ${exchange.replace(/\./g, "\\.")} from position [1-9]`));

  expect(await second.kill("SIGTERM")).toEqual({ code: 0, signal: null });
  expect(second.output()).toContain("SIGTERM: stopping");
}, 240_000);
