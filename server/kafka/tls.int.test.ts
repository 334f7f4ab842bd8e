/**
 * TLS end to end, configured as a user would (KAFKA_SSL_CA, KAFKA_SSL_CERT, KAFKA_SSL_KEY):
 * the embedded broker's TLS listener (started through its CLI, and from code with a client CA
 * for mutual TLS), the collector storing what was produced over TLS, a replay going out over
 * TLS, and the refusals a user meets with a wrong CA or without a client certificate.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { jsonLines, kcat, requireKcat, type KcatMessage } from "../broker/kcat-support.ts";
import { startBrokerProcess, type BrokerProcess } from "../broker/process-support.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { makeTestCertificates, type TestCertificates } from "../broker/tls-test-support.ts";
import { startCollector, type RunningCollector } from "../collector/collector.ts";
import { countEvents, createTopics, LogCollector } from "../collector/test-support.ts";
import { loadConfig } from "../config.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { createReplayAdmin, createReplayProducer } from "../replay/producer.ts";
import { partitionCountOf } from "./topic-metadata.ts";
import { replayDeadLetter } from "../replay/replay.ts";
import { createKafka } from "./client.ts";

requireKcat();

let certs: TestCertificates;
/** TLS only, started through the CLI. */
let tlsBroker: BrokerProcess;
/** Mutual TLS: clients need a certificate from the test CA. */
let mtlsBroker: RunningBroker;
let db: TestDatabase;
let logs: LogCollector;
/** What the mutual-TLS broker reported. */
const brokerLog: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  certs = makeTestCertificates();
  tlsBroker = await startBrokerProcess({ tls: { cert: certs.files.serverCert, key: certs.files.serverKey } });
  mtlsBroker = await startBroker({
    port: 0,
    tls: { cert: certs.pem.serverCert, key: certs.pem.serverKey, clientCa: certs.pem.ca },
    log: (line) => brokerLog.push(line),
  });
  db = await createTestDatabase();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await db?.drop();
  await mtlsBroker?.stop();
  await tlsBroker?.kill();
  certs?.remove();
});

beforeEach(({ onTestFailed }) => {
  logs = new LogCollector();
  onTestFailed(() => console.error(`log:\n${logs.text()}\nbroker (CLI) log:\n${tlsBroker.stderr()}`));
});

/** A producer of the user's, made the way Eventscope makes its clients, from the same settings. */
async function produce(env: Record<string, string>, topic: string, messages: { key: string; value: string; headers?: Record<string, string> }[]) {
  const kafka = createKafka(loadConfig(env), { clientId: "test-producer" });
  await createTopics(kafka, [topic], 1);
  const producer = kafka.producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  await producer.send({ topic, messages });
}

function collect(env: Record<string, string>, prefix: string): RunningCollector {
  const config = loadConfig({ ...env, EVENTSCOPE_COLLECTOR_GROUP: `${prefix}-collector`, EVENTSCOPE_TOPICS_INCLUDE: `^${prefix}-` });
  const collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, topicRefreshMs: 500, healthIntervalMs: 500 });
  cleanups.push(() => collector.stop());
  return collector;
}

async function deadLetterIdOf(topic: string): Promise<string> {
  return waitUntil(
    `the dead letter in ${topic}`,
    async () => (await db.pool.query<{ id: string }>(`SELECT id::text AS id FROM dead_letters WHERE channel = $1`, [topic])).rows[0]?.id,
    { timeoutMs: 30_000, intervalMs: 100, describe: () => logs.text() },
  );
}

