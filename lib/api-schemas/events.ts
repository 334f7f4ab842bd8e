import { z, ZodError } from "zod";
import { ValidationError } from "../errors.ts";
import { deadLetterListItemSchema } from "./dead-letters.ts";
import { storedHeaderSchema } from "./headers.ts";
import { blankToUndefined, cursorSchema, limitSchema, optionalText, queryRecord, sourceParamSchema, type RawQuery } from "./query-params.ts";

/**
 * Query parameters of the event search (`/events` and `GET /api/events`) and the address of one
 * event (`/events/[topic]/[partition]/[offset]`), shared by the pages and the route handlers.
 */

/** A W3C trace id: 32 hex digits, not all zeros (case is normalised to lowercase). */
export const traceIdSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[0-9a-f]{32}$/, "a trace id is 32 hexadecimal characters, e.g. 4bf92f3577b34da6a3ce929d0e0e4736")
  .refine((id) => !/^0+$/.test(id), "a trace id of all zeros is invalid (W3C trace context)");

/**
 * A time: ISO 8601 with a zone (`2026-11-23T08:00:00Z`, `…+01:00`), or without one as an HTML
 * datetime-local field sends it (`2026-11-23T08:00`), read as UTC.
 */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

export function timeSchema() {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .transform((text, ctx) => {
        const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !text.includes("T") ? text : `${text}Z`;
        const date = new Date(text.includes("T") ? zoned : `${text}T00:00:00Z`);
        if (!ISO_TIME.test(text) || Number.isNaN(date.getTime())) {
          ctx.addIssue({
            code: "custom",
            message: `must be an ISO 8601 time such as 2026-11-23T08:00:00Z, got ${JSON.stringify(text.slice(0, 60))}`,
          });
          return z.NEVER;
        }
        return date;
      })
      .optional(),
  );
}

/** `header=name` (has the header) or `header=name=value` (exact UTF-8 value); split at the first `=`. */
export const headerFilterSchema = z.preprocess(
  blankToUndefined,
  z
    .string()
    .max(2000, "the header filter is longer than 2000 characters")
    .transform((text, ctx) => {
      const at = text.indexOf("=");
      const name = (at === -1 ? text : text.slice(0, at)).trim();
      if (name.length === 0) {
        ctx.addIssue({ code: "custom", message: "a header filter is name or name=value (e.g. ce_type=OrderPlaced); the name is missing" });
        return z.NEVER;
      }
      return at === -1 ? { name } : { name, value: text.slice(at + 1) };
    })
    .optional(),
);

export const eventSearchQuerySchema = z
  .object({
    entity: optionalText("entity"),
    key: optionalText("key"),
    type: optionalText("type", 300),
    topic: optionalText("topic", 249),
    /** A source's name: its events only; with topic, which source's topic. */
    source: sourceParamSchema,
    header: headerFilterSchema,
    traceId: z.preprocess(blankToUndefined, traceIdSchema.optional()),
    /** A flag the event carries (e.g. batch-undecodable, value-not-json). */
    flag: z.preprocess(
      blankToUndefined,
      z
        .string()
        .trim()
        .regex(/^[a-z0-9-]{1,64}$/, "a flag is a lower-case name such as batch-undecodable or value-not-json")
        .optional(),
    ),
    /** The Schema Registry id the value was decoded with (the schema history links its versions' events). */
    schemaId: z.preprocess(
      blankToUndefined,
      z.coerce
        .number({ error: "a schema id is a whole number (the registry's id)" })
        .int("a schema id is a whole number (the registry's id)")
        .min(0, "a schema id is 0 or more")
        .max(2_147_483_647, "a schema id fits in 32 bits")
        .optional(),
    ),
    from: timeSchema(),
    to: timeSchema(),
    cursor: cursorSchema,
    limit: limitSchema(500),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    message: "the time range is empty: from must be before to",
    path: ["to"],
  });

export type EventSearchQuery = z.infer<typeof eventSearchQuerySchema>;

/** The filters of a search, without paging. */
export type EventSearchFilters = Omit<EventSearchQuery, "cursor" | "limit">;

