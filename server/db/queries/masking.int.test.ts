/**
 * EVENTSCOPE_MASK_FIELDS end to end through the database layer: every query that returns message
 * content (values, previews, headers) returns it masked when the handle carries maskFields, as
 * getDatabase()'s does; withoutMasking(db), replay's read path, returns the stored originals.
 * Whole responses are searched for the secrets, so a field added to a response later cannot leak
 * them unnoticed.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReplayMessage } from "../../replay/message.ts";
import { recordAudit } from "../audit.ts";
import { syncConsumerGroups, syncTopics, upsertCommittedOffsets } from "../cluster-state.ts";
import { claimReplay } from "../replays.ts";
import { ingestEvents, type EventRow } from "../ingest.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";
import {
  getConsumerGroup,
  getDeadLetter,
  getEntityTimeline,
  getEvent,
  getTraceEvents,
  listAuditLog,
  listUnprocessedEvents,
  searchEvents,
  withoutMasking,
  type Queryable,
} from "./index.ts";

const suffix = crypto.randomBytes(3).toString("hex");
const TOPIC = `payments-${suffix}`;
const GROUP = `payment-service-${suffix}`;
const TRACE = crypto.randomBytes(16).toString("hex");
const ENTITY = `ord-${suffix}`;
const CARD = "4111111111111111";
const EMAIL = "ann.secret@example.com";
const PHONE = "+33-1-98-76-54";

function event(offset: number, json: Record<string, unknown>, headers: [string, string][]): EventRow {
  const raw = Buffer.from(JSON.stringify(json));
  return {
    topic: TOPIC,
    partition: 0,
    offset: String(offset),
    timestamp: new Date(Date.now() - 60_000 + offset),
    key: { kind: "text", text: ENTITY },
    value: { kind: "json", json, raw },
    sizeBytes: raw.length,
    headers: [["traceparent", `00-${TRACE}-${"b".repeat(16)}-01`] as [string, string], ...headers].map(([key, value]) => ({
      key,
      value: Buffer.from(value),
      text: value,
    })),
    eventType: "PaymentRequested",
    producer: "order-service",
    entityKeys: [ENTITY],
    trace: { traceId: TRACE, parentSpanId: "b".repeat(16) },
    deadLetter: null,
    flags: [],
  };
}

// The secret sits early in the value, so the list previews (first 256 characters) contain it.
const FIRST = event(0, { orderId: ENTITY, cardNumber: CARD, customer: { email: EMAIL, phone: PHONE, name: "Ann" }, amount: 12.5 }, [["email", EMAIL]]);
// jsonb puts shorter keys first: the 256-character preview ends inside the card number.
const SECOND = event(1, { pad: "x".repeat(220), cardNumber: CARD }, [["Email", EMAIL]]);

// A dead letter of FIRST, written with a replay's exact bytes (spacing as the producer sent it).
const DEAD = {
  ...event(0, { orderId: ENTITY, cardNumber: CARD, customer: { email: EMAIL } }, [["email", EMAIL], ["x-original-topic", TOPIC]]),
  topic: `${TOPIC}-dlq`,
  value: {
    kind: "json" as const,
    json: { orderId: ENTITY, cardNumber: CARD, customer: { email: EMAIL } },
    raw: Buffer.from(`{\n  "orderId": "${ENTITY}",\n  "cardNumber": "${CARD}",\n  "customer": { "email": "${EMAIL}" }\n}`),
  },
  deadLetter: {
    source: "headers",
    convention: "eventscope",
    originTopic: TOPIC,
    originPartition: 0,
    originOffset: "0",
    originTimestamp: null,
    originConsumerGroup: null,
    originTopicHint: null,
    errorClass: "CardDeclined",
    errorMessage: "declined",
    errorCause: null,
    stackTrace: null,
    attempts: 1,
  },
} satisfies EventRow;

let db: TestDatabase;
let deadLetterId: string;
let masked: Queryable;

beforeAll(async () => {
  db = await createTestDatabase();
  masked = { pool: db.pool, maskFields: ["cardNumber", "email", "customer.phone"] };
  await ingestEvents(db, [FIRST, SECOND, DEAD]);
  const found = await db.pool.query<{ id: string }>("SELECT id::text AS id FROM dead_letters WHERE topic = $1", [DEAD.topic]);
  deadLetterId = found.rows[0]!.id;
  await syncTopics(db, [{ name: TOPIC, kind: "normal", of: null, internal: false, partitions: [{ partition: 0, leader: 1, endOffset: "2", startOffset: "0" }] }]);
  await syncConsumerGroups(db, [{ groupId: GROUP, state: "Stable", protocolType: "consumer", protocol: "range", members: [] }]);
  await upsertCommittedOffsets(db, [{ groupId: GROUP, topic: TOPIC, partition: 0, committedOffset: "0" }]);

  // A replay whose edits changed the value and the headers: its recorded diff holds the secrets,
  // in the replay's row and in the audit log.
  const edited = buildReplayMessage(
    { key: Buffer.from(ENTITY), value: DEAD.value.raw, headers: DEAD.headers.map((h) => ({ key: h.key, value: h.value })) },
    { replayId: "0", replayOf: `${DEAD.topic}/0/0` },
    {
      value: JSON.stringify({ orderId: ENTITY, cardNumber: CARD, customer: { email: EMAIL, phone: PHONE } }),
      headers: [{ key: "email", value: `new.${EMAIL}` }],
    },
  );
  expect(edited.diff).not.toBeNull();
  const claim = await claimReplay(db, { deadLetterId, requestedBy: "admin", targetTopic: TOPIC, edits: edited.diff, again: false });
  expect(claim.claimed).toBe(true);
  await recordAudit(db, {
    actor: "admin",
    action: "replay",
    targetType: "dead-letter",
    targetId: deadLetterId,
    details: { targetTopic: TOPIC, edits: edited.diff },
    result: "ok",
  });
});

afterAll(async () => {
  await db?.drop();
});

/** Every query that returns message content, as the pages and the API call them. */
const contentQueries: [string, (handle: Queryable) => Promise<unknown>][] = [
  ["getEvent", (h) => getEvent(h, TOPIC, 0, "0")],
  ["getEntityTimeline", (h) => getEntityTimeline(h, ENTITY)],
  ["getTraceEvents", (h) => getTraceEvents(h, TRACE)],
  ["searchEvents", (h) => searchEvents(h, { topic: TOPIC })],
  ["getConsumerGroup (next event)", (h) => getConsumerGroup(h, GROUP)],
  ["listUnprocessedEvents", (h) => listUnprocessedEvents(h, GROUP, { topic: TOPIC, partition: 0 })],
  ["getDeadLetter (record and replay edits)", (h) => getDeadLetter(h, deadLetterId, { excludeGroup: "eventscope-collector" })],
  ["listAuditLog (replay edits)", (h) => listAuditLog(h, { targetType: "dead-letter", targetId: deadLetterId })],
];

