import { describe, expect, it } from "vitest";
import { detectDeadLetter, readFailureHeaders } from "./dead-letter.ts";
import { flattenHeaders, indexHeaders } from "./headers.ts";
import type { RawHeaderValue } from "./types.ts";

type Headers = Record<string, RawHeaderValue | RawHeaderValue[]>;
const index = (headers: Headers) => indexHeaders(flattenHeaders(headers));

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

const STACK = "java.lang.IllegalStateException: stock unavailable\n\tat com.acme.Inventory.reserve(Inventory.java:42)";

/** Headers as Spring Kafka's DeadLetterPublishingRecoverer writes them. */
function springDlt(): Headers {
  return {
    "kafka_dlt-original-topic": Buffer.from("orders"),
    "kafka_dlt-original-partition": int32(3),
    "kafka_dlt-original-offset": int64(9_007_199_254_740_993n), // beyond 2^53: must survive as text
    "kafka_dlt-original-timestamp": int64(1_735_689_600_000n),
    "kafka_dlt-original-timestamp-type": Buffer.from("CreateTime"),
    "kafka_dlt-original-consumer-group": Buffer.from("inventory-service"),
    "kafka_dlt-exception-fqcn": Buffer.from("org.springframework.kafka.listener.ListenerExecutionFailedException"),
    "kafka_dlt-exception-cause-fqcn": Buffer.from("java.lang.IllegalStateException"),
    "kafka_dlt-exception-message": Buffer.from("Listener failed; stock unavailable"),
    "kafka_dlt-exception-stacktrace": Buffer.from(STACK),
  };
}

