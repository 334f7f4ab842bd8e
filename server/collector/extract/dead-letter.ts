import {
  CONVENTION_HEADERS,
  type DeadLetterConvention,
} from "../../../lib/dead-letter-conventions.ts";
import { classifyTopic, type TopicClass } from "./classify-topic.ts";
import type { ExtractionFlag } from "./flags.ts";
import { headerEntries, type HeaderEntry, type HeaderIndex } from "./headers.ts";

/** What a framework's failure headers say. Anything the convention lacks, or that is unreadable, is null. */
export { KNOWN_BINARY_HEADERS, type DeadLetterConvention } from "../../../lib/dead-letter-conventions.ts";

export interface FailureHeaders {
  convention: DeadLetterConvention;
  originTopic: string | null;
  originPartition: number | null;
  /** Decimal int64. */
  originOffset: string | null;
  originTimestamp: Date | null;
  originConsumerGroup: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  /** The underlying cause as the framework reports it: a class name (Spring) or a message (SmallRye). */
  errorCause: string | null;
  stackTrace: string | null;
  attempts: number | null;
}

/** Every origin and error field unknown: what a convention that carries few of them starts from. */
const UNKNOWN_FAILURE: Omit<FailureHeaders, "convention"> = {
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
};

export interface DeadLetter extends Omit<FailureHeaders, "convention"> {
  /**
   * "headers": a framework's failure headers say where the message came from (facts).
   * "topic-name": only the topic's name marks it as a dead letter; every origin field is null
   * and `originTopicHint` is a guess from the name.
   */
  source: "headers" | "topic-name";
  convention: DeadLetterConvention | null;
  /** From the topic's name ("orders" for "orders.DLT"); a hint, never used as the origin. */
  originTopicHint: string | null;
}

export interface DeadLetterDetection {
  topicClass: TopicClass;
  /** Set when this message is parked in a dead-letter queue: what the DLQ view lists and replays. */
  deadLetter: DeadLetter | null;
  /**
   * Failure headers on a message that is NOT parked: a record on a retry topic (it will be
   * retried automatically), or one back on its own origin topic (replayed or re-sent with the
   * headers of its earlier failure). Worth showing on a timeline, wrong to list as a dead letter.
   */
  priorFailure: DeadLetter | null;
  flags: ExtractionFlag[];
}

/**
 * Dead-letter status: by failure headers first, else by the topic's name. Headers say where a
 * dead letter came from; a name only hints.
 */
export function detectDeadLetter(
  topic: string,
  headers: HeaderIndex,
  dlqPatterns: readonly RegExp[],
): DeadLetterDetection {
  const topicClass = classifyTopic(topic, dlqPatterns);
  const { failure, flags } = readFailureHeaders(headers);
  if (failure !== null) {
    const letter: DeadLetter = { ...failure, source: "headers", originTopicHint: topicClass.of };
    const parked = topicClass.kind === "dlq" || (topicClass.kind === "normal" && !isOriginChannel(failure, topic));
    return parked
      ? { topicClass, deadLetter: letter, priorFailure: null, flags }
      : { topicClass, deadLetter: null, priorFailure: letter, flags };
  }
  if (topicClass.kind === "dlq") {
    const letter: DeadLetter = { ...UNKNOWN_FAILURE, source: "topic-name", convention: null, originTopicHint: topicClass.of };
    return { topicClass, deadLetter: letter, priorFailure: null, flags };
  }
  return { topicClass, deadLetter: null, priorFailure: null, flags };
}

/**
 * Whether the channel is where the failed message came from: its origin topic; on RabbitMQ also
 * the queue it was first dead-lettered from (a message delivered from there again is being
 * retried, as with a TTL retry loop, not parked).
 */
function isOriginChannel(failure: FailureHeaders, channel: string): boolean {
  if (failure.originTopic === channel) return true;
  return failure.convention === "rabbitmq" && failure.originConsumerGroup === channel;
}

/** The same, lower-cased like HeaderIndex keys, so that detection is a plain Map lookup per name. */
const MARKERS = CONVENTION_HEADERS.map(([convention, names]) => [convention, names.map((n) => n.toLowerCase())] as const);

