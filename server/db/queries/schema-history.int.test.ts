/**
 * The schema history from what ingest counts: registry schemas per event type and the shapes of
 * plain JSON values, exact under redelivery whichever ingest path a batch takes, and explained by
 * getSchemaHistory (versions in order, field changes judged under the subject's level, a JSON
 * field that changes type at the moment it did).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestEvents, replaceDecodedEvents, type EventRow, type IngestMethod } from "../ingest.ts";
import { saveRegistrySchemas } from "../registry-schemas.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";
import { getSchemaHistory } from "./schema-history.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

let counter = 0;
const unique = (name: string) => `${name}-${process.pid}-${++counter}`;
const T0 = Date.parse("2026-12-01T10:00:00Z");

function row(topic: string, offset: number, type: string, json: unknown, options: { schemaId?: number; producer?: string } = {}): EventRow {
  const raw = options.schemaId === undefined ? Buffer.from(JSON.stringify(json)) : Buffer.from([0, 0, 0, 0, options.schemaId, 1, 2]);
  return {
    sourceId: 1,
    topic,
    partition: 0,
    offset: String(offset),
    timestamp: new Date(T0 + offset * 1000),
    key: { kind: "text", text: `k-${offset}` },
    value: { kind: "json", json, raw, ...(options.schemaId === undefined ? {} : { schema: { id: options.schemaId } }) },
    sizeBytes: raw.length,
    headers: [],
    eventType: type,
    producer: options.producer ?? "payment-service",
    entityKeys: [],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: null,
    flags: [],
  };
}

const avroV1 = {
  type: "record",
  name: "Payment",
  namespace: "shop",
  fields: [
    { name: "orderId", type: "string" },
    { name: "amount", type: "double" },
  ],
};

describe.each<IngestMethod>(["copy", "staged-copy"])("counted by ingest (%s)", (method) => {
  it("counts each registry schema and JSON field once per stored event, whatever arrives twice", async () => {
    const topic = unique("payments");
    const type = unique("PaymentProcessed");
    const batch = [
      row(topic, 0, type, { orderId: "o-1", amount: 10 }),
      row(topic, 1, type, { orderId: "o-2", amount: 11 }),
      row(topic, 2, type, { orderId: "o-3", amount: 12 }, { schemaId: 7 }),
    ];
    await ingestEvents(db, batch, { method });
    await ingestEvents(db, [...batch, row(topic, 3, type, { orderId: "o-4", amount: "13.00" })], { method });

    const history = await getSchemaHistory(db, type);
    expect(history.eventCount).toBe(4);
    expect(history.registry.map((v) => [v.schemaId, v.count, v.firstEvent])).toEqual([[7, 1, { topic, partition: 0, offset: "2" }]]);
    expect(history.json.eventCount).toBe(3);
    const amount = history.json.fields.find((f) => f.path === "amount")!;
    expect(amount.types.map((t) => [t.type, t.count])).toEqual([
      ["number", 2],
      ["string", 1],
    ]);
    expect(history.json.changes).toEqual([
      expect.objectContaining({
        path: "amount",
        kind: "type-changed",
        before: "number",
        after: "string",
        compatible: false,
        at: new Date(T0 + 3000).toISOString(),
        event: { topic, partition: 0, offset: "3" },
      }),
    ]);
  });
});

describe("getSchemaHistory", () => {
  it("lists registry versions in the order they were first seen, with their changes judged under the subject's level", async () => {
    const topic = unique("payments");
    const type = unique("PaymentProcessed");
    const base = 1000 + (counter % 1000) * 10;
    const v2 = { ...avroV1, fields: [...avroV1.fields, { name: "method", type: ["null", "string"], default: null }] };
    const v3 = { ...avroV1, fields: [...avroV1.fields, { name: "merchantId", type: "string" }] };
    await saveRegistrySchemas(db, 1, [
      { id: base + 1, schemaType: "AVRO", schema: JSON.stringify(avroV1), references: [], subject: `${topic}-value`, version: 1, compatibility: "BACKWARD" },
      { id: base + 2, schemaType: "AVRO", schema: JSON.stringify(v2), references: [], subject: `${topic}-value`, version: 2, compatibility: "BACKWARD" },
      { id: base + 3, schemaType: "AVRO", schema: JSON.stringify(v3), references: [], subject: `${topic}-value`, version: 3, compatibility: null },
    ]);
    await ingestEvents(db, [
      row(topic, 0, type, { orderId: "o-1", amount: 1 }, { schemaId: base + 1 }),
      row(topic, 1, type, { orderId: "o-2", amount: 2 }, { schemaId: base + 1 }),
      row(topic, 2, type, { orderId: "o-3", amount: 3, method: null }, { schemaId: base + 2 }),
      row(topic, 3, type, { orderId: "o-4", amount: 4, merchantId: "m" }, { schemaId: base + 3 }),
    ]);

    const history = await getSchemaHistory(db, type);
    expect(history.registry.map((v) => [v.subject, v.version, v.schemaId, v.count, v.breaking])).toEqual([
      [`${topic}-value`, 1, base + 1, 2, false],
      [`${topic}-value`, 2, base + 2, 1, false],
      [`${topic}-value`, 3, base + 3, 1, true],
    ]);
    const [first, second, third] = history.registry;
    expect(first!.changes).toBeNull();
    expect(first!.eventsHref).toBe(`/events?type=${encodeURIComponent(type)}&schemaId=${base + 1}`);
    expect(second!.changes).toEqual([expect.objectContaining({ path: "method", kind: "added", compatible: true })]);
    // v3 against v2: a required field without a default (breaking under BACKWARD, assumed as the
    // registry reported no level), and the optional field removed (compatible under BACKWARD).
    expect(third!.compatibility).toEqual({ level: "BACKWARD", reported: false });
    expect(third!.changes).toEqual([
      expect.objectContaining({ path: "merchantId", kind: "added", compatible: false }),
      expect.objectContaining({ path: "method", kind: "removed", compatible: true }),
    ]);
    // The registry's versions say nothing of a JSON shape: none was recorded for wire-format values.
    expect(history.json.eventCount).toBe(0);
  });

  it("calls a JSON field removed once enough events of the type came without it", async () => {
    const topic = unique("orders");
    const type = unique("OrderPlaced");
    const rows = [row(topic, 0, type, { orderId: "o-0", coupon: "X" })];
    for (let i = 1; i <= 25; i++) rows.push(row(topic, i, type, { orderId: `o-${i}` }));
    await ingestEvents(db, rows);
    const history = await getSchemaHistory(db, type);
    expect(history.json.changes).toEqual([
      expect.objectContaining({ path: "coupon", kind: "removed", compatible: false, event: { topic, partition: 0, offset: "0" } }),
    ]);
    const coupon = history.json.fields.find((f) => f.path === "coupon")!;
    expect(coupon.count).toBe(1);

    // Too few events without a field say nothing yet.
    const other = unique("OrderPlaced");
    await ingestEvents(db, [row(topic, 100, other, { orderId: "a", coupon: "Y" }), row(topic, 101, other, { orderId: "b" })]);
    expect((await getSchemaHistory(db, other)).json.changes).toEqual([]);
  });

  it("moves an event decoded after a registry outage from its raw reading's counts to its decoded ones", async () => {
    const topic = unique("payments");
    const type = unique("PaymentProcessed");
    const raw: EventRow = { ...row(topic, 0, type, null), eventType: null, producer: null, value: { kind: "bytes", raw: Buffer.from([0, 0, 0, 0, 9]), text: null, truncated: false } };
    await ingestEvents(db, [raw]);
    expect(await db.prisma.producer.findMany({ where: { topic } })).toEqual([expect.objectContaining({ eventType: "", producer: "", count: 1n })]);

    await replaceDecodedEvents(db, [row(topic, 0, type, { orderId: "o-1" }, { schemaId: 9 })]);
    expect(await db.prisma.producer.findMany({ where: { topic } })).toEqual([
      expect.objectContaining({ eventType: type, producer: "payment-service", count: 1n }),
    ]);
    const history = await getSchemaHistory(db, type);
    expect(history.registry.map((v) => [v.schemaId, v.count, v.fieldsError])).toEqual([[9, 1, "the schema's text was never fetched from the registry by the collector"]]);
  });

  it("gives a dead letter decoded after a registry outage its new reading too", async () => {
    const topic = unique("payments-dlq");
    const type = unique("PaymentFailed");
    const failure = {
      source: "headers" as const, convention: "eventscope", originTopic: "payments", originPartition: 0, originOffset: "7", originTimestamp: null,
      originConsumerGroup: null, originTopicHint: null, errorClass: "Declined", errorMessage: "declined", errorCause: null, stackTrace: null, attempts: 1,
    };
    const wire = Buffer.from([0, 0, 0, 0, 9, 1, 2]);
    const raw: EventRow = { ...row(topic, 0, type, null), eventType: null, deadLetter: failure, value: { kind: "bytes", raw: wire, text: null, truncated: false } };
    await ingestEvents(db, [raw]);
    const decoded: EventRow = { ...row(topic, 0, type, { orderId: "o-9" }, { schemaId: 9 }), entityKeys: ["o-9"], deadLetter: failure, value: { kind: "json", json: { orderId: "o-9" }, raw: wire, schema: { id: 9 } } };
    await replaceDecodedEvents(db, [decoded]);
    const { rows } = await db.pool.query(
      `SELECT value_kind::text AS value_kind, value_json, value_bytes, event_type, entity_keys FROM dead_letters WHERE channel = $1`,
      [topic],
    );
    expect(rows).toEqual([{ value_kind: "json", value_json: { orderId: "o-9" }, value_bytes: wire, event_type: type, entity_keys: ["o-9"] }]);
  });

  it("answers 404-worthy NotFoundError for a type never seen, and refuses an empty one", async () => {
    await expect(getSchemaHistory(db, unique("Nothing"))).rejects.toThrow(/no events of type/);
    await expect(getSchemaHistory(db, " ")).rejects.toThrow(/say which event type/);
  });
});