describe("readFailureHeaders", () => {
  it("decodes Spring's binary partition, offset and timestamp and its error headers", () => {
    const { failure, flags } = readFailureHeaders(index(springDlt()));
    expect(flags).toEqual([]);
    expect(failure).toEqual({
      convention: "spring",
      originTopic: "orders",
      originPartition: 3,
      originOffset: "9007199254740993",
      originTimestamp: new Date(1_735_689_600_000),
      originConsumerGroup: "inventory-service",
      errorClass: "org.springframework.kafka.listener.ListenerExecutionFailedException",
      errorMessage: "Listener failed; stock unavailable",
      errorCause: "java.lang.IllegalStateException",
      stackTrace: STACK,
      attempts: null,
    });
  });

  it("takes the first origin and the last error when Spring appended its headers at every hop", () => {
    const { failure } = readFailureHeaders(
      index({
        "kafka_dlt-original-topic": [Buffer.from("orders"), Buffer.from("orders-retry-1")],
        "kafka_dlt-original-partition": [int32(3), int32(0)],
        "kafka_dlt-original-offset": [int64(17n), int64(5n)],
        "kafka_dlt-exception-message": [Buffer.from("first failure"), Buffer.from("final failure")],
        "retry_topic-attempts": [Buffer.from([2]), int32(3)],
      }),
    );
    expect(failure).toMatchObject({
      originTopic: "orders",
      originPartition: 3,
      originOffset: "17",
      errorMessage: "final failure",
      attempts: 3,
    });
  });

  it("reads Spring's retry attempts in both encodings it has used", () => {
    const oldStyle = readFailureHeaders(index({ "retry_topic-attempts": Buffer.from([4]) })).failure; // BigInteger.toByteArray()
    const newStyle = readFailureHeaders(index({ "retry_topic-attempts": int32(4) })).failure; // ByteBuffer.putInt
    expect(oldStyle?.attempts).toBe(4);
    expect(newStyle?.attempts).toBe(4);
  });

  it("decodes Spring retry topics' kafka_original-* headers with the same encodings", () => {
    const { failure, flags } = readFailureHeaders(
      index({
        "kafka_original-topic": Buffer.from("payments"),
        "kafka_original-partition": int32(1),
        "kafka_original-offset": int64(42n),
        "kafka_exception-fqcn": Buffer.from("java.net.SocketTimeoutException"),
        "kafka_exception-message": Buffer.from("Read timed out"),
        "kafka_exception-stacktrace": Buffer.from("java.net.SocketTimeoutException: Read timed out"),
        "retry_topic-attempts": int32(3),
      }),
    );
    expect(flags).toEqual([]);
    expect(failure).toEqual({
      convention: "spring-retry",
      originTopic: "payments",
      originPartition: 1,
      originOffset: "42",
      originTimestamp: null,
      originConsumerGroup: null,
      errorClass: "java.net.SocketTimeoutException",
      errorMessage: "Read timed out",
      errorCause: null,
      stackTrace: "java.net.SocketTimeoutException: Read timed out",
      attempts: 3,
    });
  });

  it("flags a Spring partition or offset of the wrong length and keeps the rest", () => {
    const { failure, flags } = readFailureHeaders(
      index({
        "kafka_dlt-original-topic": "orders",
        "kafka_dlt-original-partition": Buffer.from([0x00, 0x03]),
        "kafka_dlt-original-offset": Buffer.from([0x00, 0x00, 0x00, 0x11]),
      }),
    );
    expect(flags).toEqual(["dlq-header-malformed"]);
    expect(failure).toMatchObject({ originTopic: "orders", originPartition: null, originOffset: null });
  });

  it("accepts decimal text in Spring headers written by hand or re-published by a tool", () => {
    const { failure, flags } = readFailureHeaders(
      index({ "kafka_dlt-original-partition": "12", "kafka_dlt-original-offset": "123456" }),
    );
    expect(flags).toEqual([]);
    expect(failure).toMatchObject({ originPartition: 12, originOffset: "123456" });
  });

  it("reads Kafka Connect's UTF-8 headers", () => {
    const { failure, flags } = readFailureHeaders(
      index({
        "__connect.errors.topic": "orders",
        "__connect.errors.partition": "2",
        "__connect.errors.offset": "1001",
        "__connect.errors.connector.name": "orders-jdbc-sink",
        "__connect.errors.exception.class.name": "org.apache.kafka.connect.errors.DataException",
        "__connect.errors.exception.message": "Converting byte[] to Kafka Connect data failed",
        "__connect.errors.exception.stacktrace": "org.apache.kafka.connect.errors.DataException: ...",
      }),
    );
    expect(flags).toEqual([]);
    expect(failure).toMatchObject({
      convention: "kafka-connect",
      originTopic: "orders",
      originPartition: 2,
      originOffset: "1001",
      errorClass: "org.apache.kafka.connect.errors.DataException",
      errorMessage: "Converting byte[] to Kafka Connect data failed",
      stackTrace: "org.apache.kafka.connect.errors.DataException: ...",
    });
  });

  it("reads Kafka Streams' headers, where -1 and null mean unknown rather than malformed", () => {
    const { failure, flags } = readFailureHeaders(
      index({
        "__streams.errors.exception": "org.apache.kafka.common.errors.SerializationException",
        "__streams.errors.message": null,
        "__streams.errors.stacktrace": "SerializationException: bad magic byte",
        "__streams.errors.topic": "clicks",
        "__streams.errors.partition": "-1",
        "__streams.errors.offset": "-1",
      }),
    );
    expect(flags).toEqual([]);
    expect(failure).toMatchObject({
      convention: "kafka-streams",
      originTopic: "clicks",
      originPartition: null,
      originOffset: null,
      errorClass: "org.apache.kafka.common.errors.SerializationException",
      errorMessage: null,
    });
  });

  it("reads SmallRye's dead-letter-* headers", () => {
    const { failure } = readFailureHeaders(
      index({
        "dead-letter-reason": "Something went wrong",
        "dead-letter-cause": "Connection refused",
        "dead-letter-exception-class-name": "java.lang.RuntimeException",
        "dead-letter-topic": "movies",
        "dead-letter-partition": "0",
        "dead-letter-offset": "77",
      }),
    );
    expect(failure).toMatchObject({
      convention: "smallrye",
      originTopic: "movies",
      originPartition: 0,
      originOffset: "77",
      errorClass: "java.lang.RuntimeException",
      errorMessage: "Something went wrong",
      errorCause: "Connection refused",
    });
  });

  it("reads kafkajs-async-retry's asyncRetry JSON", () => {
    const { failure, flags } = readFailureHeaders(
      index({ asyncRetry: Buffer.from(JSON.stringify({ top: "orders", ttl: 1_735_689_605_000, att: 3 })) }),
    );
    expect(flags).toEqual([]);
    expect(failure).toMatchObject({ convention: "kafkajs-async-retry", originTopic: "orders", attempts: 3 });
  });

  it("flags an asyncRetry header that is not JSON but still names the convention", () => {
    const { failure, flags } = readFailureHeaders(index({ asyncRetry: "{top: orders" }));
    expect(flags).toEqual(["dlq-header-malformed"]);
    expect(failure).toMatchObject({ convention: "kafkajs-async-retry", originTopic: null, attempts: null });
  });

  it("reads Eventscope's own x-original-* and x-error* headers", () => {
    const { failure, flags } = readFailureHeaders(
      index({
        "x-original-topic": "payments",
        "x-original-partition": "4",
        "x-original-offset": "318",
        "x-error": "card declined",
        "x-error-class": "PaymentDeclinedError",
        "x-attempts": "3",
      }),
    );
    expect(flags).toEqual([]);
    expect(failure).toMatchObject({
      convention: "eventscope",
      originTopic: "payments",
      originPartition: 4,
      originOffset: "318",
      errorClass: "PaymentDeclinedError",
      errorMessage: "card declined",
      attempts: 3,
    });
  });

  it("flags decimal headers that are not numbers", () => {
    const { failure, flags } = readFailureHeaders(
      index({ "x-original-topic": "payments", "x-original-partition": "four", "x-attempts": "3.5" }),
    );
    expect(flags).toEqual(["dlq-header-malformed"]);
    expect(failure).toMatchObject({ originTopic: "payments", originPartition: null, attempts: null });
  });

  it("flags a binary origin topic", () => {
    const { failure, flags } = readFailureHeaders(index({ "x-original-topic": Buffer.from([0xff, 0xfe]) }));
    expect(flags).toEqual(["dlq-header-malformed"]);
    expect(failure?.originTopic).toBeNull();
  });

  it("finds nothing in ordinary headers", () => {
    expect(readFailureHeaders(index({ traceparent: "x", "content-type": "application/json" }))).toEqual({
      failure: null,
      flags: [],
    });
  });
});

