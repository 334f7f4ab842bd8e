import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, MalformedFrameError, Reader, supportedVersions, Writer, type Message } from "./codec.ts";
import { apiSpecs, apiVersions, fetch, listOffsets, metadata, produce } from "./messages.ts";
import type { MessageSpec } from "./types.ts";

function encode(spec: MessageSpec, version: number, value: Message): Buffer {
  const w = new Writer();
  encodeMessage(spec, version, value, w);
  const out = Buffer.concat(w.finish());
  expect(out.length).toBe(w.length);
  return out;
}

function decode(spec: MessageSpec, version: number, bytes: Buffer): Message {
  const r = new Reader(bytes);
  const out = decodeMessage(spec, version, r);
  expect(r.remaining, `${spec.name} v${version} left bytes unread`).toBe(0);
  return out;
}

function expectMalformed(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(MalformedFrameError);
  if (message) expect((thrown as Error).message).toMatch(message);
}

describe("Metadata request", () => {
  it("encodes null topics (all topics) as ffffffff from v1 on, and decodes it back to null", () => {
    for (const v of [1, 2, 3]) {
      const bytes = encode(metadata.request, v, { topics: null });
      expect(bytes.toString("hex")).toBe("ffffffff");
      expect(decode(metadata.request, v, bytes)).toEqual({ topics: null });
    }
    // v4 adds allowAutoTopicCreation (default true); v8 the two authorized-operations flags.
    expect(encode(metadata.request, 4, { topics: null }).toString("hex")).toBe("ffffffff01");
    expect(encode(metadata.request, 8, { topics: null, allowAutoTopicCreation: false }).toString("hex")).toBe("ffffffff000000");
  });

  it("refuses null topics in v0, where it is not nullable", () => {
    expectMalformed(() => decode(metadata.request, 0, Buffer.from("ffffffff", "hex")), /topics is null but not nullable/);
  });

  it("round-trips named topics", () => {
    const bytes = encode(metadata.request, 4, { topics: [{ name: "orders" }, { name: "payments.dlq" }], allowAutoTopicCreation: false });
    expect(bytes.toString("hex")).toBe("00000002" + "0006" + Buffer.from("orders").toString("hex") + "000c" + Buffer.from("payments.dlq").toString("hex") + "00");
    expect(decode(metadata.request, 4, bytes)).toEqual({ topics: [{ name: "orders" }, { name: "payments.dlq" }], allowAutoTopicCreation: false });
  });
});

