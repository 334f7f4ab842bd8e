/**
 * The consumer-group queries against a real PostgreSQL, on cluster state written the way the admin
 * poller writes it (syncTopics, syncConsumerGroups, upsertCommittedOffsets, recordLagSamples) and
 * events stored through ingestEvents. Expectations are worked out by hand from the fixture.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../../../lib/errors.ts";
import { recordLagSamples, syncConsumerGroups, syncTopics, upsertCommittedOffsets, type LagSampleInput } from "../cluster-state.ts";
import { updateGroupHealth } from "../group-health.ts";
import { ingestEvents, type EventRow } from "../ingest.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";
import { getConsumerGroup, listConsumerGroups, listUnprocessedEvents } from "./groups.ts";

const suffix = crypto.randomBytes(3).toString("hex");
const ORDERS = `orders-${suffix}`;
const PAYMENTS = `payments-${suffix}`;
/** Stable, two partitions of orders: 0 is stuck at offset 4 (STALL), 1 keeps up. */
const SLOW = `analytics-${suffix}`;
/** Empty with lag on payments: STOP. */
const STOPPED = `fraud-${suffix}`;
/** Stable, caught up, plus orders/2 with nothing committed (unknown lag). */
const FAST = `shipping-${suffix}`;

const NOW = Date.now();
const at = (msAgo: number) => new Date(NOW - msAgo);
/** The fixture's three polls a minute apart cover a 3-minute window (health judges only a covered window). */
const FIXTURE_HEALTH_WINDOW_MS = 3 * 60_000;

function event(topic: string, partition: number, offset: number): EventRow {
  const json = { type: "OrderPlaced", orderId: `ord-${partition}-${offset}` };
  const raw = Buffer.from(JSON.stringify(json));
  return {
    sourceId: 1,
    topic,
    partition,
    offset: String(offset),
    timestamp: at(600_000 - offset * 1000),
    key: { kind: "text", text: json.orderId },
    value: { kind: "json", json, raw },
    sizeBytes: raw.length,
    headers: [],
    eventType: "OrderPlaced",
    producer: "order-service",
    entityKeys: [json.orderId],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: null,
    flags: [],
  };
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  // orders/0: offsets 0..9 stored; orders/1: 0..4; payments/0: 0..2 (offset 3 was not collected).
  await ingestEvents(db, [
    ...Array.from({ length: 10 }, (_, i) => event(ORDERS, 0, i)),
    ...Array.from({ length: 5 }, (_, i) => event(ORDERS, 1, i)),
    ...Array.from({ length: 3 }, (_, i) => event(PAYMENTS, 0, i)),
  ]);
  const topic = (name: string, ends: number[]) => ({
    name, kind: "normal" as const, of: null, internal: false,
    partitions: ends.map((end, partition) => ({ partition, leader: 1, endOffset: String(end), startOffset: "0" })),
  });
  await syncTopics(db, 1, [topic(ORDERS, [10, 5, 0]), topic(PAYMENTS, [6])], { at: at(0) });
  const member = (id: string, client: string, host: string, assignments: { topic: string; partition: number }[]) =>
    ({ memberId: id, clientId: client, clientHost: host, assignments });
  await syncConsumerGroups(db, 1, [
    { groupId: SLOW, state: "Stable", protocolType: "consumer", protocol: "range", members: [
      member("m-a", "analytics-1", "/10.0.0.9", [{ topic: ORDERS, partition: 0 }]),
      member("m-b", "analytics-2", "/10.0.0.10", [{ topic: ORDERS, partition: 1 }]),
    ] },
    { groupId: STOPPED, state: "Empty", protocolType: "consumer", protocol: null, members: [] },
    { groupId: FAST, state: "Stable", protocolType: "consumer", protocol: "range", members: [
      member("m-s", "shipping", "/10.0.0.3", [{ topic: ORDERS, partition: 0 }, { topic: ORDERS, partition: 1 }, { topic: ORDERS, partition: 2 }]),
    ] },
  ], { at: at(0) });
  await upsertCommittedOffsets(db, 1, [
    { groupId: SLOW, topic: ORDERS, partition: 0, committedOffset: "4" },
    { groupId: SLOW, topic: ORDERS, partition: 1, committedOffset: "3" },
    { groupId: STOPPED, topic: PAYMENTS, partition: 0, committedOffset: "2" },
    { groupId: FAST, topic: ORDERS, partition: 0, committedOffset: "10" },
    { groupId: FAST, topic: ORDERS, partition: 1, committedOffset: "5" },
    { groupId: FAST, topic: ORDERS, partition: 2, committedOffset: "-1" },
  ], { at: at(0) });
  const sample = (groupId: string, topicName: string, partition: number, committed: number | null, end: number, timeLagMs: number | null): LagSampleInput => ({
    groupId, topic: topicName, partition, endOffset: String(end),
    committedOffset: committed === null ? null : String(committed),
    offsetLag: committed === null ? null : String(Math.max(0, end - committed)),
    timeLagMs,
  });
  // Three polls a minute apart. SLOW: orders/0 stuck at 4 (lag 4 → 6), orders/1 moves 1 → 3.
  const polls: [number, LagSampleInput[]][] = [
    [120_000, [sample(SLOW, ORDERS, 0, 4, 8, 30_000), sample(SLOW, ORDERS, 1, 1, 3, 2_000), sample(STOPPED, PAYMENTS, 0, 2, 4, 60_000),
      sample(FAST, ORDERS, 0, 8, 8, 0), sample(FAST, ORDERS, 1, 3, 3, 0), sample(FAST, ORDERS, 2, null, 0, null)]],
    [60_000, [sample(SLOW, ORDERS, 0, 4, 9, 90_000), sample(SLOW, ORDERS, 1, 2, 4, 2_000), sample(STOPPED, PAYMENTS, 0, 2, 5, 120_000),
      sample(FAST, ORDERS, 0, 9, 9, 0), sample(FAST, ORDERS, 1, 4, 4, 0), sample(FAST, ORDERS, 2, null, 0, null)]],
    [0, [sample(SLOW, ORDERS, 0, 4, 10, 150_000), sample(SLOW, ORDERS, 1, 3, 5, 3_000), sample(STOPPED, PAYMENTS, 0, 2, 6, 180_000),
      sample(FAST, ORDERS, 0, 10, 10, 0), sample(FAST, ORDERS, 1, 5, 5, 0), sample(FAST, ORDERS, 2, null, 0, null)]],
  ];
  for (const [ago, samples] of polls) await recordLagSamples(db, 1, samples, { at: at(ago) });
  await updateGroupHealth(db, 1, { at: at(0), windowMs: FIXTURE_HEALTH_WINDOW_MS });
});

