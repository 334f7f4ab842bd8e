/**
 * The collector's write queue against a real PostgreSQL: per-partition order (what makes commit
 * after store safe), merged writes, and what it does when the database cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { waitUntil } from "../broker/test-support.ts";
import { connectDatabase, findFreePort, type EventRow } from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { EventWriter, type WriteChunk } from "./event-writer.ts";
import { countEvents, LogCollector } from "./test-support.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function row(topic: string, partition: number, offset: number): EventRow {
  const raw = Buffer.from(JSON.stringify({ orderId: `ord-${offset}` }));
  return {
    sourceId: 1,
    topic,
    partition,
    offset: String(offset),
    timestamp: new Date(),
    key: null,
    value: { kind: "json", json: { orderId: `ord-${offset}` }, raw },
    sizeBytes: raw.length,
    headers: [],
    eventType: null,
    producer: null,
    entityKeys: [`ord-${offset}`],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: null,
    flags: [],
  };
}

/** A chunk of `count` rows of one partition from `from`, tagged with its sequence number. */
function chunk(topic: string, partition: number, from: number, count: number, seq: number): WriteChunk<number> {
  const rows = Array.from({ length: count }, (_, i) => row(topic, partition, from + i));
  return { rows, bytes: rows.length * 30, positions: [{ topic, partition, next: BigInt(from + count) }], tag: seq };
}

describe("EventWriter", () => {
  test("stores every chunk, merging small ones, and reports each partition's chunks in queue order", async () => {
    const topic = `writer-order-${Date.now()}`;
    const logs = new LogCollector();
    const stored = new Map<number, bigint[]>();
    const writer = new EventWriter<number>({
      db,
      log: logs.log,
      maxRowsPerWrite: 250,
      maxConcurrentWrites: 2,
      onStored: (chunks) => {
        for (const c of chunks) {
          for (const p of c.positions) stored.set(p.partition, [...(stored.get(p.partition) ?? []), p.next]);
        }
      },
    });
    const offsets = [0, 0, 0];
    let seq = 0;
    for (let i = 0; i < 120; i++) {
      const partition = i % 3;
      const count = 10 + (i % 7) * 5;
      writer.enqueue(chunk(topic, partition, offsets[partition]!, count, seq++));
      offsets[partition]! += count;
    }
    expect(await writer.drain(30_000)).toBe(true);
    await writer.stop();

    expect(await countEvents(db, topic)).toBe(offsets.reduce((a, b) => a + b, 0));
    for (const partition of [0, 1, 2]) {
      const positions = stored.get(partition)!;
      // In order, and the last one is the partition's end: each stored chunk extends a prefix.
      expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(positions.at(-1)).toBe(BigInt(offsets[partition]!));
    }
    const stats = writer.getStats();
    expect(stats.writes).toBeLessThan(120);
    expect(stats.storedRows).toBe(offsets.reduce((a, b) => a + b, 0));
    expect(logs.lines).toEqual([]);
  });

  test("when the database cannot be reached: says so, retries the same rows, fills up, stores nothing, drops on stop", async () => {
    // A port nobody listens on: every connection is refused, a retriable error.
    const unreachable = connectDatabase(`postgresql://postgres:x@127.0.0.1:${await findFreePort()}/nothing`, { maxConnections: 2 });
    const logs = new LogCollector();
    const availability: boolean[] = [];
    let storedCalls = 0;
    const writer = new EventWriter<number>({
      db: unreachable,
      log: logs.log,
      maxRowsPerWrite: 100,
      maxQueuedRows: 300,
      initialRetryDelayMs: 50,
      maxRetryDelayMs: 200,
      onStored: () => storedCalls++,
      onAvailabilityChange: (available) => availability.push(available),
    });
    try {
      for (let i = 0; i < 6; i++) writer.enqueue(chunk("unreachable", i % 2, Math.floor(i / 2) * 100, 100, i));
      await waitUntil("three failed attempts", () => writer.getStats().failedAttempts >= 3);
      expect(writer.isFailing()).toBe(true);
      expect(availability).toEqual([false]);
      expect(logs.text()).toMatch(/database unavailable, retrying in \d+\.\ds: .*ECONNREFUSED/);
      // Two writes in flight (one per partition), 400 rows still queued: no room for more.
      expect(writer.hasRoom()).toBe(false);
      expect(await writer.drain(300)).toBe(false);
      expect(storedCalls).toBe(0);
      expect(await writer.stop()).toBe(400);
    } finally {
      await unreachable.close();
    }
  });
});
