import { z } from "zod";

/**
 * A partition whose data could not all be decoded, as GET /api/health lists it: `retrying` (that
 * partition's collection waits while the batch is fetched again) or `stored` (given up: the range
 * is one event row flagged batch-undecodable, and collection moved past it) within the last hour.
 */
export const stalledPartitionSchema = z.object({
  /** The source (by name) the partition is on. */
  source: z.string(),
  topic: z.string(),
  partition: z.number().int(),
  /** The undecodable range (decimal int64 offsets, inclusive). */
  fromOffset: z.string(),
  toOffset: z.string(),
  codec: z.string(),
  error: z.string(),
  /** Fetches of the range that failed so far. */
  attempts: z.number().int(),
  /** When the range first failed to decode (ISO 8601). */
  since: z.string(),
  state: z.enum(["retrying", "stored"]),
});

export type StalledPartition = z.infer<typeof stalledPartitionSchema>;

/** A stalled partition in words, as the health reason and the "data is stale" banner say it. */
export function stallWords(stall: Pick<StalledPartition, "topic" | "partition" | "fromOffset" | "toOffset" | "codec" | "error">): string {
  const range = stall.fromOffset === stall.toOffset ? `offset ${stall.fromOffset}` : `offsets ${stall.fromOffset}..${stall.toOffset}`;
  return `${stall.topic}-${stall.partition} ${range} (${stall.codec}) cannot be decoded: ${stall.error}`;
}

/** One collector instance as it last reported. */
export const collectorInstanceHealthSchema = z.object({
  instanceId: z.string(),
  host: z.string(),
  pid: z.number(),
  startedAt: z.string(),
  lastPollAt: z.string().nullable(),
  lastStoredAt: z.string().nullable(),
  lastAdminPollAt: z.string().nullable(),
  ownLag: z.string().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  updatedAt: z.string(),
  /** `stopped`: no report for longer than the stale window (instances silent for a day are not listed). */
  status: z.enum(["running", "stopped"]),
});

export type CollectorInstanceHealth = z.infer<typeof collectorInstanceHealthSchema>;

/** One source's collection, as GET /api/health lists it: a source that is down is told apart from the others. */
export const sourceHealthSchema = z.object({
  name: z.string(),
  kind: z.string(),
  /** Collector pipelines reporting for it now. */
  instances: z.number().int(),
  lastPollAt: z.string().nullable(),
  lastAdminPollAt: z.string().nullable(),
  lastError: z.object({ message: z.string(), at: z.string().nullable(), instanceId: z.string() }).nullable(),
  /** Its partitions held up by batches that do not decode (listed in the report's `stalled`). */
  stalled: z.number().int(),
  stale: z.boolean(),
  staleReason: z.string().nullable(),
});

export type SourceHealth = z.infer<typeof sourceHealthSchema>;

/** `GET /api/health`: whether collection is keeping up, and why the data may be stale. */
export const collectorHealthReportSchema = z.object({
  checkedAt: z.string(),
  pollMs: z.number(),
  collectorGroup: z.string(),
  instances: z.array(collectorInstanceHealthSchema),
  /** Most recent consumer fetch of any instance. */
  lastPollAt: z.string().nullable(),
  /** Most recent admin poll (topics, groups, lag samples). */
  lastAdminPollAt: z.string().nullable(),
  /** The collector group's own lag: records (sum over its partitions) and age of the oldest unread record. */
  ownLag: z.object({ offsetLag: z.string().nullable(), timeLagMs: z.number().nullable(), sampledAt: z.string().nullable() }),
  lastError: z.object({ message: z.string(), at: z.string().nullable(), instanceId: z.string() }).nullable(),
  /** Partitions held up by batches that do not decode, now or within the last hour. */
  stalled: z.array(stalledPartitionSchema),
  /** True when the data may be out of date: the UI says "data is stale" and why. */
  stale: z.boolean(),
  staleReason: z.string().nullable(),
  /** Each source a collector reports for, in the order they were first seen. */
  sources: z.array(sourceHealthSchema),
});

export type CollectorHealthReport = z.infer<typeof collectorHealthReportSchema>;

const BROKER_NAMES: Record<string, string> = { kafka: "Kafka", rabbitmq: "RabbitMQ", redis: "Redis", nats: "NATS" };

/**
 * What health texts call the broker the collector polls and the state its poller reads, by the
 * kinds of the sources a report covers: "the brokers" when they differ, Kafka's words when none
 * has reported yet.
 */
export function brokerWords(kinds: Iterable<string>): { broker: string; state: string } {
  const distinct = new Set(kinds);
  const only = distinct.size === 1 ? [...distinct][0]! : distinct.size === 0 ? "kafka" : null;
  if (only === null) return { broker: "the brokers", state: "consumers and lag" };
  return {
    broker: BROKER_NAMES[only] ?? only,
    state: only === "kafka" ? "consumer groups and lag" : only === "rabbitmq" ? "queues, consumers and lag" : "consumers and lag",
  };
}
