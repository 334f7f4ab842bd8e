/**
 * Conformance with a third, independent client: @platformatic/kafka speaks only flexible protocol
 * versions (it opens with ApiVersions v3). Against the embedded broker it creates a topic, produces
 * keyed messages with headers with each codec it can use here, consumes them in a group of two
 * that commits, lists and describes the group and its offsets, and deletes the topic; it changes
 * topic configs, grows a topic, deletes records and groups; and it authenticates with SCRAM-SHA-512
 * and produces idempotently.
 */
import {
  Admin,
  ConfigResourceTypes,
  IncrementalAlterConfigOperationTypes,
  Consumer,
  Producer,
  stringDeserializers,
  stringSerializers,
  type CompressionAlgorithmValue,
  type Message,
  type MessagesStream,
} from "@platformatic/kafka";
import zlib from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { SaslUsers } from "./sasl.ts";
import { BrokerLogCollector, uniqueName, waitUntil } from "./test-support.ts";

type StringMessage = Message<string, string, string, string>;

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
let admin: Admin;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, minSessionTimeoutMs: 1000, log: brokerLog.log });
  admin = new Admin({ clientId: "platformatic-admin", bootstrapBrokers: [broker.address] });
});

beforeEach(({ onTestFailed }) => {
  const mark = brokerLog.mark();
  onTestFailed(() => console.error(`broker log during the test:\n${brokerLog.since(mark)}`));
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

afterAll(async () => {
  await admin?.close();
  await broker?.stop();
});

// zstd needs Node's zlib zstd (Node 22.15+); the others are built into the client.
const CODECS: CompressionAlgorithmValue[] = ["none", "gzip", "snappy", "lz4", ...("zstdCompressSync" in zlib ? (["zstd"] as const) : [])];

async function startMember(groupId: string, topic: string, received: StringMessage[]): Promise<{ consumer: Consumer<string, string, string, string>; stream: MessagesStream<string, string, string, string> }> {
  const consumer = new Consumer({
    clientId: uniqueName("platformatic-consumer"),
    groupId,
    bootstrapBrokers: [broker.address],
    deserializers: stringDeserializers,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    rebalanceTimeout: 10_000,
    maxWaitTime: 200,
  });
  const stream = await consumer.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest", autocommit: false });
  stream.on("data", (message: StringMessage) => {
    received.push(message);
    void message.commit();
  });
  closers.push(async () => {
    await consumer.close(true);
  });
  return { consumer, stream };
}

describe("@platformatic/kafka", () => {
  test("admin, produce with every codec, a consumer group of two that commits, group and offset listings, topic deletion", async () => {
    const topic = uniqueName("platformatic");
    const groupId = uniqueName("platformatic-group");

    const [created] = await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
    expect(created).toMatchObject({ name: topic, partitions: 2, replicas: 1 });
    expect(await admin.listTopics()).toContain(topic);

    const producer = new Producer({ clientId: "platformatic-producer", bootstrapBrokers: [broker.address], serializers: stringSerializers });
    closers.push(() => producer.close());
    const sent: { key: string; value: string; partition: number; codec: string }[] = [];
    for (const codec of CODECS) {
      const messages = [0, 1].flatMap((partition) =>
        [0, 1, 2].map((i) => ({ topic, partition, key: `${codec}-${partition}-${i}`, value: `value of ${codec} ${partition} ${i}`, headers: new Map([["codec", codec], ["n", String(i)]]) })),
      );
      await producer.send({ messages, compression: codec, acks: -1 });
      sent.push(...messages.map((m) => ({ key: m.key, value: m.value, partition: m.partition, codec })));
    }

    // Two members: each gets one partition, every message arrives once, with its key and headers.
    const a: StringMessage[] = [];
    const b: StringMessage[] = [];
    await startMember(groupId, topic, a);
    await startMember(groupId, topic, b);
    const total = sent.length;
    await waitUntil(`${total} messages in the group`, () => a.length + b.length >= total, { describe: () => ({ a: a.length, b: b.length }) });
    const all = [...a, ...b];
    expect(all.map((m) => m.key).sort()).toEqual(sent.map((m) => m.key).sort());
    for (const m of all) {
      const expected = sent.find((s) => s.key === m.key)!;
      expect(m.value).toBe(expected.value);
      expect(m.partition).toBe(expected.partition);
      expect(m.headers.get("codec")).toBe(expected.codec);
    }

    // Committed offsets: each partition's end, seen through OffsetFetch v8+.
    const perPartition = total / 2;
    await waitUntil("both partitions committed to their end", async () => {
      const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
      const partitions = group?.topics.find((t) => t.name === topic)?.partitions ?? [];
      return partitions.length === 2 && partitions.every((p) => p.committedOffset === BigInt(perPartition));
    });

    const groups = await admin.listGroups();
    expect(groups.get(groupId)).toMatchObject({ id: groupId, state: "STABLE", protocolType: "consumer" });
    const described = (await admin.describeGroups({ groups: [groupId] })).get(groupId)!;
    expect(described.state).toBe("STABLE");
    expect(described.members.size).toBe(2);

    const [offsets] = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }, { partitionIndex: 1, timestamp: -1n }] }] });
    expect(offsets!.partitions.map((p) => p.offset)).toEqual([BigInt(perPartition), BigInt(perPartition)]);

    await admin.deleteTopics({ topics: [topic] });
    expect(await admin.listTopics()).not.toContain(topic);
  });

  test("admin: describe and incrementally alter topic configs, grow a topic, delete records and an empty group", async () => {
    const topic = uniqueName("platformatic-admin");
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await admin.incrementalAlterConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: topic,
          configs: [{ name: "retention.ms", configOperation: IncrementalAlterConfigOperationTypes.SET, value: "3600000" }],
        },
      ],
    });
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ["retention.ms", "compression.type"] }],
      includeSynonyms: true,
    });
    const byName = new Map(described!.configs.map((c) => [c.name, c]));
    expect(byName.get("retention.ms")).toMatchObject({ value: "3600000", configSource: 1 });
    expect(byName.get("compression.type")).toMatchObject({ value: "producer", configSource: 5, synonyms: [{ name: "compression.type", value: "producer", source: 5 }] });

    await admin.createPartitions({ topics: [{ name: topic, count: 3, assignments: null }] });
    const metadata = await admin.metadata({ topics: [topic] });
    expect(metadata.topics.get(topic)?.partitionsCount).toBe(3);

    const producer = new Producer({ clientId: "platformatic-producer", bootstrapBrokers: [broker.address], serializers: stringSerializers });
    closers.push(() => producer.close());
    await producer.send({ messages: [0, 1, 2, 3].map((i) => ({ topic, partition: 0, key: `k${i}`, value: `v${i}` })) });
    const [deleted] = await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 3n }] }] });
    expect(deleted!.partitions[0]).toMatchObject({ partition: 0, lowWatermark: 3n });

    const groupId = uniqueName("platformatic-idle");
    await admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 3n }] }] });
    expect((await admin.listGroups()).has(groupId)).toBe(true);
    await admin.deleteGroups({ groups: [groupId] });
    expect((await admin.listGroups()).has(groupId)).toBe(false);
  });

  test("SCRAM-SHA-512 and an idempotent producer", async () => {
    const users = new SaslUsers();
    users.add("carol", "carol-secret");
    const secured = await startBroker({ port: 0, saslUsers: users, log: brokerLog.log });
    closers.push(() => secured.stop());
    const sasl = { mechanism: "SCRAM-SHA-512" as const, username: "carol", password: "carol-secret" };
    const securedAdmin = new Admin({ clientId: "platformatic-sasl", bootstrapBrokers: [secured.address], sasl });
    closers.push(() => securedAdmin.close());
    const topic = uniqueName("platformatic-sasl");
    await securedAdmin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    const producer = new Producer({ clientId: "platformatic-idempotent", bootstrapBrokers: [secured.address], sasl, idempotent: true, serializers: stringSerializers });
    closers.push(() => producer.close());
    const result = await producer.send({ messages: [{ topic, partition: 0, key: "k", value: "once" }] });
    expect(result.offsets?.[0]).toMatchObject({ topic, partition: 0, offset: 0n });
    await producer.send({ messages: [{ topic, partition: 0, key: "k", value: "twice" }] });
    const [offsets] = await securedAdmin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    expect(offsets!.partitions[0]!.offset).toBe(2n);

    const wrong = new Admin({ clientId: "platformatic-sasl-wrong", bootstrapBrokers: [secured.address], sasl: { ...sasl, password: "nope" }, retries: 0 });
    closers.push(() => wrong.close());
    const mark = brokerLog.mark();
    await expect(wrong.listTopics()).rejects.toThrow();
    expect(brokerLog.since(mark)).toContain("SASL SCRAM-SHA-512 failed");
  });
});
