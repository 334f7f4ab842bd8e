/**
 * SASL on the embedded broker, with kafkajs clients: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 users from a
 * `user:password` file can produce and consume; a wrong password or a client without SASL is
 * refused, and refusing one client does not lock out the others.
 */
import fs from "node:fs";
import path from "node:path";
import { Kafka, logLevel, type SASLOptions } from "kafkajs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { BrokerLogCollector, makeTempDir, uniqueName, waitUntil } from "./test-support.ts";

const ALICE = { username: "alice", password: "alice-secret" };
// Only the first colon separates the user from the password.
const BOB = { username: "bob", password: "b0b:has:colons" };

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
let dir: string;

beforeAll(async () => {
  dir = makeTempDir("eventscope-sasl");
  const usersFile = path.join(dir, "users.txt");
  fs.writeFileSync(usersFile, `# users of the SASL test\n${ALICE.username}:${ALICE.password}\n\n${BOB.username}:${BOB.password}\n`);
  broker = await startBroker({ port: 0, saslUsers: usersFile, log: brokerLog.log });
});

// On failure, show what the broker logged during the test.
beforeEach(({ onTestFailed }) => {
  const mark = brokerLog.mark();
  onTestFailed(() => console.error(`broker log during the test:\n${brokerLog.since(mark)}`));
});

afterAll(async () => {
  await broker?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function client(sasl: SASLOptions | undefined, retries = 5): Kafka {
  return new Kafka({
    clientId: uniqueName("sasl-client"),
    brokers: [broker.address],
    sasl,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries, initialRetryTime: 100, maxRetryTime: 500 },
  });
}

/** Creates the topic, produces to it and reads it back, all as the given SASL user. */
async function roundTrip(kafka: Kafka, topic: string, values: string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })).toBe(true);
  } finally {
    await admin.disconnect();
  }
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
  } finally {
    await producer.disconnect();
  }
  const consumer = kafka.consumer({ groupId: uniqueName("sasl-group"), maxWaitTimeInMs: 200 });
  const received: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message.value?.toString() ?? "<null>");
      },
    });
    await waitUntil(`${values.length} messages over SASL`, () => received.length >= values.length, { describe: () => received });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

async function endOffsets(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => p.high);
  } finally {
    await admin.disconnect();
  }
}

describe("SASL", () => {
  test("PLAIN: an authenticated client produces and consumes", async () => {
    const values = ["plain-1", "plain-2", "plain-3"];
    expect(await roundTrip(client({ mechanism: "plain", ...ALICE }), uniqueName("sasl-plain"), values)).toEqual(values);
  });

  test("SCRAM-SHA-256: an authenticated client produces and consumes", async () => {
    const values = ["scram-1", "scram-2"];
    expect(await roundTrip(client({ mechanism: "scram-sha-256", ...BOB }), uniqueName("sasl-scram"), values)).toEqual(values);
  });

  test("SCRAM-SHA-512: an authenticated client produces and consumes", async () => {
    const values = ["scram-512-1", "scram-512-2"];
    expect(await roundTrip(client({ mechanism: "scram-sha-512", ...ALICE }), uniqueName("sasl-scram-512"), values)).toEqual(values);
  });

  test.each([
    ["plain", { mechanism: "plain", username: ALICE.username, password: "wrong" }],
    ["plain", { mechanism: "plain", username: "mallory", password: ALICE.password }],
    ["scram-sha-256", { mechanism: "scram-sha-256", username: BOB.username, password: "wrong" }],
    ["scram-sha-256", { mechanism: "scram-sha-256", username: "mallory", password: BOB.password }],
    ["scram-sha-512", { mechanism: "scram-sha-512", username: ALICE.username, password: "wrong" }],
  ] as const)("%s: bad credentials (%j) are refused, and the right ones still work afterwards", async (mechanism, bad) => {
    const producer = client(bad, 0).producer();
    await expect(producer.connect()).rejects.toMatchObject({ name: "KafkaJSSASLAuthenticationError" });
    await producer.disconnect();

    const good = mechanism === "scram-sha-256" ? { mechanism, ...BOB } : { mechanism, ...ALICE };
    const values = ["after-refusal"];
    expect(await roundTrip(client(good), uniqueName("sasl-after-refusal"), values)).toEqual(values);
  });

  test("a client without SASL cannot produce, and nothing it sent is stored", async () => {
    const topic = uniqueName("sasl-none");
    const authed = client({ mechanism: "plain", ...ALICE });
    const admin = authed.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })).toBe(true);
    } finally {
      await admin.disconnect();
    }

    const anonymous = client(undefined, 1).producer();
    // The broker closes the connection at the first request that is not part of the handshake
    // (kafkajs's connect() only asks ApiVersions; its first Metadata request is refused).
    const attempt = (async () => {
      await anonymous.connect();
      await anonymous.send({ topic, messages: [{ partition: 0, value: "sneaky" }] });
    })();
    await expect(attempt).rejects.toThrow(/closed connection/i);
    await anonymous.disconnect();

    expect(await endOffsets(authed, topic)).toEqual(["0", "0"]);
  });
});
