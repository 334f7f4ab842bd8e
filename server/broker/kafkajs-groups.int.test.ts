/**
 * Consumer groups with real kafkajs consumers: partitions are shared without overlap, every
 * message is consumed once, a member that leaves or dies hands its partitions over, and committed
 * offsets survive a restart of the consumer.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { Kafka, logLevel, type Admin, type Consumer, type ConsumerConfig } from "kafkajs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { BrokerLogCollector, uniqueName, waitUntil } from "./test-support.ts";

/** Small timeouts keep rebalances quick; the broker is started with a 1 s minimum session. */
const MEMBER_TIMING = { sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200 } as const;

interface Member {
  consumer: Consumer;
  /** From the member's latest GROUP_JOIN event: its id, the group's leader and the partitions it was given. */
  memberId: string | null;
  leaderId: string | null;
  partitions: number[] | null;
  received: { partition: number; offset: string; value: string }[];
}

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
let kafka: Kafka;
let admin: Admin;
const started: Consumer[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, minSessionTimeoutMs: 1000, log: brokerLog.log });
  kafka = new Kafka({ clientId: "kafkajs-groups", brokers: [broker.address], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
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

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  expect(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true })).toBe(true);
}

/** Starts a consumer in this process that records its assignment and every message it gets. */
async function startMember(groupId: string, topic: string, config: Partial<ConsumerConfig> = {}, fromBeginning = true, messageDelayMs = 0): Promise<Member> {
  const consumer = kafka.consumer({ groupId, ...MEMBER_TIMING, ...config });
  started.push(consumer);
  const member: Member = { consumer, memberId: null, leaderId: null, partitions: null, received: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    member.memberId = e.payload.memberId;
    member.leaderId = e.payload.leaderId;
    member.partitions = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      member.received.push({ partition, offset: message.offset, value: message.value?.toString() ?? "<null>" });
      // A slow consumer: it is still working through its batches when the group rebalances.
      if (messageDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, messageDelayMs));
    },
  });
  return member;
}

async function produce(topic: string, messages: { partition: number; value: string }[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: messages.map((m) => ({ ...m, key: `p${m.partition}` })) });
  } finally {
    await producer.disconnect();
  }
}

/** The group as describeGroups reports it, members sorted by id. */
async function describeGroup(groupId: string): Promise<{ state: string; memberIds: string[] }> {
  const { groups } = await admin.describeGroups([groupId]);
  const g = groups[0]!;
  return { state: g.state, memberIds: g.members.map((m) => m.memberId).sort() };
}

