import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase } from "./client.ts";
import { DatabaseError } from "./errors.ts";
import { ingestEvents, type EventRow, type FailureInfo, type IngestMethod } from "./ingest.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

let topicCounter = 0;
function uniqueTopic(name: string): string {
  return `${name}-${process.pid}-${++topicCounter}`;
}

function jsonRow(topic: string, partition: number, offset: number, json: unknown = { orderId: `ord-${offset}` }): EventRow {
  const raw = Buffer.from(JSON.stringify(json));
  return {
    sourceId: 1,
    topic,
    partition,
    offset: String(offset),
    timestamp: new Date(1_700_000_000_000 + offset),
    key: { kind: "text", text: `ord-${offset}` },
    value: { kind: "json", json, raw },
    sizeBytes: raw.length + 8,
    headers: [{ key: "ce_type", value: Buffer.from("OrderPlaced"), text: "OrderPlaced" }],
    eventType: "OrderPlaced",
    producer: "order-service",
    entityKeys: [`ord-${offset}`],
    trace: { traceId: null, parentSpanId: null },
    deadLetter: null,
    flags: [],
  };
}

async function storedOffsets(topic: string): Promise<{ partition: number; offset: string }[]> {
  const { rows } = await db.pool.query<{ partition: number; offset_text: string }>(
    `SELECT partition, position::text AS offset_text FROM events WHERE channel = $1 ORDER BY partition, position`,
    [topic],
  );
  return rows.map((row) => ({ partition: row.partition, offset: row.offset_text }));
}

function expectedOffsets(partitions: number, perPartition: number) {
  const expected: { partition: number; offset: string }[] = [];
  for (let p = 0; p < partitions; p++) {
    for (let o = 0; o < perPartition; o++) expected.push({ partition: p, offset: String(o) });
  }
  return expected;
}