export function parseEventSearchQuery(query: RawQuery): EventSearchQuery {
  return eventSearchQuerySchema.parse(queryRecord(query));
}

/** Whether any filter is set (a search with none lists the newest events). */
export function hasSearchFilters(query: EventSearchFilters): boolean {
  return Object.values(query).some((value) => value !== undefined);
}

/** A search back into query parameters, the way parseEventSearchQuery reads them. */
export function eventSearchParams(query: EventSearchQuery): URLSearchParams {
  const params = new URLSearchParams();
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) params.set(name, value);
  };
  set("entity", query.entity);
  set("key", query.key);
  set("type", query.type);
  set("topic", query.topic);
  set("source", query.source);
  if (query.header) set("header", query.header.value === undefined ? query.header.name : `${query.header.name}=${query.header.value}`);
  set("traceId", query.traceId);
  set("flag", query.flag);
  set("schemaId", query.schemaId?.toString());
  set("from", query.from?.toISOString());
  set("to", query.to?.toISOString());
  set("cursor", query.cursor);
  set("limit", query.limit?.toString());
  return params;
}

// --- one event -------------------------------------------------------------------------------------

const INT32_MAX = 2_147_483_647;
const INT64_MAX = 9_223_372_036_854_775_807n;

export const eventAddressSchema = z.object({
  topic: z
    .string()
    .min(1, "the topic is empty")
    .max(249, "a Kafka topic name has at most 249 characters"),
  partition: z
    .string()
    .regex(/^\d{1,10}$/, "must be a non-negative whole number")
    .transform(Number)
    .refine((n) => n <= INT32_MAX, "must be a non-negative 32-bit integer"),
  offset: z
    .string()
    .regex(/^\d{1,19}$/, "must be a non-negative whole number")
    // Checks do not stop at the first failure: guard the BigInt.
    .refine((text) => !/^\d{1,19}$/.test(text) || BigInt(text) <= INT64_MAX, "must be a non-negative 64-bit integer")
    // Canonical form: "007" and "7" are the same record.
    .transform((text) => BigInt(text).toString()),
});

export type EventAddress = z.infer<typeof eventAddressSchema>;

/**
 * Where an event is, as pages show it and the timeline's `?event=` names it:
 * `<topic>/<partition>/<offset>`, prefixed with `<source>:` on a source other than `default`
 * (source names have no colon or slash, so the form stays unambiguous).
 */
export function eventPlace(event: { source?: string | null; topic: string; partition: number; offset: string }): string {
  const where = `${event.topic}/${event.partition}/${event.offset}`;
  return event.source && event.source !== "default" ? `${event.source}:${where}` : where;
}

/** The page of one event. */
export function eventHref(event: { source?: string | null; topic: string; partition: number; offset: string }): string {
  return `/events/${encodeURIComponent(event.topic)}/${event.partition}/${event.offset}${sourceQuery(event.source)}`;
}

/**
 * `?source=<name>` for a page or API URL that names a topic, group or event, or "" without a
 * source (the server then finds the one source that has it; see resolveSourceOf in server/db).
 * The source `default` (KAFKA_BROKERS alone: the only source of that set-up) is left out, so a
 * single cluster's URLs stay as they were; every other source is named.
 */
export function sourceQuery(source: string | null | undefined, separator: "?" | "&" = "?"): string {
  return source && source !== "default" ? `${separator}source=${encodeURIComponent(source)}` : "";
}

/** The message a page shows for bad input (as the route handlers' 422), or null for other errors. */
export function inputErrorMessage(error: unknown): string | null {
  if (error instanceof ZodError) {
    return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
  }
  if (error instanceof ValidationError || (error instanceof Error && error.name === "ValidationError")) return error.message;
  return null;
}

// --- responses -------------------------------------------------------------------------------------
// What the event queries return and the pages and API serve: plain JSON, int64s as decimal strings,
// times as ISO 8601 strings.

/** A topic as the admin poller classified it: an ordinary topic, a dead-letter queue or a retry topic. */
export const topicKindSchema = z.enum(["normal", "dlq", "retry"]);

