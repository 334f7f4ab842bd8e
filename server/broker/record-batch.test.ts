import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { crc32c } from "./crc32c.ts";
import { ErrorCode } from "./protocol/errors.ts";
import {
  BATCH_HEADER_SIZE,
  batchCrcMatches,
  CorruptBatchError,
  Compression,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  stampBatch,
  validateBatches,
} from "./record-batch.ts";

// kafkajs's own record batch encoder: batches exactly as a kafkajs producer sends them.
const require = createRequire(import.meta.url);
type KafkajsEncoder = { buffer: Buffer };
interface KafkajsRecord {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
}
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js") as {
  RecordBatch: (opts: {
    compression?: number;
    records: KafkajsEncoder[];
    firstTimestamp?: number;
    maxTimestamp?: number;
    lastOffsetDelta?: number;
    producerId?: unknown;
    producerEpoch?: number;
    firstSequence?: number;
  }) => Promise<KafkajsEncoder>;
};
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js") as (r: KafkajsRecord) => KafkajsEncoder;
const Long = require("kafkajs/src/utils/long.js") as { fromValue: (v: number) => unknown };

const GZIP = 1;
const T0 = 1_700_000_000_000;

async function kafkajsBatch(records: KafkajsRecord[], opts: { compression?: number; producerId?: number; firstSequence?: number } = {}): Promise<Buffer> {
  const encoded = records.map((r, i) => Record({ offsetDelta: i, timestampDelta: r.timestampDelta ?? i * 10, ...r }));
  const batch = await RecordBatch({
    compression: opts.compression ?? 0,
    records: encoded,
    firstTimestamp: T0,
    maxTimestamp: T0 + (records.length - 1) * 10,
    lastOffsetDelta: records.length - 1,
    ...(opts.producerId !== undefined ? { producerId: Long.fromValue(opts.producerId), producerEpoch: 3, firstSequence: opts.firstSequence ?? 0 } : {}),
  });
  return Buffer.from(batch.buffer);
}

const sample: KafkajsRecord[] = [
  { key: "order-1", value: '{"type":"OrderPlaced"}', headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" } },
  // A repeated header key: kafkajs writes one header per value, in order.
  { key: "order-1", value: "paid", headers: { hop: ["svc-a", "svc-b"], "content-type": "text/plain" } },
  { key: "order-2", value: null },
  { key: null, value: Buffer.from([0, 1, 2, 255]) },
  { key: "", value: "" },
];

/** Re-seals a batch after a test has changed bytes the CRC covers. */
function reseal(batch: Buffer): void {
  batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17);
}

function expectCorrupt(fn: () => unknown, errorCode: number, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CorruptBatchError);
  expect((thrown as CorruptBatchError).errorCode).toBe(errorCode);
  expect((thrown as CorruptBatchError).message).toMatch(message);
}

