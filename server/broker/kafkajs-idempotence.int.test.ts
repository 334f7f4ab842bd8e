/**
 * The broker's idempotent-producer checks, at the protocol level. kafkajs never resends a batch
 * on purpose, so these tests speak the wire protocol over a plain socket, with requests built by
 * kafkajs's own encoders (record batch, produce v3, InitProducerId v0, ListOffsets v1): a retried
 * batch must be acknowledged at its first offset and stored once; a sequence gap must be refused.
 */
import { createRequire } from "node:module";
import net from "node:net";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { BrokerLogCollector, uniqueName, waitUntil } from "./test-support.ts";

// kafkajs's protocol modules are CommonJS without type declarations: these are the shapes used here.
interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<KafkajsEncoder>;
}
interface KafkajsApi<Args, Decoded> {
  protocol(o: { version: number }): (args: Args) => { request: KafkajsRequest; response: { decode(payload: Buffer): Promise<Decoded> } };
}
interface ProduceMessage {
  key: string;
  value: string;
  timestamp: number;
}
interface ProduceArgs {
  acks: number;
  timeout: number;
  producerId: string;
  producerEpoch: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: ProduceMessage[] }[] }[];
}
interface ProduceDecoded {
  topics: { topicName: string; partitions: { partition: number; errorCode: number; baseOffset: string }[] }[];
}
interface InitProducerIdDecoded {
  errorCode: number;
  producerId: string;
  producerEpoch: number;
}
interface ListOffsetsArgs {
  topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[];
}
interface ListOffsetsDecoded {
  responses: { topic: string; partitions: { partition: number; errorCode: number; offset: string }[] }[];
}

const requireCjs = createRequire(import.meta.url);
const frameRequest = requireCjs("kafkajs/src/protocol/request.js") as (o: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<KafkajsEncoder>;
const produceApi = requireCjs("kafkajs/src/protocol/requests/produce/index.js") as KafkajsApi<ProduceArgs, ProduceDecoded>;
const initProducerIdApi = requireCjs("kafkajs/src/protocol/requests/initProducerId/index.js") as KafkajsApi<
  { transactionalId: string | null },
  InitProducerIdDecoded
>;
const listOffsetsApi = requireCjs("kafkajs/src/protocol/requests/listOffsets/index.js") as KafkajsApi<ListOffsetsArgs, ListOffsetsDecoded>;

const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

/** One connection that sends kafkajs-encoded requests and matches responses by correlation id. */
class RawClient {
  private nextCorrelationId = 1;
  private pending = new Map<number, { resolve: (payload: Buffer) => void; reject: (err: Error) => void }>();
  private buffered = Buffer.alloc(0);
  private closedError: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.failAll(err));
    socket.on("close", () => this.failAll(new Error("connection closed by the broker")));
  }

  static connect(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off("error", reject);
        resolve(new RawClient(socket));
      });
      socket.once("error", reject);
    });
  }

  async call<Args, Decoded>(api: KafkajsApi<Args, Decoded>, version: number, args: Args): Promise<Decoded> {
    const { request, response } = api.protocol({ version })(args);
    const correlationId = this.nextCorrelationId++;
    const frame = await frameRequest({ correlationId, clientId: "raw-idempotence-test", request });
    const payload = await new Promise<Buffer>((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      this.pending.set(correlationId, { resolve, reject });
      this.socket.write(frame.buffer);
    });
    return response.decode(payload);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const correlationId = this.buffered.readInt32BE(4);
      const payload = this.buffered.subarray(8, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const waiter = this.pending.get(correlationId);
      this.pending.delete(correlationId);
      if (!waiter) this.failAll(new Error(`response with unknown correlation id ${correlationId}`));
      else waiter.resolve(payload);
    }
  }

  private failAll(err: Error): void {
    this.closedError ??= err;
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
  }
}

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
let kafka: Kafka;
const clients: RawClient[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: brokerLog.log });
  kafka = new Kafka({ clientId: "idempotence-check", brokers: [broker.address], logLevel: logLevel.NOTHING });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

// On failure, show what the broker logged during the test.
beforeEach(({ onTestFailed }) => {
  const mark = brokerLog.mark();
  onTestFailed(() => console.error(`broker log during the test:\n${brokerLog.since(mark)}`));
});

afterAll(async () => {
  await broker?.stop();
});

async function connectRaw(): Promise<RawClient> {
  const client = await RawClient.connect(broker.host, broker.port);
  clients.push(client);
  return client;
}

async function createSinglePartitionTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })).toBe(true);
  } finally {
    await admin.disconnect();
  }
}

async function initProducerId(client: RawClient): Promise<{ producerId: string; producerEpoch: number }> {
  const r = await client.call(initProducerIdApi, 0, { transactionalId: null });
  expect(r.errorCode).toBe(0);
  expect(Number(r.producerId)).toBeGreaterThanOrEqual(0);
  return { producerId: r.producerId, producerEpoch: r.producerEpoch };
}

/**
 * Produces one batch (acks=all) and returns partition 0's error code and base offset. The
 * timestamps are explicit, so the same arguments always encode to the same bytes and CRC.
 */