describe.each<IngestMethod>(["copy", "staged-copy", "insert"])("ingestEvents (%s)", (method) => {
  it("stores one row per (topic, partition, offset) when the same batch arrives twice", async () => {
    const topic = uniqueTopic("orders");
    const batch = Array.from({ length: 300 }, (_, i) => jsonRow(topic, i % 3, Math.floor(i / 3)));

    expect(await ingestEvents(db, batch, { method })).toEqual({ inserted: 300, deadLetters: 0 });
    expect(await ingestEvents(db, batch, { method })).toEqual({ inserted: 0, deadLetters: 0 });
    // A batch that overlaps the stored rows stores only the new ones.
    const overlap = [...batch.slice(250), jsonRow(topic, 0, 100), jsonRow(topic, 1, 100), jsonRow(topic, 2, 100)];
    expect(await ingestEvents(db, overlap, { method })).toEqual({ inserted: 3, deadLetters: 0 });

    expect(await storedOffsets(topic)).toEqual(expectedOffsets(3, 101));
    const producers = await db.prisma.producer.findMany({ where: { topic } });
    expect(producers).toEqual([
      expect.objectContaining({ eventType: "OrderPlaced", producer: "order-service", count: 303n }),
    ]);
  });

  it("stores each row once when two inserts of overlapping batches race on separate connections", async () => {
    const topic = uniqueTopic("race");
    const rows = Array.from({ length: 2_000 }, (_, i) => jsonRow(topic, i % 4, Math.floor(i / 4)));
    // Two writers (as two collectors after a rebalance would), in opposite orders, several rounds.
    const other = connectDatabase(db.url, { maxConnections: 2 });
    try {
      const results = await Promise.all([
        ingestEvents(db, rows.slice(0, 1_500), { method }),
        ingestEvents(other, [...rows.slice(500)].reverse(), { method }),
        ingestEvents(db, rows.slice(1_000), { method }),
        ingestEvents(other, rows.slice(0, 700), { method }),
      ]);
      expect(results.reduce((sum, r) => sum + r.inserted, 0)).toBe(2_000);
    } finally {
      await other.close();
    }
    expect(await storedOffsets(topic)).toEqual(expectedOffsets(4, 500));
    const [producer] = await db.prisma.producer.findMany({ where: { topic } });
    expect(producer?.count).toBe(2_000n);
  });

  it("round-trips keys, values and headers exactly: binary, repeated, null, escapes", async () => {
    const topic = uniqueTopic("bytes");
    const nonUtf8Key = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a, 0x5c]);
    const binaryValue = Buffer.from([0x00, 0x01, 0x02, 0x5c, 0x0a, 0x09, 0xc3, 0x28, 0xff]);
    const spring = Buffer.alloc(8);
    spring.writeBigInt64BE(42n);
    const text = 'tab\there, newline\nhere, CR\r, backslash \\N and \\x00, quote ", brace {a,b}';
    const json = { orderId: "ord-1", note: text, unicode: "żółć 🚀", big: 12345678901234567890, nested: { a: [1, null, true] } };
    const jsonRaw = Buffer.from(`{"orderId":"ord-1","note":${JSON.stringify(text)},"unicode":"żółć 🚀","big":12345678901234567890,"nested":{"a":[1,null,true]}}`);
    // A value cut at the size cap in the middle of "é".
    const truncatedRaw = Buffer.from("abcdé").subarray(0, 5);
    const rows: EventRow[] = [
      {
        ...jsonRow(topic, 0, 0),
        key: { kind: "bytes", bytes: nonUtf8Key },
        value: { kind: "bytes", raw: binaryValue, text: null, truncated: false },
        headers: [
          { key: "traceparent", value: Buffer.from("first"), text: "first" },
          { key: "kafka_dlt-original-offset", value: spring, text: null },
          { key: "traceparent", value: Buffer.from("second"), text: "second" },
          { key: "empty", value: Buffer.alloc(0), text: "" },
          { key: "nothing", value: null, text: null },
          { key: "with\ttab\\and\"quote", value: Buffer.from("a\nb\\c"), text: "a\nb\\c" },
        ],
        entityKeys: ['we"ird', "comma,brace}{", "back\\slash", "tab\there", "NULL"],
        flags: ["key-binary"],
      },
      { ...jsonRow(topic, 0, 1), value: { kind: "json", json, raw: jsonRaw } },
      { ...jsonRow(topic, 0, 2), value: { kind: "bytes", raw: Buffer.from(text), text, truncated: false } },
      { ...jsonRow(topic, 0, 3), key: null, value: { kind: "tombstone" }, flags: ["tombstone"] },
      { ...jsonRow(topic, 0, 4), value: { kind: "bytes", raw: Buffer.alloc(0), text: "", truncated: false } },
      {
        ...jsonRow(topic, 0, 5),
        value: { kind: "bytes", raw: truncatedRaw, text: "abcd", truncated: true },
        flags: ["value-truncated"],
      },
    ];
    expect(await ingestEvents(db, rows, { method })).toEqual({ inserted: rows.length, deadLetters: 0 });

    const stored = await db.prisma.event.findMany({ where: { channel: topic }, orderBy: { position: "asc" } });
    expect(stored).toHaveLength(rows.length);
    const [binary, jsonEvent, textEvent, tombstone, empty, truncated] = stored;

    expect(binary!.key).toBeNull();
    expect(Buffer.from(binary!.keyBytes!)).toEqual(nonUtf8Key);
    expect(binary!.valueKind).toBe("binary");
    expect(Buffer.from(binary!.valueBytes!)).toEqual(binaryValue);
    expect(binary!.headers).toEqual([
      { key: "traceparent", value: "first", encoding: "utf8" },
      { key: "kafka_dlt-original-offset", value: spring.toString("base64"), encoding: "base64" },
      { key: "traceparent", value: "second", encoding: "utf8" },
      { key: "empty", value: "", encoding: "utf8" },
      { key: "nothing", value: null, encoding: "utf8" },
      { key: "with\ttab\\and\"quote", value: "a\nb\\c", encoding: "utf8" },
    ]);
    expect(binary!.entityKeys).toEqual(['we"ird', "comma,brace}{", "back\\slash", "tab\there", "NULL"]);
    expect(binary!.flags).toEqual(["key-binary"]);

    expect(jsonEvent!.valueKind).toBe("json");
    expect(jsonEvent!.valueBytes).toBeNull();
    // jsonb keeps the number's digits exactly, which JavaScript's parse could not.
    const { rows: exact } = await db.pool.query(
      `SELECT value_json->>'big' AS big, value_json->>'note' AS note, value_json->>'unicode' AS unicode
       FROM events WHERE channel = $1 AND position = 1`,
      [topic],
    );
    expect(exact[0]).toEqual({ big: "12345678901234567890", note: text, unicode: "żółć 🚀" });

    expect(textEvent!.valueKind).toBe("text");
    expect(textEvent!.valueText).toBe(text);
    expect(tombstone!.valueKind).toBeNull();
    expect(tombstone!.key).toBeNull();
    expect(tombstone!.keyBytes).toBeNull();
    expect(empty!.valueKind).toBe("text");
    expect(empty!.valueText).toBe("");
    expect(truncated!.valueKind).toBe("binary");
    expect(Buffer.from(truncated!.valueBytes!)).toEqual(truncatedRaw);
    expect(truncated!.flags).toEqual(["value-truncated"]);
  });

  it("keeps a dead letter's exact value bytes and writes its dead_letters row once", async () => {
    const topic = uniqueTopic("orders.DLT");
    const raw = Buffer.from('{ "orderId" : "ord-7",  "b": 1, "a": 2 }');
    const failure: FailureInfo = {
      source: "headers",
      convention: "spring",
      originTopic: "orders",
      originPartition: 2,
      originOffset: "9007199254740993",
      originTimestamp: new Date(1_700_000_000_000),
      originConsumerGroup: "inventory-service",
      originTopicHint: "orders",
      errorClass: "java.lang.IllegalStateException",
      errorMessage: "stock\u0000 unknown",
      errorCause: null,
      stackTrace: "at line 1\nat line 2",
      attempts: 3,
    };
    const row: EventRow = {
      ...jsonRow(topic, 0, 0),
      value: { kind: "json", json: JSON.parse(raw.toString()), raw },
      headers: [
        { key: "x-replay-id", value: Buffer.from("6f1c2a9e-3c1b-4f8e-9a51-0c6d2f4f7b10"), text: "6f1c2a9e-3c1b-4f8e-9a51-0c6d2f4f7b10" },
      ],
      deadLetter: failure,
    };
    expect(await ingestEvents(db, [row, jsonRow(topic, 0, 1)], { method })).toEqual({ inserted: 2, deadLetters: 1 });
    expect(await ingestEvents(db, [row], { method })).toEqual({ inserted: 0, deadLetters: 0 });

    const event = await db.prisma.event.findUniqueOrThrow({
      where: { sourceId_channel_partition_position: { sourceId: 1, channel: topic, partition: 0, position: 0n } },
    });
    expect(Buffer.from(event.valueBytes!)).toEqual(raw);
    expect(event.valueJson).toEqual({ orderId: "ord-7", b: 1, a: 2 });
    const deadLetter = await db.prisma.deadLetter.findUniqueOrThrow({
      where: { sourceId_channel_partition_position: { sourceId: 1, channel: topic, partition: 0, position: 0n } },
    });
    // The dead letter keeps its own copy of the record: key, exact value bytes, headers.
    expect(Buffer.from(deadLetter.valueBytes!)).toEqual(raw);
    expect(deadLetter).toMatchObject({
      key: event.key,
      valueKind: "json",
      valueJson: { orderId: "ord-7", b: 1, a: 2 },
      headers: event.headers,
      eventType: event.eventType,
      entityKeys: event.entityKeys,
    });
    expect(deadLetter).toMatchObject({
      recognizedBy: "headers",
      convention: "spring",
      originTopic: "orders",
      originPartition: 2,
      originOffset: 9007199254740993n,
      originGroup: "inventory-service",
      errorClass: "java.lang.IllegalStateException",
      errorMessage: "stock\uFFFD unknown",
      errorStack: "at line 1\nat line 2",
      attempts: 3,
      status: "new",
      replayId: "6f1c2a9e-3c1b-4f8e-9a51-0c6d2f4f7b10",
    });
    expect(await db.prisma.deadLetter.count({ where: { channel: topic } })).toBe(1);
  });

  it("stores what PostgreSQL refuses as extracted, degraded and flagged, with the rest of the batch", async () => {
    const topic = uniqueTopic("hostile");
    // JavaScript parses 1e999999 (as Infinity); PostgreSQL's numeric overflows on it.
    const overflowing = Buffer.from('{"orderId":"ord-x","n":1e999999}');
    const rows = Array.from({ length: 40 }, (_, i) => jsonRow(topic, 0, i));
    // Incompressible, far over the 2.7 kB a btree entry may hold.
    const longKey = crypto.randomBytes(20_000).toString("hex");
    rows[17] = { ...rows[17]!, value: { kind: "json", json: JSON.parse(overflowing.toString()), raw: overflowing } };
    rows[30] = {
      ...rows[30]!,
      key: { kind: "text", text: longKey },
      eventType: crypto.randomBytes(5_000).toString("hex"),
      entityKeys: [crypto.randomBytes(5_000).toString("hex"), "ord-30", "nul\u0000inside"],
    };

    expect(await ingestEvents(db, rows, { method })).toEqual({ inserted: 40, deadLetters: 0 });
    expect(await storedOffsets(topic)).toEqual(expectedOffsets(1, 40));

    const degraded = await db.prisma.event.findUniqueOrThrow({
      where: { sourceId_channel_partition_position: { sourceId: 1, channel: topic, partition: 0, position: 17n } },
    });
    expect(degraded.valueKind).toBe("binary");
    expect(Buffer.from(degraded.valueBytes!)).toEqual(overflowing);
    expect(degraded.flags).toContain("store-degraded");

    const long = await db.prisma.event.findUniqueOrThrow({
      where: { sourceId_channel_partition_position: { sourceId: 1, channel: topic, partition: 0, position: 30n } },
    });
    expect(long.key).toBe(longKey);
    expect(long.eventType).toHaveLength(256);
    expect(long.entityKeys).toEqual(["ord-30", "nul\uFFFDinside"]);
    expect(long.flags).toContain("entity-key-too-long");
    // The long key is still found by an indexed equality search.
    const { rows: found } = await db.pool.query(`SELECT position::int AS o FROM events WHERE channel = $1 AND key = $2`, [
      topic,
      longKey,
    ]);
    expect(found).toEqual([{ o: 30 }]);
  });
});

