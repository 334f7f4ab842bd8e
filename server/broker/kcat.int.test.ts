/**
 * Conformance with kcat, a client the broker was not written against (librdkafka 2.x).
 *
 * librdkafka's first ApiVersions request is a flexible version the broker does not serve, so
 * every test here also proves the UNSUPPORTED_VERSION fallback: kcat retries with v0 and carries on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, type Admin, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { SaslUsers } from "./sasl.ts";
import { waitFor } from "./process-support.ts";
import { jsonLines, kcat, type KcatMessage, requireKcat } from "./kcat-support.ts";

const kcatVersion = requireKcat();

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

let broker: RunningBroker;
const brokerLog: string[] = [];
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await startBroker({ port: 0, partitions: 3, log: (line) => brokerLog.push(line) });
  kafka = new Kafka({ clientId: "kcat-conformance", brokers: [broker.address], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.stop();
});

/** What the broker said about connections it closed: kcat should never cause one. */
function refusedConnections(): string[] {
  return brokerLog.filter((l) => /closing connection|internal error|not supported/.test(l));
}

async function createTopic(partitions: number): Promise<string> {
  const topic = unique("kcat");
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  expect(created).toBe(true);
  return topic;
}

interface GroupMember {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Lines printed so far: `name|partition|offset|key|value`. */
  lines(): string[];
  /** Partitions of the latest assignment kcat reported, or undefined before the first one. */
  assigned(): number[] | undefined;
  stderr(): string;
}

/** A long-running `kcat -G` balanced consumer. */
function startGroupMember(groupId: string, topic: string, name: string): GroupMember {
  const child = spawn(
    "kcat",
    [
      "-b", broker.address, "-G", groupId,
      "-X", "auto.offset.reset=earliest",
      "-X", "auto.commit.interval.ms=200",
      "-X", "session.timeout.ms=6000",
      "-X", "heartbeat.interval.ms=300",
      "-u", "-f", `${name}|%p|%o|%k|%s\\n`,
      topic,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    child,
    exited,
    lines: () => out.split("\n").filter((l) => l !== ""),
    assigned: () => {
      // "% Group g rebalanced (memberid …): assigned: topic [0], topic [1]"
      const all = [...err.matchAll(/rebalanced \(memberid [^)]*\): (assigned|revoked): (.*)/g)];
      const last = all.at(-1);
      if (!last || last[1] !== "assigned") return undefined;
      return [...last[2]!.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort();
    },
    stderr: () => err,
  };
}

async function committed(groupId: string, topic: string): Promise<Record<number, string>> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return Object.fromEntries(t!.partitions.map((p) => [p.partition, p.offset]));
}

