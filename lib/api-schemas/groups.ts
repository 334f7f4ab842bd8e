import { z } from "zod";
import { blankToUndefined, cursorSchema, limitSchema, queryRecord, type RawQuery } from "./query-params.ts";

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
  topic: z.preprocess(blankToUndefined, z.string().max(1000, "is longer than 1000 characters").optional()),
  partition: z.preprocess(blankToUndefined, partitionSchema.optional()),
  order: z.preprocess(blankToUndefined, z.enum(["oldest", "newest"], { error: "must be oldest or newest" }).optional()),
});
export type GroupPageQuery = z.infer<typeof groupPageQuerySchema>;

export function parseGroupPageQuery(query: RawQuery): GroupPageQuery {
  return groupPageQuerySchema.parse(queryRecord(query));
}

export function groupHref(groupId: string, query: Partial<GroupPageQuery> = {}): string {
  const params = new URLSearchParams();
  if (query.window && query.window !== DEFAULT_LAG_WINDOW) params.set("window", query.window);
  if (query.topic !== undefined) params.set("topic", query.topic);
  if (query.partition !== undefined) params.set("partition", String(query.partition));
  if (query.order) params.set("order", query.order);
  const search = params.toString();
  return `/groups/${encodeURIComponent(groupId)}${search ? `?${search}` : ""}`;
}