/** What failure headers say about a record: where it came from, what failed, how often. */
export const storedFailureSchema = z.object({
  /** "headers": failure headers say where it came from; "topic-name": only the DLQ's name does. */
  source: z.enum(["headers", "topic-name"]),
  convention: z.string().nullable(),
  originTopic: z.string().nullable(),
  originPartition: z.number().nullable(),
  /** Decimal int64. */
  originOffset: z.string().nullable(),
  /** ISO 8601. */
  originTimestamp: z.string().nullable(),
  originConsumerGroup: z.string().nullable(),
  originTopicHint: z.string().nullable(),
  errorClass: z.string().nullable(),
  errorMessage: z.string().nullable(),
  errorCause: z.string().nullable(),
  stackTrace: z.string().nullable(),
  attempts: z.number().nullable(),
});

export type StoredFailure = z.infer<typeof storedFailureSchema>;

/** One event as lists show it: everything but the value, of which a short preview. */
export const eventSummarySchema = z.object({
  /** The source (cluster) it was read from, by name: with topic, partition and offset, its identity. */
  source: z.string(),
  topic: z.string(),
  partition: z.number(),
  /** Decimal int64. */
  offset: z.string(),
  /** The record's Kafka timestamp, ISO 8601 (millisecond precision). */
  timestamp: z.string(),
  /** The key as text, when it is UTF-8 without NUL. */
  key: z.string().nullable(),
  /** Otherwise the key's bytes in base64 (null when the record has no key). */
  keyBase64: z.string().nullable(),
  /** null for a tombstone (no value). */
  valueKind: z.enum(["json", "text", "binary"]).nullable(),
  /** The first characters of a JSON or text value; null for binary values and tombstones. */
  valuePreview: z.string().nullable(),
  /** Every header, in record order, repeated keys kept. */
  headers: z.array(storedHeaderSchema),
  /** Bytes of key + value + headers as received. */
  size: z.number(),
  eventType: z.string().nullable(),
  producer: z.string().nullable(),
  entityKeys: z.array(z.string()),
  traceId: z.string().nullable(),
  parentSpanId: z.string().nullable(),
  /** What could not be read as expected (server/collector/extract/flags.ts). */
  flags: z.array(z.string()),
  /** Failure headers on a record that is not itself a dead letter (a retry, a re-send). */
  priorFailure: storedFailureSchema.nullable(),
  /**
   * Equal on two deliveries of one message (lib/delivery-marks.ts deliveryFingerprint: its id, or
   * without one its key and value); null for retry copies, dead letters, replays and events
   * stored before it was recorded.
   */
  deliveryFingerprint: z.number().int().nullable(),
});

export type EventSummary = z.infer<typeof eventSummarySchema>;

/** A page of the event search. */
export const eventSearchPageSchema = z.object({
  /** Newest first (timestamp, then topic, partition, offset, all descending). */
  events: z.array(eventSummarySchema),
  nextCursor: z.string().nullable(),
});

export type EventSearchPage = z.infer<typeof eventSearchPageSchema>;

/** An event's own dead-letter row, when it is one: the inbox row's origin and error. */
export const deadLetterInfoSchema = deadLetterListItemSchema.pick({
  id: true,
  status: true,
  recognizedBy: true,
  convention: true,
  originTopic: true,
  originPartition: true,
  originOffset: true,
  originTopicHint: true,
  originGroup: true,
  errorClass: true,
  errorMessage: true,
  attempts: true,
  replayId: true,
});

export type DeadLetterInfo = z.infer<typeof deadLetterInfoSchema>;

/**
 * A dead letter that says it came from a given event (origin topic/partition/offset): its own
 * record, status and error, the group that failed when the convention records it (Spring), and
 * who wrote it (its producer identity).
 */
export const deadLetterReferenceSchema = deadLetterListItemSchema.pick({
  id: true,
  topic: true,
  partition: true,
  offset: true,
  timestamp: true,
  status: true,
  errorClass: true,
  errorMessage: true,
  originGroup: true,
  producer: true,
});

export type DeadLetterReference = z.infer<typeof deadLetterReferenceSchema>;

