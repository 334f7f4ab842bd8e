/**
 * kafkajs against the embedded broker, over real TCP: what a producer writes (keys, headers,
 * tombstones, large values, gzip, idempotent batches) comes back to a consumer byte for byte,
 * at the offsets the producer was told.
 */
import { CompressionTypes, Kafka, logLevel, type IHeaders, type Producer, type ProducerConfig } from "kafkajs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { BrokerLogCollector, uniqueName, waitUntil } from "./test-support.ts";

interface Received {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  timestamp: string;
}

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: brokerLog.log });
  kafka = new Kafka({ clientId: "kafkajs-roundtrip", brokers: [broker.address], logLevel: logLevel.NOTHING });
});

// On failure, show what the broker logged during the test.
beforeEach(({ onTestFailed }) => {
  const mark = brokerLog.mark();
  onTestFailed(() => console.error(`broker log during the test:\n${brokerLog.since(mark)}`));
});

afterAll(async () => {
  await broker?.stop();
});

async function createTopic(topic: string, numPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true })).toBe(true);
  } finally {
    await admin.disconnect();
  }
}

async function withProducer<T>(config: ProducerConfig, use: (p: Producer) => Promise<T>): Promise<T> {
  const producer = kafka.producer(config);
  await producer.connect();
  try {
    return await use(producer);
  } finally {
    await producer.disconnect();
  }
}

