import { z } from "zod";
import { topicKindSchema } from "./events.ts";
import { groupMemberIdentitySchema, partitionLagSchema, storedGroupHealthSchema } from "./groups.ts";
import { queryRecord, sourceParamSchema, type RawQuery } from "./query-params.ts";
import { consumingGroupSchema, producerOfTopicSchema } from "./who-consumes.ts";

/**
 * The overview's flow graph: `GET /api/graph` (and the page `/`): Kafka's producers → topics →
 * consumer groups and RabbitMQ's publishers → exchanges → queues → consumers, the selected node in the URL
 * (`/?node=topic:orders`), and the side panel's detail routes
 * `GET /api/graph/topics/[topic]` and `GET /api/graph/groups/[group]`.
 */

const MAX_NAME = 1000;

/** The kinds of node whose name is per source (a producer is a service, whatever it writes to). */
export type SourcedNodeKind = "topic" | "group" | "exchange" | "queue" | "consumer";
export type GraphNodeKind = "producer" | SourcedNodeKind;

/**
 * A node of the flow graph: `producer:<name>`, `topic:<name>`, `group:<group id>`, and for
 * RabbitMQ `exchange:<channel>` (the exchange's events channel: its name, `<vhost>/<name>` off vhost
 * "/"), `queue:<name>` (`<vhost>/<name>` off vhost "/") and `consumer:<connection name>`. A node
 * whose name is on several sources is qualified by its source: `topic@<source>:<name>` (source names
 * have no colon, so the first colon still ends the prefix).
 */
export const graphNodeIdSchema = z
  .string()
  .max(MAX_NAME + 52, `a node id has at most ${MAX_NAME + 52} characters`)
  .regex(
    /^(producer|(topic|group|exchange|queue|consumer)(@[a-z0-9-]{1,40})?):[\s\S]+$/,
    "a node id is producer:<name>, topic:<name> or group:<group id> (on RabbitMQ: exchange:<name>, queue:<name> or consumer:<name>)",
  );

export type GraphNodeId = z.infer<typeof graphNodeIdSchema>;

export const graphQuerySchema = z.object({
  /** Only this source's topics and groups (and the producers writing to them); default every source. */
  source: sourceParamSchema,
  /** Window of the message rates, seconds (default 60). */
  window: z.coerce
    .number({ message: "window must be a number of seconds" })
    .int("window must be a whole number of seconds")
    .min(1, "window must be from 1 to 86400 seconds")
    .max(86_400, "window must be from 1 to 86400 seconds")
    .optional(),
});

export type GraphQuery = z.infer<typeof graphQuerySchema>;

export function parseGraphQuery(query: RawQuery): GraphQuery {
  return graphQuerySchema.parse(queryRecord(query));
}

/** The page's own parameters: the graph's plus the selected node (absent or blank: none). */
export const overviewPageQuerySchema = graphQuerySchema.extend({
  node: z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : v), graphNodeIdSchema.optional()),
});

export type OverviewPageQuery = z.infer<typeof overviewPageQuerySchema>;

export function parseOverviewPageQuery(query: RawQuery): OverviewPageQuery {
  return overviewPageQuerySchema.parse(queryRecord(query));
}

/** A topic or group name from a path segment (already URL-decoded by Next). */
export const graphNameSchema = z
  .string()
  .min(1, "the name is empty")
  .max(MAX_NAME, `a name has at most ${MAX_NAME} characters`);

/** A node id's kind and name, and its source when the id names one (`topic@<source>:<name>`). */
export function splitNodeId(id: GraphNodeId): { kind: GraphNodeKind; name: string; source?: string } {
  const colon = id.indexOf(":");
  const [kind, source] = id.slice(0, colon).split("@");
  const split = { kind: kind as GraphNodeKind, name: id.slice(colon + 1) };
  return source === undefined ? split : { ...split, source };
}

/** The id of a node of a source: qualified by its source only when its name is on several (`qualified`). */
export function graphNodeId(kind: SourcedNodeKind, name: string, source: string, qualified: boolean): string {
  return qualified ? `${kind}@${source}:${name}` : `${kind}:${name}`;
}

/** The overview's URL: a source filter and a selected node, each when given. */
export function overviewHref(node?: string, source?: string | null): string {
  const params = [...(source ? [`source=${encodeURIComponent(source)}`] : []), ...(node ? [`node=${encodeURIComponent(node)}`] : [])];
  return params.length > 0 ? `/?${params.join("&")}` : "/";
}

// --- the graph -------------------------------------------------------------------------------------

