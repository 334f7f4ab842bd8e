import { z, ZodError } from "zod";
import { ValidationError } from "../errors.ts";
import { blankToUndefined, cursorSchema, limitSchema, optionalText, queryRecord, type RawQuery } from "./query-params.ts";

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

function timeSchema() {
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
  if (query.header) set("header", query.header.value === undefined ? query.header.name : `${query.header.name}=${query.header.value}`);
  set("traceId", query.traceId);
  set("flag", query.flag);
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

/** The page of one event. */
export function eventHref(event: { topic: string; partition: number; offset: string }): string {
  return `/events/${encodeURIComponent(event.topic)}/${event.partition}/${event.offset}`;
}

/** The message a page shows for bad input (as the route handlers' 422), or null for other errors. */
export function inputErrorMessage(error: unknown): string | null {
  if (error instanceof ZodError) {
    return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
  }
  if (error instanceof ValidationError || (error instanceof Error && error.name === "ValidationError")) return error.message;
  return null;
}
