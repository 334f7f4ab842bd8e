/**
 * EVENTSCOPE_MASK_FIELDS end to end through the database layer: every query that returns message
 * content (values, previews, headers) returns it masked when the handle carries maskFields, as
 * getDatabase()'s does; withoutMasking(db), replay's read path, returns the stored originals.
 * Whole responses are searched for the secrets, so a field added to a response later cannot leak
 * them unnoticed.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../../../lib/errors.ts";
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
  groupDeadLetters,
  listAuditLog,
  listDeadLetters,
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
    sourceId: 1,
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
    // Services quote what failed: the masked values of the record appear in its error texts.
    errorMessage: `card ${CARD} of ${EMAIL} declined`,
    errorCause: `issuer refused ${CARD}`,
    stackTrace: `CardDeclined: card ${CARD} of ${EMAIL} declined\n    at charge (payment.ts:42)`,
    attempts: 1,
  },
} satisfies EventRow;

// A retry of FIRST that carries the failure of its earlier attempt.
const RETRY = {
  ...event(2, { orderId: ENTITY, cardNumber: CARD }, [["email", EMAIL]]),
  priorFailure: { ...DEAD.deadLetter, errorMessage: `card ${CARD} declined, retrying`, stackTrace: `at charge (${EMAIL})` },
} satisfies EventRow;

// A value over the size cap (stored cut, as text) and one with a number JSON cannot hold exactly
// (stored as text): both look like JSON and hold the secrets.
const CUT_TEXT = `{"orderId": "${ENTITY}", "customer": {"email": "${EMAIL}"}, "cardNumber": "${CARD}", "note": "ca`;
const IMPRECISE_TEXT = `{"orderId": "${ENTITY}", "email": "${EMAIL}", "cardNumber": "${CARD}", "amount": 123456789012345678901234567890}`;
function textEvent(offset: number, text: string): EventRow {
  const raw = Buffer.from(text);
  return { ...event(offset, {}, []), value: { kind: "bytes", raw, text, truncated: offset === 3 }, sizeBytes: raw.length };
}
const CUT = textEvent(3, CUT_TEXT);
const IMPRECISE = textEvent(4, IMPRECISE_TEXT);

let db: TestDatabase;
let deadLetterId: string;
let masked: Queryable;

beforeAll(async () => {
  db = await createTestDatabase();
  masked = { pool: db.pool, maskFields: ["cardNumber", "email", "customer.phone"] };
  await ingestEvents(db, [FIRST, SECOND, DEAD, RETRY, CUT, IMPRECISE]);
  const found = await db.pool.query<{ id: string }>("SELECT id::text AS id FROM dead_letters WHERE channel = $1", [DEAD.topic]);
  deadLetterId = found.rows[0]!.id;
  await syncTopics(db, 1, [{ name: TOPIC, kind: "normal", of: null, internal: false, partitions: [{ partition: 0, leader: 1, endOffset: "5", startOffset: "0" }] }]);
  await syncConsumerGroups(db, 1, [{ groupId: GROUP, state: "Stable", protocolType: "consumer", protocol: "range", members: [] }]);
  await upsertCommittedOffsets(db, 1, [{ groupId: GROUP, topic: TOPIC, partition: 0, committedOffset: "0" }]);

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

/** A response as a user may read it: its JSON, and the text of the base64 in it (values stored as bytes). */
function shown(response: unknown): string {
  const json = JSON.stringify(response);
  const decoded = (json.match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []).map((base64) => Buffer.from(base64, "base64").toString("utf8"));
  return [json, ...decoded].join("\n");
}

/** Every query that returns message content, as the pages and the API call them. */
const contentQueries: [string, (handle: Queryable) => Promise<unknown>][] = [
  ["getEvent", (h) => getEvent(h, TOPIC, 0, "0")],
  ["getEvent (a retry with a prior failure)", (h) => getEvent(h, TOPIC, 0, "2")],
  ["getEvent (a value stored cut, as text)", (h) => getEvent(h, TOPIC, 0, "3")],
  ["getEvent (a value with an imprecise number, as text)", (h) => getEvent(h, TOPIC, 0, "4")],
  ["getEvent (the dead letter)", (h) => getEvent(h, `${TOPIC}-dlq`, 0, "0")],
  ["listDeadLetters", (h) => listDeadLetters(h, { topic: TOPIC })],
  ["getEntityTimeline", (h) => getEntityTimeline(h, ENTITY)],
  ["getTraceEvents", (h) => getTraceEvents(h, TRACE)],
  ["searchEvents", (h) => searchEvents(h, { topic: TOPIC })],
  ["getConsumerGroup (next event)", (h) => getConsumerGroup(h, GROUP)],
  ["listUnprocessedEvents", (h) => listUnprocessedEvents(h, GROUP, { topic: TOPIC, partition: 0 })],
  ["getDeadLetter (record and replay edits)", (h) => getDeadLetter(h, deadLetterId)],
  ["listAuditLog (replay edits)", (h) => listAuditLog(h, { targetType: "dead-letter", targetId: deadLetterId })],
];

