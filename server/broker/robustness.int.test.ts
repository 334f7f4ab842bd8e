/**
 * What a misbehaving client can do to the broker: nothing beyond losing its own connection.
 * A raw TCP client sends garbage, truncated frames, unknown APIs and versions, and corrupt
 * batches, while kafkajs keeps producing and fetching on its own connections.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { decodeMessage, Reader, type Message } from "./protocol/codec.ts";
import { ErrorCode } from "./protocol/errors.ts";
import { ApiKey, apiVersions, listOffsets, metadata, produce, saslHandshake } from "./protocol/messages.ts";
import { encodeBody, RawClient, requestFrame } from "./raw-client.ts";
import { waitFor } from "./process-support.ts";
import { SaslUsers } from "./sasl.ts";

// kafkajs's own record batch encoder: an independent producer of valid v2 batches.
const require = createRequire(import.meta.url);
type KafkajsEncoder = { buffer: Buffer };
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js") as {
  RecordBatch: (opts: { records: KafkajsEncoder[]; firstTimestamp?: number; maxTimestamp?: number; lastOffsetDelta?: number }) => Promise<KafkajsEncoder>;
};
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js") as (opts: {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | string[]>;
}) => KafkajsEncoder;

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

let broker: RunningBroker;
const brokerLog: string[] = [];
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await startBroker({ port: 0, partitions: 2, log: (line) => brokerLog.push(line) });
  kafka = new Kafka({ clientId: "robustness", brokers: [broker.address], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

const closedLines = () => brokerLog.filter((l) => l.startsWith("closing connection"));

async function createTopic(partitions = 1): Promise<string> {
  const topic = unique("robust");
  expect(await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })).toBe(true);
  return topic;
}

async function latestOffset(topic: string, partition: number): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return Number(offsets.find((o) => o.partition === partition)!.high);
}

/** Produce and fetch with kafkajs, message by message, and check that every one comes back. */
class Traffic {
  private sent: string[] = [];
  readonly seen: string[] = [];
  private constructor(
    private readonly topic: string,
    private readonly producer: Producer,
    private readonly consumer: Consumer,
  ) {}

  static async start(topic: string): Promise<Traffic> {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({ groupId: unique("robust-group"), maxWaitTimeInMs: 50 });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const t = new Traffic(topic, producer, consumer);
    await consumer.run({
      eachMessage: async ({ message }) => {
        t.seen.push(message.value!.toString());
      },
    });
    return t;
  }

  /** One message there and back: the produce is acknowledged and the consumer fetches it. */
  async roundTrip(label: string): Promise<void> {
    const value = `${this.sent.length}:${label}`;
    this.sent.push(value);
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ value }] });
    await waitFor(`kafkajs to fetch "${value}"`, () => this.seen.includes(value));
  }

  async stop(): Promise<string[]> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
    return this.sent;
  }
}