async function produceBatch(
  client: RawClient,
  topic: string,
  producer: { producerId: string; producerEpoch: number },
  firstSequence: number,
  values: string[],
): Promise<{ errorCode: number; baseOffset: string }> {
  const t0 = 1_700_000_000_000;
  const r = await client.call(produceApi, 3, {
    acks: -1,
    timeout: 5000,
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    topicData: [{ topic, partitions: [{ partition: 0, firstSequence, messages: values.map((value, i) => ({ key: "k", value, timestamp: t0 + i })) }] }],
  });
  const p = r.topics[0]?.partitions[0];
  if (!p) throw new Error(`produce response without partition 0: ${JSON.stringify(r)}`);
  return { errorCode: p.errorCode, baseOffset: p.baseOffset };
}

/** The partition's end offset (high watermark), asked with ListOffsets v1 (timestamp -1 = latest). */
async function endOffset(client: RawClient, topic: string): Promise<number> {
  const r = await client.call(listOffsetsApi, 1, { topics: [{ topic, partitions: [{ partition: 0, timestamp: -1 }] }] });
  const p = r.responses[0]?.partitions[0];
  expect(p?.errorCode).toBe(0);
  return Number(p?.offset);
}

/** Every value in the topic, read by a kafkajs consumer from the beginning up to `endOffset`. */
async function readAllValues(topic: string, end: number): Promise<{ offset: string; value: string }[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("idempotence-reader"), maxWaitTimeInMs: 200 });
  const seen: { offset: string; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ offset: message.offset, value: message.value?.toString() ?? "<null>" });
      },
    });
    await waitUntil(`the consumer to reach offset ${end}`, () => seen.some((m) => Number(m.offset) === end - 1), {
      describe: () => seen,
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe("idempotent produce: sequence checks", () => {
  test("a retried batch is acknowledged with its original base offset and stored once", async () => {
    const topic = uniqueName("idem-retry");
    await createSinglePartitionTopic(topic);
    const client = await connectRaw();
    const producer = await initProducerId(client);

    expect(await produceBatch(client, topic, producer, 0, ["a0", "a1", "a2"])).toEqual({ errorCode: 0, baseOffset: "0" });
    // The same batch again, as a producer retrying after a lost response would send it.
    expect(await produceBatch(client, topic, producer, 0, ["a0", "a1", "a2"])).toEqual({ errorCode: 0, baseOffset: "0" });
    expect(await endOffset(client, topic)).toBe(3);

    // The next batch continues the sequence at 3; a late retry of the first is still recognised.
    expect(await produceBatch(client, topic, producer, 3, ["b0", "b1"])).toEqual({ errorCode: 0, baseOffset: "3" });
    expect(await produceBatch(client, topic, producer, 0, ["a0", "a1", "a2"])).toEqual({ errorCode: 0, baseOffset: "0" });
    expect(await produceBatch(client, topic, producer, 3, ["b0", "b1"])).toEqual({ errorCode: 0, baseOffset: "3" });
    expect(await endOffset(client, topic)).toBe(5);

    expect(await readAllValues(topic, 5)).toEqual([
      { offset: "0", value: "a0" },
      { offset: "1", value: "a1" },
      { offset: "2", value: "a2" },
      { offset: "3", value: "b0" },
      { offset: "4", value: "b1" },
    ]);
  });

  test("a batch that skips sequence numbers is refused with OUT_OF_ORDER_SEQUENCE_NUMBER and not stored", async () => {
    const topic = uniqueName("idem-gap");
    await createSinglePartitionTopic(topic);
    const client = await connectRaw();
    const producer = await initProducerId(client);

    expect(await produceBatch(client, topic, producer, 0, ["m0", "m1"])).toEqual({ errorCode: 0, baseOffset: "0" });
    // The broker expects sequence 2 next; 5 leaves a gap of three records.
    const gap = await produceBatch(client, topic, producer, 5, ["lost?"]);
    expect(gap.errorCode).toBe(OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await endOffset(client, topic)).toBe(2);

    // The refused batch left no trace: the expected sequence is still accepted where it belongs.
    expect(await produceBatch(client, topic, producer, 2, ["m2"])).toEqual({ errorCode: 0, baseOffset: "2" });
    expect(await endOffset(client, topic)).toBe(3);
    expect(await readAllValues(topic, 3)).toEqual([
      { offset: "0", value: "m0" },
      { offset: "1", value: "m1" },
      { offset: "2", value: "m2" },
    ]);
  });

  test("two producers keep separate sequences on the same partition", async () => {
    const topic = uniqueName("idem-two");
    await createSinglePartitionTopic(topic);
    const client = await connectRaw();
    const first = await initProducerId(client);
    const second = await initProducerId(client);
    expect(second.producerId).not.toBe(first.producerId);

    expect(await produceBatch(client, topic, first, 0, ["p1-0"])).toEqual({ errorCode: 0, baseOffset: "0" });
    // Same sequence 0, but another producer: a new batch, not a retry.
    expect(await produceBatch(client, topic, second, 0, ["p2-0"])).toEqual({ errorCode: 0, baseOffset: "1" });
    expect(await produceBatch(client, topic, first, 1, ["p1-1"])).toEqual({ errorCode: 0, baseOffset: "2" });
    expect(await produceBatch(client, topic, second, 0, ["p2-0"])).toEqual({ errorCode: 0, baseOffset: "1" });
    expect(await endOffset(client, topic)).toBe(3);
    expect((await readAllValues(topic, 3)).map((m) => m.value)).toEqual(["p1-0", "p2-0", "p1-1"]);
  });
});
