import { z } from "zod";
import { queryRecord, type RawQuery } from "./query-params.ts";

/**
 * The overview's flow graph: `GET /api/graph` (and the page `/`), the selected node in the URL
 * (`/?node=topic:orders`), and the side panel's detail routes
 * `GET /api/graph/topics/[topic]` and `GET /api/graph/groups/[group]`.
 */

const MAX_NAME = 1000;

/** A node of the flow graph: `producer:<name>`, `topic:<name>` or `group:<group id>`. */
export const graphNodeIdSchema = z
  .string()
  .max(MAX_NAME + 10, `a node id has at most ${MAX_NAME + 10} characters`)
  .regex(/^(producer|topic|group):[\s\S]+$/, "a node id is producer:<name>, topic:<name> or group:<group id>");

export type GraphNodeId = z.infer<typeof graphNodeIdSchema>;

export const graphQuerySchema = z.object({
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

export function splitNodeId(id: GraphNodeId): { kind: "producer" | "topic" | "group"; name: string } {
  const colon = id.indexOf(":");
  return { kind: id.slice(0, colon) as "producer" | "topic" | "group", name: id.slice(colon + 1) };
}

export function overviewHref(node?: string): string {
  return node ? `/?node=${encodeURIComponent(node)}` : "/";
}
