/**
 * The collector as its own process (`server/collector/cli.ts`), as users run it: killed with
 * SIGKILL in the middle of a catch-up and restarted, and two processes sharing one group.
 * "Exactly once" is checked per partition: contiguous stored offsets from the log's first offset
 * to its end offset, holding the produced values in order.
 */
import type { Kafka } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { readFlowState, recomputeFlows } from "../db/index.ts";
import {
  countEvents,
  createTopics,
  expectExactlyOnce,
  partitionOffsets,
  produceSequence,
  useCollectorProcesses,
  testKafka,
  type CollectorProcess,
} from "./test-support.ts";

let broker: RunningBroker;
let db: TestDatabase;
let kafka: Kafka;
const processes = useCollectorProcesses();

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: () => {} });
  db = await createTestDatabase();
  kafka = testKafka(broker.address);
});

afterAll(async () => {
  await db?.drop();
  await broker?.stop();
});

function collectorProcess(prefix: string): CollectorProcess {
  return processes.start({
    KAFKA_BROKERS: broker.address,
    DATABASE_URL: db.url,
    EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`,
    EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-`,
  });
}

/** The group's committed offsets per partition (-1: none). */
async function committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((result?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** The partitions of `topic` a collector process says it was last assigned (from its log). */
function lastAssignment(p: CollectorProcess, topic: string): number[] | undefined {
  const lines = p.output().split("\n").filter((line) => line.includes("joined group"));
  const last = lines.at(-1);
  if (!last) return undefined;
  const match = new RegExp(`${topic} \\[([\\d,]+)\\]`).exec(last);
  return match ? match[1]!.split(",").map(Number) : [];
}

describe("crash and restart", () => {
  test(
    "SIGKILL in the middle of a 100k-message catch-up, then a restart: every message stored exactly once, and flows equal a recomputation",
    async () => {
      const prefix = uniqueName("kill");
      const topic = `${prefix}-orders`;
      const group = `${prefix}-collector`;
      const total = 100_000;
      await createTopics(kafka, [topic], 3);
      // 5,000 orders of 20 events each, spread over the 3 partitions: each order's path is built
      // from rows stored by both processes, out of order across partitions.
      const produced = await produceSequence(kafka, topic, { count: total, partitions: 3, batch: 2_000, padBytes: 40, entities: 5_000 });

      const first = collectorProcess(prefix);
      await waitUntil("a quarter of the events stored", async () => (await countEvents(db, topic)) >= total / 4, {
        timeoutMs: 90_000,
        intervalMs: 100,
      });
      await first.kill("SIGKILL");
      const storedAtKill = await countEvents(db, topic);
      // Killed in the middle, or this test proves nothing about a restart.
      expect(storedAtKill).toBeLessThan(total);

      // Never committed past what was stored: below each committed offset, every offset is stored.
      const committed = await committedOffsets(group, topic);
      for (const [partition, offset] of committed) {
        if (offset < 0n) continue;
        const { rows } = await db.pool.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM events WHERE channel = $1 AND partition = $2 AND position < $3`,
          [topic, partition, offset.toString()],
        );
        expect(BigInt(rows[0]!.n), `partition ${partition} committed at ${offset}`).toBe(offset);
      }

      const second = collectorProcess(prefix);
      await waitUntil(`all ${total} events stored`, async () => (await countEvents(db, topic)) === total, {
        timeoutMs: 120_000,
        intervalMs: 200,
      });
      await expectExactlyOnce(db, kafka, topic, produced);

      // The fold catches up with what both processes stored, and its tables then equal flows
      // computed from scratch over the stored events: the kill lost or doubled nothing.
      await waitUntil("every stored step folded", async () => (await db.pool.query("SELECT 1 FROM flow_inbox LIMIT 1")).rowCount === 0, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      const [maintained, recomputed] = await Promise.all([readFlowState(db), recomputeFlows(db)]);
      expect(maintained.entities.size).toBe(5_000);
      expect(maintained).toEqual(recomputed);

      // A graceful stop commits everything that was stored: the group ends at the end offsets.
      await waitUntil("the group committed to the end offsets", async () => {
        const [ends, done] = await Promise.all([partitionOffsets(kafka, topic), committedOffsets(group, topic)]);
        return [...ends].every(([partition, { high }]) => done.get(partition) === high);
      });
      expect(await second.kill("SIGTERM")).toEqual({ code: 0, signal: null });
      expect(second.output()).toContain("SIGTERM: stopping");
    },
    240_000,
  );
});

describe("scale-out", () => {
  test(
    "two collector processes in one group on a 6-partition topic store every message exactly once",
    async () => {
      const prefix = uniqueName("pair");
      const topic = `${prefix}-orders`;
      await createTopics(kafka, [topic], 6);

      const first = collectorProcess(prefix);
      await waitUntil("the first collector owns all 6 partitions", () => lastAssignment(first, topic)?.length === 6, {
        timeoutMs: 60_000,
        intervalMs: 100,
      });

      // A stream that goes on while the second collector joins and the group rebalances.
      const produced = new Map<number, unknown[]>();
      let seq = 0;
      const produceSome = async (count: number) => {
        await produceSequence(kafka, topic, { count, partitions: 6, batch: 300, startSeq: seq, into: produced });
        seq += count;
      };
      await produceSome(6_000);
      const second = collectorProcess(prefix);
      let rounds = 0;
      while (!(lastAssignment(second, topic)?.length && lastAssignment(first, topic)!.length < 6)) {
        await produceSome(600);
        if (++rounds > 600) throw new Error("the group never split the partitions between the two collectors");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await produceSome(12_000);
      const a = lastAssignment(first, topic)!;
      const b = lastAssignment(second, topic)!;
      expect([...a, ...b].sort()).toEqual([0, 1, 2, 3, 4, 5]);

      await waitUntil(`all ${seq} events stored`, async () => (await countEvents(db, topic)) === seq, {
        timeoutMs: 90_000,
        intervalMs: 200,
      });
      await expectExactlyOnce(db, kafka, topic, produced);

      // Both did their share: each process's health row says it stored events.
      const instances = await db.prisma.collectorInstance.findMany({ where: { pid: { in: [first.pid, second.pid] } } });
      expect(instances.map((i) => i.pid).sort()).toEqual([first.pid, second.pid].sort());
      await waitUntil("both collectors report stored events", async () => {
        const rows = await db.prisma.collectorInstance.findMany({ where: { pid: { in: [first.pid, second.pid] } } });
        return rows.length === 2 && rows.every((row) => row.lastStoredAt !== null);
      });

      expect(await second.kill("SIGTERM")).toEqual({ code: 0, signal: null });
      expect(await first.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    },
    240_000,
  );
});
