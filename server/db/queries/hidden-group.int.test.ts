/**
 * Eventscope's own consumer group (the collector's) reads every topic and is nobody's consumer:
 * one rule in the query layer (groupShown, Queryable.hiddenGroup) leaves it out of every answer
 * about consumers, so pages and API agree. The same fixture read without the rule shows it, so
 * each expectation below can fail.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../../../lib/errors.ts";
import { syncConsumerGroups, syncTopics, upsertCommittedOffsets } from "../cluster-state.ts";
import { ingestEvents } from "../ingest.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";
import {
  getConsumerGroup,
  getEntityTimeline,
  getEvent,
  getFlowGraph,
  getGroupDetail,
  getGroupLagHistory,
  getTopicDetail,
  listConsumerGroups,
  whoConsumes,
} from "./index.ts";
import type { Queryable } from "./shared.ts";

const suffix = crypto.randomBytes(3).toString("hex");
const ORDERS = `orders-${suffix}`;
const COLLECTOR = `eventscope-collector-${suffix}`;
const SHIPPING = `shipping-${suffix}`;
const AT = new Date(Math.floor(Date.now() / 1000) * 1000);

let db: TestDatabase;
let hiding: Queryable;

beforeAll(async () => {
  db = await createTestDatabase();
  hiding = { ...db, hiddenGroup: COLLECTOR };
  await syncTopics(db, 1, [{ name: ORDERS, kind: "normal", of: null, internal: false, partitions: [{ partition: 0, leader: 1, startOffset: "0", endOffset: "1" }] }], { at: AT });
  await syncConsumerGroups(
    db,
    1,
    [COLLECTOR, SHIPPING].map((groupId) => ({
      groupId,
      state: "Stable",
      protocolType: "consumer",
      protocol: "range",
      members: [{ memberId: `${groupId}-m`, clientId: groupId, clientHost: "/10.0.0.1", assignments: [{ topic: ORDERS, partition: 0 }] }],
    })),
    { at: AT },
  );
  await upsertCommittedOffsets(
    db,
    1,
    [COLLECTOR, SHIPPING].map((groupId) => ({ groupId, topic: ORDERS, partition: 0, committedOffset: "1" })),
    { at: AT },
  );
  await ingestEvents(db, [
    {
      sourceId: 1,
      topic: ORDERS,
      partition: 0,
      offset: "0",
      timestamp: AT,
      key: { kind: "text", text: `ord-${suffix}` },
      value: { kind: "json", json: { orderId: `ord-${suffix}` }, raw: Buffer.from(`{"orderId":"ord-${suffix}"}`) },
      sizeBytes: 20,
      headers: [],
      eventType: "OrderPlaced",
      producer: "order-service",
      entityKeys: [`ord-${suffix}`],
      trace: { traceId: null, parentSpanId: null },
      deadLetter: null,
      flags: [],
    },
  ]);
});

afterAll(async () => {
  await db?.drop();
});

/** Every group id an answer names, whatever the query. */
const answers: [string, (q: Queryable) => Promise<string[]>][] = [
  ["the flow graph", async (q) => (await getFlowGraph(q)).groups.map((g) => g.groupId)],
  ["who consumes the topic", async (q) => (await whoConsumes(q, { topic: ORDERS })).topics.flatMap((t) => t.groups.map((g) => g.groupId))],
  ["who consumes the event type", async (q) => (await whoConsumes(q, { type: "OrderPlaced" })).groups],
  ["the topic's panel", async (q) => (await getTopicDetail(q, ORDERS)).consumers.map((g) => g.groupId)],
  ["the consumer groups list", async (q) => (await listConsumerGroups(q)).groups.map((g) => g.groupId)],
  ["an entity's timeline", async (q) => (await getEntityTimeline(q, `ord-${suffix}`)).events.flatMap((e) => e.consumption.map((c) => c.groupId))],
  ["an event's page", async (q) => (await getEvent(q, ORDERS, 0, "0"))!.consumption.map((c) => c.groupId)],
];

describe("the collector's own group", () => {
  it.each(answers)("is left out of %s", async (_what, groupsIn) => {
    expect(await groupsIn(db)).toContain(COLLECTOR);
    const shown = await groupsIn(hiding);
    expect(shown).toContain(SHIPPING);
    expect(shown).not.toContain(COLLECTOR);
  });

  it("has no page of its own: group detail, group page and lag history are 404s", async () => {
    await expect(getGroupDetail(hiding, COLLECTOR)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getConsumerGroup(hiding, COLLECTOR)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getGroupLagHistory(hiding, COLLECTOR, { from: new Date(AT.getTime() - 60_000), to: AT, bucketMs: 10_000 })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect((await getGroupDetail(db, COLLECTOR)).groupId).toBe(COLLECTOR);
  });
});
