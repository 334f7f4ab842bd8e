/**
 * The kafkajs admin client against the embedded broker: topics (create, list, metadata, delete),
 * offsets (per partition, by timestamp, a group's committed ones, reset and set) and groups
 * (list, describe while a member is consuming).
 */
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer } from "kafkajs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { BrokerLogCollector, uniqueName, waitUntil } from "./test-support.ts";

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
let kafka: Kafka;
let admin: Admin;
const started: Consumer[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, minSessionTimeoutMs: 1000, log: brokerLog.log });
  kafka = new Kafka({ clientId: "kafkajs-admin-test", brokers: [broker.address], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.disconnect().catch(() => {})));
});

// On failure, show what the broker logged during the test.
beforeEach(({ onTestFailed }) => {
  const mark = brokerLog.mark();
  onTestFailed(() => console.error(`broker log during the test:\n${brokerLog.since(mark)}`));
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

async function produce(topic: string, messages: { partition: number; value: string; timestamp?: string }[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Starts a group member that records what it reads; `fromBeginning` only matters without committed offsets. */
async function startConsumer(groupId: string, topic: string, fromBeginning: boolean, clientKafka = kafka) {
  const consumer = clientKafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  started.push(consumer);
  const received: { partition: number; offset: number; value: string }[] = [];
  let assigned: number[] | null = null;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? "<null>" });
    },
  });
  return { consumer, received, assigned: () => assigned };
}

async function committed(groupId: string, topic: string): Promise<Record<number, string>> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
}

async function waitForCommitted(groupId: string, topic: string, expected: Record<number, string>): Promise<void> {
  let last: unknown = null;
  await waitUntil(
    `${groupId} to commit ${JSON.stringify(expected)}`,
    async () => {
      const now = await committed(groupId, topic);
      last = now;
      return Object.entries(expected).every(([p, o]) => now[Number(p)] === o);
    },
    { intervalMs: 100, describe: () => last },
  );
}

async function waitForEmptyGroup(groupId: string): Promise<void> {
  await waitUntil(`group ${groupId} to be empty`, async () => {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.state === "Empty";
  });
}

const fiveEach = (partitions: number[]) => partitions.flatMap((partition) => [0, 1, 2, 3, 4].map((i) => ({ partition, value: `p${partition}-${i}` })));

describe("admin: topics", () => {
  test("createTopics creates a topic once; listTopics and fetchTopicMetadata show it", async () => {
    const topic = uniqueName("admin-create");
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true })).toBe(true);
    // Creating it again is not an error for kafkajs, but reports that nothing was created.
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })).toBe(false);

    expect(await admin.listTopics()).toContain(topic);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics).toHaveLength(1);
    expect(topics[0]!.name).toBe(topic);
    expect([...topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId).map((p) => ({ ...p, offlineReplicas: p.offlineReplicas ?? [] }))).toEqual(
      [0, 1, 2, 3].map((partitionId) => ({
        partitionErrorCode: 0,
        partitionId,
        leader: 0,
        replicas: [0],
        isr: [0],
        offlineReplicas: [],
      })),
    );
  });

  test("createTopics refuses an invalid topic name", async () => {
    await expect(admin.createTopics({ topics: [{ topic: "not a valid name!" }] })).rejects.toThrow();
    expect(await admin.listTopics()).not.toContain("not a valid name!");
  });

  test("deleteTopics removes the topic from listTopics", async () => {
    const keep = uniqueName("admin-keep");
    const doomed = uniqueName("admin-delete");
    expect(await admin.createTopics({ topics: [{ topic: keep }, { topic: doomed }], waitForLeaders: true })).toBe(true);
    await produce(doomed, [{ partition: 0, value: "soon gone" }]);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining([keep, doomed]));

    await admin.deleteTopics({ topics: [doomed] });
    const after = await admin.listTopics();
    expect(after).not.toContain(doomed);
    expect(after).toContain(keep);
  });
});