/** Waits until the committed offsets of `groupId` on `topic` equal `expected` (partition → offset). */
async function waitForCommitted(groupId: string, topic: string, expected: Record<number, number>): Promise<void> {
  let last: unknown = null;
  await waitUntil(
    `${groupId} to commit ${JSON.stringify(expected)}`,
    async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = Object.fromEntries((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      last = committed;
      return Object.entries(expected).every(([p, o]) => committed[Number(p)] === o);
    },
    { intervalMs: 200, describe: () => last },
  );
}

const messagesFor = (prefix: string, perPartition: number) =>
  [0, 1, 2].flatMap((partition) => Array.from({ length: perPartition }, (_, i) => ({ partition, value: `${prefix}-p${partition}-${i}` })));

describe("consumer groups", () => {
  test("two members split three partitions, consume each message once, and the one left takes over after the other leaves", async () => {
    const topic = uniqueName("group-split");
    const groupId = uniqueName("group-split");
    await createTopic(topic, 3);
    const a = await startMember(groupId, topic);
    const b = await startMember(groupId, topic);

    // Both members' latest assignments together cover the topic exactly once.
    await waitUntil(
      "the two members to share the three partitions",
      () => {
        if (!a.partitions || !b.partitions || a.memberId === b.memberId) return false;
        const all = [...a.partitions, ...b.partitions].sort();
        return a.partitions.length > 0 && b.partitions.length > 0 && JSON.stringify(all) === "[0,1,2]";
      },
      { describe: () => ({ a: a.partitions, b: b.partitions }) },
    );
    const group = await describeGroup(groupId);
    expect(group).toEqual({ state: "Stable", memberIds: [a.memberId, b.memberId].sort() });

    const firstWave = messagesFor("first", 4);
    await produce(topic, firstWave);
    await waitForCommitted(groupId, topic, { 0: 4, 1: 4, 2: 4 });
    const consumed = [...a.received, ...b.received];
    expect(consumed.map((m) => m.value).sort()).toEqual(firstWave.map((m) => m.value).sort());
    // Each member got exactly the partitions it was assigned.
    expect(new Set(a.received.map((m) => m.partition))).toEqual(new Set(a.partitions));
    expect(new Set(b.received.map((m) => m.partition))).toEqual(new Set(b.partitions));

    // b leaves the group (disconnect waits for the LeaveGroup answer): it is gone at once, not
    // after its session timeout, and a is given every partition.
    await b.consumer.disconnect();
    expect((await describeGroup(groupId)).memberIds).toEqual([a.memberId]);
    await waitUntil("the remaining member to own all three partitions", () => JSON.stringify(a.partitions) === "[0,1,2]", {
      describe: () => a.partitions,
    });
    expect(await describeGroup(groupId)).toEqual({ state: "Stable", memberIds: [a.memberId] });

    const aBefore = a.received.length;
    const secondWave = messagesFor("second", 2);
    await produce(topic, secondWave);
    await waitForCommitted(groupId, topic, { 0: 6, 1: 6, 2: 6 });
    expect(a.received.slice(aBefore).map((m) => m.value).sort()).toEqual(secondWave.map((m) => m.value).sort());
    expect(b.received.map((m) => m.value).some((v) => v.startsWith("second"))).toBe(false);
  });

  test("a second member joining while the first is mid-stream: every message is read exactly once", async () => {
    // The first member commits the offsets of the partitions it gives up while the group is
    // preparing the rebalance; Kafka stores those commits, so the new owner starts after them.
    const topic = uniqueName("group-midstream");
    const groupId = uniqueName("group-midstream");
    await createTopic(topic, 3);
    const wave = messagesFor("mid", 20);
    await produce(topic, wave);

    const a = await startMember(groupId, topic, {}, true, 40);
    await waitUntil("the first member to be mid-stream", () => a.received.length >= 5, { describe: () => a.received.length });
    const b = await startMember(groupId, topic, {}, true, 40);
    await waitForCommitted(groupId, topic, { 0: 20, 1: 20, 2: 20 });
    const all = [...a.received, ...b.received].map((m) => m.value);
    const seenTwice = all.filter((v, i) => all.indexOf(v) !== i);
    expect(seenTwice).toEqual([]);
    expect([...new Set(all)].sort()).toEqual(wave.map((m) => m.value).sort());
    expect(b.received.length).toBeGreaterThan(0);
  });

  test("committed offsets are visible to the admin, and a restarted member resumes after them", async () => {
    const topic = uniqueName("group-resume");
    const groupId = uniqueName("group-resume");
    await createTopic(topic, 3);
    const early = messagesFor("early", 3);
    await produce(topic, early);

    const first = await startMember(groupId, topic);
    await waitForCommitted(groupId, topic, { 0: 3, 1: 3, 2: 3 });
    expect(first.received.map((m) => m.value).sort()).toEqual(early.map((m) => m.value).sort());
    await first.consumer.disconnect();
    await waitUntil("the group to be empty", async () => (await describeGroup(groupId)).state === "Empty");

    // Written while no member is running.
    const late = messagesFor("late", 2);
    await produce(topic, late);

    // fromBeginning only applies without a committed offset: the restart must not re-read "early".
    const restarted = await startMember(groupId, topic, {}, true);
    await waitForCommitted(groupId, topic, { 0: 5, 1: 5, 2: 5 });
    expect(restarted.received.map((m) => m.value).sort()).toEqual(late.map((m) => m.value).sort());
    expect(restarted.received.map((m) => Number(m.offset)).every((o) => o >= 3)).toBe(true);
  });

  test("a leader killed without leaving is dropped after its session timeout, and the survivor leads and takes every partition", async () => {
    const topic = uniqueName("group-kill");
    const groupId = uniqueName("group-kill");
    await createTopic(topic, 3);
    // The member in a child process joins first, so it is the group's leader when it dies.
    const doomed = startChildMember(groupId, topic, { sessionTimeout: 3000, heartbeatInterval: 300 });
    await waitUntil("the child member to own all partitions", () => JSON.stringify(doomed.latest?.partitions) === "[0,1,2]", {
      describe: () => ({ child: doomed.latest, stderr: doomed.stderr() }),
    });

    const survivor = await startMember(groupId, topic);
    await waitUntil(
      "the two members to share the three partitions",
      () => {
        const c = doomed.latest;
        if (!c || !survivor.partitions || c.memberId === survivor.memberId) return false;
        return survivor.partitions.length > 0 && c.partitions.length > 0 && JSON.stringify([...c.partitions, ...survivor.partitions].sort()) === "[0,1,2]";
      },
      { describe: () => ({ child: doomed.latest, survivor: survivor.partitions, stderr: doomed.stderr() }) },
    );
    const childId = doomed.latest!.memberId;
    expect(survivor.leaderId).toBe(childId);
    expect((await describeGroup(groupId)).memberIds).toEqual([childId, survivor.memberId].sort());

    // SIGKILL: no LeaveGroup, no more heartbeats. Only the session timeout can remove it.
    doomed.process.kill("SIGKILL");
    await waitUntil("the survivor to own all three partitions", () => JSON.stringify(survivor.partitions) === "[0,1,2]", {
      describe: () => survivor.partitions,
    });
    expect(survivor.leaderId).toBe(survivor.memberId);
    await waitUntil("describeGroups to show the survivor alone, stable", async () => {
      const g = await describeGroup(groupId);
      return g.state === "Stable" && g.memberIds.length === 1 && g.memberIds[0] === survivor.memberId ? g : false;
    });

    // And it consumes from every partition, including those the dead member had.
    const wave = messagesFor("after-kill", 2);
    await produce(topic, wave);
    await waitUntil("the survivor to receive every new message", () => wave.every((w) => survivor.received.some((r) => r.value === w.value)), {
      describe: () => survivor.received,
    });
  });
});

/**
 * A group member in its own Node process, so that it can be SIGKILLed. It prints one JSON line per
 * GROUP_JOIN with its member id and partitions.
 */
function startChildMember(groupId: string, topic: string, timing: { sessionTimeout: number; heartbeatInterval: number }) {
  const kafkajsPath = createRequire(import.meta.url).resolve("kafkajs");
  const script = `
    const { Kafka, logLevel } = require(process.env.KAFKAJS_PATH);
    const cfg = JSON.parse(process.env.MEMBER_CONFIG);
    const kafka = new Kafka({ clientId: "doomed-member", brokers: [cfg.broker], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: cfg.groupId, sessionTimeout: cfg.sessionTimeout, heartbeatInterval: cfg.heartbeatInterval, rebalanceTimeout: 10000, maxWaitTimeInMs: 200 });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      process.stdout.write(JSON.stringify({ memberId: e.payload.memberId, partitions: e.payload.memberAssignment[cfg.topic] || [] }) + "\\n");
    });
    consumer.on(consumer.events.CRASH, (e) => process.stderr.write("crash: " + String(e.payload.error) + "\\n"));
    (async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [cfg.topic], fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
    })().catch((err) => { process.stderr.write(String(err) + "\\n"); process.exit(1); });
  `;
  const child = spawn(process.execPath, ["-e", script], {
    env: { ...process.env, KAFKAJS_PATH: kafkajsPath, MEMBER_CONFIG: JSON.stringify({ broker: broker.address, groupId, topic, ...timing }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const state: { latest: { memberId: string; partitions: number[] } | null } = { latest: null };
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    let nl;
    while ((nl = stdout.indexOf("\n")) >= 0) {
      const line = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      const parsed = JSON.parse(line) as { memberId: string; partitions: number[] };
      state.latest = { memberId: parsed.memberId, partitions: [...parsed.partitions].sort((x, y) => x - y) };
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return {
    process: child,
    get latest() {
      return state.latest;
    },
    stderr: () => stderr,
  };
}
