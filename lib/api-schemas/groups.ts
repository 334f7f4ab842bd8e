import { z } from "zod";
import { LAG_HEALTH_STATUSES } from "../lag-health.ts";
import { eventSummarySchema } from "./events.ts";
import { blankToUndefined, cursorSchema, limitSchema, queryRecord, sourceParamSchema, type RawQuery } from "./query-params.ts";

/**
 * Query parameters of the consumer-group pages (`/groups`, `/groups/[id]`) and their JSON API
 * (`GET /api/groups`, `/api/groups/[id]`, `/api/groups/[id]/lag`, `/api/groups/[id]/unprocessed`),
 * shared by pages and route handlers.
 */

/** Sort keys of the group list (the query layer takes the same list). */
export const GROUP_SORTS = ["group", "state", "members", "lag", "timeLag", "health"] as const;

export const groupListQuerySchema = z.object({
  sort: z.preprocess(blankToUndefined, z.enum(GROUP_SORTS, { error: `must be one of ${GROUP_SORTS.join(", ")}` }).optional()),
  order: z.preprocess(blankToUndefined, z.enum(["asc", "desc"], { error: "must be asc or desc" }).optional()),
  cursor: cursorSchema,
  limit: limitSchema(1000),
});
export type GroupListQuery = z.infer<typeof groupListQuerySchema>;

export function parseGroupListQuery(query: RawQuery): GroupListQuery {
  return groupListQuerySchema.parse(queryRecord(query));
}

/** A group id from the URL (Next decodes the path segment). */
export const groupIdSchema = z.string().min(1, "a group id is required").max(1000, "a group id is at most 1000 characters");

/**
 * The windows of the lag charts: what the window chooser offers. Buckets keep a chart at about
 * 180–240 points whatever the window (the poller samples every few seconds).
 */
export const LAG_WINDOWS = {
  "15m": { label: "15 min", ms: 15 * 60_000, bucketMs: 5_000 },
  "1h": { label: "1 h", ms: 3_600_000, bucketMs: 15_000 },
  "6h": { label: "6 h", ms: 6 * 3_600_000, bucketMs: 90_000 },
  "24h": { label: "24 h", ms: 24 * 3_600_000, bucketMs: 360_000 },
  "7d": { label: "7 d", ms: 7 * 24 * 3_600_000, bucketMs: 2_520_000 },
} as const;
export type LagWindow = keyof typeof LAG_WINDOWS;
export const LAG_WINDOW_NAMES = Object.keys(LAG_WINDOWS) as LagWindow[];
export const DEFAULT_LAG_WINDOW: LagWindow = "1h";

const windowSchema = z.preprocess(
  blankToUndefined,
  z.enum(LAG_WINDOW_NAMES as [LagWindow, ...LagWindow[]], { error: `must be one of ${LAG_WINDOW_NAMES.join(", ")}` }).default(DEFAULT_LAG_WINDOW),
);

export const lagQuerySchema = z.object({ window: windowSchema });
export type LagQuery = z.infer<typeof lagQuerySchema>;

export function parseLagQuery(query: RawQuery): LagQuery {
  return lagQuerySchema.parse(queryRecord(query));
}

/** The time range and bucket of a window ending now. */
export function lagRange(window: LagWindow, now: number): { from: Date; to: Date; bucketMs: number } {
  const { ms, bucketMs } = LAG_WINDOWS[window];
  // The end rounded up to a bucket, so consecutive refreshes share bucket edges.
  const to = Math.ceil((now + 1) / bucketMs) * bucketMs;
  return { from: new Date(to - ms), to: new Date(to), bucketMs };
}

const partitionSchema = z
  .string({ error: "is required" })
  .regex(/^\d{1,10}$/, "must be a partition number (0 or more)")
  .transform(Number)
  .refine((n) => n <= 2_147_483_647, "must be a partition number (0 or more)");

export const unprocessedQuerySchema = z.object({
  topic: z.string({ error: "is required" }).min(1, "is required").max(1000, "is longer than 1000 characters"),
  partition: partitionSchema,
  order: z.preprocess(blankToUndefined, z.enum(["oldest", "newest"], { error: "must be oldest or newest" }).optional()),
  cursor: cursorSchema,
  limit: limitSchema(500),
});
export type UnprocessedQuery = z.infer<typeof unprocessedQuerySchema>;