/** Reads the topic from the beginning with a fresh group until `count` messages have arrived. */
async function consumeFromBeginning(topic: string, count: number, consumerConfig: { maxBytesPerPartition?: number; maxBytes?: number } = {}): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("roundtrip-group"), maxWaitTimeInMs: 200, ...consumerConfig });
  const received: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
          timestamp: message.timestamp,
        });
      },
    });
    await waitUntil(`${count} messages from ${topic}`, () => received.length >= count, {
      describe: () => ({ received: received.length }),
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

const buf = (s: string) => Buffer.from(s, "utf8");

describe("kafkajs producer → consumer round trip", () => {
  test("keys, string and Buffer headers, repeated header keys and tombstones arrive unchanged at the offsets the producer was given", async () => {
    const topic = uniqueName("roundtrip");
    await createTopic(topic);
    const binaryHeader = Buffer.from([0x00, 0x01, 0xfe, 0xff]);
    const binaryKey = Buffer.from([0xde, 0xad, 0xbe, 0xef]);

    const sent = await withProducer({}, async (producer) => {
      const first = await producer.send({
        topic,
        messages: [
          { key: "order-1", value: "created", headers: { "trace-id": "4bf92f3577b34da6", "content-type": binaryHeader } },
          { key: "order-1", value: "paid", headers: { hop: ["gateway", "billing", "ledger"] } },
          { key: "order-1", value: null },
        ],
      });
      const second = await producer.send({
        topic,
        messages: [
          { key: binaryKey, value: Buffer.from([0, 0, 0, 7]) },
          { key: null, value: "no key", headers: { empty: "" } },
        ],
      });
      return [first, second];
    });
    // One partition, two batches: the second batch starts where the first ended.
    expect(sent.map((r) => r.map(({ partition, errorCode, baseOffset }) => ({ partition, errorCode, baseOffset })))).toEqual([
      [{ partition: 0, errorCode: 0, baseOffset: "0" }],
      [{ partition: 0, errorCode: 0, baseOffset: "3" }],
    ]);

    const received = await consumeFromBeginning(topic, 5);
    expect(received.map(({ timestamp: _t, ...m }) => m)).toEqual([
      {
        partition: 0,
        offset: "0",
        key: buf("order-1"),
        value: buf("created"),
        headers: { "trace-id": buf("4bf92f3577b34da6"), "content-type": binaryHeader },
      },
      // A key given several times keeps every value, in the order they were sent.
      { partition: 0, offset: "1", key: buf("order-1"), value: buf("paid"), headers: { hop: [buf("gateway"), buf("billing"), buf("ledger")] } },
      // A tombstone: the value is null, not empty.
      { partition: 0, offset: "2", key: buf("order-1"), value: null, headers: {} },
      { partition: 0, offset: "3", key: binaryKey, value: Buffer.from([0, 0, 0, 7]), headers: {} },
      { partition: 0, offset: "4", key: null, value: buf("no key"), headers: { empty: Buffer.alloc(0) } },
    ]);
  });

  test("explicit timestamps and partitions are kept", async () => {
    const topic = uniqueName("roundtrip-ts");
    await createTopic(topic, 3);
    const t = Date.now() - 60_000;
    await withProducer({}, (producer) =>
      producer.send({
        topic,
        messages: [
          { partition: 2, key: "a", value: "first", timestamp: String(t) },
          { partition: 2, key: "b", value: "second", timestamp: String(t + 1500) },
          { partition: 0, key: "c", value: "third", timestamp: String(t + 3000) },
        ],
      }),
    );
    const received = await consumeFromBeginning(topic, 3);
    const seen = received
      .map((m) => ({ partition: m.partition, offset: m.offset, value: m.value?.toString(), timestamp: m.timestamp }))
      .sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
    expect(seen).toEqual([
      { partition: 0, offset: "0", value: "third", timestamp: String(t + 3000) },
      { partition: 2, offset: "0", value: "first", timestamp: String(t) },
      { partition: 2, offset: "1", value: "second", timestamp: String(t + 1500) },
    ]);
  });

  test("a 1 MB value arrives whole, also to a consumer whose fetch limits are smaller than it", async () => {
    const topic = uniqueName("roundtrip-large");
    await createTopic(topic);
    // 1 MB (10^6 bytes) keeps the batch under Kafka's default max.message.bytes (1 MiB + 12).
    const big = Buffer.alloc(1_000_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const [meta] = await withProducer({}, (producer) =>
      producer.send({ topic, messages: [{ key: "small-before", value: "x" }, { key: "big", value: big }, { key: "small-after", value: "y" }] }),
    );
    expect(meta?.baseOffset).toBe("0");
    // kafkajs's default maxBytesPerPartition is 1 MiB, which the batch fits in; with 64 KiB the
    // broker must still return the first batch whole (KIP-74), or the consumer could never progress.
    for (const limits of [{}, { maxBytesPerPartition: 64 * 1024, maxBytes: 128 * 1024 }]) {
      const received = await consumeFromBeginning(topic, 3, limits);
      expect(received.map((m) => m.key?.toString())).toEqual(["small-before", "big", "small-after"]);
      expect(received[1]?.value?.length).toBe(big.length);
      expect(received[1]?.value?.equals(big)).toBe(true);
      expect(received.map((m) => m.offset)).toEqual(["0", "1", "2"]);
    }
  });

  test("a batch above the topic's max.message.bytes is refused with MESSAGE_TOO_LARGE and not stored", async () => {
    const topic = uniqueName("roundtrip-too-large");
    await createTopic(topic);
    const tooBig = Buffer.alloc(1_100_000, 7);
    await expect(
      withProducer({ retry: { retries: 0 } }, (producer) => producer.send({ topic, messages: [{ key: "too-big", value: tooBig }] })),
    ).rejects.toThrow(/larger than the max message size/);
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect((await admin.fetchTopicOffsets(topic)).map((p) => p.high)).toEqual(["0"]);
    } finally {
      await admin.disconnect();
    }
  });

  test("gzip-compressed batches are stored as sent and decompressed by the consumer", async () => {
    const topic = uniqueName("roundtrip-gzip");
    await createTopic(topic);
    const messages = Array.from({ length: 50 }, (_, i) => ({
      key: `k${i}`,
      value: `compressible payload ${"abc".repeat(40)} #${i}`,
      headers: { seq: String(i), repeated: ["x", String(i)] },
    }));
    const results = await withProducer({}, async (producer) => [
      await producer.send({ topic, compression: CompressionTypes.GZIP, messages: messages.slice(0, 30) }),
      await producer.send({ topic, compression: CompressionTypes.GZIP, messages: messages.slice(30) }),
    ]);
    expect(results.map((r) => r[0]?.baseOffset)).toEqual(["0", "30"]);

    const received = await consumeFromBeginning(topic, 50);
    expect(received).toHaveLength(50);
    received.forEach((m, i) => {
      expect(m.offset).toBe(String(i));
      expect(m.key?.toString()).toBe(`k${i}`);
      expect(m.value?.toString()).toBe(messages[i]!.value);
      expect(m.headers).toEqual({ seq: buf(String(i)), repeated: [buf("x"), buf(String(i))] });
    });
  });

  test("an idempotent producer's batches are stored once each, in order, on every partition", async () => {
    const topic = uniqueName("roundtrip-idempotent");
    await createTopic(topic, 3);
    const perPartition = 12;
    const metas = await withProducer({ idempotent: true, maxInFlightRequests: 1 }, async (producer) => {
      const out = [];
      // Four sends of three messages per partition: the producer's sequence numbers advance
      // across sends and partitions independently, and the broker must accept every batch.
      for (let round = 0; round < 4; round++) {
        out.push(
          await producer.send({
            topic,
            messages: [0, 1, 2].flatMap((partition) =>
              [0, 1, 2].map((i) => ({ partition, key: `p${partition}`, value: `p${partition}-m${round * 3 + i}` })),
            ),
          }),
        );
      }
      return out;
    });
    for (const [round, meta] of metas.entries()) {
      expect(meta.map((m) => ({ partition: m.partition, errorCode: m.errorCode, baseOffset: m.baseOffset })).sort((a, b) => a.partition - b.partition)).toEqual(
        [0, 1, 2].map((partition) => ({ partition, errorCode: 0, baseOffset: String(round * 3) })),
      );
    }

    const received = await consumeFromBeginning(topic, 3 * perPartition);
    expect(received).toHaveLength(3 * perPartition);
    for (const partition of [0, 1, 2]) {
      const mine = received.filter((m) => m.partition === partition);
      expect(mine.map((m) => m.offset)).toEqual(Array.from({ length: perPartition }, (_, i) => String(i)));
      expect(mine.map((m) => m.value?.toString())).toEqual(Array.from({ length: perPartition }, (_, i) => `p${partition}-m${i}`));
    }
  });
});
