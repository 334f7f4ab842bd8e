import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureSource, listSources } from "./sources.ts";
import { ingestEvents, type EventRow } from "./ingest.ts";
import { syncConsumerGroups, syncTopics, upsertCommittedOffsets } from "./cluster-state.ts";
import { tryAcquirePollerLock } from "./poller-lock.ts";
import { getEvent } from "./queries/event.ts";
import { getEntityTimeline } from "./queries/entity-timeline.ts";
import { searchEvents } from "./queries/search-events.ts";
import { groupDeadLetters, listDeadLetters } from "./queries/dead-letters.ts";
import { listDeadLetterIdsOfGroup } from "./replays.ts";
import { getConsumerGroup } from "./queries/groups.ts";
import { getGroupDetail, getTopicDetail } from "./queries/graph-details.ts";
import { whoConsumes } from "./queries/who-consumes.ts";
import { getFlowGraph } from "./queries/flow-graph.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";

/** Two sources with a topic and a group of the same names, and the same offsets, side by side. */

let db: TestDatabase;
let eu: { id: number; name: string };
const suffix = crypto.randomBytes(3).toString("hex");
const SHARED = `orders-${suffix}`;
const ONLY_EU = `payments-${suffix}`;
const DLQ = `${SHARED}-dlq`;
const GROUP = `billing-${suffix}`;
const ORDER = `ord-${suffix}`;
const T0 = Date.now() - 60_000;

function row(sourceId: number, topic: string, offset: number, ms: number, dead = false): EventRow {
  const json = { orderId: ORDER, from: sourceId };
  return {
    sourceId,
    topic,
    partition: 0,
    offset: String(offset),
    timestamp: new Date(T0 + ms),
    key: { kind: "text", text: ORDER },
    value: { kind: "json", json, raw: Buffer.from(JSON.stringify(json)) },
    sizeBytes: 40,
    headers: [],
    eventType: "OrderPlaced",
    producer: "order-service",
    entityKeys: [ORDER],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: dead
      ? {
          source: "headers", convention: "eventscope", originTopic: SHARED, originPartition: 0, originOffset: "0", originTimestamp: null,
          originConsumerGroup: null, originTopicHint: null, errorClass: "Boom", errorMessage: "boom", errorCause: null, stackTrace: null, attempts: 1,
        }
      : null,
    flags: [],
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  eu = await ensureSource(db, { name: "prod-eu", kind: "kafka" });
  for (const sourceId of [1, eu.id]) {
    // The same topic, partition and offsets on both sources; one more topic on prod-eu only.
    const rows = [row(sourceId, SHARED, 0, 0), row(sourceId, SHARED, 1, 1000), row(sourceId, DLQ, 0, 2000 + sourceId, true)];
    if (sourceId === eu.id) rows.push(row(sourceId, ONLY_EU, 0, 3000));
    expect((await ingestEvents(db, rows)).inserted).toBe(rows.length);
    const topics = [SHARED, DLQ, ...(sourceId === eu.id ? [ONLY_EU] : [])];
    await syncTopics(
      db,
      sourceId,
      topics.map((name) => ({ name, kind: name === DLQ ? "dlq" : "normal", of: name === DLQ ? SHARED : null, internal: false, partitions: [{ partition: 0, leader: 1, endOffset: "2", startOffset: "0" }] })),
    );
    await syncConsumerGroups(db, sourceId, [{ groupId: GROUP, state: "Stable", protocolType: "consumer", protocol: "range", members: [] }]);
    await upsertCommittedOffsets(db, sourceId, [{ groupId: GROUP, topic: SHARED, partition: 0, committedOffset: sourceId === 1 ? "1" : "2" }]);
  }
});

afterAll(async () => {
  await db?.drop();
});