describe("decodeRecords on batches kafkajs encoded", () => {
  const expected = (base: number) => [
    { offset: base, timestamp: T0, key: "order-1", value: '{"type":"OrderPlaced"}', headers: [["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]] },
    { offset: base + 1, timestamp: T0 + 10, key: "order-1", value: "paid", headers: [["hop", "svc-a"], ["hop", "svc-b"], ["content-type", "text/plain"]] },
    { offset: base + 2, timestamp: T0 + 20, key: "order-2", value: null, headers: [] },
    { offset: base + 3, timestamp: T0 + 30, key: null, value: "\u0000\u0001\u0002\ufffd", headers: [] },
    { offset: base + 4, timestamp: T0 + 40, key: "", value: "", headers: [] },
  ];
  const readable = (batch: Buffer) =>
    decodeRecords(batch).map((r) => ({
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key === null ? null : r.key.toString("utf8"),
      value: r.value === null ? null : r.value.toString("utf8"),
      headers: r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString("utf8")]),
    }));

  it("reads keys, values, null values, binary values, timestamps and headers (repeated keys in order)", async () => {
    const batch = await kafkajsBatch(sample);
    expect(readable(batch)).toEqual(expected(0));
    const binary = decodeRecords(batch)[3]!.value!;
    expect([...binary]).toEqual([0, 1, 2, 255]);
  });

  it("reads a gzip-compressed batch the same as an uncompressed one", async () => {
    const plain = await kafkajsBatch(sample);
    const gzipped = await kafkajsBatch(sample, { compression: GZIP });
    expect(readBatchHeader(gzipped).attributes & 7).toBe(GZIP);
    // gzip's header starts with 1f 8b: the records really are compressed.
    expect(gzipped.subarray(BATCH_HEADER_SIZE, BATCH_HEADER_SIZE + 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gzipped.length).not.toBe(plain.length);
    expect(readable(gzipped)).toEqual(expected(0));
  });

  it("gives offsets from the base offset the broker stamps, and stamping keeps the CRC valid", async () => {
    const batch = await kafkajsBatch(sample, { compression: GZIP });
    stampBatch(batch, 4_294_967_296 + 17, 5); // above 2^32: both halves of the int64
    const h = readBatchHeader(batch);
    expect(h.baseOffset).toBe(4_294_967_296 + 17);
    expect(batch.readInt32BE(12)).toBe(5);
    expect(batchCrcMatches(batch)).toBe(true);
    expect(validateBatches(batch)).toHaveLength(1);
    expect(readable(batch)).toEqual(expected(4_294_967_296 + 17));
  });

  it("refuses a codec Node cannot decode with UNSUPPORTED_COMPRESSION_TYPE", async () => {
    const batch = await kafkajsBatch(sample);
    batch.writeInt16BE(2, 21); // snappy
    reseal(batch);
    expectCorrupt(() => decodeRecords(batch), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, /codec 2/);
  });

  it("refuses a record whose length does not match its fields", async () => {
    const batch = await kafkajsBatch([{ key: "k", value: "v" }]);
    // The first record's length varint (zig-zag): one more than it really is.
    batch[BATCH_HEADER_SIZE] = batch[BATCH_HEADER_SIZE]! + 2;
    expectCorrupt(() => decodeRecords(batch), ErrorCode.CORRUPT_MESSAGE, /record length does not match/);
  });
});

describe("validateBatches", () => {
  it("splits concatenated batches and reads their headers", async () => {
    const a = await kafkajsBatch(sample);
    const b = await kafkajsBatch([{ key: "x", value: "y" }], { producerId: 4242, firstSequence: 7 });
    const out = validateBatches(Buffer.concat([a, b]));
    expect(out).toHaveLength(2);
    expect(out[0]!.bytes).toEqual(a);
    expect(out[1]!.bytes).toEqual(b);
    expect(out[0]!.header).toMatchObject({
      size: a.length,
      magic: 2,
      lastOffsetDelta: 4,
      recordCount: 5,
      baseTimestamp: T0,
      maxTimestamp: T0 + 40,
      producerId: -1,
    });
    expect(out[1]!.header).toMatchObject({ size: b.length, recordCount: 1, producerId: 4242, producerEpoch: 3, baseSequence: 7 });
  });

  it("rejects a batch whose CRC does not match with CORRUPT_MESSAGE", async () => {
    const batch = await kafkajsBatch(sample);
    expect(batchCrcMatches(batch)).toBe(true);
    batch[batch.length - 1]! ^= 0x01;
    expect(batchCrcMatches(batch)).toBe(false);
    expectCorrupt(() => validateBatches(batch), ErrorCode.CORRUPT_MESSAGE, /CRC mismatch/);
  });

  it("rejects a bad CRC in the second of two batches: the whole partition's data is refused", async () => {
    const a = await kafkajsBatch(sample);
    const b = await kafkajsBatch(sample);
    b.writeUInt32BE((b.readUInt32BE(17) + 1) >>> 0, 17);
    expectCorrupt(() => validateBatches(Buffer.concat([a, b])), ErrorCode.CORRUPT_MESSAGE, /CRC mismatch/);
  });

  it("rejects magic other than 2 with UNSUPPORTED_FOR_MESSAGE_FORMAT", async () => {
    for (const magic of [0, 1, 3]) {
      const batch = await kafkajsBatch(sample);
      batch.writeInt8(magic, 16); // magic is outside the CRC
      expectCorrupt(() => validateBatches(batch), ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, new RegExp(`magic ${magic}`));
    }
  });

  it("rejects truncated data with CORRUPT_MESSAGE, wherever it is cut", async () => {
    const batch = await kafkajsBatch(sample);
    for (let cut = 1; cut < batch.length; cut++) {
      const head = batch.subarray(0, cut);
      expectCorrupt(
        () => validateBatches(head),
        ErrorCode.CORRUPT_MESSAGE,
        cut < BATCH_HEADER_SIZE ? /truncated/ : /does not fit/,
      );
    }
    // A whole batch followed by the start of another.
    expectCorrupt(() => validateBatches(Buffer.concat([batch, batch.subarray(0, 30)])), ErrorCode.CORRUPT_MESSAGE, /truncated: 30 bytes/);
  });

  it("rejects a length field smaller than a batch header", async () => {
    const batch = await kafkajsBatch(sample);
    batch.writeInt32BE(10, 8);
    expectCorrupt(() => validateBatches(batch), ErrorCode.CORRUPT_MESSAGE, /length 22 does not fit/);
  });

  it("rejects a negative record count even when the CRC has been recomputed", async () => {
    const batch = await kafkajsBatch(sample);
    batch.writeInt32BE(-1, 57);
    reseal(batch);
    expectCorrupt(() => validateBatches(batch), ErrorCode.CORRUPT_MESSAGE, /negative record count/);
  });

  it("accepts empty input as no batches", () => {
    expect(validateBatches(Buffer.alloc(0))).toEqual([]);
  });
});

describe("encodeRecordBatch", () => {
  const records = [
    { key: Buffer.from("ord-1"), value: Buffer.from('{"type":"OrderPlaced"}'), headers: [{ key: "traceparent", value: Buffer.from("00-ab-cd-01") }] },
    { key: null, value: null, timestampDelta: 7, headers: [{ key: "empty", value: null }] },
  ];

  it("writes batches that validate and decode back to the same records, plain and gzip", () => {
    for (const compression of [Compression.none, Compression.gzip]) {
      const batch = encodeRecordBatch({ baseTimestamp: 1_700_000_000_000, records, compression });
      const [validated] = validateBatches(batch);
      expect(validated!.header).toMatchObject({ recordCount: 2, lastOffsetDelta: 1, maxTimestamp: 1_700_000_000_007, attributes: compression });
      expect(decodeRecords(batch)).toEqual([
        { offset: 0, timestamp: 1_700_000_000_000, key: records[0]!.key, value: records[0]!.value, headers: records[0]!.headers },
        { offset: 1, timestamp: 1_700_000_000_007, key: null, value: null, headers: [{ key: "empty", value: null }] },
      ]);
    }
  });

  it("puts a right CRC around a records section it is given, whatever it holds", () => {
    const garbage = Buffer.from("not zstd at all");
    const batch = encodeRecordBatch({ baseTimestamp: 0, records: [{ key: null, value: null }], compression: Compression.zstd, recordsSection: garbage });
    expect(batchCrcMatches(batch)).toBe(true);
    expect(batch.subarray(BATCH_HEADER_SIZE)).toEqual(garbage);
    expect(readBatchHeader(batch).attributes & 0x7).toBe(Compression.zstd);
  });
});
