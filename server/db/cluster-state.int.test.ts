import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findRecordTimestamps,
  recordLagSamples,
  syncConsumerGroups,
  syncTopics,
  upsertCommittedOffsets,
} from "./cluster-state.ts";
import { listCollectorHealth, recordCollectorHealth } from "./health.ts";
import { ingestEvents, type EventRow } from "./ingest.ts";
import { recordAudit } from "./audit.ts";
import { getDeadLetter, listAuditLog } from "./queries/index.ts";
import { claimReplay, loadReplaySource, markReplaySent } from "./replays.ts";
import { pruneOlderThan } from "./retention.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function row(topic: string, offset: number, timestamp: Date, deadLetter = false): EventRow {
  return {
    sourceId: 1,
    topic,
    partition: 0,
    offset: String(offset),
    timestamp,
    key: null,
    value: { kind: "bytes", raw: Buffer.from("v"), text: "v", truncated: false },
    sizeBytes: 1,
    headers: [],
    eventType: null,
    producer: null,
    entityKeys: [],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: deadLetter
      ? {
          source: "topic-name",
          convention: null,
          originTopic: null,
          originPartition: null,
          originOffset: null,
          originTimestamp: null,
          originConsumerGroup: null,
          originTopicHint: "orders",
          errorClass: null,
          errorMessage: null,
          errorCause: null,
          stackTrace: null,
          attempts: null,
        }
      : null,
    flags: [],
  };
}