/**
 * The failure headers of the first convention present. Origin fields read the FIRST occurrence of
 * a repeated header and error fields the LAST: Spring appends its headers again at every hop
 * (retry topic after retry topic), so the first origin is where the message was first consumed,
 * and the last error is the most recent failure.
 */
export function readFailureHeaders(headers: HeaderIndex): { failure: FailureHeaders | null; flags: ExtractionFlag[] } {
  const marker = MARKERS.find(([, names]) => names.some((name) => headers.has(name)));
  if (marker === undefined) return { failure: null, flags: [] };
  const read = new FieldReader(headers);
  const failure = READERS[marker[0]](read);
  return { failure, flags: read.malformed ? ["dlq-header-malformed"] : [] };
}

const READERS: Record<DeadLetterConvention, (read: FieldReader) => FailureHeaders> = {
  spring: (read) => ({
    convention: "spring",
    originTopic: read.text("kafka_dlt-original-topic", "first"),
    originPartition: read.int32BigEndian("kafka_dlt-original-partition"),
    originOffset: read.int64BigEndian("kafka_dlt-original-offset"),
    originTimestamp: read.timestampBigEndian("kafka_dlt-original-timestamp"),
    originConsumerGroup: read.text("kafka_dlt-original-consumer-group", "first"),
    // A key that failed deserialization gets its own key-exception headers instead.
    errorClass: read.text("kafka_dlt-exception-fqcn", "last") ?? read.text("kafka_dlt-key-exception-fqcn", "last"),
    errorMessage:
      read.text("kafka_dlt-exception-message", "last") ?? read.text("kafka_dlt-key-exception-message", "last"),
    errorCause: read.text("kafka_dlt-exception-cause-fqcn", "last"),
    stackTrace:
      read.text("kafka_dlt-exception-stacktrace", "last") ?? read.text("kafka_dlt-key-exception-stacktrace", "last"),
    attempts: read.springAttempts("retry_topic-attempts"),
  }),
  "spring-retry": (read) => ({
    convention: "spring-retry",
    originTopic: read.text("kafka_original-topic", "first"),
    originPartition: read.int32BigEndian("kafka_original-partition"),
    originOffset: read.int64BigEndian("kafka_original-offset"),
    originTimestamp: read.timestampBigEndian("kafka_original-timestamp"),
    originConsumerGroup: null,
    errorClass: read.text("kafka_exception-fqcn", "last"),
    errorMessage: read.text("kafka_exception-message", "last"),
    errorCause: read.text("kafka_exception-cause-fqcn", "last"),
    stackTrace: read.text("kafka_exception-stacktrace", "last"),
    attempts: read.springAttempts("retry_topic-attempts"),
  }),
  "kafka-connect": (read) => ({
    convention: "kafka-connect",
    originTopic: read.text("__connect.errors.topic", "first"),
    originPartition: read.decimalPartition("__connect.errors.partition"),
    originOffset: read.decimalOffset("__connect.errors.offset"),
    originTimestamp: null,
    // A sink connector's group is "connect-<name>" only by default; not guessed here.
    originConsumerGroup: null,
    errorClass: read.text("__connect.errors.exception.class.name", "last"),
    errorMessage: read.text("__connect.errors.exception.message", "last"),
    errorCause: null,
    stackTrace: read.text("__connect.errors.exception.stacktrace", "last"),
    attempts: null,
  }),
  "kafka-streams": (read) => ({
    convention: "kafka-streams",
    originTopic: read.text("__streams.errors.topic", "first"),
    originPartition: read.decimalPartition("__streams.errors.partition"),
    originOffset: read.decimalOffset("__streams.errors.offset"),
    originTimestamp: null,
    originConsumerGroup: null,
    errorClass: read.text("__streams.errors.exception", "last"),
    errorMessage: read.text("__streams.errors.message", "last"),
    errorCause: null,
    stackTrace: read.text("__streams.errors.stacktrace", "last"),
    attempts: null,
  }),
  smallrye: (read) => ({
    convention: "smallrye",
    originTopic: read.text("dead-letter-topic", "first"),
    originPartition: read.decimalPartition("dead-letter-partition"),
    originOffset: read.decimalOffset("dead-letter-offset"),
    originTimestamp: null,
    originConsumerGroup: null,
    errorClass: read.text("dead-letter-exception-class-name", "last"),
    errorMessage: read.text("dead-letter-reason", "last"),
    errorCause: read.text("dead-letter-cause", "last"),
    stackTrace: null,
    attempts: null,
  }),
  "kafkajs-async-retry": (read) => {
    const state = read.json("asyncRetry");
    const top = state?.top;
    const att = state?.att;
    const attempts = typeof att === "number" && Number.isSafeInteger(att) && att >= 0 ? att : null;
    if (state !== null && ((top !== undefined && typeof top !== "string") || (att !== undefined && attempts === null))) {
      read.malformed = true;
    }
    return {
      ...UNKNOWN_FAILURE,
      convention: "kafkajs-async-retry",
      originTopic: typeof top === "string" && top !== "" ? top : null,
      attempts,
    };
  },
  rabbitmq: readRabbitMqDeath,
  eventscope: (read) => ({
    convention: "eventscope",
    originTopic: read.text("x-original-topic", "first"),
    originPartition: read.decimalPartition("x-original-partition"),
    originOffset: read.decimalOffset("x-original-offset"),
    originTimestamp: null,
    originConsumerGroup: null,
    errorClass: read.text("x-error-class", "last"),
    errorMessage: read.text("x-error", "last"),
    errorCause: null,
    stackTrace: null,
    attempts: read.decimalCount("x-attempts"),
  }),
};

