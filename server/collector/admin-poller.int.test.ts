/**
 * The admin poller against the embedded broker over TCP with real kafkajs consumer groups, and a
 * real PostgreSQL: what it stores, the lag it samples, and that only one poller polls at a time.
 */
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { evaluateGroupHealth } from "../../lib/lag-health.ts";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { BrokerLogCollector, uniqueName, waitUntil } from "../broker/test-support.ts";
import { loadConfig } from "../config.ts";
import { getFlowGraph, ingestEvents } from "../db/index.ts";
import { bareEventRow, createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startAdminPoller, type AdminPollResult } from "./admin-poller.ts";

const POLL_MS = 300;
const config = loadConfig({ EVENTSCOPE_POLL_MS: String(POLL_MS) });

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
let kafka: Kafka;
let producer: Producer;
let db: TestDatabase;
const consumers: Consumer[] = [];
const pollers: { stop(): Promise<void> }[] = [];
const pollerLog: string[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, minSessionTimeoutMs: 1000, log: brokerLog.log });
  kafka = new Kafka({ clientId: "admin-poller-test", brokers: [broker.address], logLevel: logLevel.NOTHING });
  producer = kafka.producer();
  await producer.connect();
  db = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
  await Promise.all(consumers.splice(0).map((c) => c.disconnect().catch(() => {})));
});

beforeEach(({ onTestFailed }) => {
  const mark = brokerLog.mark();
  const logMark = pollerLog.length;
  onTestFailed(() => {
    console.error(`broker log during the test:\n${brokerLog.since(mark)}`);
    console.error(`poller log during the test:\n${pollerLog.slice(logMark).join("\n")}`);
  });
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.stop();
  await db?.drop();
});

function startPoller(onPoll?: (result: AdminPollResult) => void, log = (line: string) => pollerLog.push(line)) {
  const poller = startAdminPoller({ source: { id: 1, name: "default" }, kafka, db, config, log, onPoll });
  pollers.push(poller);
  return poller;
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  } finally {
    await admin.disconnect();
  }
}

async function produce(topic: string, partition: number, count: number): Promise<void> {
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ partition, value: `m${i}` })) });
}

/** A consumer group member that reads `topic` and commits what it read (kafkajs's auto-commit). */
async function startConsumer(groupId: string, topic: string, fromBeginning = true, clientId = `${groupId}-client`) {
  const consumer = new Kafka({ clientId, brokers: [broker.address], logLevel: logLevel.NOTHING }).consumer({
    groupId,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  consumers.push(consumer);
  let read = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning });
  await consumer.run({
    eachMessage: async () => {
      read += 1;
    },
  });
  return { consumer, read: () => read };
}

async function committedOffsets(groupId: string) {
  const rows = await db.prisma.committedOffset.findMany({ where: { groupId }, orderBy: [{ topic: "asc" }, { partition: "asc" }] });
  return rows.map((r) => [r.topic, r.partition, r.committedOffset.toString()]);
}

async function lagSamples(groupId: string, topic: string, partition: number) {
  return db.prisma.lagSample.findMany({ where: { groupId, topic, partition }, orderBy: { sampledAt: "asc" } });
}