// kafkajs's resetOffsets and setOffsets run a group member of their own that stops after its
// first fetch round; with every partition paused, kafkajs spends that round asleep for its
// default maxWaitTime (5 s). That client-side wait makes the two tests using them the slow ones.
describe("admin: offsets", () => {
  test("fetchTopicOffsets reports each partition's low and high offsets", async () => {
    const topic = uniqueName("admin-offsets");
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await produce(topic, [
      { partition: 0, value: "a" },
      { partition: 0, value: "b" },
      { partition: 0, value: "c" },
      { partition: 1, value: "d" },
    ]);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect([...offsets].sort((a, b) => a.partition - b.partition)).toEqual([
      { partition: 0, offset: "3", high: "3", low: "0" },
      { partition: 1, offset: "1", high: "1", low: "0" },
      { partition: 2, offset: "0", high: "0", low: "0" },
    ]);
  });

  test("fetchTopicOffsetsByTimestamp finds the first message at or after the timestamp", async () => {
    const topic = uniqueName("admin-by-time");
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const t = Date.now() - 3_600_000;
    // Three records in one batch, then one more in a second batch.
    await produce(topic, [
      { partition: 0, value: "t+0", timestamp: String(t) },
      { partition: 0, value: "t+1000", timestamp: String(t + 1000) },
      { partition: 0, value: "t+2000", timestamp: String(t + 2000) },
    ]);
    await produce(topic, [{ partition: 0, value: "t+3000", timestamp: String(t + 3000) }]);

    const at = async (ts: number) => (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).map(({ partition, offset }) => ({ partition, offset }));
    expect(await at(t - 1)).toEqual([{ partition: 0, offset: "0" }]);
    expect(await at(t)).toEqual([{ partition: 0, offset: "0" }]);
    expect(await at(t + 500)).toEqual([{ partition: 0, offset: "1" }]);
    expect(await at(t + 2000)).toEqual([{ partition: 0, offset: "2" }]);
    expect(await at(t + 2500)).toEqual([{ partition: 0, offset: "3" }]);
    // Later than every message: kafkajs falls back to the end of the partition.
    expect(await at(t + 10_000)).toEqual([{ partition: 0, offset: "4" }]);
  });

  test("fetchOffsets shows a group's commits; resetOffsets is refused while it runs and rewinds it once it is empty", async () => {
    const topic = uniqueName("admin-group-offsets");
    const groupId = uniqueName("admin-group");
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await produce(topic, fiveEach([0, 1]));

    const first = await startConsumer(groupId, topic, true);
    await waitForCommitted(groupId, topic, { 0: "5", 1: "5" });
    expect(first.received).toHaveLength(10);
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(fetched?.topic).toBe(topic);
    expect([...(fetched?.partitions ?? [])].sort((a, b) => a.partition - b.partition).map(({ partition, offset }) => ({ partition, offset }))).toEqual([
      { partition: 0, offset: "5" },
      { partition: 1, offset: "5" },
    ]);

    // A running group's offsets cannot be reset.
    await expect(admin.resetOffsets({ groupId, topic, earliest: true })).rejects.toThrow(/no running instances/);
    await first.consumer.disconnect();
    await waitForEmptyGroup(groupId);

    await admin.resetOffsets({ groupId, topic, earliest: true });
    // kafkajs commits the logical offset -2 (earliest), and Kafka stores it as given.
    expect(await committed(groupId, topic)).toEqual({ 0: "-2", 1: "-2" });
    // Without the reset this consumer would resume at 5; with it, it reads everything again.
    const rewound = await startConsumer(groupId, topic, true);
    await waitForCommitted(groupId, topic, { 0: "5", 1: "5" });
    expect(rewound.received.map((m) => m.value).sort()).toEqual(fiveEach([0, 1]).map((m) => m.value).sort());
  });

  test("setOffsets moves where an empty group restarts", async () => {
    const topic = uniqueName("admin-set-offsets");
    const groupId = uniqueName("admin-set");
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await produce(topic, fiveEach([0, 1]));
    // No offsets were ever committed: without setOffsets this consumer would start at 0.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "3" }, { partition: 1, offset: "1" }] });
    expect(await committed(groupId, topic)).toEqual({ 0: "3", 1: "1" });
    const moved = await startConsumer(groupId, topic, true);
    await waitForCommitted(groupId, topic, { 0: "5", 1: "5" });
    expect(moved.received.map((m) => `${m.partition}@${m.offset}`).sort()).toEqual(["0@3", "0@4", "1@1", "1@2", "1@3", "1@4"]);
  });
});

describe("admin: groups", () => {
  test("listGroups and describeGroups show a consuming member with its client, host, subscription and assignment", async () => {
    const topic = uniqueName("admin-describe");
    const groupId = uniqueName("admin-describe");
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const clientId = uniqueName("describe-me");
    const memberKafka = new Kafka({ clientId, brokers: [broker.address], logLevel: logLevel.NOTHING });
    const member = await startConsumer(groupId, topic, true, memberKafka);
    await waitUntil("the member to be assigned every partition", () => JSON.stringify(member.assigned()) === "[0,1,2]");

    const { groups: listed } = await admin.listGroups();
    expect(listed).toContainEqual({ groupId, protocolType: "consumer" });

    const { groups } = await admin.describeGroups([groupId]);
    expect(groups).toHaveLength(1);
    const g = groups[0]!;
    expect({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, protocol: g.protocol }).toEqual({
      groupId,
      state: "Stable",
      protocolType: "consumer",
      protocol: "RoundRobinAssigner",
    });
    expect(g.members).toHaveLength(1);
    const m = g.members[0]!;
    expect(m.clientId).toBe(clientId);
    expect(m.clientHost).toBe("/127.0.0.1");
    expect(m.memberId).toMatch(new RegExp(`^${clientId}-`));
    expect(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics).toEqual([topic]);
    const assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment;
    expect(Object.keys(assignment ?? {})).toEqual([topic]);
    expect([...(assignment?.[topic] ?? [])].sort()).toEqual([0, 1, 2]);

    // An unknown group is described as dead with no members, not as an error.
    const { groups: unknown } = await admin.describeGroups([uniqueName("no-such-group")]);
    expect(unknown[0]?.state).toBe("Dead");
    expect(unknown[0]?.members).toEqual([]);
  });
});
