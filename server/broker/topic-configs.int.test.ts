/**
 * Topic and broker configs as Kafka serves them: CreateTopics accepts every documented topic
 * config and refuses a bad value with INVALID_CONFIG naming it; DescribeConfigs reports every topic
 * config with its default, source and synonyms, and the broker's configs under Kafka's names;
 * the configs the broker acts on take effect.
 */
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from "kafkajs";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { ErrorCode } from "./protocol/errors.ts";
import { createTopics, describeConfigs } from "./protocol/messages.ts";
import { RawClient } from "./raw-client.ts";
import { makeTempDir, uniqueName, waitUntil } from "./test-support.ts";
import { ConfigSource, TOPIC_CONFIGS } from "./topic-configs.ts";

let broker: RunningBroker;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: () => {} });
  kafka = new Kafka({ clientId: "topic-configs-test", brokers: [broker.address], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

/** CreateTopics v4 for one topic with the given configs: the topic's error code and message. */
async function createWithConfigs(address: string, name: string, configs: Record<string, string>): Promise<{ errorCode: number; errorMessage: string | null }> {
  const raw = await RawClient.connect(address);
  try {
    const r = await raw.call(createTopics, 4, {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    return (r.topics as { errorCode: number; errorMessage: string | null }[])[0]!;
  } finally {
    raw.destroy();
  }
}

async function describeTopic(name: string, configNames?: string[]) {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name, ...(configNames ? { configNames } : {}) }],
    includeSynonyms: true,
  });
  return resources[0]!;
}

