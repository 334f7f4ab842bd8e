import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callRoute as call } from "./test-support.ts";
import { ensureSource, getDatabase, ingestEvents, syncConsumerGroups, syncTopics, upsertCommittedOffsets, type EventRow } from "@/server/db";
import { createTestDatabase, type TestDatabase } from "@/server/db/test-support";
import { consumerGroupViewSchema } from "@/lib/api-schemas/groups";
import { eventDetailSchema, eventSearchPageSchema } from "@/lib/api-schemas/events";
import { topicDetailSchema } from "@/lib/api-schemas/graph";
import { whoConsumesAnswerSchema } from "@/lib/api-schemas/who-consumes";
import { GET as getEventAt } from "./events/[topic]/[partition]/[offset]/route.ts";
import { GET as search } from "./events/route.ts";
import { GET as getGroup } from "./groups/[id]/route.ts";
import { GET as getGraphTopic } from "./graph/topics/[topic]/route.ts";
import { GET as whoConsumes } from "./who-consumes/route.ts";

/** `?source=` on the routes that name a topic, group or event (server/db/README.md). */

let db: TestDatabase;
const savedUrl = process.env.DATABASE_URL;
const suffix = crypto.randomBytes(3).toString("hex");
const SHARED = `orders-${suffix}`;
const GROUP = `billing-${suffix}`;

function row(sourceId: number, offset: number): EventRow {
  const json = { orderId: `ord-${suffix}` };
  return {
    sourceId, topic: SHARED, partition: 0, offset: String(offset), timestamp: new Date(Date.now() - 10_000 + offset),
    key: null, value: { kind: "json", json, raw: Buffer.from(JSON.stringify(json)) }, sizeBytes: 20, headers: [],
    eventType: "OrderPlaced", producer: "order-service", entityKeys: [], trace: { traceId: null, parentSpanId: null }, deadLetter: null, flags: [],
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  const eu = await ensureSource(db, { name: "prod-eu", kind: "kafka" });
  for (const sourceId of [1, eu.id]) {
    await ingestEvents(db, [row(sourceId, 0)]);
    await syncTopics(db, sourceId, [{ name: SHARED, kind: "normal", of: null, internal: false, partitions: [{ partition: 0, leader: 1, endOffset: "1", startOffset: "0" }] }]);
    await syncConsumerGroups(db, sourceId, [{ groupId: GROUP, state: "Stable", protocolType: "consumer", protocol: "range", members: [] }]);
    await upsertCommittedOffsets(db, sourceId, [{ groupId: GROUP, topic: SHARED, partition: 0, committedOffset: "1" }]);
  }
});

afterAll(async () => {
  await (await getDatabase()).close();
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
  await db?.drop();
});


describe("?source= on the API", () => {
  const event = { topic: SHARED, partition: "0", offset: "0" };

  it("answers 422 naming the sources when a name is on several, and the thing itself with ?source=", async () => {
    const ambiguous = await call(getEventAt, `/api/events/${SHARED}/0/0`, event);
    expect(ambiguous).toMatchObject({ status: 422, body: { error: "validation", field: "source" } });
    expect(ambiguous.body.message).toContain("(default, prod-eu)");
    const named = await call(getEventAt, `/api/events/${SHARED}/0/0?source=prod-eu`, event);
    expect(named.status).toBe(200);
    expect(eventDetailSchema.parse(named.body)).toMatchObject({ source: "prod-eu" });

    expect((await call(getGroup, `/api/groups/${GROUP}`, { id: GROUP })).status).toBe(422);
    const group = await call(getGroup, `/api/groups/${GROUP}?source=default`, { id: GROUP });
    expect(consumerGroupViewSchema.parse(group.body)).toMatchObject({ source: "default", groupId: GROUP });

    expect((await call(getGraphTopic, `/api/graph/topics/${SHARED}`, { topic: SHARED })).status).toBe(422);
    const topic = await call(getGraphTopic, `/api/graph/topics/${SHARED}?source=prod-eu`, { topic: SHARED });
    expect(topicDetailSchema.parse(topic.body)).toMatchObject({ source: "prod-eu", topic: SHARED });

    expect((await call(search, `/api/events?topic=${SHARED}`)).status).toBe(422);
    const page = eventSearchPageSchema.parse((await call(search, `/api/events?topic=${SHARED}&source=default`)).body);
    expect(page.events.map((e) => e.source)).toEqual(["default"]);
  });

  it("answers 422 naming the known sources for an unknown one, and for a malformed one", async () => {
    const unknown = await call(getEventAt, `/api/events/${SHARED}/0/0?source=prod-us`, event);
    expect(unknown).toMatchObject({ status: 422, body: { field: "source" } });
    expect(unknown.body.message).toContain("the sources are default, prod-eu");
    expect((await call(getGroup, `/api/groups/${GROUP}?source=prod-us`, { id: GROUP })).status).toBe(422);
    const malformed = await call(search, `/api/events?topic=${SHARED}&source=Prod_EU`);
    expect(malformed.status).toBe(422);
    expect(malformed.body.message).toMatch(/source: a source name is lowercase letters/);
  });

  it("keeps 404 for what no source has", async () => {
    expect((await call(getGroup, `/api/groups/nobody-${suffix}`, { id: `nobody-${suffix}` })).status).toBe(404);
    expect((await call(getEventAt, `/api/events/${SHARED}/0/9`, { ...event, offset: "9" })).status).toBe(404);
  });

  it("who-consumes answers across sources, each topic and group with its source, and narrows to one", async () => {
    const all = whoConsumesAnswerSchema.parse((await call(whoConsumes, `/api/who-consumes?topic=${SHARED}`)).body);
    expect(all.topics.map((t) => [t.source, t.groups.map((g) => g.source)])).toEqual([
      ["default", ["default"]],
      ["prod-eu", ["prod-eu"]],
    ]);
    const one = whoConsumesAnswerSchema.parse((await call(whoConsumes, `/api/who-consumes?topic=${SHARED}&source=prod-eu`)).body);
    expect(one.topics.map((t) => t.source)).toEqual(["prod-eu"]);
  });
});
