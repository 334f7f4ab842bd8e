/**
 * Compressed and undecodable record batches, end to end: the embedded broker over TCP, producers
 * we did not write (kcat / librdkafka) and kafkajs, the collector in this process, a real
 * PostgreSQL. Every codec is collected intact; a batch that cannot be decoded holds up only its own
 * partition, is retried, then stored as one flagged range, and health says so meanwhile.
 */
import { randomBytes } from "node:crypto";
import { CompressionTypes } from "kafkajs";
import { describe, expect, test } from "vitest";
import { kcat, requireKcat } from "../broker/kcat-support.ts";
import { produceBatch } from "../broker/raw-client.ts";
import { Compression, encodeRecordBatch } from "../broker/record-batch.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { getCollectorHealthReport, searchEvents } from "../db/index.ts";
import { registerCompressionCodecs } from "../kafka/index.ts";
import { createTopics, useCollectorTestBed } from "./test-support.ts";

requireKcat();
registerCompressionCodecs();
const bed = useCollectorTestBed();

function collect(prefix: string, env: Record<string, string> = {}) {
  return bed.collect(prefix, env, { healthIntervalMs: 200, topicRefreshMs: 500, decodeRetryMs: 200 });
}

interface StoredRow {
  partition: number;
  offset: string;
  key: string | null;
  value_text: string | null;
  value_json: unknown;
  headers: { key: string; value: string | null }[];
  flags: string[];
  undecodable: { toOffset: string; codec: string; error: string; attempts: number } | null;
}

async function rowsOf(topic: string): Promise<StoredRow[]> {
  const { rows } = await bed.db.pool.query<StoredRow>(
    `SELECT partition, position::text AS "offset", key, value_text, value_json, headers, flags, undecodable
     FROM events e WHERE channel = $1 ORDER BY partition, e.position`,
    [topic],
  );
  return rows;
}

const CODECS = ["gzip", "snappy", "lz4", "zstd"] as const;
const KAFKAJS_CODEC = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;

describe("compressed batches", () => {
  test("every codec, produced by kcat and by kafkajs, is collected with key, value and headers intact", async () => {
    const prefix = uniqueName("codecs");
    const topics = CODECS.flatMap((codec) => [`${prefix}-kcat-${codec}`, `${prefix}-kafkajs-${codec}`]);
    await createTopics(bed.kafka, topics, 1);
    const { collector } = collect(prefix);

    // A value long and repetitive enough that each codec really compresses it.
    const body = (codec: string, n: number) => JSON.stringify({ orderId: `ord-${codec}-${n}`, note: `${codec} `.repeat(200) });
    const producer = bed.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (const codec of CODECS) {
        const lines = [0, 1, 2].map((n) => `ord-${codec}-${n}:${body(codec, n)}`);
        await kcat(
          ["-b", bed.broker.address, "-P", "-t", `${prefix}-kcat-${codec}`, "-p", "0", "-K", ":", "-z", codec, "-H", `codec=${codec}`, "-H", "source=kcat"],
          lines.join("\n") + "\n",
        );
        await producer.send({
          topic: `${prefix}-kafkajs-${codec}`,
          compression: KAFKAJS_CODEC[codec],
          messages: [0, 1, 2].map((n) => ({
            key: `ord-${codec}-${n}`,
            value: body(codec, n),
            headers: { codec, source: "kafkajs" },
          })),
        });
      }
    } finally {
      await producer.disconnect();
    }

    // The broker keeps batches as sent: each topic's batch carries its codec id.
    for (const codec of CODECS) {
      for (const client of ["kcat", "kafkajs"]) {
        const topic = `${prefix}-${client}-${codec}`;
        const rows = await waitUntil(`3 rows of ${topic}`, async () => {
          const found = await rowsOf(topic);
          return found.length === 3 ? found : false;
        }, { timeoutMs: 30_000, describe: () => collector.stats() });
        expect(rows.map((row) => row.key)).toEqual([0, 1, 2].map((n) => `ord-${codec}-${n}`));
        expect(rows.map((row) => row.value_json)).toEqual([0, 1, 2].map((n) => JSON.parse(body(codec, n))));
        for (const row of rows) {
          expect(row.flags).toEqual([]);
          expect(row.headers.map((h) => [h.key, h.value])).toEqual([
            ["codec", codec],
            ["source", client],
          ]);
        }
      }
    }
    expect(collector.stats().sessions).toBe(1);
    expect(bed.logs.text()).not.toMatch(/crashed/);
  });
});