export const producerNodeSchema = z.object({
  /** "producer:<name>", or "producer:?<topic>" for the unknown producer of a topic. */
  id: z.string(),
  /** "" for an unknown producer. */
  producer: z.string(),
  lastSeenAt: z.string(),
});

export type ProducerNode = z.infer<typeof producerNodeSchema>;

export const topicNodeSchema = z.object({
  id: z.string(),
  /** The source (cluster) it is on, by name. */
  source: z.string(),
  topic: z.string(),
  kind: topicKindSchema,
  of: z.string().nullable(),
  partitions: z.number(),
  /** Sum of the partitions' end offsets. */
  endOffset: z.string(),
  /** Records currently in the topic (end − start, summed over partitions). */
  messages: z.string(),
  /** Produce rate over the window from end-offset samples; null with fewer than two samples. */
  messagesPerSecond: z.number().nullable(),
  eventTypes: z.array(z.string()),
  /** For a DLQ topic: its dead letters by status. */
  deadLetters: z.object({ total: z.number(), new: z.number() }).nullable(),
});

export type TopicNode = z.infer<typeof topicNodeSchema>;

export const groupNodeSchema = z.object({
  id: z.string(),
  /** The source (cluster) it is on, by name. */
  source: z.string(),
  groupId: z.string(),
  state: z.string(),
  members: z.number(),
  /** Distinct client ids of the members (often the service's name). */
  clientIds: z.array(z.string()),
  /** Sum of known partition lags; null when all are unknown. */
  totalLag: z.string().nullable(),
  unknownLagPartitions: z.number(),
  /** Largest time lag at the latest sample, ms. */
  maxTimeLagMs: z.number().nullable(),
  /** As the admin poller last judged it over the last 5 minutes; null until it has. */
  health: storedGroupHealthSchema.nullable(),
});

export type GroupNode = z.infer<typeof groupNodeSchema>;

/**
 * A RabbitMQ exchange that carries collected messages, has bindings to a drawn queue, or is a drawn
 * queue's dead-letter exchange. Not drawn: the default exchange, RabbitMQ's own `amq.*` unless
 * something flows through them.
 */
export const exchangeNodeSchema = z.object({
  id: z.string(),
  source: z.string(),
  vhost: z.string(),
  exchange: z.string(),
  /** The events channel its messages are stored under (the events search's `topic`). */
  channel: z.string(),
  /** topic, direct, fanout, headers, …; null until the queue poller has listed it. */
  type: z.string().nullable(),
  /** Published into it, as the management plugin averages it; null when not reported. */
  messagesPerSecond: z.number().nullable(),
  eventTypes: z.array(z.string()),
  /** Some drawn queue dead-letters into it (`x-dead-letter-exchange`). */
  deadLetterExchange: z.boolean(),
});

export type ExchangeNode = z.infer<typeof exchangeNodeSchema>;

/** A RabbitMQ queue (not Eventscope's own `eventscope.*`): in the consumer groups' column. */
export const queueNodeSchema = z.object({
  id: z.string(),
  source: z.string(),
  vhost: z.string(),
  name: z.string(),
  /** Its id on the consumers page (rabbitQueueId in lib/api-schemas/groups.ts). */
  queueId: z.string(),
  /** classic, quorum or stream. */
  type: z.string(),
  ready: z.string().nullable(),
  unacknowledged: z.string().nullable(),
  /** ready + unacknowledged; null for a stream (its count is its length) or when not reported. */
  lag: z.string().nullable(),
  consumers: z.number(),
  /** Age of the head message (the oldest not yet acked), ms; null when unknown. */
  timeLagMs: z.number().nullable(),
  /** Why timeLagMs is null, in words (no timestamps, a stream); null when known or when nothing is reported. */
  timeLagUnknownReason: z.string().nullable(),
  /** As the queue poller last judged it; null until it has. */
  health: storedGroupHealthSchema.nullable(),
  /** Bound to a drawn queue's dead-letter exchange: its dead letters (stored through that exchange), by status. */
  deadLetters: z.object({ total: z.number(), new: z.number() }).nullable(),
});

export type QueueNode = z.infer<typeof queueNodeSchema>;

/** A service consuming RabbitMQ queues: its consumers grouped by connection name (else connection). */
export const rabbitConsumerNodeSchema = z.object({
  id: z.string(),
  source: z.string(),
  /** The client-provided connection name, or RabbitMQ's name of the connection when none was given. */
  name: z.string(),
  named: z.boolean(),
  /** Consumers attached now; 0 for a service none of whose consumers is attached, named by the queues it consumed (their consumer_names). */
  consumers: z.number(),
  /** Distinct channels its consumers are on. */
  channels: z.number(),
  /** Distinct prefetch counts of its consumers, ascending (0: unlimited). */
  prefetch: z.array(z.number()),
  /** Some of its consumers acknowledge automatically (no ack). */
  autoAck: z.boolean(),
});

