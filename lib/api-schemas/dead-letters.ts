import { z } from "zod";
import { ValidationError } from "../errors.ts";
import { optionalText } from "./query-params.ts";

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
    /** The value to send instead (UTF-8 text; null sends a tombstone). */
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
    group: z.object({ originTopic: z.string().max(249).nullable(), errorClass: z.string().max(2000).nullable() }).strict().optional(),
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