/** What RabbitMQ writes in each `x-death` entry (CONVENTIONS.md), as the AMQP header flattening renders it. */
interface RabbitMqDeath {
  queue: string | null;
  reason: string | null;
  count: number | null;
  exchange: string | null;
  time: Date | null;
}

/** Why RabbitMQ dead-lettered a message, in words for the DLQ view. */
const RABBITMQ_REASONS: Readonly<Record<string, string>> = {
  rejected: "a consumer rejected it (basic.reject or basic.nack with requeue=false)",
  expired: "it expired (per-message TTL or the queue's message TTL)",
  maxlen: "the queue was over its length limit (x-max-length or x-max-length-bytes)",
  delivery_limit: "it reached the queue's delivery limit (quorum queue x-delivery-limit)",
};

/**
 * RabbitMQ's dead-lettering headers. `x-death` is a JSON array of tables, newest death first;
 * `x-first-death-*` name the first (the origin: where the message was first consumed and failed),
 * `x-last-death-*` (RabbitMQ 3.13+) the most recent. Origin: the exchange it was first published
 * to (`originTopic`, where a replay publishes it again; empty text for the default exchange) and
 * the queue that dead-lettered it first (`originConsumerGroup`: the queue's consumers are the ones
 * that failed). Error: the most recent death's reason. Attempts: how many times it died in its
 * origin queue. `originTimestamp`: when it first died there. No partition or offset: a queue has
 * neither.
 */
function readRabbitMqDeath(read: FieldReader): FailureHeaders {
  const deaths = read.rabbitMqDeaths("x-death");
  const newest = deaths[0] ?? null;
  const oldest = deaths[deaths.length - 1] ?? null;
  const firstQueue = read.text("x-first-death-queue", "first") ?? oldest?.queue ?? null;
  const firstReason = read.text("x-first-death-reason", "first") ?? oldest?.reason ?? null;
  const firstExchange = read.textOrEmpty("x-first-death-exchange") ?? oldest?.exchange ?? null;
  const lastQueue = read.text("x-last-death-queue", "last") ?? newest?.queue ?? firstQueue;
  const lastReason = read.text("x-last-death-reason", "last") ?? newest?.reason ?? firstReason;
  const first = deaths.find((death) => death.queue === firstQueue && death.reason === firstReason) ?? oldest;
  let attempts: number | null = null;
  for (const death of deaths) {
    if (death.queue === firstQueue && death.count !== null) attempts = (attempts ?? 0) + death.count;
  }
  return {
    ...UNKNOWN_FAILURE,
    convention: "rabbitmq",
    originTopic: firstExchange,
    originTimestamp: first?.time ?? null,
    originConsumerGroup: firstQueue,
    errorClass: lastReason,
    errorMessage: lastReason === null ? null : rabbitMqDeathMessage(lastReason, lastQueue),
    // The first death's reason, when a later one differs (rejected, then expired in a retry queue).
    errorCause: firstReason !== null && firstReason !== lastReason ? firstReason : null,
    attempts,
  };
}

