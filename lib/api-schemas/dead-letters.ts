import { z } from "zod";
import { ValidationError } from "../errors.ts";
import { storedHeaderSchema } from "./headers.ts";
import { optionalText, sourceParamSchema } from "./query-params.ts";

/**
 * The dead-letter API's inputs, shared by the pages (searchParams) and the route handlers.
 * Query strings arrive as text: numbers and dates are coerced here, with messages that say what
 * was expected.
 */

export const DEAD_LETTER_STATUS_VALUES = ["new", "replayed", "resolved", "discarded"] as const;

export const deadLetterIdSchema = z.string().regex(/^\d{1,18}$/, "a dead letter id is a positive whole number");

/** Kafka's rule for topic names: 1-249 of letters, digits, '.', '_' and '-'. */
export const topicNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, "a topic name is 1-249 letters, digits, '.', '_' or '-'")
  .refine((name) => name !== "." && name !== "..", "a topic name cannot be '.' or '..'");


const optionalDate = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text.trim() === "") return undefined;
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: "custom", message: `expected a date and time such as 2026-11-23T08:00:00Z, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return date;
  });

/** status: one or several, comma-separated (`new,replayed`). */
const statusList = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text.trim() === "") return undefined;
    const items = text.split(",").map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((s) => !(DEAD_LETTER_STATUS_VALUES as readonly string[]).includes(s));
    if (bad.length > 0) {
      ctx.addIssue({ code: "custom", message: `status must be ${DEAD_LETTER_STATUS_VALUES.join(", ")} (comma-separated); got ${bad.join(", ")}` });
      return z.NEVER;
    }
    return items as (typeof DEAD_LETTER_STATUS_VALUES)[number][];
  });

export const deadLetterFiltersSchema = z.object({
  status: statusList,
  topic: optionalText("topic", 249),
  /** A source's name: its dead letters only. */
  source: sourceParamSchema,
  error: optionalText("error", 500),
  from: optionalDate,
  to: optionalDate,
});

export const deadLetterListQuerySchema = deadLetterFiltersSchema.extend({
  cursor: optionalText("cursor", 2048),
  limit: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text === "") return undefined;
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1 || n > 500) {
        ctx.addIssue({ code: "custom", message: "limit must be a whole number from 1 to 500" });
        return z.NEVER;
      }
      return n;
    }),
});

export type DeadLetterListQuery = z.infer<typeof deadLetterListQuerySchema>;

const headerSchema = z.object({
  key: z.string().min(1, "a header needs a key").max(1024),
  /** Text (UTF-8), `base64:<bytes>` for binary values, or null. */
  value: z.string().max(1_000_000).nullable(),
});

export const replayRequestSchema = z
  .object({
    /** Replay although it was replayed before (after seeing who replayed it, when). */
    again: z.boolean().optional(),
    /** With again: how many replays the user saw; refused when more happened since. */
    seen: z.number().int().min(0).optional(),
    /** Send to this topic instead of the original one. */
    topic: topicNameSchema.optional(),
    /**
     * The value to send instead (UTF-8 text; null sends a tombstone). For a Schema Registry value:
     * JSON, re-encoded under the same schema id (422 naming the field when it does not fit).
     */
    value: z.string().max(10_000_000).nullable().optional(),
    /** The complete header list to send instead (x-replay-of and x-replay-id are added). */
    headers: z.array(headerSchema).max(1000).optional(),
  })
  .strict();

export type ReplayRequestBody = z.infer<typeof replayRequestSchema>;

export const MAX_BULK_IDS = 10_000;

export const bulkReplayRequestSchema = z
  .object({
    ids: z.array(deadLetterIdSchema).min(1, "ids: choose at least one dead letter").max(MAX_BULK_IDS).optional(),
    group: z
      .object({
        originTopic: z.string().max(249).nullable(),
        errorClass: z.string().max(2000).nullable(),
        /** The group's source (by name); absent: the group on every source. */
        source: z.string().max(40).optional(),
      })
      .strict()
      .optional(),
    /** List what would be sent; send nothing. */
    dryRun: z.boolean().default(false),
    /** At most this many messages a second. */
    ratePerSecond: z.number().min(0.1, "ratePerSecond: at least 0.1").max(1000, "ratePerSecond: at most 1000").default(10),
  })
  .strict()
  .refine((body) => (body.ids === undefined) !== (body.group === undefined), "give either ids or group, not both");

export type BulkReplayRequestBody = z.infer<typeof bulkReplayRequestSchema>;

export const statusChangeRequestSchema = z.object({ note: z.string().max(2000).optional() }).strict();

export const auditQuerySchema = z.object({
  actor: optionalText("actor", 200),
  action: optionalText("action", 100),
  targetType: optionalText("targetType", 100),
  targetId: optionalText("targetId", 200),
  cursor: optionalText("cursor", 2048),
  limit: deadLetterListQuerySchema.shape.limit,
});

export type AuditQuery = z.infer<typeof auditQuerySchema>;

/** A request's JSON body checked by `schema`; an empty body counts as `{}`. Malformed JSON is a 422. */
export async function parseJsonBody<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  const text = await request.text();
  let body: unknown = {};
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      throw new ValidationError("the request body is not valid JSON", { field: "body" });
    }
  }
  return schema.parse(body);
}

// --- responses -------------------------------------------------------------------------------------
// What the dead-letter and audit queries return and the pages and API serve: int64s as decimal
// strings, times as ISO 8601 strings.

/** A row of the dead-letter inbox (`GET /api/dead-letters`). */
export const deadLetterListItemSchema = z.object({
  id: z.string(),
  /** The dead letter's own record in the DLQ topic. */
  topic: z.string(),
  partition: z.number(),
  offset: z.string(),
  timestamp: z.string(),
  /** The source (cluster) of its own record and of its origin, by name. */
  source: z.string(),
  /** "headers": failure headers say where it came from; "topic-name": only the DLQ's name does. */
  recognizedBy: z.string(),
  convention: z.string().nullable(),
  originTopic: z.string().nullable(),
  originPartition: z.number().nullable(),
  originOffset: z.string().nullable(),
  originTimestamp: z.string().nullable(),
  originGroup: z.string().nullable(),
  originTopicHint: z.string().nullable(),
  errorClass: z.string().nullable(),
  /** The first 500 characters; the detail page has all of it. */
  errorMessage: z.string().nullable(),
  attempts: z.number().nullable(),
  status: z.enum(DEAD_LETTER_STATUS_VALUES),
  statusChangedAt: z.string().nullable(),
  replayId: z.string().nullable(),
  eventType: z.string().nullable(),
  entityKeys: z.array(z.string()),
  producer: z.string().nullable(),
});

export type DeadLetterListItem = z.infer<typeof deadLetterListItemSchema>;

export const deadLetterPageSchema = z.object({
  /** Newest first. */
  deadLetters: z.array(deadLetterListItemSchema),
  nextCursor: z.string().nullable(),
});

export type DeadLetterPage = z.infer<typeof deadLetterPageSchema>;

/** Dead letters grouped by origin and error (`GET /api/dead-letters/groups`). */
export const deadLetterGroupSchema = z.object({
  /** The source (by name) of the group's dead letters: groups are per source. */
  source: z.string(),
  /** From headers, else the DLQ name's hint (originIsHint); null when neither says. */
  originTopic: z.string().nullable(),
  originIsHint: z.boolean(),
  errorClass: z.string().nullable(),
  count: z.number(),
  byStatus: z.record(z.enum(DEAD_LETTER_STATUS_VALUES), z.number()),
  oldest: z.string(),
  newest: z.string(),
  /** The DLQ topics they sit in. */
  dlqTopics: z.array(z.string()),
});

export type DeadLetterGroup = z.infer<typeof deadLetterGroupSchema>;

/**
 * pending: claimed, not produced yet; sent: produced (RabbitMQ: confirmed by the broker), not yet
 * consumed by every group of the target partition; consumed: every such group committed past it
 * (Kafka only, see `consumption`); delivered: a queue delivered it (RabbitMQ with deliveries from
 * the firehose: a delivery carrying its x-replay-id was seen); failed_again: a new dead letter
 * carries its x-replay-id (decides over delivered); failed: the produce itself failed.
 */
export const replayOutcomeSchema = z.enum(["pending", "sent", "consumed", "delivered", "failed_again", "failed"]);

export type ReplayOutcome = z.infer<typeof replayOutcomeSchema>;

export const replayWithOutcomeSchema = z.object({
  /** The source it was sent to: its dead letter's, by name. */
  source: z.string(),
  id: z.string(),
  sequence: z.number(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  targetTopic: z.string(),
  edits: z.unknown(),
  outcome: replayOutcomeSchema,
  producedPartition: z.number().nullable(),
  producedOffset: z.string().nullable(),
  /**
   * The dead letter's original partition when the target topic did not have it: the replay went
   * to producedPartition, chosen by its key. null when it went where it was meant to.
   */
  missingPartition: z.number().nullable(),
  error: z.string().nullable(),
  /** RabbitMQ: the routing key it was published with (producedPartition 0, producedOffset null); Kafka: null. */
  routingKey: z.string().nullable(),
  /**
   * Whether `consumed` can be known: "tracked" on Kafka (consumer groups commit offsets);
   * "deliveries" on RabbitMQ when its source stores deliveries from the firehose: a sent replay
   * becomes `delivered` once a queue delivers it (acknowledgements stay unseen); "unknown" on
   * RabbitMQ in bindings mode alone, which sees no delivery: a sent replay stays `sent` until it
   * fails again, and whether it was delivered is unknown, not guessed.
   */
  consumption: z.enum(["tracked", "deliveries", "unknown"]),
  /** RabbitMQ: the queues a delivery of it was seen from (consumption "deliveries"), sorted; otherwise []. */
  deliveredTo: z.array(z.string()),
  /** Groups with a committed offset on the produced partition (the collector's own excluded). */
  groups: z.array(z.object({ groupId: z.string(), committedOffset: z.string(), past: z.boolean() })),
  /** The dead letters this replay became (same x-replay-id). */
  failedAgainAs: z.array(
    z.object({ id: z.string(), topic: z.string(), partition: z.number(), offset: z.string(), errorMessage: z.string().nullable() }),
  ),
});

export type ReplayWithOutcome = z.infer<typeof replayWithOutcomeSchema>;

/** One dead letter (`GET /api/dead-letters/[id]`): the inbox row, all of the error, the record, its replays. */
export const deadLetterDetailSchema = deadLetterListItemSchema.extend({
  /** The original record is stored (its page exists). */
  originCollected: z.boolean(),
  /** The dead letter's own event is still stored (retention may have dropped it; the copy here stays). */
  eventCollected: z.boolean(),
  /** All of it (the list has the first 500 characters). */
  errorMessage: z.string().nullable(),
  errorCause: z.string().nullable(),
  errorStack: z.string().nullable(),
  /** When it is a replay that failed again (its replayId): the dead letter that replay came from. */
  replayOf: z.object({ deadLetterId: z.string(), sequence: z.number() }).nullable(),
  key: z.string().nullable(),
  keyBase64: z.string().nullable(),
  headers: z.array(storedHeaderSchema),
  /** The value as text (UTF-8; JSON as received, or decoded from the wire format) or base64 for binary; null for a tombstone. */
  value: z
    .union([
      z.object({ kind: z.enum(["json", "text"]), text: z.string() }),
      z.object({ kind: z.literal("binary"), base64: z.string() }),
    ])
    .nullable(),
  /**
   * The Schema Registry id the value was written with, when it is in the wire format: `value` is
   * then its decoded JSON; a replay sends the original bytes, or re-encodes an edit under this id.
   */
  valueSchemaId: z.number().nullable(),
  flags: z.array(z.string()),
  /** EVENTSCOPE_MASK_FIELDS changed the value or headers shown here (a replay still sends the originals). */
  masked: z.boolean(),
  replays: z.array(replayWithOutcomeSchema),
});

export type DeadLetterDetail = z.infer<typeof deadLetterDetailSchema>;

/** An entry of the audit log (`GET /api/audit`). */
export const auditLogItemSchema = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  details: z.unknown(),
  result: z.string(),
  error: z.string().nullable(),
});

export type AuditLogItem = z.infer<typeof auditLogItemSchema>;

export const auditLogPageSchema = z.object({
  /** Newest first. */
  entries: z.array(auditLogItemSchema),
  nextCursor: z.string().nullable(),
});

export type AuditLogPage = z.infer<typeof auditLogPageSchema>;