describe("messages at several versions", () => {
  it("lays out ListOffsets v1 field by field, with v0-only and v2+ fields left out", () => {
    const bytes = encode(listOffsets.request, 1, {
      replicaId: -1,
      topics: [{ name: "t", partitions: [{ partitionIndex: 2, timestamp: -1 }] }],
    });
    expect(bytes.toString("hex")).toBe(
      "ffffffff" + // replicaId
        "00000001" + "000174" + // one topic, "t"
        "00000001" + "00000002" + // one partition, index 2
        "ffffffffffffffff", // timestamp -1 (latest)
    );
    // v0 adds maxNumOffsets (default 1); v2 adds isolationLevel; v4 currentLeaderEpoch (default -1).
    expect(encode(listOffsets.request, 0, { replicaId: -1, topics: [{ name: "t", partitions: [{ partitionIndex: 2, timestamp: -1 }] }] }).subarray(-4).toString("hex")).toBe("00000001");
    const v4 = encode(listOffsets.request, 4, { replicaId: -1, isolationLevel: 1, topics: [{ name: "t", partitions: [{ partitionIndex: 2, timestamp: 1_700_000_000_000 }] }] });
    expect(decode(listOffsets.request, 4, v4)).toEqual({
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ name: "t", partitions: [{ partitionIndex: 2, currentLeaderEpoch: -1, timestamp: 1_700_000_000_000 }] }],
    });
  });

  it("round-trips a Produce request at v3 and v8, records included", () => {
    const records = randomBytes(300);
    for (const v of [3, 8]) {
      const value = {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [
          { name: "orders", partitionData: [{ index: 0, records }, { index: 1, records: null }] },
          { name: "audit", partitionData: [] },
        ],
      };
      const bytes = encode(produce.request, v, value);
      expect(bytes.subarray(0, 2).toString("hex")).toBe("ffff"); // null transactionalId
      expect(decode(produce.request, v, bytes)).toEqual(value);
    }
  });

  it("writes Produce responses with the fields of each version", () => {
    const value = { responses: [{ name: "t", partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 42, logStartOffset: 0, errorMessage: null }] }] };
    const v3 = decode(produce.response, 3, encode(produce.response, 3, value));
    expect(v3).toEqual({ responses: [{ name: "t", partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 42, logAppendTimeMs: -1 }] }], throttleTimeMs: 0 });
    const v8 = decode(produce.response, 8, encode(produce.response, 8, value));
    expect(v8).toEqual({
      responses: [{ name: "t", partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 42, logAppendTimeMs: -1, logStartOffset: 0, recordErrors: [], errorMessage: null }] }],
      throttleTimeMs: 0,
    });
  });

  it("encodes a Fetch response's records given as Buffer[] as their concatenation, at v4 and v11", () => {
    // Small and large (zero-copy) batches mixed.
    const batches = [randomBytes(70), randomBytes(5000), randomBytes(1), randomBytes(2048)];
    const joined = Buffer.concat(batches);
    for (const v of [4, 7, 11]) {
      const part = { partitionIndex: 3, errorCode: 0, highWatermark: 99, lastStableOffset: 99, logStartOffset: 0, abortedTransactions: null };
      const bytes = encode(fetch.response, v, { errorCode: 0, sessionId: 0, responses: [{ topic: "orders", partitions: [{ ...part, records: batches }] }] });
      const decoded = decode(fetch.response, v, bytes);
      const p = (decoded.responses as { partitions: { records: Buffer; highWatermark: number }[] }[])[0]!.partitions[0]!;
      expect(p.records).toEqual(joined);
      expect(p.highWatermark).toBe(99);
      // The records are the last thing in the message: an int32 total length, then the batches back to back.
      expect(bytes.subarray(bytes.length - joined.length - 4, bytes.length - joined.length).readInt32BE(0)).toBe(joined.length);
      expect(bytes.subarray(bytes.length - joined.length)).toEqual(joined);
      // And the same bytes as a single Buffer would give.
      expect(encode(fetch.response, v, { errorCode: 0, sessionId: 0, responses: [{ topic: "orders", partitions: [{ ...part, records: joined }] }] })).toEqual(bytes);
    }
    // No records at all: an empty list is a zero-length records field, null is -1.
    const empty = encode(fetch.response, 4, { responses: [{ topic: "t", partitions: [{ partitionIndex: 0, errorCode: 1, highWatermark: -1, abortedTransactions: null, records: [] }] }] });
    expect(empty.subarray(-4).readInt32BE(0)).toBe(0);
    const nul = encode(fetch.response, 4, { responses: [{ topic: "t", partitions: [{ partitionIndex: 0, errorCode: 1, highWatermark: -1, abortedTransactions: null, records: null }] }] });
    expect(nul.subarray(-4).readInt32BE(0)).toBe(-1);
  });

  it("adds ApiVersions' throttle time from v1 on", () => {
    const value = { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 8 }] };
    const v0 = encode(apiVersions.response, 0, value);
    expect(v0.toString("hex")).toBe("0000" + "00000001" + "0000" + "0003" + "0008");
    expect(encode(apiVersions.response, 1, value).toString("hex")).toBe(v0.toString("hex") + "00000000");
  });

  it("round-trips int64 values beyond 32 bits, negative ones included", () => {
    for (const offset of [0, -1, -2, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, 2 ** 53 - 1, -(2 ** 40)]) {
      const value = { replicaId: -1, topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp: offset, maxNumOffsets: 1 }] }] };
      expect(decode(listOffsets.request, 0, encode(listOffsets.request, 0, value))).toEqual(value);
    }
  });

  it("round-trips a message larger than the writer's 16 KiB chunks", () => {
    const topics = Array.from({ length: 1500 }, (_, i) => ({
      errorCode: 0,
      name: `topic-${i}-${"x".repeat(i % 40)}`,
      isInternal: false,
      partitions: Array.from({ length: 3 }, (_, p) => ({ errorCode: 0, partitionIndex: p, leaderId: 0, leaderEpoch: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] })),
      topicAuthorizedOperations: -2147483648,
    }));
    const value = { throttleTimeMs: 0, brokers: [{ nodeId: 0, host: "127.0.0.1", port: 9092, rack: null }], clusterId: "c", controllerId: 0, topics, clusterAuthorizedOperations: -2147483648 };
    const bytes = encode(metadata.response, 8, value);
    expect(bytes.length).toBeGreaterThan(100_000);
    expect(decode(metadata.response, 8, bytes)).toEqual(value);
  });

  it("round-trips every API at every served version with default values", () => {
    for (const spec of apiSpecs.values()) {
      const range = supportedVersions(spec.request);
      for (let v = range.min; v <= range.max; v++) {
        for (const s of [spec.request, spec.response]) {
          const once = encode(s, v, {});
          // Defaults decode to themselves and encode to the same bytes again.
          expect(encode(s, v, decode(s, v, once)), `${s.name} v${v}`).toEqual(once);
        }
      }
    }
  });
});