export function parseUnprocessedQuery(query: RawQuery): UnprocessedQuery {
  return unprocessedQuerySchema.parse(queryRecord(query));
}

/**
 * The group page's own parameters: the chart window, and the partition whose unprocessed events
 * are listed (both optional: no partition chosen shows the worst one).
 */
export const groupPageQuerySchema = z.object({
  window: windowSchema,
  /** The group's source (`?source=`), when its id is on several. */
  source: sourceParamSchema,
  topic: z.preprocess(blankToUndefined, z.string().max(1000, "is longer than 1000 characters").optional()),
  partition: z.preprocess(blankToUndefined, partitionSchema.optional()),
  order: z.preprocess(blankToUndefined, z.enum(["oldest", "newest"], { error: "must be oldest or newest" }).optional()),
});
export type GroupPageQuery = z.infer<typeof groupPageQuerySchema>;

export function parseGroupPageQuery(query: RawQuery): GroupPageQuery {
  return groupPageQuerySchema.parse(queryRecord(query));
}

/** The page of a group; `source` as sourceQuery puts it (left out for `default`). */
export function groupHref(groupId: string, query: Partial<GroupPageQuery> & { source?: string | null } = {}): string {
  const params = new URLSearchParams();
  if (query.source && query.source !== "default") params.set("source", query.source);
  if (query.window && query.window !== DEFAULT_LAG_WINDOW) params.set("window", query.window);
  if (query.topic !== undefined) params.set("topic", query.topic);
  if (query.partition !== undefined) params.set("partition", String(query.partition));
  if (query.order) params.set("order", query.order);
  const search = params.toString();
  return `/groups/${encodeURIComponent(groupId)}${search ? `?${search}` : ""}`;
}

// --- responses -------------------------------------------------------------------------------------
// What the consumer-group queries return and the pages and API serve. Offsets are Kafka's: a
// committed offset is the NEXT offset the group will read. int64s as decimal strings, times ISO 8601.

/** Health as the admin poller last judged it (server/db/group-health.ts). */
export const storedGroupHealthSchema = z.object({
  status: z.enum(LAG_HEALTH_STATUSES),
  reason: z.string(),
  judgedAt: z.string(),
});

export type StoredGroupHealth = z.infer<typeof storedGroupHealthSchema>;

/** A group's lag on one partition. */
export const partitionLagSchema = z.object({
  topic: z.string(),
  partition: z.number(),
  /** NEXT offset the group will read; null when nothing is committed. */
  committedOffset: z.string().nullable(),
  endOffset: z.string().nullable(),
  /** end − committed, clamped at 0; null when unknown. */
  offsetLag: z.string().nullable(),
  /** Age of the oldest unconsumed record at the latest sample, ms; null when unknown. */
  timeLagMs: z.number().nullable(),
});

export type PartitionLag = z.infer<typeof partitionLagSchema>;

// --- RabbitMQ queues beside Kafka groups -----------------------------------------------------------

/** What a row of the consumers page is: a Kafka consumer group, or a RabbitMQ queue (its consumers share its messages). */
export const CONSUMER_KINDS = ["kafka-group", "rabbitmq-queue"] as const;
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];

const RABBIT_QUEUE_ID_PREFIX = "rabbitmq:";

/**
 * A queue's id where a group id goes (`/groups/<id>`, `GET /api/groups/<id>`):
 * `rabbitmq:<vhost, URI-encoded as the management API writes it>/<queue>`, e.g.
 * `rabbitmq:%2F/orders.work` for the queue orders.work of vhost "/". The encoded vhost has no
 * slash, so the first slash ends it and the queue name (which may hold slashes) is the rest.
 */
export function rabbitQueueId(vhost: string, queue: string): string {
  return `${RABBIT_QUEUE_ID_PREFIX}${encodeURIComponent(vhost)}/${queue}`;
}