/** Whether one subscribed group has consumed an event. */
export const groupConsumptionSchema = z.object({
  groupId: z.string(),
  /** The group's state as last polled (Stable, Empty, …). */
  state: z.string(),
  /**
   * consumed: the group's committed offset on the partition is past the event;
   * behind: not yet (lag says how far the group is behind on that partition);
   * dead-lettered: a dead letter attributed to this group references the event.
   */
  status: z.enum(["consumed", "behind", "dead-lettered"]),
  /** The NEXT offset the group will read on the event's partition; null when nothing is committed. */
  committedOffset: z.string().nullable(),
  /** The group's offset lag on the event's partition (end − committed); null when unknown. */
  lag: z.string().nullable(),
  /** The client ids of the group's members as last polled (often the service's name), sorted. */
  clientIds: z.array(z.string()),
});

export type GroupConsumption = z.infer<typeof groupConsumptionSchema>;

/** A RabbitMQ queue that delivered an event, as the firehose saw it (a source with `deliveries: firehose`). */
export const queueDeliverySchema = z.object({
  queue: z.string(),
  /** Deliveries seen from this queue, redeliveries included. */
  deliveries: z.number().int(),
  /** Of which redelivered (a consumer rejected or requeued it, or its channel closed before the ack). */
  redeliveries: z.number().int(),
  lastAt: z.string(),
});

export type QueueDelivery = z.infer<typeof queueDeliverySchema>;

/**
 * A RabbitMQ event's consumption, per queue: `observed` when its source stores deliveries
 * (`deliveries: firehose`; then `queues` lists each queue a delivery was seen from, and none means
 * no delivery seen yet), false in bindings mode alone, which cannot see consumption. null for
 * events of other brokers (their consumption is per group, `consumption`).
 */
export const queueConsumptionSchema = z
  .object({
    observed: z.boolean(),
    queues: z.array(queueDeliverySchema),
  })
  .nullable();

export type QueueConsumption = z.infer<typeof queueConsumptionSchema>;

/** An event of a timeline or a trace: the summary with its dead-letter links and consumption. */
export const timelineEventSchema = eventSummarySchema.extend({
  /** normal, dlq or retry (null when the admin poller has not seen the topic). */
  topicKind: topicKindSchema.nullable(),
  /** Set when this event is a dead letter. */
  deadLetter: deadLetterInfoSchema.nullable(),
  /** Dead letters that say they came from this event. */
  deadLetteredAs: z.array(deadLetterReferenceSchema),
  /** Every group subscribed to the event's topic, by group id. */
  consumption: z.array(groupConsumptionSchema),
  /** RabbitMQ: the queues that delivered it (from the firehose), or that this is not observed. */
  queueConsumption: queueConsumptionSchema,
});

export type TimelineEvent = z.infer<typeof timelineEventSchema>;

/** An event's whole value. */
export const eventValueSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("tombstone") }),
  /** Parsed from jsonb (numbers beyond 2^53 lose precision here; `valueBytesBase64` has the exact bytes when kept). */
  z.object({ kind: z.literal("json"), json: z.unknown() }),
  z.object({ kind: z.literal("text"), text: z.string() }),
  z.object({ kind: z.literal("binary"), base64: z.string() }),
]);

export type EventValue = z.infer<typeof eventValueSchema>;

/** One event with everything known about it (`GET /api/events/[topic]/[partition]/[offset]`). */
export const eventDetailSchema = timelineEventSchema.extend({
  value: eventValueSchema,
  /** The exact bytes of a JSON dead letter's value (what a replay sends), base64; else null. */
  valueBytesBase64: z.string().nullable(),
  /** When the collector stored it. */
  ingestedAt: z.string(),
  /** The Schema Registry id its value was decoded with (the wire bytes are valueBytesBase64); else null. */
  schemaId: z.number().int().nullable(),
  /** The subject and version the registry listed for that id, when the collector stored the schema; else null. */
  schemaSubject: z.string().nullable(),
  schemaVersion: z.number().int().nullable(),
});

export type EventDetail = z.infer<typeof eventDetailSchema>;
