/**
 * The admin operations real tools use to change what exists, with kafkajs over TCP: growing a
 * topic (CreatePartitions), deleting its oldest records (DeleteRecords), deleting a group
 * (DeleteGroups), and altering topic configs (AlterConfigs and IncrementalAlterConfigs), with
 * the changes kept across a restart when the broker has a data directory.
 */
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from "kafkajs";
import fs from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { ErrorCode } from "./protocol/errors.ts";
import { incrementalAlterConfigs } from "./protocol/messages.ts";
import { RawClient } from "./raw-client.ts";
import { makeTempDir, uniqueName, waitUntil } from "./test-support.ts";

let dataDir: string;
let broker: RunningBroker;
let kafka: Kafka;
let admin: Admin;
const cleanups: (() => Promise<void>)[] = [];

async function connect(b: RunningBroker): Promise<{ kafka: Kafka; admin: Admin }> {
  const k = new Kafka({ clientId: "admin-operations-test", brokers: [b.address], logLevel: logLevel.NOTHING });
  const a = k.admin();
  await a.connect();
  return { kafka: k, admin: a };
}

beforeAll(async () => {
  dataDir = makeTempDir("admin-operations");
  broker = await startBroker({ port: 0, dataDir, log: () => {} });
  ({ kafka, admin } = await connect(broker));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function produce(topic: string, messages: { partition: number; value: string }[], k = kafka): Promise<void> {
  const producer = k.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Reads a partition from its earliest offset with a fresh group: the values in order. */
async function readAll(topic: string, expected: number, k = kafka): Promise<{ partition: number; offset: number; value: string }[]> {
  const consumer = k.consumer({ groupId: uniqueName("admin-ops-reader"), maxWaitTimeInMs: 100 });
  const seen: { partition: number; offset: number; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void seen.push({ partition, offset: Number(message.offset), value: message.value!.toString() }) });
    await waitUntil(`${expected} messages from ${topic}`, () => seen.length >= expected, { describe: () => seen });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe("admin operations", () => {
  test("createPartitions grows a topic; producers and metadata see the new partitions; shrinking is refused", async () => {
    const topic = uniqueName("grow");
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3, 4]);
    await produce(topic, [{ partition: 4, value: "in-a-new-partition" }]);
    expect(await readAll(topic, 1)).toEqual([{ partition: 4, offset: 0, value: "in-a-new-partition" }]);

    await expect(admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] })).rejects.toMatchObject({ type: "INVALID_PARTITIONS" });
    expect((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions).toHaveLength(5);
  });

  test("deleteTopicRecords moves the earliest offset: consumers from the beginning start there, the new low watermark survives a restart", async () => {
    const topic = uniqueName("trim");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    for (let i = 0; i < 5; i++) await produce(topic, [{ partition: 0, value: `m${i}` }]);
    await admin.fetchTopicMetadata({ topics: [topic] }); // kafkajs looks the partition's leader up in its cached metadata
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "3" }] });
    expect(await admin.fetchTopicOffsets(topic)).toEqual([expect.objectContaining({ partition: 0, low: "3", high: "5" })]);
    expect((await readAll(topic, 2)).map((m) => m.value)).toEqual(["m3", "m4"]);

    // A second broker on the same data directory (the first one stopped) keeps the start.
    await admin.disconnect();
    await broker.stop();
    broker = await startBroker({ port: 0, dataDir, log: () => {} });
    ({ kafka, admin } = await connect(broker));
    expect(await admin.fetchTopicOffsets(topic)).toEqual([expect.objectContaining({ partition: 0, low: "3", high: "5" })]);
    expect((await readAll(topic, 2)).map((m) => m.value)).toEqual(["m3", "m4"]);
  });

  test("deleteGroups removes an empty group and its offsets; a group with members is refused with NON_EMPTY_GROUP", async () => {
    const topic = uniqueName("del-group");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const idle = uniqueName("idle-group");
    await admin.setOffsets({ groupId: idle, topic, partitions: [{ partition: 0, offset: "0" }] });
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(idle);
    const [deleted] = await admin.deleteGroups([idle]);
    expect(deleted).toMatchObject({ groupId: idle, errorCode: 0 });
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(idle);
    expect((await admin.fetchOffsets({ groupId: idle, topics: [topic] }))[0]!.partitions[0]!.offset).toBe("-1");

    const busy = uniqueName("busy-group");
    const consumer = kafka.consumer({ groupId: busy, maxWaitTimeInMs: 100 });
    cleanups.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    await waitUntil("the consumer to join", async () => (await admin.describeGroups([busy])).groups[0]!.state === "Stable");
    const refused = await admin.deleteGroups([busy]).catch((e: { groups?: { errorCode: number }[] }) => e.groups ?? e);
    expect(refused).toEqual([expect.objectContaining({ errorCode: ErrorCode.NON_EMPTY_GROUP })]);
  });

  test("alterConfigs replaces a topic's configs; the new max.message.bytes takes effect at once", async () => {
    const topic = uniqueName("alter");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: "segment.ms", value: "1000" }] }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "max.message.bytes", value: "200" }] }] });
    const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["max.message.bytes", "segment.ms"] }], includeSynonyms: false });
    const values = Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, [e.configValue, e.isDefault]]));
    expect(values).toEqual({ "max.message.bytes": ["200", false], "segment.ms": ["604800000", true] });
    await expect(produce(topic, [{ partition: 0, value: "x".repeat(500) }])).rejects.toThrow();
  });

  test("incrementalAlterConfigs sets, appends, subtracts and deletes single keys, and refuses a bad value without changing anything", async () => {
    const topic = uniqueName("incremental");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: "retention.ms", value: "60000" }] }] });
    const raw = await RawClient.connect(broker.address);
    cleanups.push(async () => raw.destroy());
    const alter = async (configs: { name: string; configOperation: number; value: string | null }[]) => {
      const r = await raw.call(incrementalAlterConfigs, 0, { resources: [{ resourceType: 2, resourceName: topic, configs }], validateOnly: false });
      return (r.responses as { errorCode: number; errorMessage: string | null }[])[0]!;
    };
    const current = async () => {
      const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["retention.ms", "cleanup.policy", "segment.ms"] }], includeSynonyms: false });
      return Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    };
    expect(await alter([{ name: "segment.ms", configOperation: 0, value: "5000" }])).toMatchObject({ errorCode: 0 });
    expect(await alter([{ name: "cleanup.policy", configOperation: 2, value: "compact" }])).toMatchObject({ errorCode: 0 });
    expect(await current()).toEqual({ "retention.ms": "60000", "cleanup.policy": "delete,compact", "segment.ms": "5000" });
    expect(await alter([{ name: "cleanup.policy", configOperation: 3, value: "delete" }, { name: "retention.ms", configOperation: 1, value: null }])).toMatchObject({ errorCode: 0 });
    expect(await current()).toEqual({ "retention.ms": "604800000", "cleanup.policy": "compact", "segment.ms": "5000" });

    const bad = await alter([{ name: "segment.ms", configOperation: 0, value: "7000" }, { name: "retention.ms", configOperation: 0, value: "-5" }]);
    expect(bad.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(bad.errorMessage).toContain("retention.ms");
    expect((await alter([{ name: "segment.ms", configOperation: 2, value: "1" }])).errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(await current()).toEqual({ "retention.ms": "604800000", "cleanup.policy": "compact", "segment.ms": "5000" });
  });

  test("retention.bytes and retention.ms set on a topic delete its oldest records", async () => {
    const bySize = uniqueName("retain-bytes");
    await admin.createTopics({ topics: [{ topic: bySize, numPartitions: 1, configEntries: [{ name: "retention.bytes", value: "1" }] }] });
    for (let i = 0; i < 3; i++) await produce(bySize, [{ partition: 0, value: `b${i}` }]);
    // Whole batches go from the front while the log is over the limit: the last one is over it too.
    await waitUntil("retention.bytes to trim the log", async () => (await admin.fetchTopicOffsets(bySize))[0]!.low === "3");

    const byTime = uniqueName("retain-ms");
    await admin.createTopics({ topics: [{ topic: byTime, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: byTime, messages: [{ partition: 0, value: "old", timestamp: String(Date.now() - 3_600_000) }] });
    await producer.send({ topic: byTime, messages: [{ partition: 0, value: "new" }] });
    await producer.disconnect();
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: byTime, configEntries: [{ name: "retention.ms", value: "60000" }] }] });
    await waitUntil("retention.ms to delete the hour-old record", async () => (await admin.fetchTopicOffsets(byTime))[0]!.low === "1");
    expect((await readAll(byTime, 1)).map((m) => m.value)).toEqual(["new"]);
  });
});
