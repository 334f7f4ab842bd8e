/**
 * Dead letters end to end: one real-looking dead letter per framework convention of
 * CONVENTIONS.md, produced with kafkajs over TCP to the embedded broker, collected by the
 * collector into a real PostgreSQL, and read back through the queries the UI uses.
 */
import type { IHeaders, Kafka } from "kafkajs";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { loadConfig } from "../config.ts";
import { getEvent, listDeadLetters, type DeadLetterListItem } from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { startCollector, type RunningCollector } from "./collector.ts";
import { createTopics, LogCollector, testKafka } from "./test-support.ts";

let broker: RunningBroker;
let db: TestDatabase;
let kafka: Kafka;
let logs: LogCollector;
let collector: RunningCollector | null = null;
const brokerLog: string[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: (line) => brokerLog.push(line) });
  db = await createTestDatabase();
  kafka = testKafka(broker.address);
});

afterAll(async () => {
  await collector?.stop();
  await db?.drop();
  await broker?.stop();
});

beforeEach(({ onTestFailed }) => {
  logs = new LogCollector();
  onTestFailed(() => {
    console.error(`collector log:\n${logs.text()}`);
    console.error(`broker log:\n${brokerLog.join("\n") || "(nothing)"}`);
  });
});

function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
}

function int64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(value);
  return bytes;
}