/** The vhost and queue of a queue id; null for anything else (a Kafka group id). */
export function parseRabbitQueueId(id: string): { vhost: string; queue: string } | null {
  if (!id.startsWith(RABBIT_QUEUE_ID_PREFIX)) return null;
  const rest = id.slice(RABBIT_QUEUE_ID_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return null;
  try {
    return { vhost: decodeURIComponent(rest.slice(0, slash)), queue: rest.slice(slash + 1) };
  } catch {
    return null;
  }
}

/** Said instead of a time lag when the broker gives none for a queue that holds messages. */
export const QUEUE_TIME_LAG_UNKNOWN = "time lag unknown: messages carry no timestamp property";

/** What a queue row adds to a list item. */
export const rabbitQueueSummarySchema = z.object({
  vhost: z.string(),
  name: z.string(),
  /** classic, quorum or stream. */
  type: z.string(),
  /** Decimal counts; null when the broker did not report them. */
  ready: z.string().nullable(),
  unacknowledged: z.string().nullable(),
  /** Why timeLagMs is null, in words (QUEUE_TIME_LAG_UNKNOWN); null when it is known. */
  timeLagUnknownReason: z.string().nullable(),
});

export type RabbitQueueSummary = z.infer<typeof rabbitQueueSummarySchema>;

/**
 * A row of `/groups` and `GET /api/groups`: a Kafka consumer group, or a RabbitMQ queue (kind
 * rabbitmq-queue: groupId is its queue id (rabbitQueueId), state the queue's, members its consumers,
 * topics the exchanges bound to it, totalLag ready + unacknowledged, and `queue` says more).
 */
export const consumerGroupListItemSchema = z.object({
  kind: z.enum(CONSUMER_KINDS),
  /** The source (cluster) the group is on, by name. */
  source: z.string(),
  groupId: z.string(),
  /** Stable, Empty, Dead, PreparingRebalance, CompletingRebalance, Unknown. */
  state: z.string(),
  protocol: z.string().nullable(),
  members: z.number(),
  /** Topics it commits on or is assigned. */
  topics: z.array(z.string()),
  partitions: z.number(),
  /** Sum of the known partition lags (decimal); null when every partition's lag is unknown. */
  totalLag: z.string().nullable(),
  /** Partitions with nothing committed: their lag is unknown, not 0. */
  unknownLagPartitions: z.number(),
  /** Largest time lag over its partitions at its latest sample, ms; null when unknown. */
  timeLagMs: z.number().nullable(),
  health: storedGroupHealthSchema.nullable(),
  /** Set for a queue, null for a Kafka group. */
  queue: rabbitQueueSummarySchema.nullable(),
});

export type ConsumerGroupListItem = z.infer<typeof consumerGroupListItemSchema>;

export const consumerGroupPageSchema = z.object({
  groups: z.array(consumerGroupListItemSchema),
  /** Live groups in all. */
  total: z.number(),
  nextCursor: z.string().nullable(),
});

export type ConsumerGroupPage = z.infer<typeof consumerGroupPageSchema>;

/** A member of a group as last polled: Kafka's member id, the client id (often the service's name), its host. */
export const groupMemberIdentitySchema = z.object({
  memberId: z.string(),
  clientId: z.string(),
  clientHost: z.string(),
});

export const consumerGroupMemberSchema = groupMemberIdentitySchema.extend({
  /** Sorted by topic, then partition. */
  assignments: z.array(z.object({ topic: z.string(), partition: z.number() })),
});

export type ConsumerGroupMember = z.infer<typeof consumerGroupMemberSchema>;

export const consumerGroupPartitionSchema = partitionLagSchema.extend({
  /** Judged over the health window (see the group's health). */
  status: z.enum(LAG_HEALTH_STATUSES),
  /** In words, naming the partition. */
  reason: z.string(),
  /** The member it is assigned to; null when unassigned (e.g. the group is Empty). */
  assignedTo: groupMemberIdentitySchema.nullable(),
  /**
   * When lag > 0: the event at the committed offset, the next one the group will process (for a
   * STALL, the one it is stuck on); null when there is no lag or the event was not collected
   * (see nextEventCollected).
   */
  nextEvent: eventSummarySchema.nullable(),
  /** false when lag > 0 but the collector has not stored the event at the committed offset. */
  nextEventCollected: z.boolean(),
});

export type ConsumerGroupPartition = z.infer<typeof consumerGroupPartitionSchema>;

/** One group (`/groups/[id]`, `GET /api/groups/[id]`). */
export const consumerGroupViewSchema = z.object({
  /** The source (cluster) the group is on, by name. */
  source: z.string(),
  groupId: z.string(),
  state: z.string(),
  protocolType: z.string().nullable(),
  protocol: z.string().nullable(),
  firstSeenAt: z.string(),
  /** The admin poller's last look at the group. */
  updatedAt: z.string(),
  members: z.array(consumerGroupMemberSchema),
  partitions: z.array(consumerGroupPartitionSchema),
  /** Sum of the known lags; null when every partition's lag is unknown. */
  totalLag: z.string().nullable(),
  unknownLagPartitions: z.number(),
  /** Largest time lag at the latest sample, ms. */
  timeLagMs: z.number().nullable(),
  /**
   * Judged now (lib/lag-health.ts) over the healthWindowMs of samples up to the group's latest
   * sample (not up to now: when the collector stops, the verdict stays what it last saw).
   */
  health: z.object({
    status: z.enum(LAG_HEALTH_STATUSES),
    reason: z.string(),
    worst: z.object({ topic: z.string(), partition: z.number() }).nullable(),
  }),
  healthWindowMs: z.number(),
  /** The group's latest lag sample; null when it has none. */
  latestSampleAt: z.string().nullable(),
});

export type ConsumerGroupView = z.infer<typeof consumerGroupViewSchema>;

/** `GET /api/groups/[id]/unprocessed`: events of a partition the group has not processed yet. */
export const unprocessedEventsPageSchema = z.object({
  /** The source (cluster) the group is on, by name. */
  source: z.string(),
  groupId: z.string(),
  topic: z.string(),
  partition: z.number(),
  /** The NEXT offset the group will read; null when nothing is committed (then nothing can be listed). */
  committedOffset: z.string().nullable(),
  endOffset: z.string().nullable(),
  /** end − committed: how many events are unprocessed (some may not be collected); null when unknown. */
  offsetLag: z.string().nullable(),
  order: z.enum(["oldest", "newest"]),
  /** Events with committed ≤ offset < end, in offset order. */
  events: z.array(eventSummarySchema),
  nextCursor: z.string().nullable(),
});

export type UnprocessedEventsPage = z.infer<typeof unprocessedEventsPageSchema>;

export const lagHistoryPointSchema = z.object({
  /** Start of the bucket, ISO 8601. */
  at: z.string(),
  /** Largest offset lag within the bucket; null when every sample in it had an unknown lag. */
  offsetLag: z.string().nullable(),
  /** Largest time lag within the bucket, ms. */
  timeLagMs: z.number().nullable(),
  /**
   * The highest committed and end offsets within the bucket: both only grow (unless a group's
   * offsets are reset), so this is their value at the bucket's end, without sorting its samples.
   */
  committedOffset: z.string().nullable(),
  endOffset: z.string(),
});

export type LagHistoryPoint = z.infer<typeof lagHistoryPointSchema>;

export const lagHistoryTotalSchema = z.object({
  at: z.string(),
  /** Largest total (summed over partitions, at one sampling time) within the bucket. */
  offsetLag: z.string().nullable(),
  timeLagMs: z.number().nullable(),
  /** The most partitions with an unknown lag at any one sampling time within the bucket. */
  unknownPartitions: z.number(),
});

export type LagHistoryTotal = z.infer<typeof lagHistoryTotalSchema>;

/** `GET /api/groups/[id]/lag`: a group's lag over a window, per partition and in total. */
export const lagHistorySchema = z.object({
  /** The group's source by name; absent when read without one (getLagHistory over every source). */
  source: z.string().optional(),
  groupId: z.string(),
  from: z.string(),
  to: z.string(),
  bucketMs: z.number(),
  /** One series per partition the group had samples for. */
  partitions: z.array(z.object({ topic: z.string(), partition: z.number(), points: z.array(lagHistoryPointSchema) })),
  /** The group as a whole, per bucket. */
  totals: z.array(lagHistoryTotalSchema),
});

export type LagHistory = z.infer<typeof lagHistorySchema>;

// --- one RabbitMQ queue -------------------------------------------------------------------------------

export const rabbitQueueConsumerSchema = z.object({
  consumerTag: z.string(),
  /** RabbitMQ's channel name (`<connection> (<number>)`). */
  channel: z.string(),
  /** RabbitMQ's connection name (`<client address> -> <broker address>`). */
  connection: z.string(),
  /** The client-provided connection name (often the service's name); null when the client gave none. */
  connectionName: z.string().nullable(),
  peerHost: z.string().nullable(),
  user: z.string().nullable(),
  /** false: auto-ack (the broker forgets a message once delivered). */
  ackRequired: z.boolean(),
  /** basic.qos: unacknowledged messages it may hold at once; 0 is unlimited. */
  prefetchCount: z.number(),
  active: z.boolean(),
  exclusive: z.boolean(),
});

export type RabbitQueueConsumer = z.infer<typeof rabbitQueueConsumerSchema>;

export const rabbitQueueBindingSchema = z.object({
  exchange: z.string(),
  routingKey: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});

export const rabbitQueueLagPointSchema = z.object({
  /** Start of the bucket, ISO 8601. */
  at: z.string(),
  /** Largest ready + unacknowledged within the bucket (decimal). */
  lag: z.string(),
  ready: z.string(),
  unacknowledged: z.string(),
  /** Largest time lag within the bucket, ms; null when unknown all along. */
  timeLagMs: z.number().nullable(),
});

/** One queue (`/groups/<queue id>`, `GET /api/groups/<queue id>`). */
export const rabbitQueueViewSchema = z.object({
  kind: z.literal("rabbitmq-queue"),
  source: z.string(),
  /** rabbitQueueId(vhost, name). */
  id: z.string(),
  vhost: z.string(),
  name: z.string(),
  type: z.string(),
  durable: z.boolean(),
  autoDelete: z.boolean(),
  exclusive: z.boolean(),
  /** As declared: x-dead-letter-exchange, x-message-ttl, x-max-length, … */
  arguments: z.record(z.string(), z.unknown()),
  /**
   * Where its dead letters go: the x-dead-letter-exchange and x-dead-letter-routing-key arguments,
   * else its policy's dead-letter-exchange and dead-letter-routing-key (the arguments overrule the
   * policy, as in RabbitMQ). null: nowhere, or its own routing key. "" is the default exchange.
   */
  deadLetterExchange: z.string().nullable(),
  deadLetterRoutingKey: z.string().nullable(),
  /** The policy that sets the dead-letter exchange ("" when unnamed); null when the arguments set it or nothing does. */
  deadLetterPolicy: z.string().nullable(),
  state: z.string().nullable(),
  ready: z.string().nullable(),
  unacknowledged: z.string().nullable(),
  /** ready + unacknowledged; null when the broker did not report them, and for a stream (its count is its length). */
  lag: z.string().nullable(),
  timeLagMs: z.number().nullable(),
  timeLagUnknownReason: z.string().nullable(),
  /** The timestamp property of the head message (the oldest not yet acked), when it has one. */
  headMessageAt: z.string().nullable(),
  /** Messages per second as the management plugin averages them; null when it reports none. */
  rates: z.object({ publish: z.number().nullable(), deliver: z.number().nullable(), ack: z.number().nullable() }),
  firstSeenAt: z.string(),
  /** The poller's last look at the queue. */
  updatedAt: z.string(),
  /** Set when the queue is gone from its vhost. */
  deletedAt: z.string().nullable(),
  health: storedGroupHealthSchema.nullable(),
  healthWindowMs: z.number(),
  consumers: z.array(rabbitQueueConsumerSchema),
  bindings: z.array(rabbitQueueBindingSchema),
  /** Lag over the chosen window (LAG_WINDOWS), bucketed. */
  history: z.object({ from: z.string(), to: z.string(), bucketMs: z.number(), points: z.array(rabbitQueueLagPointSchema) }),
});

export type RabbitQueueView = z.infer<typeof rabbitQueueViewSchema>;