describe("admin poller", () => {
  it("stores topics with partitions and offsets, groups with members and assignments, and committed offsets", async () => {
    const topic = uniqueName("orders");
    const dlq = `${topic}.DLT`;
    const groupId = uniqueName("inventory");
    await createTopic(topic, 3);
    await createTopic(dlq, 1);
    await createTopic(`__${topic}-internal`, 1);
    await produce(topic, 0, 4);
    await produce(topic, 2, 2);
    const member = await startConsumer(groupId, topic, true, "inventory-service");
    await waitUntil("the consumer to read all 6 messages", () => member.read() === 6);

    startPoller();
    const expectedCommits = [[topic, 0, "4"], [topic, 1, "-1"], [topic, 2, "2"]];
    await waitUntil(
      "the poller to store the group's committed offsets",
      async () => JSON.stringify(await committedOffsets(groupId)) === JSON.stringify(expectedCommits),
      { describe: () => "see committed_offsets" },
    );

    const topics = await db.prisma.topic.findMany({
      where: { name: { in: [topic, dlq] } },
      include: { partitions: { orderBy: { partition: "asc" } } },
      orderBy: { name: "asc" },
    });
    expect(topics.map((t) => [t.name, t.kind, t.of, t.partitionCount, t.deletedAt])).toEqual([
      [topic, "normal", null, 3, null],
      [dlq, "dlq", topic, 1, null],
    ]);
    expect(topics[0]!.partitions.map((p) => [p.partition, p.endOffset, p.startOffset])).toEqual([
      [0, 4n, 0n],
      [1, 0n, 0n],
      [2, 2n, 0n],
    ]);
    const samples = await db.prisma.endOffsetSample.findMany({ where: { topic, partition: 0 } });
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((s) => s.endOffset === 4n)).toBe(true);

    const group = await waitUntil("the group to be stored as Stable with its member", () =>
      db.prisma.consumerGroup.findFirst({
        where: { groupId, state: "Stable", members: { some: {} } },
        include: { members: { include: { assignments: { orderBy: { partition: "asc" } } } } },
      }),
    );
    expect(group.protocolType).toBe("consumer");
    expect(group.members).toHaveLength(1);
    expect(group.members[0]!.clientId).toBe("inventory-service");
    expect(group.members[0]!.clientHost).toMatch(/127\.0\.0\.1/);
    expect(group.members[0]!.assignments.map((a) => [a.topic, a.partition])).toEqual([
      [topic, 0],
      [topic, 1],
      [topic, 2],
    ]);

    // Read-only: the only groups on this broker are the tests' own; the poller joined none.
    const { groups } = await (async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        return await admin.listGroups();
      } finally {
        await admin.disconnect();
      }
    })();
    expect(groups.map((g) => g.groupId)).toEqual([groupId]);
    // Internal topics (names starting with __) are not stored.
    expect((await db.prisma.topic.findMany()).map((t) => t.name).filter((name) => name.startsWith("__"))).toEqual([]);
  });

  it("samples growing lag for a group that stopped, zero for one that caught up, and the time lag of the oldest unread record", async () => {
    const topic = uniqueName("payments");
    const stopped = uniqueName("stopped");
    const live = uniqueName("live");
    await createTopic(topic, 1);
    await produce(topic, 0, 3);
    const stoppedMember = await startConsumer(stopped, topic);
    const liveMember = await startConsumer(live, topic);
    await waitUntil("both groups to read the first 3", () => stoppedMember.read() === 3 && liveMember.read() === 3);
    await waitUntil("both groups to commit 3", async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const offsets = await Promise.all([stopped, live].map((groupId) => admin.fetchOffsets({ groupId, topics: [topic] })));
        return offsets.every((o) => o[0]?.partitions[0]?.offset === "3");
      } finally {
        await admin.disconnect();
      }
    });
    await stoppedMember.consumer.disconnect();

    // The record the stopped group will read next (offset 3), as the collector would store it,
    // with a timestamp an hour back: its time lag is then about an hour.
    const hourAgo = new Date(Date.now() - 3_600_000);
    await ingestEvents(db, [bareEventRow({ topic, partition: 0, offset: 3, timestamp: hourAgo })]);

    startPoller();
    await produce(topic, 0, 2);
    await waitUntil("a sample of the stopped group with lag 2", async () => (await lagSamples(stopped, topic, 0)).some((s) => s.offsetLag === 2n));
    await produce(topic, 0, 3);
    await waitUntil("a sample of the stopped group with lag 5", async () => (await lagSamples(stopped, topic, 0)).some((s) => s.offsetLag === 5n));
    await waitUntil("the live group to catch up to 8", async () => {
      const samples = await lagSamples(live, topic, 0);
      const last = samples.at(-1);
      return last?.committedOffset === 8n && last.offsetLag === 0n ? last : undefined;
    });

    const stoppedSamples = await lagSamples(stopped, topic, 0);
    // Successive samples: lag never shrinks while nobody consumes, and it grew from 2 to 5.
    const lags = stoppedSamples.map((s) => s.offsetLag!);
    expect(lags.every((lag, i) => i === 0 || lag >= lags[i - 1]!)).toBe(true);
    expect(lags).toContain(2n);
    expect(lags.at(-1)).toBe(5n);
    expect(stoppedSamples.every((s) => s.committedOffset === 3n)).toBe(true);
    const last = stoppedSamples.at(-1)!;
    expect(last.endOffset).toBe(8n);
    // now − timestamp of the record at the committed offset (3), give or take the test's pace.
    expect(Number(last.timeLagMs)).toBeGreaterThanOrEqual(3_600_000);
    expect(Number(last.timeLagMs)).toBeLessThan(3_600_000 + 60_000);
    const liveLast = (await lagSamples(live, topic, 0)).at(-1)!;
    expect(liveLast.timeLagMs).toBe(0n);

    // Health over the samples: the stopped group is Empty with lag > 0: STOP, naming the partition.
    const state = (await db.prisma.consumerGroup.findUniqueOrThrow({ where: { sourceId_groupId: { sourceId: 1, groupId: stopped } } })).state;
    expect(state).toBe("Empty");
    const health = evaluateGroupHealth(state, [{ topic, partition: 0, samples: stoppedSamples.map((s) => ({ at: s.sampledAt, committedOffset: s.committedOffset, offsetLag: s.offsetLag })) }]);
    expect(health.status).toBe("STOP");
    expect(health.reason).toBe(`partition 0 of ${topic}: the group has no active members (state Empty) while lag is 5`);
    // The same, end to end through the flow graph's query.
    const graph = await getFlowGraph(db);
    expect(graph.groups.find((g) => g.groupId === stopped)).toMatchObject({ state: "Empty", totalLag: "5", health: { status: "STOP" } });
    expect(graph.groups.find((g) => g.groupId === live)).toMatchObject({ totalLag: "0", health: { status: "OK" } });
  });

  it("records an unknown lag, not 0, for an assigned partition with nothing committed", async () => {
    const topic = uniqueName("shipments");
    const groupId = uniqueName("fresh");
    await createTopic(topic, 1);
    await produce(topic, 0, 5);
    // From the end: the member is assigned partition 0 but has read and committed nothing.
    await startConsumer(groupId, topic, false);
    startPoller();
    const sample = await waitUntil("a lag sample of the assigned partition", async () =>
      (await lagSamples(groupId, topic, 0)).find((s) => s.endOffset === 5n),
    );
    expect(sample.committedOffset).toBeNull();
    expect(sample.offsetLag).toBeNull();
    expect(sample.timeLagMs).toBeNull();
    expect(await committedOffsets(groupId)).toEqual([[topic, 0, "-1"]]);
  });

  it("marks a deleted topic deleted and keeps polling without a failed poll", async () => {
    const doomed = uniqueName("doomed");
    const kept = uniqueName("kept");
    await createTopic(doomed, 2);
    await createTopic(kept, 1);
    const log: string[] = [];
    let polls = 0;
    startPoller(() => (polls += 1), (line) => log.push(line));
    await waitUntil("both topics to be stored", async () => (await db.prisma.topic.count({ where: { name: { in: [doomed, kept] }, deletedAt: null } })) === 2);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [doomed] });
    } finally {
      await admin.disconnect();
    }
    await waitUntil("the deleted topic to be marked deleted", () => db.prisma.topic.findFirst({ where: { name: doomed, deletedAt: { not: null } } }));
    await produce(kept, 0, 3);
    const after = polls;
    await waitUntil("3 more polls that see the new end offset", async () =>
      polls >= after + 3 && (await db.prisma.partition.findUnique({ where: { sourceId_topic_partition: { sourceId: 1, topic: kept, partition: 0 } } }))?.endOffset === 3n,
    );
    expect(log.filter((line) => line.includes("poll failed"))).toEqual([]);
  });

  it("lets one poller poll at a time; another takes over when it stops", async () => {
    let firstPolls = 0;
    let secondPolls = 0;
    const first = startPoller(() => (firstPolls += 1));
    await waitUntil("the first poller to poll", () => firstPolls >= 2);
    const secondLog: string[] = [];
    startPoller(() => (secondPolls += 1), (line) => secondLog.push(line));
    await waitUntil("the second poller to stand by", () => secondLog.some((l) => l.includes("standing by")));
    const before = firstPolls;
    await waitUntil("the first poller to poll 3 more times", () => firstPolls >= before + 3);
    expect(secondPolls).toBe(0);
    await first.stop();
    await waitUntil("the second poller to take over", () => secondPolls >= 2);
  });

  it("logs a failed poll and polls again once the broker is back", async () => {
    const flaky = await startBroker({ port: 0, minSessionTimeoutMs: 1000, log: () => {} });
    const port = flaky.port;
    const flakyKafka = new Kafka({ clientId: "flaky", brokers: [flaky.address], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const log: string[] = [];
    let polls = 0;
    // A database of its own: this cluster's snapshots would mark the other tests' topics deleted.
    const ownDb = await createTestDatabase();
    const poller = startAdminPoller({ source: { id: 1, name: "default" }, kafka: flakyKafka, db: ownDb, config, log: (line) => log.push(line), onPoll: () => (polls += 1) });
    pollers.push(poller);
    await waitUntil("a first poll", () => polls >= 1);
    await flaky.stop();
    await waitUntil("a failed poll to be logged", () => log.some((l) => l.includes("poll failed")), { timeoutMs: 30_000 });
    const restarted = await startBroker({ port, minSessionTimeoutMs: 1000, log: () => {} });
    try {
      const failedAt = polls;
      await waitUntil("polling to resume", () => polls > failedAt, { timeoutMs: 30_000 });
      expect(log.some((l) => /polling again after \d+ failed poll/.test(l))).toBe(true);
    } finally {
      await poller.stop();
      await restarted.stop();
      await ownDb.drop();
    }
  });
});