describe("masking in every query that returns message content", () => {
  it.each(contentQueries)("%s returns no masked value, in values, previews or headers", async (_name, run) => {
    const text = JSON.stringify(await run(masked));
    expect(text).not.toContain(CARD);
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(PHONE);
    // And base64 of the header value is not a way around it.
    expect(text).not.toContain(Buffer.from(EMAIL).toString("base64").slice(0, 12));
    expect(text).toContain("***");
  });

  it.each(contentQueries)("%s returns the stored content without maskFields (what replay reads)", async (_name, run) => {
    const text = JSON.stringify(await run(withoutMasking(masked)));
    expect(text).toContain(CARD);
    expect(text).toContain(EMAIL);
  });

  it("masks the value field by field, keeping the rest, and withholds exact bytes that would reveal it", async () => {
    const detail = await getEvent(masked, TOPIC, 0, "0");
    expect(detail!.value).toEqual({
      kind: "json",
      json: { orderId: ENTITY, cardNumber: "***", customer: { email: "***", phone: "***", name: "Ann" }, amount: 12.5 },
    });
    expect(detail!.headers.find((h) => h.key === "email")).toEqual({ key: "email", value: "***", encoding: "utf8" });
    expect(detail!.headers.find((h) => h.key === "traceparent")!.value).toContain(TRACE);
    expect(detail!.valueBytesBase64).toBeNull();
  });

  it("masks a replay's recorded edits field by field, in the audit log and the dead letter's replays", async () => {
    const [entry] = (await listAuditLog(masked, { targetType: "dead-letter", targetId: deadLetterId })).entries;
    const edits = (entry!.details as { edits: { value: { after: string }; headers: { added: { key: string; value: string }[] } } }).edits;
    expect(JSON.parse(edits.value.after)).toEqual({ orderId: ENTITY, cardNumber: "***", customer: { email: "***", phone: "***" } });
    expect(edits.headers.added).toEqual([{ key: "email", value: "***" }]);
    const detail = await getDeadLetter(masked, deadLetterId, { excludeGroup: "eventscope-collector" });
    expect(detail!.replays[0]!.edits).toEqual(edits);
  });

  it("masks a preview cut short in the middle of a value", async () => {
    const page = await searchEvents(masked, { topic: TOPIC });
    const second = page.events.find((e) => e.offset === "1")!;
    expect(second.valuePreview).toBe(`{"pad": "${"x".repeat(220)}", "cardNumber": "***"`);
    const unmasked = await searchEvents(withoutMasking(masked), { topic: TOPIC });
    expect(unmasked.events.find((e) => e.offset === "1")!.valuePreview).toBe(`{"pad": "${"x".repeat(220)}", "cardNumber": "411111111`);
  });
});