export type RabbitConsumerNode = z.infer<typeof rabbitConsumerNodeSchema>;

export const flowEdgeSchema = z.object({
  id: z.string(),
  source: z.string(),
  target: z.string(),
  /**
   * produces: producer → topic or exchange; routes: exchange → queue (through its bindings);
   * consumes: topic → group or queue → RabbitMQ consumer; dead-letters: topic → DLQ topic or queue →
   * its dead-letter exchange.
   */
  kind: z.enum(["produces", "routes", "consumes", "dead-letters"]),
  /** Messages/s over the window; null when not measurable. */
  messagesPerSecond: z.number().nullable(),
  /**
   * True when a topic's rate was split among several recent producers by their share of its
   * events so far: end offsets count a topic's records, not who wrote them.
   */
  estimated: z.boolean(),
  /** consumes: the group's lag on this topic, or the queue's lag (ready + unacknowledged). */
  lag: z.string().nullable().optional(),
  /** routes: the bindings' routing keys, sorted (a fanout's or a headers exchange's are often ""). */
  routingKeys: z.array(z.string()).optional(),
});

export type FlowEdge = z.infer<typeof flowEdgeSchema>;

/** `GET /api/graph`. */
export const flowGraphSchema = z.object({
  generatedAt: z.string(),
  windowMs: z.number(),
  /** Every source (by name), also those the `source` filter leaves out: the page's source choice. */
  sources: z.array(z.string()),
  /** The source the graph is filtered to, or null for every source. */
  source: z.string().nullable(),
  producers: z.array(producerNodeSchema),
  topics: z.array(topicNodeSchema),
  groups: z.array(groupNodeSchema),
  /** RabbitMQ: exchanges (beside the topics), queues (beside the groups), consumers (a column of their own). */
  exchanges: z.array(exchangeNodeSchema),
  queues: z.array(queueNodeSchema),
  consumers: z.array(rabbitConsumerNodeSchema),
  edges: z.array(flowEdgeSchema),
});

export type FlowGraph = z.infer<typeof flowGraphSchema>;

// --- the side panel --------------------------------------------------------------------------------

export const topicPartitionOffsetsSchema = z.object({
  partition: z.number(),
  /** Decimal int64: the first offset still in the log. */
  startOffset: z.string(),
  /** Decimal int64: the next offset to be written (high watermark). */
  endOffset: z.string(),
});

export type TopicPartitionOffsets = z.infer<typeof topicPartitionOffsetsSchema>;

export const undecodableRangeSummarySchema = z.object({
  partition: z.number(),
  /** Decimal int64, inclusive. */
  fromOffset: z.string(),
  toOffset: z.string(),
  codec: z.string(),
  error: z.string(),
  /** When the collector stored the range (ISO 8601). */
  storedAt: z.string(),
});

export type UndecodableRangeSummary = z.infer<typeof undecodableRangeSummarySchema>;

/** `GET /api/graph/topics/[topic]`. */
export const topicDetailSchema = z.object({
  source: z.string(),
  topic: z.string(),
  kind: topicKindSchema,
  of: z.string().nullable(),
  partitions: z.array(topicPartitionOffsetsSchema),
  eventTypes: z.array(z.string()),
  producers: z.array(producerOfTopicSchema),
  consumers: z.array(consumingGroupSchema),
  /** Offset ranges stored as one row flagged batch-undecodable (newest first, at most 20). */
  undecodable: z.array(undecodableRangeSummarySchema),
});

export type TopicDetail = z.infer<typeof topicDetailSchema>;

export const groupMemberDetailSchema = groupMemberIdentitySchema.extend({
  /** Assigned partitions by topic, sorted. */
  assignments: z.array(z.object({ topic: z.string(), partitions: z.array(z.number()) })),
});

export type GroupMemberDetail = z.infer<typeof groupMemberDetailSchema>;

/** `GET /api/graph/groups/[group]`. */
export const groupDetailSchema = z.object({
  source: z.string(),
  groupId: z.string(),
  state: z.string(),
  health: storedGroupHealthSchema.nullable(),
  members: z.array(groupMemberDetailSchema),
  /** Sum of the known partition lags; null when every partition's lag is unknown. */
  totalLag: z.string().nullable(),
  partitions: z.array(partitionLagSchema),
});

export type GroupDetail = z.infer<typeof groupDetailSchema>;
