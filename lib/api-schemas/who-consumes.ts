import { z } from "zod";
import { topicKindSchema } from "./events.ts";
import { groupMemberIdentitySchema, partitionLagSchema, rabbitQueueConsumerSchema, storedGroupHealthSchema } from "./groups.ts";
import { queryRecord, type RawQuery } from "./query-params.ts";

/**
 * "Who consumes …" (on RabbitMQ: the exchanges an event type was seen on, the queues bound to them
 * and their consumers): `GET /api/who-consumes` and the page `/who-consumes`. Exactly one of
 * `type` (an event type), `topic`, `service` (a producer, a group id or a member's client id),
 * or `q`, which is tried as an event type, then as a topic, then as a service.
 */

const MAX = 1000;

const term = (label: string) =>
  z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v),
    z.string().max(MAX, `${label} is longer than ${MAX} characters`).optional(),
  );

export const WHO_CONSUMES_KEYS = ["q", "type", "topic", "service"] as const;
export type WhoConsumesKey = (typeof WHO_CONSUMES_KEYS)[number];

export const whoConsumesQuerySchema = z
  .object({ q: term("q"), type: term("type"), topic: term("topic"), service: term("service") })
  .transform((value, ctx) => {
    const given = WHO_CONSUMES_KEYS.filter((key) => value[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message:
          given.length === 0
            ? "say what to look up: one of type=<event type>, topic=<topic>, service=<service> or q=<any of them>"
            : `give only one of type, topic, service and q (got ${given.join(", ")})`,
      });
      return z.NEVER;
    }
    const key = given[0]!;
    return { by: key, value: value[key]! };
  });

export type WhoConsumesRequest = z.infer<typeof whoConsumesQuerySchema>;

export function parseWhoConsumesQuery(query: RawQuery): WhoConsumesRequest {
  return whoConsumesQuerySchema.parse(queryRecord(query));
}

/** What one lookup asks: an event type, a topic or a service (`q` resolved to one of them). */
export const resolvedWhoConsumesQuerySchema = z.union([
  z.object({ type: z.string() }),
  z.object({ topic: z.string() }),
  z.object({ service: z.string() }),
]);

export type ResolvedWhoConsumesQuery = z.infer<typeof resolvedWhoConsumesQuerySchema>;

/**
 * The lookups to try for a request, in order: an explicit kind is tried alone; `q` as an event
 * type, then a topic, then a service (the first that finds a topic wins).
 */
export function whoConsumesCandidates(request: WhoConsumesRequest): ResolvedWhoConsumesQuery[] {
  switch (request.by) {
    case "type":
      return [{ type: request.value }];
    case "topic":
      return [{ topic: request.value }];
    case "service":
      return [{ service: request.value }];
    case "q":
      return [{ type: request.value }, { topic: request.value }, { service: request.value }];
  }
}

/** Runs the candidates through `lookup` until one finds a topic; else the last answer. */
export async function resolveWhoConsumes<A extends { topics: readonly unknown[] }>(
  request: WhoConsumesRequest,
  lookup: (query: ResolvedWhoConsumesQuery) => Promise<A>,
): Promise<A> {
  let answer: A | undefined;
  for (const candidate of whoConsumesCandidates(request)) {
    answer = await lookup(candidate);
    if (answer.topics.length > 0) return answer;
  }
  return answer!;
}

export function whoConsumesHref(query: { q?: string; type?: string; topic?: string; service?: string }): string {
  const params = new URLSearchParams();
  for (const key of WHO_CONSUMES_KEYS) {
    const value = query[key];
    if (value) params.set(key, value);
  }
  return `/who-consumes?${params.toString()}`;
}

// --- the answer ------------------------------------------------------------------------------------

export const producerOfTopicSchema = z.object({
  /** "" when the producer is not known ("unknown producer" for that topic). */
  producer: z.string(),
  /** "" when the events carry no type. */
  eventType: z.string(),
  count: z.string(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
});

export type ProducerOfTopic = z.infer<typeof producerOfTopicSchema>;

export const consumingMemberSchema = groupMemberIdentitySchema.extend({
  /** Partitions of this topic assigned to the member. */
  partitions: z.array(z.number()),
});

export type ConsumingMember = z.infer<typeof consumingMemberSchema>;

export const consumingGroupSchema = z.object({
  /** The source (cluster) the group is on, by name: its topic's. */
  source: z.string(),
  groupId: z.string(),
  state: z.string(),
  /** Live members (as last polled) with the partitions of this topic they hold. */
  members: z.array(consumingMemberSchema),
  /** Sum of the known partition lags on this topic; null when every partition's lag is unknown. */
  offsetLag: z.string().nullable(),
  /** Partitions with nothing committed (lag unknown). */
  unknownLagPartitions: z.number(),
  /** Largest time lag over the topic's partitions at the latest sample, ms. */
  maxTimeLagMs: z.number().nullable(),
  /** When the time lags were sampled. */
  sampledAt: z.string().nullable(),
  partitions: z.array(partitionLagSchema),
});

export type ConsumingGroup = z.infer<typeof consumingGroupSchema>;

/**
 * A RabbitMQ queue bound to the exchange a topic entry stands for (on a RabbitMQ source the channel
 * is the exchange, `<vhost>/<exchange>` outside vhost "/"), with its consumers and lag.
 */
export const consumingQueueSchema = z.object({
  source: z.string(),
  /** The queue's id on the consumers pages (lib/api-schemas/groups.ts rabbitQueueId). */
  id: z.string(),
  vhost: z.string(),
  name: z.string(),
  type: z.string(),
  /** The routing keys it is bound with to this exchange. */
  routingKeys: z.array(z.string()),
  consumers: z.array(rabbitQueueConsumerSchema),
  /** ready + unacknowledged; null when unknown (a stream). */
  lag: z.string().nullable(),
  timeLagMs: z.number().nullable(),
  timeLagUnknownReason: z.string().nullable(),
  health: storedGroupHealthSchema.nullable(),
});

export type ConsumingQueue = z.infer<typeof consumingQueueSchema>;

export const topicConsumersSchema = z.object({
  /** The source (cluster) the topic is on, by name: the same topic name on two sources is two entries. */
  source: z.string(),
  topic: z.string(),
  kind: topicKindSchema.nullable(),
  /** For a DLQ or retry topic: the topic its name points back to. */
  of: z.string().nullable(),
  /** Why the topic is in the answer. */
  matchedBy: z.array(z.enum(["type", "topic", "produced-by-service", "consumed-by-service"])),
  /** Event types seen on the topic. */
  eventTypes: z.array(z.string()),
  producers: z.array(producerOfTopicSchema),
  groups: z.array(consumingGroupSchema),
  /** On a RabbitMQ source: the queues bound to the exchange; [] on Kafka. */
  queues: z.array(consumingQueueSchema),
});

export type TopicConsumers = z.infer<typeof topicConsumersSchema>;

/** `GET /api/who-consumes`. */
export const whoConsumesAnswerSchema = z.object({
  query: resolvedWhoConsumesQuerySchema,
  topics: z.array(topicConsumersSchema),
  /** Distinct known producers over all the topics (for the type: who produces it). */
  producers: z.array(z.string()),
  /** Distinct groups over all the topics. */
  groups: z.array(z.string()),
  /** Distinct RabbitMQ queue ids over all the topics (exchanges). */
  queues: z.array(z.string()),
});

export type WhoConsumesAnswer = z.infer<typeof whoConsumesAnswerSchema>;