describe("sources", () => {
  it("ensureSource inserts or gets, once, however many collectors start at once", async () => {
    const name = `race-${suffix}`;
    const all = await Promise.all(Array.from({ length: 8 }, () => ensureSource(db, { name, kind: "kafka" })));
    expect(new Set(all.map((s) => s.id)).size).toBe(1);
    expect((await listSources(db)).filter((s) => s.name === name)).toHaveLength(1);
    expect(await ensureSource(db, { name: "default", kind: "kafka" })).toEqual({ id: 1, name: "default", kind: "kafka" });
    await expect(ensureSource(db, { name, kind: "nats" })).rejects.toThrow(/is a kafka source, not nats/);
    await expect(ensureSource(db, { name: "Prod EU", kind: "kafka" })).rejects.toThrow(/lowercase letters, digits and dashes/);
  });

  it("stores the same topic and offsets of two sources side by side, each once", async () => {
    const { rows } = await db.pool.query(`SELECT source_id, position::int AS position FROM events WHERE channel = $1 ORDER BY source_id, position`, [SHARED]);
    expect(rows).toEqual([
      { source_id: 1, position: 0 },
      { source_id: 1, position: 1 },
      { source_id: eu.id, position: 0 },
      { source_id: eu.id, position: 1 },
    ]);
    // Delivered again: nothing new on either source.
    expect((await ingestEvents(db, [row(1, SHARED, 0, 0), row(eu.id, SHARED, 0, 0)])).inserted).toBe(0);
  });

  it("an event address on two sources needs ?source=; an unknown source is refused naming the known ones", async () => {
    await expect(getEvent(db, SHARED, 0, "0")).rejects.toThrow(new RegExp(`on several sources \\(default, prod-eu\\)`));
    expect(await getEvent(db, SHARED, 0, "0", { source: "prod-eu" })).toMatchObject({ source: "prod-eu", topic: SHARED, offset: "0" });
    const onDefault = await getEvent(db, SHARED, 0, "0", { source: "default" });
    // Consumption is the group's on the event's own source: default's group is past offset 0 (committed 1).
    expect(onDefault).toMatchObject({ source: "default", consumption: [expect.objectContaining({ groupId: GROUP, committedOffset: "1" })] });
    expect(await getEvent(db, ONLY_EU, 0, "0")).toMatchObject({ source: "prod-eu" });
    await expect(getEvent(db, SHARED, 0, "0", { source: "prod-us" })).rejects.toThrow(/unknown source "prod-us": the sources are default, prod-eu/);
  });

  it("a topic or group named on two sources is a 422 naming them; named by its source, it answers", async () => {
    await expect(searchEvents(db, { topic: SHARED })).rejects.toThrow(/topic "orders-[0-9a-f]+" exists on several sources \(default, prod-eu\)/);
    const page = await searchEvents(db, { topic: SHARED, source: "prod-eu" });
    expect(page.events.map((e) => [e.source, e.offset])).toEqual([
      ["prod-eu", "1"],
      ["prod-eu", "0"],
    ]);
    expect((await searchEvents(db, { topic: ONLY_EU })).events.map((e) => e.source)).toEqual(["prod-eu"]);
    await expect(getTopicDetail(db, SHARED)).rejects.toThrow(/several sources \(default, prod-eu\)/);
    expect(await getTopicDetail(db, SHARED, { source: "default" })).toMatchObject({ source: "default", topic: SHARED });
    await expect(getConsumerGroup(db, GROUP)).rejects.toThrow(/group "billing-[0-9a-f]+" exists on several sources \(default, prod-eu\)/);
    expect(await getConsumerGroup(db, GROUP, { source: "prod-eu" })).toMatchObject({ source: "prod-eu", groupId: GROUP, totalLag: "0" });
    expect(await getGroupDetail(db, GROUP, { source: "default" })).toMatchObject({ source: "default", totalLag: "1" });
    await expect(getGroupDetail(db, `nobody-${suffix}`)).rejects.toThrow(/no consumer group named/);
  });

  it("timelines, who-consumes, the inbox and the graph answer across sources, each item with its source", async () => {
    const timeline = await getEntityTimeline(db, ORDER);
    expect(timeline.events.map((e) => e.source).sort()).toEqual(["default", "default", "default", "prod-eu", "prod-eu", "prod-eu", "prod-eu"]);

    const consumers = await whoConsumes(db, { topic: SHARED });
    expect(consumers.topics.map((t) => [t.source, t.topic, t.groups.map((g) => `${g.source}/${g.groupId}`)])).toEqual([
      ["default", SHARED, [`default/${GROUP}`]],
      ["prod-eu", SHARED, [`prod-eu/${GROUP}`]],
    ]);
    expect((await whoConsumes(db, { topic: SHARED }, { source: "prod-eu" })).topics.map((t) => t.source)).toEqual(["prod-eu"]);

    const inbox = await listDeadLetters(db, { topic: DLQ });
    expect(inbox.deadLetters.map((d) => d.source).sort()).toEqual(["default", "prod-eu"]);
    expect((await listDeadLetters(db, { topic: DLQ, source: "prod-eu" })).deadLetters.map((d) => d.source)).toEqual(["prod-eu"]);
    // Grouped per source; a group's bulk replay takes its own source's dead letters only.
    const groups = await groupDeadLetters(db, { topic: DLQ });
    expect(groups.map((g) => [g.source, g.originTopic, g.errorClass, g.count]).sort()).toEqual([
      ["default", SHARED, "Boom", 1],
      ["prod-eu", SHARED, "Boom", 1],
    ]);
    const euIds = await listDeadLetterIdsOfGroup(db, { originTopic: SHARED, errorClass: "Boom", source: "prod-eu" }, 100);
    expect(euIds).toEqual(inbox.deadLetters.filter((d) => d.source === "prod-eu").map((d) => d.id));
    expect(await listDeadLetterIdsOfGroup(db, { originTopic: SHARED, errorClass: "Boom" }, 100)).toHaveLength(2);

    const graph = await getFlowGraph(db);
    const ids = [...graph.topics.map((t) => t.id), ...graph.groups.map((g) => g.id)];
    expect(new Set(ids).size).toBe(ids.length);
    expect(graph.topics.filter((t) => t.topic === SHARED).map((t) => [t.source, t.id])).toEqual([
      ["default", `topic@default:${SHARED}`],
      ["prod-eu", `topic@prod-eu:${SHARED}`],
    ]);
    expect(graph.topics.find((t) => t.topic === ONLY_EU)?.id).toBe(`topic:${ONLY_EU}`);
    expect(graph.edges.filter((e) => e.kind === "consumes" && e.target === `group@prod-eu:${GROUP}`).map((e) => e.source)).toEqual([
      `topic@prod-eu:${SHARED}`,
    ]);
  });

  it("draws one source's graph on ?source=, with its producers, and lists every source for the choice", async () => {
    const graph = await getFlowGraph(db, { source: "prod-eu" });
    expect(graph.source).toBe("prod-eu");
    expect(graph.sources).toEqual(expect.arrayContaining(["default", "prod-eu"]));
    expect(new Set(graph.topics.map((t) => t.source))).toEqual(new Set(["prod-eu"]));
    expect(graph.topics.map((t) => t.topic).sort()).toEqual([DLQ, SHARED, ONLY_EU].sort());
    expect(graph.groups.map((g) => `${g.source}/${g.groupId}`)).toEqual([`prod-eu/${GROUP}`]);
    expect(graph.producers.map((p) => p.producer)).toEqual(["order-service"]);
    const kept = new Set([...graph.producers.map((p) => p.id), ...graph.topics.map((t) => t.id), ...graph.groups.map((g) => g.id)]);
    expect(graph.edges.length).toBeGreaterThan(0);
    for (const edge of graph.edges) expect(kept.has(edge.source) && kept.has(edge.target), edge.id).toBe(true);
    expect((await getFlowGraph(db)).source).toBeNull();
    await expect(getFlowGraph(db, { source: "prod-us" })).rejects.toThrow(/unknown source "prod-us": the sources are default, prod-eu/);
  });

  it("pages through records at the same time, topic, partition and offset on two sources without losing one", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await getEntityTimeline(db, ORDER, { limit: 1, cursor });
      seen.push(...page.events.map((e) => `${e.source}/${e.topic}/${e.offset}`));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    // Newest first, the same: search pages hold the two sources' twin records apart.
    const searched: string[] = [];
    cursor = undefined;
    do {
      const page = await searchEvents(db, { entity: ORDER, limit: 1, cursor });
      searched.push(...page.events.map((e) => `${e.source}/${e.topic}/${e.offset}`));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(searched.sort()).toEqual([...seen].sort());
  });

  it("keeps one admin poller per source: the lock of one source does not hold another's", async () => {
    const first = await tryAcquirePollerLock(db, eu.id);
    try {
      expect(first).not.toBeNull();
      expect(await tryAcquirePollerLock(db, eu.id)).toBeNull();
      const other = await tryAcquirePollerLock(db, 1);
      expect(other).not.toBeNull();
      await other?.release();
    } finally {
      await first?.release();
    }
  });
});
