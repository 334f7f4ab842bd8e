/**
 * GET /api/health through its route handler, against a real database: what the UI's "data is
 * stale" banner will rely on.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureSource,
  getDatabase,
  ingestEvents,
  recordCollectorHealth,
  recordLagSamples,
  syncTopics,
  upsertCommittedOffsets,
  type CollectorHealthReport,
} from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { undecodableRangeRow } from "@/server/collector/to-event-row";
import { GET } from "./route.ts";

const collectorGroup = `eventscope-collector-${crypto.randomBytes(4).toString("hex")}`;
const instanceId = `collector-${crypto.randomBytes(4).toString("hex")}`;
let db: TestDatabase;
const saved = { DATABASE_URL: process.env.DATABASE_URL, EVENTSCOPE_POLL_MS: process.env.EVENTSCOPE_POLL_MS, EVENTSCOPE_COLLECTOR_GROUP: process.env.EVENTSCOPE_COLLECTOR_GROUP };

beforeAll(async () => {
  db = await createTestDatabase();
  // The route reads its configuration from the environment, as in production.
  process.env.DATABASE_URL = db.url;
  process.env.EVENTSCOPE_POLL_MS = "5000";
  process.env.EVENTSCOPE_COLLECTOR_GROUP = collectorGroup;
});

afterAll(async () => {
  await (await getDatabase()).close();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await db?.drop();
});

async function health(): Promise<{ status: number; body: CollectorHealthReport; cache: string | null }> {
  const response = await GET(new Request("http://127.0.0.1/api/health"), {});
  return { status: response.status, body: (await response.json()) as CollectorHealthReport, cache: response.headers.get("cache-control") };
}

function instance(fields: { lastPollAt: Date | null; lastAdminPollAt?: Date | null; lastError?: string | null; ownLag?: number }) {
  return recordCollectorHealth(db, {
    instanceId,
    sourceId: 1,
    host: "collector-host",
    pid: 4242,
    startedAt: new Date(Date.now() - 3_600_000),
    lastErrorAt: fields.lastError ? new Date() : null,
    lastError: fields.lastError ?? null,
    ownLag: fields.ownLag ?? 0,
    lastPollAt: fields.lastPollAt,
    lastAdminPollAt: fields.lastAdminPollAt ?? null,
  });
}

describe("GET /api/health", () => {
  it("is stale when no collector has reported", async () => {
    const { status, body, cache } = await health();
    expect(status).toBe(200);
    expect(cache).toBe("no-store");
    expect(body).toMatchObject({ stale: true, instances: [], pollMs: 5000, collectorGroup });
    expect(body.staleReason).toMatch(/no collector has reported/);
  });

  it("is current while the collector polls Kafka and the admin API", async () => {
    await instance({ lastPollAt: new Date(), lastAdminPollAt: new Date(), ownLag: 7 });
    const { body } = await health();
    expect(body).toMatchObject({ stale: false, staleReason: null, lastError: null });
    expect(body.instances).toMatchObject([{ instanceId, host: "collector-host", pid: 4242, ownLag: "7" }]);
    expect(body.ownLag.offsetLag).toBe("7");
  });

  it("is stale when the collector stopped polling for more than 3 poll intervals, and shows its last error", async () => {
    await instance({ lastPollAt: new Date(Date.now() - 120_000), lastAdminPollAt: new Date(), lastError: "KafkaJSConnectionError: broker down" });
    const { body } = await health();
    expect(body.stale).toBe(true);
    expect(body.staleReason).toMatch(/has not polled Kafka for 2 min/);
    expect(body.lastError).toMatchObject({ message: "KafkaJSConnectionError: broker down", instanceId });
  });

  it("is stale when the admin poller stopped", async () => {
    await instance({ lastPollAt: new Date(), lastAdminPollAt: new Date(Date.now() - 60_000) });
    const { body } = await health();
    expect(body.stale).toBe(true);
    expect(body.staleReason).toMatch(/consumer groups and lag were last polled 1 min ago/);
  });

  /**
   * The collector's samples on one partition 11 s apart (committed `from` → `to`, end 900), and the
   * admin poller's current view, under a collector group name of the test's own.
   */
  async function collectorProgress(from: number, to: number) {
    const group = `eventscope-collector-${crypto.randomBytes(4).toString("hex")}`;
    process.env.EVENTSCOPE_COLLECTOR_GROUP = group;
    const now = Date.now();
    await instance({ lastPollAt: new Date(now), lastAdminPollAt: new Date(now) });
    // The collector's next record is one it has not stored: no time lag, only offsets to go by.
    const sample = (committed: number) => ({
      groupId: group, topic: "payments", partition: 0, committedOffset: String(committed), endOffset: "900",
      offsetLag: String(900 - committed), timeLagMs: null,
    });
    await recordLagSamples(db, 1, [sample(from)], { at: new Date(now - 12_000) });
    await recordLagSamples(db, 1, [sample(to)], { at: new Date(now - 1_000) });
    await syncTopics(db, 1, [{ name: "payments", kind: "normal", of: null, internal: false, partitions: [{ partition: 0, leader: 1, endOffset: "900", startOffset: "0" }] }], { at: new Date(now) });
    await upsertCommittedOffsets(db, 1, [{ groupId: group, topic: "payments", partition: 0, committedOffset: String(to) }], { at: new Date(now) });
  }

  it("is stale when the collector has records to read and its offsets stopped advancing", async () => {
    await collectorProgress(100, 100);
    const { body } = await health();
    expect(body.stale).toBe(true);
    expect(body.ownLag.offsetLag).toBe("800");
    expect(body.staleReason).toBe("the collector has 800 records to read and has not advanced for 11 s");
  });

  it("is stale when, at its pace, the collector needs longer than 3 poll intervals to catch up", async () => {
    // 50 records in 11 s; 750 to go: about 165 s.
    await collectorProgress(100, 150);
    const { body } = await health();
    expect(body.staleReason).toBe("the collector is about 2 min 45 s behind the newest events (750 records to read at 5/s)");
  });

  it("is current when, at its pace, the collector catches up within 3 poll intervals", async () => {
    // 700 records in 11 s; 100 to go: under 2 s.
    await collectorProgress(100, 800);
    const { body } = await health();
    expect(body).toMatchObject({ stale: false, staleReason: null });
  });

  it("is stale when the collector fell behind the newest events", async () => {
    process.env.EVENTSCOPE_COLLECTOR_GROUP = collectorGroup;
    const now = new Date();
    await instance({ lastPollAt: now, lastAdminPollAt: now });
    await recordLagSamples(db, 1, [
      { groupId: collectorGroup, topic: "orders", partition: 0, committedOffset: "10", endOffset: "5010", offsetLag: "5000", timeLagMs: 95_000 },
      { groupId: collectorGroup, topic: "orders", partition: 1, committedOffset: "7", endOffset: "7", offsetLag: "0", timeLagMs: 0 },
    ], { at: now });
    const { body } = await health();
    expect(body.stale).toBe(true);
    expect(body.staleReason).toMatch(/the collector is 1 min 35 s behind the newest events/);
    expect(body.ownLag).toMatchObject({ timeLagMs: 95_000, sampledAt: now.toISOString() });
  });

  it("lists an instance that stopped reporting as stopped, forgets it after a day, and names a running one's error first", async () => {
    const gone = `collector-gone-${crypto.randomBytes(4).toString("hex")}`;
    const now = new Date();
    await instance({ lastPollAt: now, lastAdminPollAt: now, lastError: "consumer crashed: KafkaJSNotImplemented: ZSTD compression not implemented" });
    await recordCollectorHealth(db, {
      instanceId: gone,
      sourceId: 1,
      host: "old-host",
      pid: 1,
      startedAt: new Date(now.getTime() - 7_200_000),
      lastPollAt: now,
      lastError: "an older run's error",
      lastErrorAt: new Date(now.getTime() + 1_000),
    });
    const silence = (ago: string) => db.pool.query(`UPDATE collector_instances SET updated_at = now() - $2::interval WHERE instance_id = $1`, [gone, ago]);

    await silence("12 minutes");
    let { body } = await health();
    expect(Object.fromEntries(body.instances.map((i) => [i.instanceId, i.status]))).toEqual({ [instanceId]: "running", [gone]: "stopped" });
    // The stopped instance's error is newer, but the running one's is what matters now.
    expect(body.lastError).toMatchObject({ instanceId, message: "consumer crashed: KafkaJSNotImplemented: ZSTD compression not implemented" });

    await silence("25 hours");
    ({ body } = await health());
    expect(body.instances.map((i) => i.instanceId)).toEqual([instanceId]);

    // With no instance running at all, the data is stale and health says why.
    // (Half a minute past ten: the database's clock and the route's may be a moment apart.)
    await db.pool.query(`UPDATE collector_instances SET updated_at = now() - interval '10 minutes 30 seconds' WHERE instance_id = $1`, [instanceId]);
    ({ body } = await health());
    expect(body.stale).toBe(true);
    expect(body.staleReason).toMatch(/no collector is running: the last one reported 10 min \d+ s ago/);
    expect(body.instances).toMatchObject([{ instanceId, status: "stopped" }]);
  });

  it("lists a partition retrying an undecodable batch, and once the range is stored, only as stored", async () => {
    const now = new Date();
    const stall = { source: "default", topic: "payments", partition: 1, fromOffset: "40", toOffset: "42", codec: "zstd", error: "Unknown frame descriptor", attempts: 2, since: now };
    await recordCollectorHealth(db, {
      instanceId,
      sourceId: 1,
      host: "collector-host",
      pid: 4242,
      startedAt: now,
      lastPollAt: now,
      lastAdminPollAt: now,
      lastError: null,
      stalled: [stall],
    });
    let { body } = await health();
    expect(body.stalled).toEqual([{ ...stall, since: now.toISOString(), state: "retrying" }]);
    expect(body.stale).toBe(true);
    expect(body.staleReason).toBe("payments-1 offsets 40..42 (zstd) cannot be decoded: Unknown frame descriptor, fetched 2 time(s) so far");

    // Stored while the instance's last report still says retrying: stored, once.
    await ingestEvents(db, [
      undecodableRangeRow(1, "payments", 1, { firstOffset: "40", lastOffset: "42", recordCount: 3, codec: "zstd", error: "Unknown frame descriptor", raw: Buffer.from([0x28, 0xb5]), firstTimestamp: now.getTime() }, {
        fromOffset: "40",
        attempts: 3,
        since: now,
        maxValueBytes: 1_048_576,
      }),
    ]);
    ({ body } = await health());
    expect(body.stalled).toEqual([{ ...stall, attempts: 3, since: now.toISOString(), state: "stored" }]);
  });
  it("names RabbitMQ and its queues when a RabbitMQ source's collector went quiet", async () => {
    const rabbit = await ensureSource(db, { name: `shop-rabbit-${crypto.randomBytes(3).toString("hex")}`, kind: "rabbitmq" });
    await instance({ lastPollAt: new Date(), lastAdminPollAt: new Date() });
    const report = (fields: { lastPollAt: Date; lastAdminPollAt: Date }) =>
      recordCollectorHealth(db, {
        instanceId: `${instanceId}-rabbit`,
        sourceId: rabbit.id,
        host: "collector-host",
        pid: 4343,
        startedAt: new Date(Date.now() - 3_600_000),
        lastError: null,
        ...fields,
      });

    await report({ lastPollAt: new Date(Date.now() - 120_000), lastAdminPollAt: new Date() });
    let { body } = await health();
    expect(body.sources.find((source) => source.name === rabbit.name)).toMatchObject({
      kind: "rabbitmq",
      stale: true,
      staleReason: expect.stringMatching(/^the collector has not polled RabbitMQ for 2 min/),
    });

    await report({ lastPollAt: new Date(), lastAdminPollAt: new Date(Date.now() - 60_000) });
    ({ body } = await health());
    expect(body.sources.find((source) => source.name === rabbit.name)?.staleReason).toMatch(/^queues, consumers and lag were last polled 1 min ago/);
  });
});