async function send(topic: string, messages: { key: string; value: string; headers?: IHeaders }[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

test("a dead letter in each framework's convention is stored with its origin, error and attempts", async () => {
  const p = uniqueName("dlq");
  const topics = {
    orders: `${p}-orders`,
    springDlt: `${p}-orders-dlt`,
    payments: `${p}-payments`,
    springRetryDlt: `${p}-payments.DLT`,
    connectDlq: `${p}-jdbc-sink-dlq`,
    streamsDlq: `dlq.${p}-clicks`,
    smallryeDlq: `dead-letter-topic-${p}-shipments`,
    asyncRetryDlq: `${p}-billing-group-dlq`,
    notifications: `${p}-notifications`,
    eventscopeDlq: `${p}-notifications.dlq`,
    nameOnlyDlq: `${p}-inventory.dlq`,
  };
  await createTopics(kafka, [topics.orders, topics.payments, topics.notifications], 3);
  await createTopics(
    kafka,
    [topics.springDlt, topics.springRetryDlt, topics.connectDlq, topics.streamsDlq, topics.smallryeDlq, topics.asyncRetryDlq, topics.eventscopeDlq, topics.nameOnlyDlq],
    1,
  );

  // The origin of the Eventscope dead letter: a real event at notifications/1/0.
  const original = JSON.stringify({ type: "EmailRequested", orderId: "ord-77", to: "a@example.com" });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic: topics.notifications, acks: -1, messages: [{ partition: 1, key: "ord-77", value: original }] });
  await producer.disconnect();

  const originTimestamp = Date.parse("2026-11-20T10:00:00.000Z");
  const replayId = "3f1c9f3e-5b0a-4c1e-9d55-0b6a3c2f9e11";
  // Spring's DeadLetterPublishingRecoverer: binary partition (4 bytes) and offset (8 bytes), and,
  // as it appends original headers by default, the headers of an earlier hop repeated before the
  // latest ones: origin fields come from the first, the error from the last.
  await send(topics.springDlt, [
    {
      key: "ord-1",
      value: JSON.stringify({ orderId: "ord-1", amount: 10 }),
      headers: {
        "kafka_dlt-original-topic": [topics.orders, topics.springDlt],
        "kafka_dlt-original-partition": [int32(2), int32(0)],
        "kafka_dlt-original-offset": [int64(4_294_967_301n), int64(0n)],
        "kafka_dlt-original-timestamp": int64(BigInt(originTimestamp)),
        "kafka_dlt-original-consumer-group": "order-handler",
        "kafka_dlt-exception-fqcn": [
          "org.springframework.kafka.listener.ListenerExecutionFailedException",
          "java.lang.IllegalStateException",
        ],
        "kafka_dlt-exception-message": ["first failure", "stock service timed out"],
        "kafka_dlt-exception-cause-fqcn": "java.net.SocketTimeoutException",
        "kafka_dlt-exception-stacktrace": "java.lang.IllegalStateException: stock service timed out\n\tat com.example.Orders.handle(Orders.java:42)",
      },
    },
  ]);
  // Spring retry topics: the DLT after the last retry topic, with the attempts made.
  await send(topics.springRetryDlt, [
    {
      key: "pay-9",
      value: JSON.stringify({ orderId: "ord-9", paymentId: "pay-9" }),
      headers: {
        "kafka_original-topic": topics.payments,
        "kafka_original-partition": int32(1),
        "kafka_original-offset": int64(41n),
        "kafka_exception-fqcn": "com.example.PaymentDeclinedException",
        "kafka_exception-message": "card declined",
        "retry_topic-attempts": int32(4),
      },
    },
  ]);
  // Kafka Connect sink, errors.deadletterqueue.context.headers.enable=true: UTF-8 strings.
  await send(topics.connectDlq, [
    {
      key: "row-5",
      value: "not json at all",
      headers: {
        "__connect.errors.topic": topics.orders,
        "__connect.errors.partition": "0",
        "__connect.errors.offset": "17",
        "__connect.errors.connector.name": "jdbc-sink",
        "__connect.errors.exception.class.name": "org.apache.kafka.connect.errors.DataException",
        "__connect.errors.exception.message": "Converting byte[] to Kafka Connect data failed",
        "__connect.errors.exception.stacktrace": "org.apache.kafka.connect.errors.DataException: Converting ...",
      },
    },
  ]);
  // Kafka Streams (KIP-1034).
  await send(topics.streamsDlq, [
    {
      key: "click-3",
      value: JSON.stringify({ page: "/cart" }),
      headers: {
        "__streams.errors.topic": `${p}-clicks`,
        "__streams.errors.partition": "2",
        "__streams.errors.offset": "905",
        "__streams.errors.exception": "org.apache.kafka.common.errors.SerializationException",
        "__streams.errors.message": "Size of data received is not 8",
        "__streams.errors.stacktrace": "org.apache.kafka.common.errors.SerializationException: Size ...",
      },
    },
  ]);
  // SmallRye Reactive Messaging (Quarkus), failure-strategy=dead-letter-queue.
  await send(topics.smallryeDlq, [
    {
      key: "ship-4",
      value: JSON.stringify({ orderId: "ord-4", carrier: "dhl" }),
      headers: {
        "dead-letter-topic": `${p}-shipments`,
        "dead-letter-partition": "0",
        "dead-letter-offset": "12",
        "dead-letter-reason": "carrier rejected the address",
        "dead-letter-cause": "address line 2 too long",
        "dead-letter-exception-class-name": "io.example.CarrierException",
      },
    },
  ]);
  // kafkajs-async-retry: one JSON header, to the group's DLQ.
  await send(topics.asyncRetryDlq, [
    {
      key: "inv-8",
      value: JSON.stringify({ orderId: "ord-8", invoice: 8 }),
      headers: { asyncRetry: JSON.stringify({ top: `${p}-invoices`, ttl: originTimestamp + 60_000, att: 5 }) },
    },
  ]);
  // Eventscope's own (the demo services), on a replay that failed again (x-replay-id).
  await send(topics.eventscopeDlq, [
    {
      key: "ord-77",
      value: original,
      headers: {
        "x-original-topic": topics.notifications,
        "x-original-partition": "1",
        "x-original-offset": "0",
        "x-error": "SMTP 550 mailbox unavailable",
        "x-error-class": "MailError",
        "x-attempts": "3",
        "x-replay-id": replayId,
        producer: "notification-service",
      },
    },
  ]);
  // Recognized by its name only: no failure header at all.
  await send(topics.nameOnlyDlq, [
    { key: "sku-1", value: JSON.stringify({ sku: "sku-1", delta: -1 }), headers: { "content-type": "application/json" } },
  ]);

  const config = loadConfig({
    KAFKA_BROKERS: broker.address,
    EVENTSCOPE_COLLECTOR_GROUP: `${p}-collector`,
    // Only this test's topics (dlq.<p>-… and dead-letter-topic-<p>-… do not start with the prefix).
    EVENTSCOPE_TOPICS_INCLUDE: p,
  });
  collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: logs.log, healthIntervalMs: 500 });

  const byTopic = await waitUntil(
    "8 dead letters listed",
    async () => {
      const page = await listDeadLetters(db, { limit: 100 });
      const mine = page.deadLetters.filter((d) => d.topic.includes(p));
      return mine.length === 8 ? new Map(mine.map((d) => [d.topic, d])) : null;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const get = (topic: string): DeadLetterListItem => byTopic.get(topic)!;
  const headersBase = { recognizedBy: "headers", status: "new", originTopicHint: expect.anything() };

  expect(get(topics.springDlt)).toMatchObject({
    ...headersBase,
    convention: "spring",
    originTopic: topics.orders,
    originPartition: 2,
    originOffset: "4294967301",
    originTimestamp: new Date(originTimestamp).toISOString(),
    originGroup: "order-handler",
    originTopicHint: topics.orders,
    errorClass: "java.lang.IllegalStateException",
    errorMessage: "stock service timed out",
    attempts: null,
    replayId: null,
  });
  expect(get(topics.springRetryDlt)).toMatchObject({
    ...headersBase,
    convention: "spring-retry",
    originTopic: topics.payments,
    originPartition: 1,
    originOffset: "41",
    errorClass: "com.example.PaymentDeclinedException",
    errorMessage: "card declined",
    attempts: 4,
  });
  expect(get(topics.connectDlq)).toMatchObject({
    ...headersBase,
    convention: "kafka-connect",
    originTopic: topics.orders,
    originPartition: 0,
    originOffset: "17",
    errorClass: "org.apache.kafka.connect.errors.DataException",
    errorMessage: "Converting byte[] to Kafka Connect data failed",
    attempts: null,
  });
  expect(get(topics.streamsDlq)).toMatchObject({
    ...headersBase,
    convention: "kafka-streams",
    originTopic: `${p}-clicks`,
    originPartition: 2,
    originOffset: "905",
    errorClass: "org.apache.kafka.common.errors.SerializationException",
    errorMessage: "Size of data received is not 8",
  });
  expect(get(topics.smallryeDlq)).toMatchObject({
    ...headersBase,
    convention: "smallrye",
    originTopic: `${p}-shipments`,
    originPartition: 0,
    originOffset: "12",
    errorClass: "io.example.CarrierException",
    errorMessage: "carrier rejected the address",
  });
  expect(get(topics.asyncRetryDlq)).toMatchObject({
    ...headersBase,
    convention: "kafkajs-async-retry",
    originTopic: `${p}-invoices`,
    // The convention carries no partition, offset or error.
    originPartition: null,
    originOffset: null,
    errorClass: null,
    attempts: 5,
  });
  expect(get(topics.eventscopeDlq)).toMatchObject({
    ...headersBase,
    convention: "eventscope",
    originTopic: topics.notifications,
    originPartition: 1,
    originOffset: "0",
    errorClass: "MailError",
    errorMessage: "SMTP 550 mailbox unavailable",
    attempts: 3,
    replayId,
    producer: "notification-service",
  });
  // A name only hints: no origin, no convention, and the hint from the name.
  expect(get(topics.nameOnlyDlq)).toMatchObject({
    recognizedBy: "topic-name",
    convention: null,
    originTopic: null,
    originPartition: null,
    originOffset: null,
    originTopicHint: `${p}-inventory`,
    errorClass: null,
    errorMessage: null,
  });

  // The event views: the dead letter's own record knows its failure (with the full stack trace
  // kept in headers, byte for byte), and the origin event knows it was dead-lettered.
  const springEvent = await getEvent(db, topics.springDlt, 0, "0");
  expect(springEvent?.deadLetter).toMatchObject({ convention: "spring", originTopic: topics.orders, originOffset: "4294967301" });
  const offsetHeaders = springEvent!.headers.filter((h) => h.key === "kafka_dlt-original-offset");
  expect(offsetHeaders).toEqual([
    { key: "kafka_dlt-original-offset", value: int64(4_294_967_301n).toString("base64"), encoding: "base64" },
    { key: "kafka_dlt-original-offset", value: int64(0n).toString("base64"), encoding: "base64" },
  ]);
  const replayed = await getEvent(db, topics.eventscopeDlq, 0, "0");
  expect(replayed?.deadLetter).toMatchObject({ replayId, attempts: 3, errorClass: "MailError" });
  // Kept byte for byte: a replay sends exactly this.
  expect(Buffer.from(replayed!.valueBytesBase64!, "base64").toString("utf8")).toBe(original);
  const origin = await getEvent(db, topics.notifications, 1, "0");
  expect(origin?.deadLetter).toBeNull();
  expect(origin?.deadLetteredAs).toMatchObject([{ topic: topics.eventscopeDlq, partition: 0, offset: "0", errorClass: "MailError" }]);
  const nameOnly = await getEvent(db, topics.nameOnlyDlq, 0, "0");
  expect(nameOnly?.deadLetter).toMatchObject({ recognizedBy: "topic-name", originTopic: null, originTopicHint: `${p}-inventory` });

  // The filters the inbox offers find them by origin, hint and error text.
  const byOrigin = await listDeadLetters(db, { topic: topics.orders });
  expect(byOrigin.deadLetters.map((d) => d.topic).sort()).toEqual([topics.connectDlq, topics.springDlt].sort());
  const byHint = await listDeadLetters(db, { topic: `${p}-inventory` });
  expect(byHint.deadLetters.map((d) => d.topic)).toEqual([topics.nameOnlyDlq]);
  const byError = await listDeadLetters(db, { errorText: "card DECLINED" });
  expect(byError.deadLetters.map((d) => d.topic)).toEqual([topics.springRetryDlt]);
}, 60_000);