afterAll(async () => {
  await db?.drop();
});

describe("listConsumerGroups", () => {
  it("lists every group with state, members, topics, total lag, time lag and stored health, worst first", async () => {
    const page = await listConsumerGroups(db);
    const mine = page.groups.filter((g) => g.groupId.endsWith(suffix));
    expect(mine.map((g) => g.groupId)).toEqual([STOPPED, SLOW, FAST]);
    const [stopped, slow, fast] = mine;
    expect(stopped).toMatchObject({ state: "Empty", members: 0, topics: [PAYMENTS], partitions: 1, totalLag: "4", unknownLagPartitions: 0, timeLagMs: 180_000 });
    expect(stopped!.health).toMatchObject({ status: "STOP" });
    expect(stopped!.health!.reason).toContain(`partition 0 of ${PAYMENTS}`);
    // SLOW: 10 − 4 + 5 − 3.
    expect(slow).toMatchObject({ state: "Stable", members: 2, topics: [ORDERS], totalLag: "8", timeLagMs: 150_000 });
    expect(slow!.health).toMatchObject({ status: "STALL" });
    expect(slow!.health!.reason).toBe(`partition 0 of ${ORDERS}: committed offset 4 has not moved for 2 min while lag is 6`);
    // FAST: caught up, and orders/2 with nothing committed counts as unknown, not 0.
    expect(fast).toMatchObject({ members: 1, totalLag: "0", unknownLagPartitions: 1, timeLagMs: 0 });
    expect(fast!.health).toMatchObject({ status: "OK" });
  });

  it("sorts by any column in either direction and pages by cursor", async () => {
    const byLag = await listConsumerGroups(db, { sort: "lag", order: "asc" });
    expect(byLag.groups.map((g) => g.groupId)).toEqual([FAST, STOPPED, SLOW]);
    const byName = await listConsumerGroups(db, { sort: "group", order: "desc" });
    expect(byName.groups.map((g) => g.groupId)).toEqual([SLOW, FAST, STOPPED].sort().reverse());
    const byMembers = await listConsumerGroups(db, { sort: "members" });
    expect(byMembers.groups.map((g) => g.members)).toEqual([2, 1, 0]);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listConsumerGroups(db, { sort: "timeLag", limit: 1, cursor });
      expect(page.total).toBe(3);
      seen.push(...page.groups.map((g) => g.groupId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([STOPPED, SLOW, FAST]);
  });

  it("refuses an unknown sort and a cursor of another order", async () => {
    await expect(listConsumerGroups(db, { sort: "bogus" as "lag" })).rejects.toBeInstanceOf(ValidationError);
    const first = await listConsumerGroups(db, { sort: "lag", limit: 1 });
    await expect(listConsumerGroups(db, { sort: "group", cursor: first.nextCursor! })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("getConsumerGroup", () => {
  it("shows members with assignments, and per partition offsets, lag, health and the worst partition named", async () => {
    const group = await getConsumerGroup(db, SLOW, { healthWindowMs: FIXTURE_HEALTH_WINDOW_MS });
    expect(group.state).toBe("Stable");
    expect(group.members).toEqual([
      { memberId: "m-a", clientId: "analytics-1", clientHost: "/10.0.0.9", assignments: [{ topic: ORDERS, partition: 0 }] },
      { memberId: "m-b", clientId: "analytics-2", clientHost: "/10.0.0.10", assignments: [{ topic: ORDERS, partition: 1 }] },
    ]);
    expect(group.partitions.map((p) => [p.partition, p.committedOffset, p.endOffset, p.offsetLag, p.timeLagMs, p.status, p.assignedTo?.clientId])).toEqual([
      [0, "4", "10", "6", 150_000, "STALL", "analytics-1"],
      [1, "3", "5", "2", 3_000, "OK", "analytics-2"],
    ]);
    expect(group.totalLag).toBe("8");
    expect(group.health).toEqual({
      status: "STALL",
      reason: `partition 0 of ${ORDERS}: committed offset 4 has not moved for 2 min while lag is 6`,
      worst: { topic: ORDERS, partition: 0 },
    });
    expect(group.latestSampleAt).toBe(at(0).toISOString());
  });

  it("names the exact event a stalled partition is stuck on: the one at the committed offset", async () => {
    const group = await getConsumerGroup(db, SLOW, { healthWindowMs: FIXTURE_HEALTH_WINDOW_MS });
    const stuck = group.partitions[0]!;
    expect(stuck.nextEvent).toMatchObject({ topic: ORDERS, partition: 0, offset: "4", key: "ord-0-4" });
    expect(stuck.nextEventCollected).toBe(true);
    expect(group.partitions[1]!.nextEvent).toMatchObject({ offset: "3" });
  });

  it("says lag is unknown (not 0) where nothing is committed, and STOP for an empty group with lag", async () => {
    const fast = await getConsumerGroup(db, FAST, { healthWindowMs: FIXTURE_HEALTH_WINDOW_MS });
    const unknown = fast.partitions.find((p) => p.partition === 2)!;
    expect(unknown).toMatchObject({ committedOffset: null, offsetLag: null, status: "OK", nextEvent: null });
    expect(unknown.reason).toContain("lag unknown");
    expect(fast.unknownLagPartitions).toBe(1);
    expect(fast.partitions.find((p) => p.partition === 0)).toMatchObject({ offsetLag: "0", timeLagMs: 0, nextEvent: null });

    const stopped = await getConsumerGroup(db, STOPPED, { healthWindowMs: FIXTURE_HEALTH_WINDOW_MS });
    expect(stopped.members).toEqual([]);
    expect(stopped.health.status).toBe("STOP");
    expect(stopped.health.reason).toBe(`partition 0 of ${PAYMENTS}: the group has no active members (state Empty) while lag is 4`);
    expect(stopped.partitions[0]).toMatchObject({ assignedTo: null, nextEvent: { offset: "2" } });
  });

  it("404s an unknown group", async () => {
    await expect(getConsumerGroup(db, `nobody-${suffix}`)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("listUnprocessedEvents", () => {
  it("lists the events between the committed offset and the end, oldest first, paged without gaps", async () => {
    const offsets: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listUnprocessedEvents(db, SLOW, { topic: ORDERS, partition: 0, limit: 4, cursor });
      expect(page).toMatchObject({ committedOffset: "4", endOffset: "10", offsetLag: "6", order: "oldest" });
      offsets.push(...page.events.map((e) => e.offset));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(2);
    expect(offsets).toEqual(["4", "5", "6", "7", "8", "9"]);
  });

  it("lists newest first too", async () => {
    const first = await listUnprocessedEvents(db, SLOW, { topic: ORDERS, partition: 0, order: "newest", limit: 4 });
    expect(first.events.map((e) => e.offset)).toEqual(["9", "8", "7", "6"]);
    const second = await listUnprocessedEvents(db, SLOW, { topic: ORDERS, partition: 0, order: "newest", limit: 4, cursor: first.nextCursor! });
    expect(second.events.map((e) => e.offset)).toEqual(["5", "4"]);
    expect(second.nextCursor).toBeNull();
  });

  it("lists what was collected of the range (offset 3..5 of payments: 3 to 5 were not collected)", async () => {
    const page = await listUnprocessedEvents(db, STOPPED, { topic: PAYMENTS, partition: 0 });
    expect(page.offsetLag).toBe("4");
    expect(page.events.map((e) => e.offset)).toEqual(["2"]);
  });

  it("is empty when caught up or when nothing is committed", async () => {
    expect((await listUnprocessedEvents(db, FAST, { topic: ORDERS, partition: 0 })).events).toEqual([]);
    const unknown = await listUnprocessedEvents(db, FAST, { topic: ORDERS, partition: 2 });
    expect(unknown).toMatchObject({ committedOffset: null, offsetLag: null, events: [] });
  });

  it("404s an unknown group or a partition the group has no offset on; 422s bad input", async () => {
    await expect(listUnprocessedEvents(db, `nobody-${suffix}`, { topic: ORDERS, partition: 0 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(listUnprocessedEvents(db, STOPPED, { topic: ORDERS, partition: 0 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(listUnprocessedEvents(db, SLOW, { topic: ORDERS, partition: -1 })).rejects.toBeInstanceOf(ValidationError);
    const page = await listUnprocessedEvents(db, SLOW, { topic: ORDERS, partition: 0, limit: 1 });
    await expect(listUnprocessedEvents(db, SLOW, { topic: ORDERS, partition: 0, order: "newest", cursor: page.nextCursor! })).rejects.toBeInstanceOf(ValidationError);
  });
});