describe("topic configs", () => {
  test("CreateTopics accepts the configs real tooling sets, and DescribeConfigs reports them as the topic's own", async () => {
    const topic = uniqueName("cfg-accept");
    const given = {
      "segment.ms": "3600000",
      "delete.retention.ms": "1000",
      "min.compaction.lag.ms": "0",
      "max.compaction.lag.ms": "86400000",
      "message.timestamp.difference.max.ms": "60000",
      "unclean.leader.election.enable": "false",
      preallocate: "true",
      "cleanup.policy": "compact,delete",
      "min.cleanable.dirty.ratio": "0.25",
      "compression.type": "zstd",
      "leader.replication.throttled.replicas": "0:0",
    };
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: Object.entries(given).map(([name, value]) => ({ name, value })) }] })).toBe(true);

    const resource = await describeTopic(topic);
    expect(resource.errorCode).toBe(0);
    const byName = new Map(resource.configEntries.map((e) => [e.configName, e]));
    // Every topic config Kafka documents, not a handful.
    expect([...byName.keys()].sort()).toEqual([...TOPIC_CONFIGS.keys()].sort());
    expect(byName.size).toBeGreaterThanOrEqual(35);
    for (const [name, value] of Object.entries(given)) {
      expect(byName.get(name), name).toMatchObject({ configValue: value, isDefault: false, configSource: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    }
    expect(byName.get("retention.ms")).toMatchObject({ configValue: "604800000", isDefault: true, configSource: ConfigSource.DEFAULT_CONFIG });
    expect(byName.get("segment.bytes")).toMatchObject({ configValue: "1073741824", isDefault: true });
  });

  test("a value of the wrong type or out of range is INVALID_CONFIG naming the config, and no topic is created", async () => {
    const cases: [string, string][] = [
      ["segment.ms", "0"],
      ["segment.ms", "soon"],
      ["preallocate", "maybe"],
      ["cleanup.policy", "compact,archive"],
      ["min.cleanable.dirty.ratio", "1.5"],
      ["max.message.bytes", "99999999999"],
      ["message.timestamp.type", "WallClock"],
      ["compression.type", "brotli"],
      ["no.such.config", "1"],
    ];
    for (const [name, value] of cases) {
      const topic = uniqueName("cfg-bad");
      const r = await createWithConfigs(broker.address, topic, { [name]: value });
      expect(r.errorCode, `${name}=${value}`).toBe(ErrorCode.INVALID_CONFIG);
      expect(r.errorMessage, `${name}=${value}`).toContain(name);
    }
    const conflict = await createWithConfigs(broker.address, uniqueName("cfg-bad"), { "min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5" });
    expect(conflict.errorCode).toBe(ErrorCode.INVALID_CONFIG);
    expect(conflict.errorMessage).toContain("min.compaction.lag.ms");
    const { topics } = await admin.fetchTopicMetadata({ topics: [] });
    expect(topics.filter((t) => t.name.startsWith("cfg-bad"))).toEqual([]);
  });

  test("synonyms, when asked: the topic's own value first, then the server default under the broker property's name", async () => {
    const topic = uniqueName("cfg-synonyms");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: "retention.ms", value: "3600000" }] }] });
    const resource = await describeTopic(topic, ["compression.type", "retention.ms"]);
    const byName = new Map(resource.configEntries.map((e) => [e.configName, e]));
    expect(byName.get("compression.type")!.configSynonyms).toEqual([{ configName: "compression.type", configValue: "producer", configSource: ConfigSource.DEFAULT_CONFIG }]);
    expect(byName.get("retention.ms")!.configSynonyms).toEqual([
      { configName: "retention.ms", configValue: "3600000", configSource: ConfigSource.DYNAMIC_TOPIC_CONFIG },
      { configName: "log.retention.hours", configValue: "168", configSource: ConfigSource.DEFAULT_CONFIG },
    ]);

    // Without includeSynonyms there are none (DescribeConfigs v1+ over the wire).
    const raw = await RawClient.connect(broker.address);
    try {
      const r = await raw.call(describeConfigs, 3, {
        resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ["compression.type"] }],
        includeSynonyms: false,
        includeDocumentation: false,
      });
      const config = (r.results as { configs: { name: string; synonyms: unknown[]; configType: number }[] }[])[0]!.configs[0]!;
      expect(config).toMatchObject({ name: "compression.type", synonyms: [], configType: 2 });
    } finally {
      raw.destroy();
    }
  });

  test("broker configs carry Kafka's names and this node's values", async () => {
    const names = ["default.replication.factor", "num.partitions", "auto.create.topics.enable", "log.dirs", "offsets.topic.replication.factor", "min.insync.replicas"];
    const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: "0", configNames: names }], includeSynonyms: false });
    const values = Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(values).toMatchObject({
      "default.replication.factor": "1",
      "num.partitions": "3",
      "auto.create.topics.enable": "true",
      "offsets.topic.replication.factor": "1",
      "min.insync.replicas": "1",
    });
    expect(values["log.dirs"]).toMatch(/memory/);

    // With a data directory, log.dirs is that directory.
    const dir = makeTempDir("broker-configs");
    const onDisk = await startBroker({ port: 0, dataDir: dir, partitions: 2, log: () => {} });
    const other = new Kafka({ clientId: "topic-configs-test", brokers: [onDisk.address], logLevel: logLevel.NOTHING }).admin();
    try {
      await other.connect();
      const described = await other.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: "0", configNames: ["log.dirs", "num.partitions"] }], includeSynonyms: false });
      const v = Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      expect(v).toEqual({ "log.dirs": path.resolve(dir), "num.partitions": "2" });
    } finally {
      await other.disconnect();
      await onDisk.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("message.timestamp.type=LogAppendTime: consumers see the broker's time, not the producer's", async () => {
    const topic = uniqueName("cfg-log-append");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: "message.timestamp.type", value: "LogAppendTime" }] }] });
    const producer = kafka.producer();
    await producer.connect();
    const before = Date.now();
    const [ack] = await producer.send({ topic, messages: [{ value: "stamped", timestamp: "1000" }] });
    await producer.disconnect();
    expect(Number(ack!.logAppendTime)).toBeGreaterThanOrEqual(before);

    const consumer = kafka.consumer({ groupId: uniqueName("cfg-log-append"), maxWaitTimeInMs: 100 });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.timestamp) });
    try {
      await waitUntil("the message to be consumed", () => seen.length === 1);
    } finally {
      await consumer.disconnect();
    }
    expect(Number(seen[0])).toBe(Number(ack!.logAppendTime));
  });
});