function rabbitMqDeathMessage(reason: string, queue: string | null): string {
  const why = Object.hasOwn(RABBITMQ_REASONS, reason) ? RABBITMQ_REASONS[reason] : `reason "${reason}"`;
  return queue === null ? `Dead-lettered: ${why}.` : `Dead-lettered from queue "${queue}": ${why}.`;
}

function rabbitMqDeathOf(entry: unknown): RabbitMqDeath | null {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return null;
  const table = entry as Record<string, unknown>;
  const text = (name: string): string | null | undefined => {
    const value = Object.hasOwn(table, name) ? table[name] : undefined;
    if (value === undefined || value === null) return null;
    return typeof value === "string" ? value : undefined;
  };
  const queue = text("queue");
  const reason = text("reason");
  const exchange = text("exchange");
  const countValue = Object.hasOwn(table, "count") ? table.count : undefined;
  const count = typeof countValue === "number" && Number.isSafeInteger(countValue) && countValue >= 0 ? countValue : null;
  const time = deathTime(Object.hasOwn(table, "time") ? table.time : undefined);
  if (queue === undefined || reason === undefined || exchange === undefined || time === undefined) return null;
  if (countValue !== undefined && countValue !== null && count === null) return null;
  return { queue: queue === "" ? null : queue, reason: reason === "" ? null : reason, count, exchange, time };
}

/**
 * `time` as the AMQP flattening renders a timestamp (ISO 8601 text); amqplib's own
 * `{"!": "timestamp", "value": seconds}` and bare seconds are read too. undefined: unreadable.
 */