describe("a client that sends garbage", () => {
  it("is disconnected and logged, while kafkajs produces and fetches before, during and after", async () => {
    const topic = await createTopic(1);
    const traffic = await Traffic.start(topic);
    await traffic.roundTrip("before");
    const closedBefore = closedLines().length;

    const negative = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xfe]), randomBytes(64)]);
    const huge = Buffer.concat([Buffer.from([0x7f, 0xff, 0xff, 0xff]), randomBytes(64)]);
    const tooSmall = Buffer.concat([Buffer.from([0, 0, 0, 3]), randomBytes(3)]);
    const http = Buffer.from("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    // A TLS ClientHello's record header: content type 22, version 3.1, then a length.
    const tls = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), randomBytes(200)]);
    const cases: { name: string; bytes: Buffer; logged: string }[] = [
      { name: "a negative size prefix", bytes: negative, logged: "invalid frame size -2" },
      { name: "a size prefix above the 100 MiB limit", bytes: huge, logged: `invalid frame size ${0x7fffffff}` },
      { name: "a size prefix too small for a request header", bytes: tooSmall, logged: "invalid frame size 3" },
      { name: "an HTTP request", bytes: http, logged: `invalid frame size ${http.readInt32BE(0)}` },
      { name: "a TLS handshake", bytes: tls, logged: `invalid frame size ${tls.readInt32BE(0)}` },
    ];
    for (const c of cases) {
      const raw = await RawClient.connect(broker.address);
      raw.write(c.bytes);
      // During: kafkajs is served while the broker deals with the garbage.
      await Promise.all([raw.waitClosed(c.name), traffic.roundTrip(`during ${c.name}`)]);
      expect(brokerLog.some((l) => l.startsWith("closing connection") && l.endsWith(c.logged)), `log line for ${c.name}`).toBe(true);
      await traffic.roundTrip(`after ${c.name}`);
    }

    // A client that stops half-way through a frame holds no one else up; it is only noted when it leaves.
    const stalled = await RawClient.connect(broker.address);
    const frame = requestFrame(ApiKey.Metadata, 1, 1, encodeBody(metadata.request, 1, { topics: null }));
    // The size prefix and 6 bytes of the header: 10 bytes the broker holds until the rest arrives.
    stalled.write(frame.subarray(0, 10));
    await traffic.roundTrip("while a frame is half sent");
    expect(stalled.closedByPeer).toBe(false);
    stalled.destroy();
    await waitFor("the broker to note the incomplete frame", () =>
      brokerLog.some((l) => l.endsWith("closed with 10 bytes of an incomplete frame")),
    );

    await traffic.roundTrip("at the end");
    const sent = await traffic.stop();
    // Every message kafkajs sent came back exactly once, in order.
    expect(traffic.seen).toEqual(sent);
    // Only the garbage connections were closed, not kafkajs's.
    expect(closedLines().length - closedBefore).toBe(cases.length);
  });

  it("is disconnected when a Produce frame is cut short so its body does not decode, and nothing is stored", async () => {
    const topic = await createTopic(1);
    const batch = (await RecordBatch({ records: [Record({ key: "k", value: "a value that will be cut" })], lastOffsetDelta: 0 })).buffer;
    const body = encodeBody(produce.request, 3, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    });
    const whole = requestFrame(ApiKey.Produce, 3, 7, body);
    // Keep the header and part of the body; the size prefix tells the truth about the cut frame,
    // so the frame is complete but its records field claims more bytes than are left.
    const cut = Buffer.from(whole.subarray(0, whole.length - 20));
    cut.writeInt32BE(cut.length - 4, 0);

    const raw = await RawClient.connect(broker.address);
    raw.write(cut);
    await raw.waitClosed("a truncated Produce body");
    expect(brokerLog.some((l) => l.startsWith("closing connection") && l.includes("frame truncated"))).toBe(true);
    expect(await latestOffset(topic, 0)).toBe(0);

    // An array count larger than the frame is a lie caught before anything is allocated.
    const lying = Buffer.from(body);
    // transactionalId (int16 -1) + acks (int16) + timeoutMs (int32): the topicData count comes next.
    lying.writeInt32BE(1_000_000, 8);
    const raw2 = await RawClient.connect(broker.address);
    raw2.write(requestFrame(ApiKey.Produce, 3, 8, lying));
    await raw2.waitClosed("an array count larger than the frame");
    expect(brokerLog.some((l) => l.startsWith("closing connection") && l.includes("array length 1000000 exceeds the frame"))).toBe(true);
    expect(await latestOffset(topic, 0)).toBe(0);

    // The same request sent whole is stored: the refusals above were about the bytes, not the broker.
    const ok = await RawClient.connect(broker.address);
    const res = await ok.call(produce, 3, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    });
    const p = (res.responses as { partitionResponses: { errorCode: number; baseOffset: number }[] }[])[0]!.partitionResponses[0]!;
    expect(p).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(await latestOffset(topic, 0)).toBe(1);
    ok.destroy();
  });
});