describe(`kcat (${kcatVersion.split("\n")[0]!.trim()})`, () => {
  it("-L -J lists the broker and every partition of a topic, led by node 0", async () => {
    const topic = await createTopic(4);
    const { stdout } = await kcat(["-b", broker.address, "-L", "-J", "-t", topic]);
    const md = JSON.parse(stdout) as {
      brokers: { id: number; name: string }[];
      controllerid: number;
      topics: { topic: string; error?: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[]; error?: string }[] }[];
    };
    expect(md.brokers).toEqual([{ id: 0, name: broker.address }]);
    expect(md.controllerid).toBe(0);
    expect(md.topics).toHaveLength(1);
    const t = md.topics[0]!;
    expect(t.topic).toBe(topic);
    expect(t.error).toBeUndefined();
    expect(t.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2, 3]);
    for (const p of t.partitions) {
      expect(p.error).toBeUndefined();
      expect(p.leader).toBe(0);
      expect(p.replicas).toEqual([{ id: 0 }]);
      expect(p.isrs).toEqual([{ id: 0 }]);
    }

    // Without -t: the full topic list, which includes this topic.
    const all = JSON.parse((await kcat(["-b", broker.address, "-L", "-J"])).stdout) as { topics: { topic: string; partitions: unknown[] }[] };
    expect(all.topics.find((x) => x.topic === topic)?.partitions).toHaveLength(4);
    expect(refusedConnections()).toEqual([]);
  });

  it("-P with -K keys and repeated -H headers is read back by kcat -C and by kafkajs, in order", async () => {
    const topic = await createTopic(2);
    const lines = ["order-1:placed", "order-2:paid", "order-1:shipped", "order-3:{\"json\":true}"];
    await kcat(
      ["-b", broker.address, "-P", "-t", topic, "-p", "1", "-K", ":", "-H", "traceparent=first", "-H", "traceparent=second", "-H", "source=kcat"],
      lines.join("\n") + "\n",
    );

    const { stdout } = await kcat(["-b", broker.address, "-C", "-t", topic, "-p", "1", "-o", "beginning", "-e", "-J"]);
    const got = jsonLines<KcatMessage>(stdout);
    expect(got.map((m) => [m.offset, m.key, m.payload])).toEqual([
      [0, "order-1", "placed"],
      [1, "order-2", "paid"],
      [2, "order-1", "shipped"],
      [3, "order-3", '{"json":true}'],
    ]);
    for (const m of got) {
      expect(m.partition).toBe(1);
      expect(m.tstype).toBe("create");
      // The repeated key keeps both values, in the order they were given.
      expect(m.headers).toEqual(["traceparent", "first", "traceparent", "second", "source", "kcat"]);
    }

    // kafkajs sees the same records: a repeated header key arrives as an array.
    const consumer = kafka.consumer({ groupId: unique("kcat-reader"), maxWaitTimeInMs: 100 });
    const seen: { partition: number; offset: string; key: string | undefined; value: string | undefined; headers: Record<string, unknown> }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push({
            partition,
            offset: message.offset,
            key: message.key?.toString(),
            value: message.value?.toString(),
            headers: Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)]),
            ),
          });
        },
      });
      await waitFor("kafkajs to read the 4 records kcat produced", () => seen.length >= 4);
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toHaveLength(4);
    expect(seen.map((m) => [m.partition, m.offset, m.key, m.value])).toEqual([
      [1, "0", "order-1", "placed"],
      [1, "1", "order-2", "paid"],
      [1, "2", "order-1", "shipped"],
      [1, "3", "order-3", '{"json":true}'],
    ]);
    expect(seen[0]!.headers).toEqual({ traceparent: ["first", "second"], source: "kcat" });
    expect(refusedConnections()).toEqual([]);
  });

  it("-C -o beginning -e prints kafkajs-produced keys, values, headers, partitions and offsets with -f", async () => {
    const topic = await createTopic(3);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { partition: 2, key: "k-a", value: "alpha", headers: { h1: "x", dup: ["1", "2"] } },
        { partition: 2, key: "k-b", value: "beta", headers: { h1: "y" } },
        { partition: 2, key: "k-null", value: null },
      ],
    });
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: "k-c", value: "gamma" }] });

    const { stdout } = await kcat([
      "-b", broker.address, "-C", "-t", topic, "-o", "beginning", "-e", "-Z", "-f", "%p|%o|%k|%s|%h\\n",
    ]);
    const rows = stdout.split("\n").filter((l) => l !== "").sort();
    expect(rows).toEqual([
      "0|0|k-c|gamma|",
      "2|0|k-a|alpha|h1=x,dup=1,dup=2",
      "2|1|k-b|beta|h1=y",
      "2|2|k-null|NULL|",
    ]);
    expect(refusedConnections()).toEqual([]);
  });

  it("-z gzip and -z snappy batches are stored as sent and read back by kcat", async () => {
    const topic = await createTopic(1);
    const gzipped = Array.from({ length: 50 }, (_, i) => `gz-${i}:${"payload ".repeat(20)}${i}`);
    const snappied = Array.from({ length: 50 }, (_, i) => `sn-${i}:${"snappy ".repeat(20)}${i}`);
    await kcat(["-b", broker.address, "-P", "-t", topic, "-p", "0", "-K", ":", "-z", "gzip"], gzipped.join("\n") + "\n");
    await kcat(["-b", broker.address, "-P", "-t", topic, "-p", "0", "-K", ":", "-z", "snappy"], snappied.join("\n") + "\n");
    const { stdout } = await kcat(["-b", broker.address, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%o %k:%s\\n"]);
    const expected = [...gzipped, ...snappied].map((l, i) => `${i} ${l}`);
    expect(stdout.split("\n").filter((l) => l !== "")).toEqual(expected);
  });

  it("-G members share a group: join, consume what is produced, rebalance for a second member, commit, leave", async () => {
    const topic = await createTopic(2);
    const groupId = unique("kcat-group");
    const members: GroupMember[] = [];
    try {
      const a = startGroupMember(groupId, topic, "A");
      members.push(a);
      await waitFor(`member A to be assigned both partitions (stderr: ${a.stderr()})`, () => a.assigned()?.length === 2, { timeoutMs: 30_000 });
      const desc = await admin.describeGroups([groupId]);
      expect(desc.groups[0]!.state).toBe("Stable");
      expect(desc.groups[0]!.members).toHaveLength(1);

      const first = Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, key: `key-${i}`, value: `value-${i}` }));
      await producer.send({ topic, acks: -1, messages: first });
      const lines = await waitFor("member A to print all 10 messages", () => (a.lines().length >= 10 ? a.lines() : undefined));
      expect([...lines].sort()).toEqual(first.map((m, i) => `A|${m.partition}|${Math.floor(i / 2)}|${m.key}|${m.value}`).sort());
      // Auto-commit every 200 ms: the committed offsets reach the end of each partition (5 each).
      await waitFor("A's committed offsets to reach 5 on both partitions", async () => {
        const c = await committed(groupId, topic);
        return c[0] === "5" && c[1] === "5";
      });

      // A second member: the group rebalances and each member ends up with one partition.
      const b = startGroupMember(groupId, topic, "B");
      members.push(b);
      await waitFor(`both members to hold one partition each (A: ${a.stderr()} B: ${b.stderr()})`, () => {
        const pa = a.assigned();
        const pb = b.assigned();
        return pa?.length === 1 && pb?.length === 1 && pa[0] !== pb[0];
      }, { timeoutMs: 30_000 });
      const described = await admin.describeGroups([groupId]);
      expect(described.groups[0]!.members).toHaveLength(2);

      const second = Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, key: `key-${10 + i}`, value: `value-${10 + i}` }));
      await producer.send({ topic, acks: -1, messages: second });
      await waitFor("the two members to print the 10 new messages", () => a.lines().length + b.lines().length >= 20);
      const owner = (m: GroupMember) => m.assigned()![0]!;
      const expectedFor = (m: GroupMember) =>
        second
          .map((msg, i) => ({ ...msg, offset: 5 + Math.floor(i / 2) }))
          .filter((msg) => msg.partition === owner(m))
          .map((msg) => `${m.name}|${msg.partition}|${msg.offset}|${msg.key}|${msg.value}`);
      // Each new message exactly once, printed by the member that owns its partition.
      expect(a.lines().slice(10)).toEqual(expectedFor(a));
      expect(b.lines()).toEqual(expectedFor(b));
      await waitFor("the committed offsets to reach 10 on both partitions", async () => {
        const c = await committed(groupId, topic);
        return c[0] === "10" && c[1] === "10";
      });
    } finally {
      for (const m of members) m.child.kill("SIGTERM");
    }
    // kcat leaves the group on SIGTERM and exits cleanly.
    for (const m of members) expect(await m.exited).toEqual({ code: 0, signal: null });
    await waitFor("the group to be empty once both members have left", async () => {
      const d = await admin.describeGroups([groupId]);
      return d.groups[0]!.members.length === 0;
    });
    expect(await committed(groupId, topic)).toEqual({ 0: "10", 1: "10" });
    expect(refusedConnections()).toEqual([]);
  });

  it("authenticates with SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and is refused with a wrong password", async () => {
    const users = new SaslUsers();
    users.add("alice", "s3cret");
    const saslLog: string[] = [];
    const secured = await startBroker({ port: 0, saslUsers: users, log: (line) => saslLog.push(line) });
    try {
      const sasl = (mechanism: string, password: string) => [
        "-b", secured.address, "-m", "5",
        "-X", "security.protocol=SASL_PLAINTEXT",
        "-X", `sasl.mechanisms=${mechanism}`,
        "-X", "sasl.username=alice",
        "-X", `sasl.password=${password}`,
      ];
      for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]) {
        const topic = unique(`kcat-sasl-${mechanism.toLowerCase()}`);
        await kcat([...sasl(mechanism, "s3cret"), "-P", "-t", topic, "-p", "0", "-K", ":"], "who:alice\n");
        const { stdout } = await kcat([...sasl(mechanism, "s3cret"), "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%k=%s\\n"]);
        expect(stdout, mechanism).toBe("who=alice\n");
      }
      // A wrong password: kcat gives up with an authentication error; the broker says why.
      await expect(kcat([...sasl("SCRAM-SHA-256", "wrong"), "-P", "-t", unique("kcat-sasl-refused"), "-p", "0"], "x\n")).rejects.toThrow(
        /Authentication failure/,
      );
      expect(saslLog.some((l) => l.includes("SASL SCRAM-SHA-256 failed"))).toBe(true);
      await expect(kcat([...sasl("SCRAM-SHA-512", "wrong"), "-P", "-t", unique("kcat-sasl-refused"), "-p", "0"], "x\n")).rejects.toThrow(
        /Authentication failure/,
      );
      expect(saslLog.some((l) => l.includes("SASL SCRAM-SHA-512 failed"))).toBe(true);
    } finally {
      await secured.stop();
    }
  });

  it("-Q finds the first offset at or after a timestamp, and -o s@ starts consuming there", async () => {
    const topic = await createTopic(2);
    const t0 = Date.now() - 60 * 60 * 1000;
    // Three batches with explicit CreateTime timestamps, one second apart, on partition 1.
    for (let i = 0; i < 3; i++) {
      await producer.send({
        topic,
        acks: -1,
        messages: [
          { partition: 1, key: `k${i}a`, value: `v${i}a`, timestamp: String(t0 + i * 1000) },
          { partition: 1, key: `k${i}b`, value: `v${i}b`, timestamp: String(t0 + i * 1000 + 10) },
        ],
      });
    }

    const query = async (ts: number) => (await kcat(["-b", broker.address, "-Q", "-t", `${topic}:1:${ts}`])).stdout.trim();
    expect(await query(t0)).toBe(`${topic} [1] offset 0`);
    expect(await query(t0 + 5)).toBe(`${topic} [1] offset 1`);
    expect(await query(t0 + 1000)).toBe(`${topic} [1] offset 2`);
    expect(await query(t0 + 1500)).toBe(`${topic} [1] offset 4`);
    expect(await query(t0 + 2010)).toBe(`${topic} [1] offset 5`);
    // Later than every record: no such offset (-1), as Kafka answers.
    expect(await query(t0 + 10_000)).toBe(`${topic} [1] offset -1`);

    // Several partitions in one query: the empty partition 0 has no record at any time.
    const both = (await kcat(["-b", broker.address, "-Q", "-t", `${topic}:0:${t0}`, "-t", `${topic}:1:${t0 + 1000}`])).stdout;
    expect(both.split("\n").filter((l) => l !== "").sort()).toEqual([`${topic} [0] offset -1`, `${topic} [1] offset 2`].sort());

    // The consumer side of the same lookup: start at a timestamp.
    const { stdout } = await kcat(["-b", broker.address, "-C", "-t", topic, "-p", "1", "-o", `s@${t0 + 1000}`, "-e", "-f", "%o|%k|%T\\n"]);
    expect(stdout.split("\n").filter((l) => l !== "")).toEqual([
      `2|k1a|${t0 + 1000}`,
      `3|k1b|${t0 + 1010}`,
      `4|k2a|${t0 + 2000}`,
      `5|k2b|${t0 + 2010}`,
    ]);
    expect(refusedConnections()).toEqual([]);
  });
});
