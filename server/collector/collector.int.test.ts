/**
 * The collector in this process against the embedded broker over TCP and a real PostgreSQL: what
 * it stores for known events, for bad input, and for a topic created while it runs.
 */
import { describe, expect, test } from "vitest";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { countEvents, createTopics, expectExactlyOnce, partitionOffsets, produceSequence, useCollectorTestBed } from "./test-support.ts";

const bed = useCollectorTestBed();

function collect(prefix: string, env: Record<string, string> = {}, options: { topicRefreshMs?: number; pruneIntervalMs?: number } = {}) {
  return bed.collect(prefix, env, options).collector;
}

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("collecting known events", () => {
  test("stores exactly the expected rows, fields, dead letter and health, and commits to the end", async () => {
    const prefix = uniqueName("known");
    const orders = `${prefix}-orders`;
    const dlq = `${prefix}-orders.dlq`;
    await createTopics(bed.kafka, [orders], 3);
    await createTopics(bed.kafka, [dlq], 1);

    const producer = bed.kafka.producer();
    await producer.connect();
    await producer.send({
      topic: orders,
      messages: [
        {
          partition: 0,
          key: "ord-1",
          value: JSON.stringify({ type: "OrderPlaced", orderId: "ord-1", amount: 12.5 }),
          headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`, producer: "order-service" },
        },
        {
          // CloudEvents binary mode: attributes in ce_ headers, the data is the value.
          partition: 1,
          key: "pay-7",
          value: JSON.stringify({ orderId: "ord-1", paymentId: "pay-7" }),
          headers: {
            ce_specversion: "1.0",
            ce_id: "evt-2",
            ce_source: "payment-service",
            ce_type: "PaymentCaptured",
            "content-type": "application/json",
            traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`,
          },
        },
        // The entity field is found at any depth of the value.
        { partition: 2, key: "k-3", value: JSON.stringify({ order: { orderId: "ord-2" }, eventType: "OrderShipped" }) },
        // No entity field: the key is the entity.
        { partition: 2, key: "cust-9", value: "plain text, not JSON" },
      ],
    });
    await producer.send({
      topic: dlq,
      messages: [
        {
          key: "ord-1",
          value: JSON.stringify({ type: "OrderPlaced", orderId: "ord-1", amount: 12.5 }),
          headers: {
            "x-original-topic": orders,
            "x-original-partition": "0",
            "x-original-offset": "0",
            "x-error": "payment declined",
            "x-error-class": "PaymentError",
            "x-attempts": "3",
          },
        },
      ],
    });
    await producer.disconnect();

    const collector = collect(prefix);
    await waitUntil("5 events stored", async () => (await countEvents(bed.db, orders)) + (await countEvents(bed.db, dlq)) === 5, {
      timeoutMs: 30_000,
    });

    const { rows } = await bed.db.pool.query(
      `SELECT channel AS topic, partition, position::int AS "offset", key, value_kind, value_json, value_text, event_type, producer,
              entity_keys, trace_id, parent_span_id, flags, headers
         FROM events WHERE channel = ANY($1) ORDER BY channel, partition, position`,
      [[orders, dlq]],
    );
    expect(rows).toEqual([
      {
        topic: orders,
        partition: 0,
        offset: 0,
        key: "ord-1",
        value_kind: "json",
        value_json: { type: "OrderPlaced", orderId: "ord-1", amount: 12.5 },
        value_text: null,
        event_type: "OrderPlaced",
        producer: "order-service",
        entity_keys: ["ord-1"],
        trace_id: TRACE_ID,
        parent_span_id: "00f067aa0ba902b7",
        flags: [],
        headers: [
          { key: "traceparent", value: `00-${TRACE_ID}-00f067aa0ba902b7-01`, encoding: "utf8" },
          { key: "producer", value: "order-service", encoding: "utf8" },
        ],
      },
      expect.objectContaining({
        topic: orders,
        partition: 1,
        offset: 0,
        key: "pay-7",
        value_json: { orderId: "ord-1", paymentId: "pay-7" },
        event_type: "PaymentCaptured",
        producer: "payment-service",
        entity_keys: ["ord-1"],
        trace_id: TRACE_ID,
        parent_span_id: "b7ad6b7169203331",
        flags: [],
      }),
      expect.objectContaining({
        topic: orders,
        partition: 2,
        offset: 0,
        event_type: "OrderShipped",
        producer: null,
        entity_keys: ["ord-2"],
        trace_id: null,
        flags: [],
      }),
      expect.objectContaining({
        topic: orders,
        partition: 2,
        offset: 1,
        key: "cust-9",
        value_kind: "text",
        value_text: "plain text, not JSON",
        entity_keys: ["cust-9"],
        flags: [],
      }),
      expect.objectContaining({ topic: dlq, partition: 0, offset: 0, event_type: "OrderPlaced", entity_keys: ["ord-1"] }),
    ]);

    const deadLetters = await bed.db.prisma.deadLetter.findMany({ where: { channel: dlq } });
    expect(deadLetters).toEqual([
      expect.objectContaining({
        position: 0n,
        recognizedBy: "headers",
        convention: "eventscope",
        originTopic: orders,
        originPartition: 0,
        originOffset: 0n,
        errorClass: "PaymentError",
        errorMessage: "payment declined",
        attempts: 3,
        status: "new",
      }),
    ]);

    // Offsets are committed once stored: the collector's own group reaches the end offsets.
    const admin = bed.kafka.admin();
    await admin.connect();
    try {
      await waitUntil("the collector group committed every stored offset", async () => {
        const committed = await admin.fetchOffsets({ groupId: `${prefix}-collector`, topics: [orders, dlq] });
        const flat = committed.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}/${p.partition}=${p.offset}`));
        return flat.sort().join(" ") === [`${dlq}/0=1`, `${orders}/0=1`, `${orders}/1=1`, `${orders}/2=2`].join(" ");
      });
    } finally {
      await admin.disconnect();
    }

    // Its health row says when it last polled and stored, and that it is not behind.
    const health = await waitUntil("a health row with no lag", async () => {
      const row = await bed.db.prisma.collectorInstance.findUnique({ where: { instanceId: collector.instanceId } });
      return row && row.ownLag === 0n && row.lastStoredAt !== null ? row : undefined;
    });
    expect(health).toMatchObject({ pid: process.pid, lastError: null });
    expect(health.lastPollAt!.getTime()).toBeGreaterThan(health.startedAt.getTime() - 1);
    await collector.stop();
  });
});

describe("bad input", () => {
  test("every malformed message is stored, flagged where malformed, and none is dropped", async () => {
    const prefix = uniqueName("bad");
    const topic = `${prefix}-mixed`;
    await createTopics(bed.kafka, [topic], 1);
    const valid = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
    const otherValid = `00-${TRACE_ID}-1111111111111111-01`;
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x01, 0x02]);
    const big = Buffer.alloc(1_000_000, "a"); // ~1 MB: under Kafka's default max.message.bytes
    const medium = Buffer.alloc(500_000, "b");
    const messages = [
      { key: Buffer.from([0xff, 0xfe, 0x41]), value: JSON.stringify({ orderId: "ord-k" }) },
      { key: "bin", value: binary },
      { key: "json", value: '{"orderId": "ord-1",', headers: { "content-type": "application/json" } },
      { key: "tp-bad", value: "x", headers: { traceparent: "00-not-a-trace" } },
      // A repeated header arrives as an array; the last valid value wins.
      { key: "tp-twice", value: "x", headers: { traceparent: [valid, otherValid] } },
      { key: "tp-valid-then-bad", value: "x", headers: { traceparent: [otherValid, "ff-garbage"] } },
      { key: "tombstone", value: null },
      { key: "big", value: big },
      { key: "medium", value: medium },
      { key: "hdr", value: "x", headers: { "x-bin": Buffer.from([0x00, 0xff, 0x10]) } },
    ];
    const producer = bed.kafka.producer();
    await producer.connect();
    // One send per message: the 1 MB one must be a batch of its own to fit max.message.bytes.
    for (const message of messages) await producer.send({ topic, messages: [message] });
    await producer.disconnect();

    // A cap between the two large values: the 1 MB one is cut, the 500 kB one is not.
    collect(prefix, { EVENTSCOPE_MAX_VALUE_BYTES: "600000" });
    await waitUntil(`${messages.length} events stored`, async () => (await countEvents(bed.db, topic)) === messages.length, {
      timeoutMs: 30_000,
    });

    const { rows } = await bed.db.pool.query(
      `SELECT position::int AS "offset", key, key_bytes, value_kind, value_json, value_text, value_bytes, size, trace_id,
              parent_span_id, flags, headers
         FROM events WHERE channel = $1 ORDER BY position`,
      [topic],
    );
    expect(rows.map((row) => row.offset)).toEqual(messages.map((_, i) => i));
    const [keyBinary, valueBinary, badJson, tpBad, tpTwice, tpValidThenBad, tombstone, bigRow, mediumRow, headerBinary] = rows;
    expect(keyBinary).toMatchObject({ key: null, key_bytes: Buffer.from([0xff, 0xfe, 0x41]), flags: ["key-binary"] });
    expect(valueBinary).toMatchObject({ value_kind: "binary", value_bytes: binary, flags: [] });
    // Not JSON, but UTF-8: kept as text, flagged.
    expect(badJson).toMatchObject({ value_kind: "text", value_text: '{"orderId": "ord-1",', flags: ["value-not-json"] });
    expect(tpBad).toMatchObject({
      trace_id: null,
      flags: ["traceparent-invalid"],
      headers: [{ key: "traceparent", value: "00-not-a-trace", encoding: "utf8" }],
    });
    expect(tpTwice).toMatchObject({
      trace_id: TRACE_ID,
      parent_span_id: "1111111111111111",
      flags: ["traceparent-repeated"],
      headers: [
        { key: "traceparent", value: valid, encoding: "utf8" },
        { key: "traceparent", value: otherValid, encoding: "utf8" },
      ],
    });
    expect(tpValidThenBad).toMatchObject({ parent_span_id: "1111111111111111" });
    expect(tpValidThenBad.flags).toEqual(expect.arrayContaining(["traceparent-invalid", "traceparent-repeated"]));
    expect(tombstone).toMatchObject({ value_kind: null, value_json: null, value_bytes: null, flags: ["tombstone"] });
    expect(bigRow).toMatchObject({ value_kind: "binary", flags: ["value-truncated"] });
    expect(bigRow.value_bytes).toHaveLength(600_000);
    expect(bigRow.size).toBeGreaterThanOrEqual(1_000_000);
    expect(mediumRow.flags).toEqual([]);
    expect(Buffer.concat([mediumRow.value_bytes ?? Buffer.alloc(0), Buffer.from(mediumRow.value_text ?? "")])).toEqual(medium);
    expect(headerBinary).toMatchObject({
      flags: ["header-binary"],
      headers: [{ key: "x-bin", value: Buffer.from([0x00, 0xff, 0x10]).toString("base64"), encoding: "base64" }],
    });
  });
});

describe("topic discovery", () => {
  test("a topic created while the collector runs is collected within 10 s, and the running topic loses nothing", async () => {
    const prefix = uniqueName("discover");
    const first = `${prefix}-first`;
    const later = `${prefix}-later`;
    await createTopics(bed.kafka, [first], 2);
    const producedFirst = new Map<number, unknown[]>();
    await produceSequence(bed.kafka, first, { count: 500, partitions: 2, batch: 100, into: producedFirst });

    collect(prefix); // the default topic refresh (3 s): what users get
    await waitUntil("the first topic stored", async () => (await countEvents(bed.db, first)) === 500, { timeoutMs: 30_000 });

    // Keep producing to the first topic across the consumer's replacement.
    let streaming = true;
    let seq = 500;
    const stream = (async () => {
      while (streaming) {
        await produceSequence(bed.kafka, first, { count: 20, partitions: 2, batch: 20, startSeq: seq, into: producedFirst });
        seq += 20;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    const createdAt = Date.now();
    await createTopics(bed.kafka, [later], 3);
    const producedLater = await produceSequence(bed.kafka, later, { count: 60, partitions: 3, batch: 60 });
    // The deadline counts from the topic's creation, producing included.
    await waitUntil("the new topic's events stored", async () => (await countEvents(bed.db, later)) === 60, {
      timeoutMs: Math.max(1, 10_000 - (Date.now() - createdAt)),
      intervalMs: 100,
    });
    expect(bed.logs.text()).toContain(`topics changed (+${later})`);

    streaming = false;
    await stream;
    const total = seq;
    await waitUntil(`all ${total} events of the first topic stored`, async () => (await countEvents(bed.db, first)) === total, {
      timeoutMs: 30_000,
    });
    await expectExactlyOnce(bed.db, bed.kafka, first, producedFirst);
    await expectExactlyOnce(bed.db, bed.kafka, later, producedLater);
    expect([...(await partitionOffsets(bed.kafka, later)).values()].map((o) => Number(o.high))).toEqual([20, 20, 20]);
  });
});

describe("retention", () => {
  test("events older than EVENTSCOPE_RETENTION are deleted after being collected; newer ones stay", async () => {
    const prefix = uniqueName("retention");
    const topic = `${prefix}-orders`;
    await createTopics(bed.kafka, [topic], 1);
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    const producer = bed.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        ...Array.from({ length: 5 }, (_, i) => ({ key: `old-${i}`, value: "old", timestamp: String(twoHoursAgo + i) })),
        ...Array.from({ length: 3 }, (_, i) => ({ key: `new-${i}`, value: "new" })),
      ],
    });
    await producer.disconnect();

    const collector = collect(prefix, { EVENTSCOPE_RETENTION: "1h" }, { pruneIntervalMs: 300 });
    await waitUntil("every event collected, and the old ones pruned", async () => {
      const { rows } = await bed.db.pool.query<{ key: string }>(`SELECT key FROM events WHERE channel = $1 ORDER BY key`, [topic]);
      // The log line follows the prune's commit: wait for both, or the assertion races the log.
      const logged = /retention: deleted [1-5] events/.test(bed.logs.text());
      return logged && collector.stats().storedRows >= 8 && rows.map((r) => r.key).join(",") === "new-0,new-1,new-2";
    });
    expect(bed.logs.text()).toMatch(/retention: deleted [1-5] events/);
  });
});