describe("TLS (KAFKA_SSL_CA)", () => {
  test("the CLI's --tls-cert/--tls-key make the port TLS-only, with the same ready line", async () => {
    expect(tlsBroker.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const topic = uniqueName("tls-kcat");
    await kcat(["-b", tlsBroker.address, "-X", "security.protocol=ssl", "-X", `ssl.ca.location=${certs.files.ca}`, "-P", "-t", topic, "-k", "ord-1"], "hello over TLS\n");
    const { stdout } = await kcat([
      "-b", tlsBroker.address, "-X", "security.protocol=ssl", "-X", `ssl.ca.location=${certs.files.ca}`, "-C", "-t", topic, "-o", "beginning", "-e", "-J",
    ]);
    expect(jsonLines<KcatMessage>(stdout).map((m) => [m.key, m.payload])).toEqual([["ord-1", "hello over TLS"]]);
    // Plain TCP gets nowhere.
    await expect(kcat(["-b", tlsBroker.address, "-L", "-m", "5"])).rejects.toThrow();
  });

  test("the collector stores what was produced over TLS; a replay goes back over TLS", async () => {
    const prefix = uniqueName("tls");
    const env = { KAFKA_BROKERS: tlsBroker.address, KAFKA_SSL_CA: certs.files.ca };
    const origin = `${prefix}-payments`;
    const dlq = `${prefix}-payments-dlq`;
    await produce(env, origin, [{ key: "ord-1", value: '{"orderId":"ord-1"}' }]);
    await produce(env, dlq, [
      { key: "ord-1", value: '{"orderId":"ord-1"}', headers: { "x-original-topic": origin, "x-original-partition": "0", "x-original-offset": "0", "x-error": "card declined" } },
    ]);

    const collector = collect(env, prefix);
    await waitUntil("both events stored", async () => (await countEvents(db, origin)) === 1 && (await countEvents(db, dlq)) === 1, {
      timeoutMs: 30_000,
      describe: () => logs.text(),
    });
    expect(collector.stats().lastError).toBeNull();

    const producer = await createReplayProducer(loadConfig(env));
    cleanups.push(() => producer.disconnect());
    const admin = await createReplayAdmin(loadConfig(env));
    cleanups.push(() => admin.disconnect());
    const result = await replayDeadLetter({ db, producer: async () => producer, partitionCount: (topic) => partitionCountOf(admin, topic) }, { deadLetterId: await deadLetterIdOf(dlq), actor: "alice" });
    expect(result).toMatchObject({ status: "sent", targetTopic: origin, offset: "1" });
    await waitUntil("the replay stored too", async () => (await countEvents(db, origin)) === 2, { timeoutMs: 30_000 });
  });

  test("a CA that did not sign the broker's certificate is refused, saying so", async () => {
    const prefix = uniqueName("tls-wrong-ca");
    const collector = collect({ KAFKA_BROKERS: tlsBroker.address, KAFKA_SSL_CA: certs.files.otherCa }, prefix);
    const config = loadConfig({ KAFKA_BROKERS: tlsBroker.address, KAFKA_SSL_CA: certs.files.otherCa });
    // Node's words, then which setting to look at.
    const untrusted = "(the broker's certificate is not signed by a CA Eventscope trusts: set KAFKA_SSL_CA to the CA that signed it)";
    const refused = createReplayProducer(config);
    await expect(refused).rejects.toThrow(/^cannot connect to the Kafka cluster: Connection error: (unable to verify|self-signed)/);
    await expect(refused).rejects.toThrow(untrusted);

    // The collector, in /api/health, says the same.
    const error = await waitUntil("the collector's error", () => collector.stats().lastError, { timeoutMs: 30_000, describe: () => logs.text() });
    expect(error).toContain(untrusted);
    expect(await countEvents(db, `${prefix}-orders`)).toBe(0);
  });
});

describe("mutual TLS (KAFKA_SSL_CERT, KAFKA_SSL_KEY)", () => {
  test("with a client certificate the collector stores and a replay is sent", async () => {
    const prefix = uniqueName("mtls");
    const env = { KAFKA_BROKERS: mtlsBroker.address, KAFKA_SSL_CA: certs.pem.ca, KAFKA_SSL_CERT: certs.files.clientCert, KAFKA_SSL_KEY: certs.files.clientKey };
    const origin = `${prefix}-inventory`;
    const dlq = `${prefix}-inventory-dlq`;
    await produce(env, dlq, [
      { key: "ord-2", value: '{"orderId":"ord-2"}', headers: { "x-original-topic": origin, "x-original-partition": "0", "x-original-offset": "0", "x-error": "out of stock" } },
    ]);
    await produce(env, origin, []);
    collect(env, prefix);
    const id = await deadLetterIdOf(dlq);

    const producer = await createReplayProducer(loadConfig(env));
    cleanups.push(() => producer.disconnect());
    const admin = await createReplayAdmin(loadConfig(env));
    cleanups.push(() => admin.disconnect());
    const result = await replayDeadLetter({ db, producer: async () => producer, partitionCount: (topic) => partitionCountOf(admin, topic) }, { deadLetterId: id, actor: "bob" });
    expect(result).toMatchObject({ status: "sent", targetTopic: origin, offset: "0" });
    await waitUntil("the replay stored", async () => (await countEvents(db, origin)) === 1, { timeoutMs: 30_000 });
  });

  test("without a client certificate the broker refuses the connection", async () => {
    const config = loadConfig({ KAFKA_BROKERS: mtlsBroker.address, KAFKA_SSL_CA: certs.files.ca });
    const refused = createReplayProducer(config);
    await expect(refused).rejects.toThrow(/^cannot connect to the Kafka cluster: Connection error: .*alert certificate required/);
    await expect(refused).rejects.toThrow(
      /\(the broker did not accept Eventscope without a client certificate it trusts: set KAFKA_SSL_CERT and KAFKA_SSL_KEY\)$/,
    );
    expect(brokerLog).toContainEqual(expect.stringMatching(/^TLS handshake with 127\.0\.0\.1 failed: .*peer did not return a certificate/));
  });
});