describe("a batch that cannot be decoded", () => {
  test("is retried, then stored as one flagged range, while every other topic keeps flowing; health names it", async () => {
    const prefix = uniqueName("corrupt");
    const broken = `${prefix}-broken`;
    const healthy = `${prefix}-healthy`;
    await createTopics(bed.kafka, [broken, healthy], 1);
    const producer = bed.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();

    // broken: two good records, then a zstd batch of three records whose compressed data is
    // garbage (its CRC is right: the broker accepts it), then two more good records.
    await producer.send({ topic: broken, messages: [{ key: "a", value: "before-0" }, { key: "b", value: "before-1" }] });
    const garbage = randomBytes(64);
    const badOffset = await produceBatch(
      bed.broker.address,
      broken,
      0,
      encodeRecordBatch({
        baseTimestamp: Date.now(),
        compression: Compression.zstd,
        records: [0, 1, 2].map(() => ({ key: null, value: null })),
        recordsSection: garbage,
      }),
    );
    expect(badOffset).toBe(2);
    await producer.send({ topic: broken, messages: [{ key: "c", value: "after-5" }, { key: "d", value: "after-6" }] });

    const { collector, config } = collect(prefix, { EVENTSCOPE_DECODE_ATTEMPTS: "4" });
    const health = () => getCollectorHealthReport(bed.db, { pollMs: config.pollMs, collectorGroup: config.collectorGroup });

    // While the broken partition is retried, health lists it as retrying, with the error.
    const retrying = await waitUntil("health to list the broken partition as retrying", async () => {
      const report = await health();
      return report.stalled.find((stall) => stall.topic === broken && stall.state === "retrying") ?? false;
    }, { timeoutMs: 30_000 });
    expect(retrying).toMatchObject({ partition: 0, fromOffset: "2", toOffset: "4", codec: "zstd" });
    expect(retrying.error).toMatch(/\S/);
    // What came before the bad batch is already stored.
    expect((await rowsOf(broken)).map((row) => row.value_text)).toEqual(["before-0", "before-1"]);

    // Meanwhile another topic keeps being collected within seconds of each send.
    for (let i = 0; i < 3; i++) {
      await producer.send({ topic: healthy, messages: [{ key: `h-${i}`, value: `healthy-${i}` }] });
      await waitUntil(`healthy-${i} to be stored`, async () => (await rowsOf(healthy)).some((row) => row.value_text === `healthy-${i}`), {
        timeoutMs: 10_000,
      });
    }

    // After the configured attempts: one row for offsets 2..4, flagged, with the error and the raw
    // bytes; the records after it are collected too.
    const rows = await waitUntil("the broken topic to be collected past the bad batch", async () => {
      const found = await rowsOf(broken);
      return found.some((row) => row.value_text === "after-6") ? found : false;
    }, { timeoutMs: 60_000, describe: () => collector.stats() });
    expect(rows.map((row) => row.offset)).toEqual(["0", "1", "2", "5", "6"]);
    const range = rows.find((row) => row.offset === "2")!;
    expect(range.flags).toContain("batch-undecodable");
    expect(range.undecodable).toMatchObject({ toOffset: "4", codec: "zstd", attempts: 4 });
    expect(range.undecodable!.error).toBe(retrying.error);
    const { rows: raw } = await bed.db.pool.query<{ value_bytes: Buffer }>(
      `SELECT value_bytes FROM events WHERE channel = $1 AND position = 2`,
      [broken],
    );
    expect(raw[0]!.value_bytes.equals(garbage)).toBe(true);
    // Searchable: the event search's flag filter finds the range.
    const found = await searchEvents(bed.db, { flag: "batch-undecodable", topic: broken });
    expect(found.events.map((event) => [event.offset, event.flags])).toEqual([["2", ["batch-undecodable"]]]);

    // Health now lists the range as stored (skipped), and nothing as retrying.
    const report = await waitUntil("health to list the range as stored", async () => {
      const current = await health();
      return current.stalled.some((stall) => stall.topic === broken && stall.state === "stored") &&
        !current.stalled.some((stall) => stall.topic === broken && stall.state === "retrying")
        ? current
        : false;
    });
    expect(report.stalled.find((stall) => stall.topic === broken)).toMatchObject({ fromOffset: "2", toOffset: "4", state: "stored" });

    // The crash loop cannot come back: one consumer all along, never crashed.
    expect(collector.stats().sessions).toBe(1);
    expect(bed.logs.text()).not.toMatch(/crashed/);
    await producer.disconnect();
  });

  test("a codec id Kafka does not define is an undecodable batch too, not records read from compressed bytes", async () => {
    const prefix = uniqueName("codec7");
    const topic = `${prefix}-events`;
    await createTopics(bed.kafka, [topic], 1);
    const plain = encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: Buffer.from("k"), value: Buffer.from("v") }] });
    // The same records, but the attributes claim codec 7.
    const strange = encodeRecordBatch({
      baseTimestamp: Date.now(),
      compression: 7,
      records: [{ key: Buffer.from("k"), value: Buffer.from("v") }],
      recordsSection: plain.subarray(61),
    });
    await produceBatch(bed.broker.address, topic, 0, strange);
    collect(prefix, { EVENTSCOPE_DECODE_ATTEMPTS: "1" });
    const rows = await waitUntil("the range row", async () => {
      const found = await rowsOf(topic);
      return found.length > 0 ? found : false;
    }, { timeoutMs: 30_000 });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.flags).toContain("batch-undecodable");
    expect(rows[0]!.undecodable).toMatchObject({ toOffset: "0", codec: "unknown codec 7", attempts: 1 });
    expect(rows[0]!.undecodable!.error).toMatch(/codec 7 is not defined/);
  });
});
