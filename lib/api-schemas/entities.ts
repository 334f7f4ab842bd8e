import { z } from "zod";
import { cursorSchema, limitSchema, optionalText, queryRecord, type RawQuery } from "./query-params.ts";
import { eventPlace, timelineEventSchema, timeSchema } from "./events.ts";
import { entityFlowSchema } from "./flows.ts";

/** `/entities/[key]` and `GET /api/entities/[key]`: an entity key and a page of its timeline. */

export const entityKeySchema = z
  .string()
  .min(1, "the entity key is empty")
  .max(1000, "an entity key has at most 1000 characters");

export const entityTimelineQuerySchema = z.object({
  /** The entity's state at this time (lib/entity-state.ts) instead of its timeline: `GET /api/entities/<key>?at=<ISO time>`. */
  at: timeSchema(),
  cursor: cursorSchema,
  /** Events per page; the query's default is 200. */
  limit: limitSchema(1000),
});

export type EntityTimelineQuery = z.infer<typeof entityTimelineQuerySchema>;

export function parseEntityTimelineQuery(query: RawQuery): EntityTimelineQuery {
  return entityTimelineQuerySchema.parse(queryRecord(query));
}

/** The page adds the selected event, `event=[<source>:]<topic>/<partition>/<offset>` (eventPlace), so a link opens it expanded. */
export const entityPageQuerySchema = entityTimelineQuerySchema.extend({
  event: optionalText("event", 300).refine((id) => id === undefined || /^.+\/\d{1,10}\/\d{1,19}$/.test(id), "must be [<source>:]<topic>/<partition>/<offset>"),
});

export type EntityPageQuery = z.infer<typeof entityPageQuerySchema>;

export function parseEntityPageQuery(query: RawQuery): EntityPageQuery {
  return entityPageQuerySchema.parse(queryRecord(query));
}

export function entityHref(key: string, event?: { source?: string | null; topic: string; partition: number; offset: string }): string {
  const path = `/entities/${encodeURIComponent(key)}`;
  return event ? `${path}?event=${encodeURIComponent(eventPlace(event))}` : path;
}

/** A page of an entity's timeline (`GET /api/entities/[key]`). */
export const entityTimelineSchema = z.object({
  entityKey: z.string(),
  /** How the entity fares in each kind's flow (outcome, what a stuck one waits for); first page only, later pages []. */
  flows: z.array(entityFlowSchema),
  events: z.array(timelineEventSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});

export type EntityTimeline = z.infer<typeof entityTimelineSchema>;

/**
 * `GET /api/entities/<key>?at=<ISO time>`: the entity's state folded from its events' values up to
 * that time (JSON Merge Patch in time order, lib/entity-state.ts), and the events it is based on.
 */
export const entityStateSchema = z.object({
  entityKey: z.string(),
  at: z.string(),
  state: z.record(z.string(), z.unknown()),
  basedOn: z.array(
    z.object({ source: z.string(), topic: z.string(), partition: z.number(), offset: z.string(), timestamp: z.string(), eventType: z.string().nullable() }),
  ),
});

export type EntityState = z.infer<typeof entityStateSchema>;