describe("malformed input", () => {
  const produceBytes = encode(produce.request, 3, {
    transactionalId: "tx",
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: "orders", partitionData: [{ index: 0, records: randomBytes(40) }] }],
  });

  it("throws MalformedFrameError for every truncation of a request, never another error", () => {
    for (let cut = 0; cut < produceBytes.length; cut++) {
      expectMalformed(() => decodeMessage(produce.request, 3, new Reader(produceBytes.subarray(0, cut))), /truncated|exceeds the frame/);
    }
  });

  it("throws MalformedFrameError when an array count is larger than the frame", () => {
    const lying = Buffer.from(produceBytes);
    // transactionalId "tx" (2 + 2), acks (2), timeoutMs (4): the topicData count is at byte 10.
    lying.writeInt32BE(0x7fffffff, 10);
    expectMalformed(() => decodeMessage(produce.request, 3, new Reader(lying)), /array length 2147483647 exceeds the frame/);
    // The count of a primitive array, too: Metadata v0 response's replicaNodes.
    const md = encode(metadata.response, 0, { brokers: [], topics: [{ errorCode: 0, name: "t", partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0] }] }] });
    const at = md.length - 16; // replicaNodes: count + one int32, then isrNodes: count + one int32
    expect(md.readInt32BE(at)).toBe(1);
    md.writeInt32BE(5, at);
    expectMalformed(() => decodeMessage(metadata.response, 0, new Reader(md)), /truncated/);
    md.writeInt32BE(1000, at);
    expectMalformed(() => decodeMessage(metadata.response, 0, new Reader(md)), /exceeds the frame/);
  });

  it("throws MalformedFrameError for negative lengths other than -1", () => {
    expectMalformed(() => new Reader(Buffer.from("fffe", "hex")).nullableString(), /invalid string length -2/);
    expectMalformed(() => new Reader(Buffer.from("fffffffe", "hex")).nullableBytes(), /invalid bytes length -2/);
    expectMalformed(() => new Reader(Buffer.from("fffffff0", "hex")).arrayLength(), /invalid array length -16/);
    // A null string where the field is not nullable (Produce's topic name).
    const nullName = Buffer.from(produceBytes);
    nullName.writeInt16BE(-1, 14);
    expectMalformed(() => decodeMessage(produce.request, 3, new Reader(nullName)), /name is null but not nullable/);
  });
});

describe("flexible versions (KIP-482)", () => {
  it("writes compact strings, arrays and nullable fields as unsigned varints of length + 1, and an empty tagged-field section per struct", () => {
    // Metadata v12: topics [ {topicId, name} ], allowAutoTopicCreation, includeTopicAuthorizedOperations, tags.
    const bytes = encode(metadata.request, 12, { topics: [{ topicId: Buffer.alloc(16), name: "ab" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(bytes.toString("hex")).toBe("02" + "00".repeat(16) + "03" + "6162" + "00" + "00" + "00" + "00");
    expect(decode(metadata.request, 12, bytes)).toEqual({ topics: [{ topicId: Buffer.alloc(16), name: "ab" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    // Null is 0: a null topic list and a null name.
    expect(encode(metadata.request, 12, { topics: null }).toString("hex")).toBe("00" + "01" + "00" + "00");
    const byId = encode(metadata.request, 12, { topics: [{ topicId: Buffer.alloc(16, 1), name: null }] });
    expect(decode(metadata.request, 12, byId).topics).toEqual([{ topicId: Buffer.alloc(16, 1), name: null }]);
  });

  it("reads past tagged fields a client sends, in the message and in nested structs", () => {
    // Heartbeat v4 with an unknown tag (7, three bytes) at the end.
    const plain = encode(apiSpecs.get(12)!.request, 4, { groupId: "g", generationId: 3, memberId: "m", groupInstanceId: null });
    const tagged = Buffer.concat([plain.subarray(0, plain.length - 1), Buffer.from([0x01, 0x07, 0x03, 0xaa, 0xbb, 0xcc])]);
    expect(decode(apiSpecs.get(12)!.request, 4, tagged)).toEqual({ groupId: "g", generationId: 3, memberId: "m", groupInstanceId: null });
  });

  it("encodes a 300-byte string with a two-byte varint length", () => {
    const w = new Writer();
    w.compactString("x".repeat(300));
    const out = Buffer.concat(w.finish());
    expect(out.subarray(0, 2).toString("hex")).toBe("ad02"); // 301 = 0b10_0101101
    expect(new Reader(out).compactString()).toBe("x".repeat(300));
  });

  it("round-trips the flexible version of every API the broker serves", () => {
    for (const spec of apiSpecs.values()) {
      const { max } = supportedVersions(spec.request);
      if (!spec.request.flexibleVersions) continue;
      // An empty object encodes every field's default; decoding it must consume exactly those bytes.
      const req = encode(spec.request, max, {});
      decode(spec.request, max, req);
      const res = encode(spec.response, max, {});
      decode(spec.response, max, res);
    }
  });
});