describe("a request the broker does not serve", () => {
  it("gets UNSUPPORTED_VERSION (35) and the same connection keeps working", async () => {
    const raw = await RawClient.connect(broker.address);

    const unknownKey = await raw.request(999, 0, Buffer.alloc(0));
    expect(unknownKey.readInt16BE(0)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(brokerLog.some((l) => l.includes("unknown API key 999"))).toBe(true);

    const v0 = await raw.call(apiVersions, 0, {});
    expect(v0.errorCode).toBe(0);
    const keys = v0.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[];
    expect(keys.find((k) => k.apiKey === ApiKey.Produce)).toEqual({ apiKey: ApiKey.Produce, minVersion: 3, maxVersion: 11 });
    expect(keys.find((k) => k.apiKey === ApiKey.Metadata)).toEqual({ apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 12 });

    const produceV99 = await raw.request(ApiKey.Produce, 99, randomBytes(32));
    expect(produceV99.readInt16BE(0)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const metadataV50 = await raw.request(ApiKey.Metadata, 50, Buffer.alloc(0));
    expect(metadataV50.readInt16BE(0)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    // Below the served range is refused the same way (Produce starts at v3).
    const produceV2 = await raw.request(ApiKey.Produce, 2, Buffer.alloc(0));
    expect(produceV2.readInt16BE(0)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(brokerLog.some((l) => l.includes("ProduceRequest v99 is not supported"))).toBe(true);
    expect(brokerLog.some((l) => l.includes("MetadataRequest v50 is not supported"))).toBe(true);

    // A newer ApiVersions than we serve (v4) is answered in the v0 layout, with the ranges.
    const newer = decodeMessage(apiVersions.response, 0, new Reader(await raw.request(ApiKey.ApiVersions, 5, Buffer.alloc(16))));
    expect(newer.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(newer.apiKeys).toEqual(keys);

    // Still the same connection, still served.
    const again = await raw.call(apiVersions, 0, {});
    expect(again.errorCode).toBe(0);
    const md = await raw.call(metadata, 1, { topics: [] });
    expect(md.brokers).toEqual([{ nodeId: 0, host: broker.host, port: broker.port, rack: null }]);
    expect(raw.closedByPeer).toBe(false);
    raw.destroy();
  });
});

describe("SASL handshake versions", () => {
  it("answers SaslHandshake v1 with the mechanisms and v0 (unframed tokens) with UNSUPPORTED_VERSION", async () => {
    const users = new SaslUsers();
    users.add("alice", "s3cret");
    const saslLog: string[] = [];
    const secured = await startBroker({ port: 0, saslUsers: users, log: (line) => saslLog.push(line) });
    const raw = await RawClient.connect(secured.address);
    try {
      // v0 stays in the advertised range: librdkafka only enables SASL when it sees it there.
      const versions = await raw.call(apiVersions, 0, {});
      expect((versions.apiKeys as { apiKey: number }[]).find((k) => k.apiKey === ApiKey.SaslHandshake)).toEqual({
        apiKey: ApiKey.SaslHandshake,
        minVersion: 0,
        maxVersion: 1,
      });
      const v0 = await raw.call(saslHandshake, 0, { mechanism: "PLAIN" });
      expect(v0).toEqual({ errorCode: ErrorCode.UNSUPPORTED_VERSION, mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] });
      expect(saslLog.some((l) => l.includes("SaslHandshake v0"))).toBe(true);
      const v1 = await raw.call(saslHandshake, 1, { mechanism: "PLAIN" });
      expect(v1).toEqual({ errorCode: 0, mechanisms: ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] });
      // Nothing but the SASL exchange is served before authentication: the connection is closed.
      const refused = raw.call(metadata, 1, { topics: null });
      await expect(refused).rejects.toThrow(/connection closed/);
      expect(saslLog.some((l) => l.includes("MetadataRequest before SASL authentication"))).toBe(true);
    } finally {
      raw.destroy();
      await secured.stop();
    }
  });
});

describe("a produce whose record batch fails its CRC", () => {
  it("gets CORRUPT_MESSAGE (2) and nothing is stored", async () => {
    const topic = await createTopic(2);
    const records = [
      Record({ offsetDelta: 0, key: "order-1", value: "placed", headers: { traceparent: "00-aa-bb-01" } }),
      Record({ offsetDelta: 1, key: "order-1", value: "paid" }),
    ];
    const batch = (await RecordBatch({ records, lastOffsetDelta: 1 })).buffer;
    const corrupt = Buffer.from(batch);
    // The last byte belongs to the last record's value: covered by the CRC, outside every header.
    corrupt[corrupt.length - 1]! ^= 0xff;

    const send = (records: Buffer) =>
      raw.call(produce, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: 1, records }] }],
      });
    const raw = await RawClient.connect(broker.address);
    const refused = await send(corrupt);
    const part = (r: Message) => (r.responses as { partitionResponses: { errorCode: number; baseOffset: number }[] }[])[0]!.partitionResponses[0]!;
    expect(part(refused)).toMatchObject({ errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1 });
    expect(brokerLog.some((l) => l.includes(`refused produce to ${topic}-1`) && l.includes("CRC mismatch"))).toBe(true);

    // ListOffsets latest (-1): still empty, through the raw connection and through kafkajs.
    const lo = await raw.call(listOffsets, 1, {
      replicaId: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: 1, timestamp: -1 }] }],
    });
    expect((lo.topics as { partitions: { errorCode: number; offset: number }[] }[])[0]!.partitions[0]).toMatchObject({ errorCode: 0, offset: 0 });
    expect(await latestOffset(topic, 1)).toBe(0);

    // The intact batch is accepted on the same connection: the CRC check, not the batch, refused it.
    const accepted = await send(batch);
    expect(part(accepted)).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(await latestOffset(topic, 1)).toBe(2);
    raw.destroy();
  });
});