describe("detectDeadLetter", () => {
  it("takes the origin from headers and the name only as a hint", () => {
    const { deadLetter, priorFailure, topicClass } = detectDeadLetter("orders.DLT", index(springDlt()), []);
    expect(topicClass).toEqual({ kind: "dlq", of: "orders" });
    expect(priorFailure).toBeNull();
    expect(deadLetter).toMatchObject({
      source: "headers",
      convention: "spring",
      originTopic: "orders",
      originTopicHint: "orders",
      originPartition: 3,
    });
  });

  it("recognises a dead letter by its headers on a topic with an unfamiliar name", () => {
    const { deadLetter } = detectDeadLetter("orders-parking-lot", index(springDlt()), []);
    expect(deadLetter).toMatchObject({ source: "headers", originTopic: "orders", originTopicHint: null });
  });

  it("recognises a dead letter by name alone, with only a hint of its origin", () => {
    const { deadLetter } = detectDeadLetter("orders-dlq", index({}), []);
    expect(deadLetter).toEqual({
      source: "topic-name",
      convention: null,
      originTopicHint: "orders",
      originTopic: null,
      originPartition: null,
      originOffset: null,
      originTimestamp: null,
      originConsumerGroup: null,
      errorClass: null,
      errorMessage: null,
      errorCause: null,
      stackTrace: null,
      attempts: null,
    });
  });

  it("uses configured patterns", () => {
    expect(detectDeadLetter("errors.orders", index({}), [/^errors\.(.+)$/]).deadLetter).toMatchObject({
      source: "topic-name",
      originTopicHint: "orders",
    });
  });

  it("does not call a record on a retry topic a dead letter, but keeps its failure", () => {
    const { deadLetter, priorFailure, topicClass } = detectDeadLetter(
      "orders-retry-0",
      index({ ...springDlt(), "retry_topic-attempts": int32(1) }),
      [],
    );
    expect(topicClass).toEqual({ kind: "retry", of: "orders" });
    expect(deadLetter).toBeNull();
    expect(priorFailure).toMatchObject({ originTopic: "orders", attempts: 1 });
  });

  it("does not call a record replayed onto its origin topic a dead letter", () => {
    const { deadLetter, priorFailure } = detectDeadLetter("orders", index(springDlt()), []);
    expect(deadLetter).toBeNull();
    expect(priorFailure).toMatchObject({ convention: "spring", originTopic: "orders" });
  });

  it("is nothing at all for an ordinary record", () => {
    expect(detectDeadLetter("orders", index({ service: "orders" }), [])).toEqual({
      topicClass: { kind: "normal", of: null },
      deadLetter: null,
      priorFailure: null,
      flags: [],
    });
  });
});