describe("masking in every query that returns message content", () => {
  it.each(contentQueries)("%s returns no masked value, in values, previews or headers", async (_name, run) => {
    const text = shown(await run(masked));
    expect(text).not.toContain(CARD);
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(PHONE);
    // And base64 of the header value is not a way around it.
    expect(text).not.toContain(Buffer.from(EMAIL).toString("base64").slice(0, 12));
    expect(text).toContain("***");
  });

  it.each(contentQueries)("%s returns the stored content without maskFields (what replay reads)", async (_name, run) => {
    const text = shown(await run(withoutMasking(masked)));
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
    const detail = await getDeadLetter(masked, deadLetterId);
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

describe("masked data cannot be searched or filtered by its value", () => {
  it("answers a search by a masked header's value with a validation error that says it is masked", async () => {
    for (const name of ["email", "Email", "EMAIL"]) {
      const search = searchEvents(masked, { topic: TOPIC, header: { name, value: EMAIL } });
      await expect(search).rejects.toBeInstanceOf(ValidationError);
      await expect(search).rejects.toThrow(/masked/);
    }
    // By name alone, which reveals nothing of the value, it still finds the events.
    expect((await searchEvents(masked, { topic: TOPIC, header: { name: "email" } })).events.length).toBeGreaterThan(0);
    // And other headers are still searched by value.
    expect((await searchEvents(masked, { header: { name: "traceparent", value: `00-${TRACE}-${"b".repeat(16)}-01` } })).events.length).toBe(6);
    // Without masking, the same search finds the event: the refusal above is the masking's.
    expect((await searchEvents(withoutMasking(masked), { topic: TOPIC, header: { name: "email", value: EMAIL } })).events.length).toBeGreaterThan(0);
  });

  it("shows error texts with the record's masked values redacted, and filters on what it shows", async () => {
    const detail = await getDeadLetter(masked, deadLetterId);
    expect(detail!.errorMessage).toBe("card *** of *** declined");
    expect(detail!.errorCause).toBe("issuer refused ***");
    expect(detail!.errorStack).toBe("CardDeclined: card *** of *** declined\n    at charge (payment.ts:42)");
    const retry = await getEvent(masked, TOPIC, 0, "2");
    expect(retry!.priorFailure).toMatchObject({ errorMessage: "card *** declined, retrying", stackTrace: "at charge (***)" });

    // A guess of the card number finds nothing, whether it is right or wrong ...
    for (const guess of [CARD, CARD.slice(4, 12), EMAIL, "4111111111111112"]) {
      expect((await listDeadLetters(masked, { errorText: guess })).deadLetters, guess).toEqual([]);
      expect(await groupDeadLetters(masked, { errorText: guess }), guess).toEqual([]);
    }
    // ... while the words that are shown still find the dead letter.
    expect((await listDeadLetters(masked, { errorText: "OF *** DECLINED" })).deadLetters.map((d) => d.id)).toEqual([deadLetterId]);
    expect((await groupDeadLetters(masked, { errorText: "declined" })).map((g) => g.count)).toEqual([1]);
    // Without masking, the card number finds it: the empty answers above are the masking's.
    expect((await listDeadLetters(withoutMasking(masked), { errorText: CARD })).deadLetters.map((d) => d.id)).toEqual([deadLetterId]);
  });

  it("masks values stored as text that look like JSON, as far as they are JSON", async () => {
    // Stored cut, as bytes: shown as the bytes of the masked text.
    const cut = await getEvent(masked, TOPIC, 0, "3");
    expect(cut!.value.kind).toBe("binary");
    const cutText = Buffer.from((cut!.value as { base64: string }).base64, "base64").toString("utf8");
    expect(cutText).toBe(`{"orderId": "${ENTITY}", "customer": {"email": "***"}, "cardNumber": "***", "note": "ca`);
    const imprecise = await getEvent(masked, TOPIC, 0, "4");
    expect(imprecise!.value).toEqual({ kind: "text", text: `{"orderId": "${ENTITY}", "email": "***", "cardNumber": "***", "amount": 123456789012345678901234567890}` });
  });
});