describe("cluster state", () => {
  it("keeps topics and partitions current, samples end offsets, and marks vanished topics deleted", async () => {
    const t1 = new Date("2026-01-01T00:00:00Z");
    const t2 = new Date("2026-01-01T00:00:05Z");
    await syncTopics(
      db,
      1,
      [
        { name: "orders", kind: "normal", of: null, internal: false, partitions: [0, 1].map((p) => ({ partition: p, leader: 1, endOffset: "10", startOffset: "0" })) },
        { name: "orders.DLT", kind: "dlq", of: "orders", internal: false, partitions: [{ partition: 0, leader: 1, endOffset: 2n, startOffset: 0n }] },
      ],
      { at: t1, complete: true },
    );
    await syncTopics(
      db,
      1,
      [{ name: "orders", kind: "normal", of: null, internal: false, partitions: [0, 1].map((p) => ({ partition: p, leader: 2, endOffset: String(20 + p), startOffset: "5" })) }],
      { at: t2, complete: true },
    );

    const topics = await db.prisma.topic.findMany({ orderBy: { name: "asc" }, include: { partitions: { orderBy: { partition: "asc" } } } });
    expect(topics.map((t) => [t.name, t.kind, t.of, t.partitionCount, t.deletedAt])).toEqual([
      ["orders", "normal", null, 2, null],
      ["orders.DLT", "dlq", "orders", 1, t2],
    ]);
    expect(topics[0]!.partitions.map((p) => [p.partition, p.leader, p.endOffset, p.startOffset])).toEqual([
      [0, 2, 20n, 5n],
      [1, 2, 21n, 5n],
    ]);
    const samples = await db.prisma.endOffsetSample.findMany({ where: { topic: "orders", partition: 1 }, orderBy: { sampledAt: "asc" } });
    expect(samples.map((s) => [s.sampledAt, s.endOffset])).toEqual([
      [t1, 10n],
      [t2, 21n],
    ]);
  });

  it("replaces members and assignments at each poll and keeps committed offsets and lag history", async () => {
    const member = (id: string, partitions: number[]) => ({
      memberId: id,
      clientId: `client-${id}`,
      clientHost: "/10.0.0.1",
      assignments: partitions.map((partition) => ({ topic: "orders", partition })),
    });
    await syncConsumerGroups(db, 1, [
      { groupId: "inventory", state: "Stable", protocolType: "consumer", protocol: "range", members: [member("m1", [0]), member("m2", [1])] },
    ]);
    await syncConsumerGroups(db, 1, [
      { groupId: "inventory", state: "Stable", protocolType: "consumer", protocol: "range", members: [member("m3", [0, 1])] },
      { groupId: "gone-quiet", state: "Empty", protocolType: "consumer", protocol: null, members: [] },
    ]);
    const groups = await db.prisma.consumerGroup.findMany({
      orderBy: { groupId: "asc" },
      include: { members: { include: { assignments: true } } },
    });
    expect(groups.map((g) => [g.groupId, g.state, g.members.map((m) => [m.memberId, m.assignments.map((a) => a.partition).sort()])])).toEqual([
      ["gone-quiet", "Empty", []],
      ["inventory", "Stable", [["m3", [0, 1]]]],
    ]);

    await upsertCommittedOffsets(db, 1, [
      { groupId: "inventory", topic: "orders", partition: 0, committedOffset: "7" },
      { groupId: "never-seen", topic: "orders", partition: 1, committedOffset: -1n },
    ]);
    await upsertCommittedOffsets(db, 1, [{ groupId: "inventory", topic: "orders", partition: 0, committedOffset: "9" }]);
    const committed = await db.prisma.committedOffset.findMany({ orderBy: { groupId: "asc" } });
    expect(committed.map((c) => [c.groupId, c.partition, c.committedOffset])).toEqual([
      ["inventory", 0, 9n],
      ["never-seen", 1, -1n],
    ]);
    expect(await db.prisma.consumerGroup.findUnique({ where: { sourceId_groupId: { sourceId: 1, groupId: "never-seen" } } })).toMatchObject({ state: "Unknown" });

    const at = new Date("2026-01-01T00:01:00Z");
    await recordLagSamples(
      db,
      1,
      [
        { groupId: "inventory", topic: "orders", partition: 0, committedOffset: "9", endOffset: "20", offsetLag: 11n, timeLagMs: 1234.4 },
        { groupId: "never-seen", topic: "orders", partition: 1, committedOffset: null, endOffset: "21", offsetLag: null, timeLagMs: null },
      ],
      { at },
    );
    const lag = await db.prisma.lagSample.findMany({ orderBy: { groupId: "asc" } });
    expect(lag.map((l) => [l.groupId, l.sampledAt, l.committedOffset, l.offsetLag, l.timeLagMs])).toEqual([
      ["inventory", at, 9n, 11n, 1234n],
      ["never-seen", at, null, null, null],
    ]);
  });

  it("finds record timestamps at positions, for time lag", async () => {
    const ts = new Date("2026-02-01T10:00:00.123Z");
    await ingestEvents(db, [row("lagging", 4, ts)]);
    const found = await findRecordTimestamps(db, 1, [
      { topic: "lagging", partition: 0, offset: "4" },
      { topic: "lagging", partition: 0, offset: 5n },
    ]);
    expect([...found]).toEqual([["lagging/0/4", ts]]);
  });

  it("records collector health, keeping fields an update leaves out and clearing those it nulls", async () => {
    const base = { instanceId: "collector-1", sourceId: 1, host: "box", pid: 42, startedAt: new Date("2026-01-01T00:00:00Z") };
    await recordCollectorHealth(db, { ...base, lastPollAt: new Date("2026-01-01T00:00:01Z"), lastError: "db down", lastErrorAt: new Date("2026-01-01T00:00:02Z") });
    await recordCollectorHealth(db, { ...base, ownLag: 12, lastError: null });
    const [health] = await listCollectorHealth(db);
    expect(health).toMatchObject({
      instanceId: "collector-1",
      lastPollAt: new Date("2026-01-01T00:00:01Z"),
      ownLag: 12n,
      lastError: null,
      lastErrorAt: new Date("2026-01-01T00:00:02Z"),
    });
  });

  it("prunes events by time alone; a replayed dead letter outlives its event with its own copy, replays and audit, until the audit retention", async () => {
    const old = new Date("2020-01-01T00:00:00Z");
    const recent = new Date();
    await ingestEvents(db, [row("prune", 0, old), row("prune", 1, old), row("prune", 2, recent)]);
    await ingestEvents(db, [row("prune.DLT", 0, old, true), row("prune.DLT", 1, old, true)]);
    const [waiting, replayed] = await db.prisma.deadLetter.findMany({ where: { channel: "prune.DLT" }, orderBy: { position: "asc" } });
    // The second one is replayed and resolved, and audited, today.
    const claim = await claimReplay(db, { deadLetterId: replayed!.id.toString(), requestedBy: "alice", targetTopic: "prune", edits: null, again: false });
    expect(claim.claimed).toBe(true);
    if (!claim.claimed) return;
    await markReplaySent(db, claim.replayId, { partition: 0, offset: "3", missingPartition: null });
    await recordAudit(db, { actor: "alice", action: "replay", targetType: "dead-letter", targetId: replayed!.id.toString(), details: null, result: "ok" });
    const before = await loadReplaySource(db, replayed!.id.toString());

    const result = await pruneOlderThan(db, { data: new Date("2021-01-01T00:00:00Z"), audit: new Date("2021-01-01T00:00:00Z") }, { sliceSize: 1 });
    expect(result).toMatchObject({ ran: true, events: 4, deadLetters: 1, auditEntries: 0 });
    const left = await db.prisma.event.findMany({
      where: { channel: { in: ["prune", "prune.DLT"] } },
      orderBy: [{ channel: "asc" }, { position: "asc" }],
    });
    expect(left.map((e) => `${e.channel}/${e.position}`)).toEqual(["prune/2"]);

    // The replayed dead letter is still there without its event: what replay would send, its
    // replay and the audit entry are intact. The one nobody touched since 2020 is gone.
    const kept = await db.prisma.deadLetter.findMany({ where: { channel: "prune.DLT" } });
    expect(kept.map((d) => d.id)).toEqual([replayed!.id]);
    expect(waiting).toBeDefined();
    expect(await loadReplaySource(db, replayed!.id.toString())).toEqual(before);
    const detail = await getDeadLetter(db, replayed!.id.toString());
    expect(detail).toMatchObject({ eventCollected: false, key: before.key?.toString() ?? null });
    expect(detail!.replays.map((r) => [r.requestedBy, r.producedOffset])).toEqual([["alice", "3"]]);
    expect((await listAuditLog(db, { targetType: "dead-letter", targetId: replayed!.id.toString() })).entries).toHaveLength(1);

    // Past the audit retention, the dead letter goes with its replays, and the audit entries go too.
    const later = await pruneOlderThan(db, { data: new Date("2021-01-01T00:00:00Z"), audit: new Date(Date.now() + 60_000) });
    expect(later).toMatchObject({ deadLetters: 1 });
    expect(later.auditEntries).toBeGreaterThanOrEqual(1);
    expect(await db.prisma.deadLetter.count({ where: { channel: "prune.DLT" } })).toBe(0);
    expect(await db.prisma.replay.count({ where: { id: claim.replayId } })).toBe(0);
  });

  it("prunes in one instance at a time: another that finds the lock taken skips the round", async () => {
    const holder = await db.pool.connect();
    try {
      // The key pruneOlderThan locks ("prunes" in ASCII).
      await holder.query("SELECT pg_advisory_lock($1)", [0x7072756e6573n.toString()]);
      const skipped = await pruneOlderThan(db, { data: new Date(), audit: new Date(0) });
      expect(skipped).toMatchObject({ ran: false, events: 0 });
    } finally {
      await holder.query("SELECT pg_advisory_unlock_all()");
      holder.release();
    }
    expect((await pruneOlderThan(db, { data: new Date(0), audit: new Date(0) })).ran).toBe(true);
  });
});