describe("RabbitMQ dead-lettering (x-death)", () => {
  /** x-death as the AMQP header flattening renders it: JSON, newest death first, times in ISO 8601. */
  function death(queue: string, reason: string, count: number, exchange: string, time: string) {
    return { count, reason, queue, time, exchange, "routing-keys": ["order.placed"] };
  }
  const rabbit = (deaths: object[], first?: { queue: string; reason: string; exchange: string }): Headers => ({
    "x-death": JSON.stringify(deaths),
    ...(first && {
      "x-first-death-queue": first.queue,
      "x-first-death-reason": first.reason,
      "x-first-death-exchange": first.exchange,
    }),
  });
  const ORIGIN = { queue: "orders", reason: "rejected", exchange: "orders" };

  it.each([
    ["rejected", 'Dead-lettered from queue "orders": a consumer rejected it (basic.reject or basic.nack with requeue=false).'],
    ["expired", 'Dead-lettered from queue "orders": it expired (per-message TTL or the queue\'s message TTL).'],
    ["maxlen", 'Dead-lettered from queue "orders": the queue was over its length limit (x-max-length or x-max-length-bytes).'],
    ["delivery_limit", 'Dead-lettered from queue "orders": it reached the queue\'s delivery limit (quorum queue x-delivery-limit).'],
  ])("reads a death for reason %s: origin exchange and queue, reason as the error class, in words as the message", (reason, message) => {
    const headers = index(rabbit([death("orders", reason, 1, "orders", "2026-12-05T22:00:00.000Z")], { ...ORIGIN, reason }));
    expect(detectDeadLetter("orders.dlq", headers, [])).toEqual({
      topicClass: { kind: "dlq", of: "orders" },
      deadLetter: {
        source: "headers",
        convention: "rabbitmq",
        originTopic: "orders",
        originPartition: null,
        originOffset: null,
        originTimestamp: new Date("2026-12-05T22:00:00.000Z"),
        originConsumerGroup: "orders",
        originTopicHint: "orders",
        errorClass: reason,
        errorMessage: message,
        errorCause: null,
        stackTrace: null,
        attempts: 1,
      },
      priorFailure: null,
      flags: [],
    });
  });

  it("takes the origin from the first death and the error from the newest; attempts are the deaths in the origin queue", () => {
    // A TTL retry loop: rejected in orders 3 times, expired in orders.wait 3 times, then parked.
    const headers = index(
      rabbit(
        [
          death("orders.wait", "expired", 3, "orders.retry", "2026-12-05T22:00:30.000Z"),
          death("orders", "rejected", 3, "orders", "2026-12-05T22:00:00.000Z"),
        ],
        ORIGIN,
      ),
    );
    expect(readFailureHeaders(headers)).toMatchObject({
      failure: {
        originTopic: "orders",
        originTimestamp: new Date("2026-12-05T22:00:00.000Z"),
        originConsumerGroup: "orders",
        errorClass: "expired",
        errorMessage: 'Dead-lettered from queue "orders.wait": it expired (per-message TTL or the queue\'s message TTL).',
        errorCause: "rejected",
        attempts: 3,
      },
      flags: [],
    });
  });

  it("prefers x-last-death-* for the newest death, and reads the x-first-death-* headers alone", () => {
    const headers = index({
      "x-first-death-queue": "payments",
      "x-first-death-reason": "maxlen",
      "x-first-death-exchange": "",
      "x-last-death-queue": "payments.overflow",
      "x-last-death-reason": "expired",
    });
    expect(readFailureHeaders(headers).failure).toMatchObject({
      // The default exchange: a replay publishes there again with the queue's name as routing key.
      originTopic: "",
      originConsumerGroup: "payments",
      originTimestamp: null,
      errorClass: "expired",
      errorMessage: 'Dead-lettered from queue "payments.overflow": it expired (per-message TTL or the queue\'s message TTL).',
      errorCause: "maxlen",
      attempts: null,
    });
  });

  it("falls back on the oldest x-death entry without x-first-death-*, and reads amqplib's timestamp notation", () => {
    const headers = index({
      "x-death": JSON.stringify([
        { queue: "b", reason: "expired", count: 2, exchange: "x2", time: { "!": "timestamp", value: 1_765_000_000 } },
        { queue: "a", reason: "rejected", count: 4, exchange: "x1", time: 1_764_000_000 },
      ]),
    });
    expect(readFailureHeaders(headers).failure).toMatchObject({
      originTopic: "x1",
      originConsumerGroup: "a",
      originTimestamp: new Date(1_764_000_000_000),
      errorClass: "expired",
      errorCause: "rejected",
      attempts: 4,
    });
  });

  it("names an unknown reason as it is", () => {
    const headers = index(rabbit([death("q", "shovelled", 1, "ex", "2026-12-05T22:00:00.000Z")]));
    expect(readFailureHeaders(headers).failure).toMatchObject({
      errorClass: "shovelled",
      errorMessage: 'Dead-lettered from queue "q": reason "shovelled".',
    });
  });

  it("flags an x-death that is not an array of death tables, and keeps what it can read", () => {
    expect(readFailureHeaders(index({ "x-death": "not json" }))).toMatchObject({
      failure: { convention: "rabbitmq", originTopic: null, errorClass: null, errorMessage: null },
      flags: ["dlq-header-malformed"],
    });
    expect(readFailureHeaders(index({ "x-death": '{"queue": "orders"}' })).flags).toEqual(["dlq-header-malformed"]);
    const mixed = index({
      "x-death": JSON.stringify([{ queue: 7, reason: "rejected" }, death("orders", "rejected", 2, "orders", "2026-12-05T22:00:00.000Z"), { count: -1 }]),
    });
    expect(readFailureHeaders(mixed)).toMatchObject({
      failure: { originTopic: "orders", originConsumerGroup: "orders", errorClass: "rejected", attempts: 2 },
      flags: ["dlq-header-malformed"],
    });
    expect(readFailureHeaders(index({ "x-death": JSON.stringify([{ queue: "q", time: "yesterday" }]) })).flags).toEqual([
      "dlq-header-malformed",
    ]);
  });

  it("is parked when read from any other queue or exchange, a prior failure when delivered from its origin queue again or published to its origin exchange", () => {
    const headers = index(rabbit([death("orders", "rejected", 1, "orders-exchange", "2026-12-05T22:00:00.000Z")], {
      queue: "orders",
      reason: "rejected",
      exchange: "orders-exchange",
    }));
    // Delivered from the dead-letter queue (any name: the broker's headers say what it is).
    expect(detectDeadLetter("parking-lot", headers, []).deadLetter).toMatchObject({ convention: "rabbitmq" });
    // A TTL retry loop brings it back to the queue it failed in: it is being retried.
    const retried = detectDeadLetter("orders", headers, []);
    expect(retried.deadLetter).toBeNull();
    expect(retried.priorFailure).toMatchObject({ convention: "rabbitmq", originConsumerGroup: "orders" });
    // Re-published to its original exchange with x-death kept (a hand-made re-send).
    expect(detectDeadLetter("orders-exchange", headers, []).priorFailure).toMatchObject({ originTopic: "orders-exchange" });
    // A queue named as a retry queue.
    expect(detectDeadLetter("orders-retry", headers, []).priorFailure).not.toBeNull();
  });
});
