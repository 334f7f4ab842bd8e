/**
 * The dead-letter conventions of the frameworks Eventscope reads (CONVENTIONS.md), one owner for
 * the collector, which recognises dead letters by these headers, replay, which leaves them out of
 * what it sends, and the pages, which mark them. Also Eventscope's own replay markers.
 */

export type DeadLetterConvention =
  | "spring"
  | "spring-retry"
  | "kafka-connect"
  | "kafka-streams"
  | "smallrye"
  | "kafkajs-async-retry"
  | "rabbitmq"
  | "eventscope";

/**
 * Headers that Spring writes as big-endian binary numbers by design: not "binary by accident",
 * so they do not raise the header-binary flag.
 */
export const KNOWN_BINARY_HEADERS: ReadonlySet<string> = new Set([
  "kafka_dlt-original-partition",
  "kafka_dlt-original-offset",
  "kafka_dlt-original-timestamp",
  "kafka_original-partition",
  "kafka_original-offset",
  "kafka_original-timestamp",
  "retry_topic-attempts",
  "retry_topic-backoff-timestamp",
  "retry_topic-original-timestamp",
]);

/** Header names that mark each convention, in the order conventions are tried. */
export const CONVENTION_HEADERS: ReadonlyArray<readonly [DeadLetterConvention, readonly string[]]> = [
  [
    "spring",
    [
      "kafka_dlt-original-topic",
      "kafka_dlt-original-partition",
      "kafka_dlt-original-offset",
      "kafka_dlt-original-timestamp",
      "kafka_dlt-original-consumer-group",
      "kafka_dlt-exception-fqcn",
      "kafka_dlt-exception-message",
      "kafka_dlt-exception-stacktrace",
      "kafka_dlt-key-exception-fqcn",
    ],
  ],
  [
    "spring-retry",
    [
      "kafka_original-topic",
      "kafka_original-partition",
      "kafka_original-offset",
      "kafka_exception-fqcn",
      "kafka_exception-message",
      "kafka_exception-stacktrace",
      "retry_topic-attempts",
    ],
  ],
  [
    "kafka-connect",
    [
      "__connect.errors.topic",
      "__connect.errors.partition",
      "__connect.errors.offset",
      "__connect.errors.exception.class.name",
      "__connect.errors.exception.message",
      "__connect.errors.exception.stacktrace",
      "__connect.errors.connector.name",
    ],
  ],
  [
    "kafka-streams",
    [
      "__streams.errors.topic",
      "__streams.errors.partition",
      "__streams.errors.offset",
      "__streams.errors.exception",
      "__streams.errors.message",
      "__streams.errors.stacktrace",
    ],
  ],
  [
    "smallrye",
    [
      "dead-letter-topic",
      "dead-letter-partition",
      "dead-letter-offset",
      "dead-letter-reason",
      "dead-letter-cause",
      "dead-letter-exception-class-name",
    ],
  ],
  ["kafkajs-async-retry", ["asyncRetry"]],
  // Written by the RabbitMQ broker itself when a queue dead-letters a message (facts, not a
  // framework's choice): tried before Eventscope's own, which only the demo services write.
  [
    "rabbitmq",
    [
      "x-death",
      "x-first-death-queue",
      "x-first-death-reason",
      "x-first-death-exchange",
      "x-last-death-queue",
      "x-last-death-reason",
      "x-last-death-exchange",
    ],
  ],
  [
    "eventscope",
    ["x-original-topic", "x-original-partition", "x-original-offset", "x-error", "x-error-class", "x-attempts"],
  ],
];

/**
 * Every header a convention writes about a failure (origin, error, attempts), lower-cased: what a
 * replay leaves out when it sends a dead letter back. The markers, plus the fields read below
 * that do not mark a convention on their own.
 */
export const DEAD_LETTER_HEADER_NAMES: ReadonlySet<string> = new Set(
  [
    ...CONVENTION_HEADERS.flatMap(([, names]) => names),
    ...KNOWN_BINARY_HEADERS,
    "kafka_dlt-exception-cause-fqcn",
    "kafka_dlt-key-exception-message",
    "kafka_dlt-key-exception-stacktrace",
    "kafka_exception-cause-fqcn",
  ].map((name) => name.toLowerCase()),
);

/** The headers a replay adds: the dead letter it came from, and its own id (a failed replay links back). */
export const REPLAY_OF_HEADER = "x-replay-of";
export const REPLAY_ID_HEADER = "x-replay-id";

/** A failure header of any convention, or a replay marker: not sent again by a replay. */
export function isDeadLetterHeader(key: string): boolean {
  const name = key.toLowerCase();
  return DEAD_LETTER_HEADER_NAMES.has(name) || name === REPLAY_OF_HEADER || name === REPLAY_ID_HEADER;
}

/** Where a RabbitMQ queue's dead letters go, and what said so. */
export interface DeadLetterTarget {
  /** The dead-letter exchange; "" is the default exchange (the routing key then names the queue). */
  exchange: string;
  /** The routing key dead letters are republished with; null: each keeps its own. */
  routingKey: string | null;
  /** Whether the exchange comes from the queue's `x-dead-letter-exchange` argument or from a policy. */
  setBy: "arguments" | "policy";
  /** The policy's name when a policy sets it. */
  policy: string | null;
}

/**
 * A queue's dead-letter exchange and routing key, from its arguments or its policy: RabbitMQ takes
 * each key from the queue's arguments when they have it and from the policy otherwise (its docs,
 * "Dead Letter Exchanges": the arguments overrule the policy). null when the queue dead-letters
 * nowhere (its dead letters are dropped).
 */
export function deadLetterTargetOf(queue: {
  arguments?: Record<string, unknown> | null;
  policy?: string | null;
  effective_policy_definition?: Record<string, unknown> | null;
}): DeadLetterTarget | null {
  const text = (value: unknown) => (typeof value === "string" ? value : null);
  const args = queue.arguments ?? {};
  const policy = queue.effective_policy_definition ?? {};
  const byArguments = text(args["x-dead-letter-exchange"]);
  const exchange = byArguments ?? text(policy["dead-letter-exchange"]);
  if (exchange === null) return null;
  return {
    exchange,
    routingKey: text(args["x-dead-letter-routing-key"]) ?? text(policy["dead-letter-routing-key"]),
    setBy: byArguments === null ? "policy" : "arguments",
    policy: byArguments === null ? (queue.policy ?? null) : null,
  };
}