describe("ingestEvents errors", () => {
  it("says a retry can help when the server cannot be reached", async () => {
    const unreachable = connectDatabase("postgresql://postgres:x@127.0.0.1:9/nowhere");
    try {
      const error = await ingestEvents(unreachable, [jsonRow("t", 0, 0)]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseError);
      expect((error as DatabaseError).retriable).toBe(true);
    } finally {
      await unreachable.close();
    }
  });

  it("stores rows without a storable timestamp at ingestion time, keeping their flags", async () => {
    const topic = uniqueTopic("no-time");
    const before = Date.now();
    await ingestEvents(db, [
      { ...jsonRow(topic, 0, 0), timestamp: null, flags: ["timestamp-invalid"] },
      // An int64 timestamp far beyond year 9999: JavaScript has a Date for it, PostgreSQL does not.
      { ...jsonRow(topic, 0, 1), timestamp: new Date(8_000_000_000_000_000) },
      { ...jsonRow(topic, 0, 2), timestamp: new Date(-1) },
    ]);
    const events = await db.prisma.event.findMany({ where: { channel: topic }, orderBy: { position: "asc" } });
    expect(events[0]!.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(events[0]!.flags).toEqual(["timestamp-invalid"]);
    expect(events[1]!.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(events[1]!.flags).toEqual(["timestamp-invalid"]);
    expect(events[2]!.timestamp.getTime()).toBe(-1);
  });
});