function deathTime(value: unknown): Date | null | undefined {
  if (value === undefined || value === null) return null;
  let ms: number;
  if (typeof value === "string") ms = Date.parse(value);
  else if (typeof value === "number") ms = value * 1000;
  else if (typeof value === "object" && !Array.isArray(value) && (value as Record<string, unknown>)["!"] === "timestamp") {
    const seconds = (value as Record<string, unknown>).value;
    ms = typeof seconds === "number" ? seconds * 1000 : Number.NaN;
  } else return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = (1n << 63n) - 1n;
const DECIMAL = /^-?\d+$/;

/**
 * Reads single failure fields. Unreadable values become null and set `malformed` rather than
 * throw. Negative partitions and offsets are null without a flag: frameworks write -1 for "unknown"
 * (Kafka Streams, for a record that has no input topic).
 */
class FieldReader {
  malformed = false;

  constructor(private readonly headers: HeaderIndex) {}

  text(name: string, pick: "first" | "last"): string | null {
    const entry = this.pick(name, pick);
    if (entry === null || entry.value === null) return null;
    if (entry.text === null) {
      this.malformed = true;
      return null;
    }
    return entry.text === "" ? null : entry.text;
  }

  /** Spring: 4-byte big-endian int. A decimal string (a hand-made or re-published record) is accepted too. */
  int32BigEndian(name: string): number | null {
    const bytes = this.bytes(name);
    if (bytes === null) return null;
    if (bytes.length === 4) return nonNegative(bytes.readInt32BE(0));
    return this.partitionFromText(bytes);
  }

  /** Spring: 8-byte big-endian long, returned as decimal text (offsets exceed 2^53). */
  int64BigEndian(name: string): string | null {
    const bytes = this.bytes(name);
    if (bytes === null) return null;
    if (bytes.length === 8) {
      const value = bytes.readBigInt64BE(0);
      return value < 0n ? null : value.toString();
    }
    return this.offsetFromText(bytes);
  }

  timestampBigEndian(name: string): Date | null {
    const bytes = this.bytes(name);
    if (bytes === null) return null;
    const ms = bytes.length === 8 ? Number(bytes.readBigInt64BE(0)) : Number(decodeDecimal(bytes) ?? Number.NaN);
    // new Date() only holds ±8.64e15 ms; beyond that the header cannot be a real timestamp.
    const date = new Date(ms);
    if (Number.isNaN(date.getTime())) {
      this.malformed = true;
      return null;
    }
    return ms < 0 ? null : date;
  }

  /**
   * Spring's `retry_topic-attempts`: a big-endian two's-complement integer of 1 to 4 bytes (older
   * versions wrote BigInteger.toByteArray(), newer ones a 4-byte int; both decode the same way).
   */
  springAttempts(name: string): number | null {
    const bytes = this.bytes(name, "last");
    if (bytes === null) return null;
    if (bytes.length < 1 || bytes.length > 4) {
      this.malformed = true;
      return null;
    }
    return nonNegative(bytes.readIntBE(0, bytes.length));
  }

  decimalPartition(name: string): number | null {
    const bytes = this.bytes(name);
    return bytes === null ? null : this.partitionFromText(bytes);
  }

  decimalOffset(name: string): string | null {
    const bytes = this.bytes(name);
    return bytes === null ? null : this.offsetFromText(bytes);
  }

  decimalCount(name: string): number | null {
    const bytes = this.bytes(name, "last");
    if (bytes === null) return null;
    const text = decodeDecimal(bytes);
    const value = text === null ? Number.NaN : Number(text);
    if (!Number.isSafeInteger(value)) {
      this.malformed = true;
      return null;
    }
    return nonNegative(value);
  }

  /** Text where the empty text means something (RabbitMQ's default exchange is named ""). */
  textOrEmpty(name: string): string | null {
    const entry = this.pick(name, "first");
    if (entry === null || entry.value === null) return null;
    if (entry.text === null) this.malformed = true;
    return entry.text;
  }

  /** RabbitMQ's `x-death`: a JSON array of tables. Entries that cannot be read are left out (and flagged). */
  rabbitMqDeaths(name: string): RabbitMqDeath[] {
    const text = this.text(name, "last");
    if (text === null) return [];
    let entries: unknown;
    try {
      entries = JSON.parse(text);
    } catch {
      entries = null;
    }
    if (!Array.isArray(entries)) {
      this.malformed = true;
      return [];
    }
    const deaths: RabbitMqDeath[] = [];
    for (const entry of entries) {
      const death = rabbitMqDeathOf(entry);
      if (death === null) this.malformed = true;
      else deaths.push(death);
    }
    return deaths;
  }

  /** A JSON object header; anything else is malformed. */
  json(name: string): Record<string, unknown> | null {
    const text = this.text(name, "last");
    if (text === null) return null;
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // fall through: flagged below
    }
    this.malformed = true;
    return null;
  }

  private partitionFromText(bytes: Buffer): number | null {
    const text = decodeDecimal(bytes);
    const value = text === null ? Number.NaN : Number(text);
    if (!Number.isSafeInteger(value) || value > INT32_MAX) {
      this.malformed = true;
      return null;
    }
    return nonNegative(value);
  }

  private offsetFromText(bytes: Buffer): string | null {
    const text = decodeDecimal(bytes);
    const value = text === null ? null : BigInt(text);
    if (value === null || value > INT64_MAX) {
      this.malformed = true;
      return null;
    }
    return value < 0n ? null : value.toString();
  }

  private bytes(name: string, pick: "first" | "last" = "first"): Buffer | null {
    return this.pick(name, pick)?.value ?? null;
  }

  private pick(name: string, pick: "first" | "last"): HeaderEntry | null {
    const entries = headerEntries(this.headers, name);
    return (pick === "first" ? entries[0] : entries[entries.length - 1]) ?? null;
  }
}

function decodeDecimal(bytes: Buffer): string | null {
  const text = bytes.toString("latin1").trim();
  return DECIMAL.test(text) ? text : null;
}

function nonNegative(value: number): number | null {
  return value < 0 ? null : value;
}
