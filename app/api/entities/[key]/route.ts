import { getDatabase, getEntityState, getEntityTimeline } from "@/server/db";
import { entityKeySchema, parseEntityTimelineQuery } from "@/lib/api-schemas/entities";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/entities/[key]?cursor=&limit=: a page of the entity's timeline (every event of it
 * across topics, in time order, with each subscribed group's consumption status, and on the first
 * page how it fares in each flow); nextCursor fetches the next page. 404 when no stored event
 * belongs to the entity (a later page may be empty).
 *
 * GET /api/entities/[key]?at=<ISO time>: its state at that time, folded from its events' values
 * (`{"entityKey", "at", "state", "basedOn": [event refs]}`).
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ key: string }> }) => {
  const key = entityKeySchema.parse((await context.params).key);
  const query = parseEntityTimelineQuery(new URL(request.url).searchParams);
  const db = await getDatabase();
  if (query.at !== undefined) {
    const state = await getEntityState(db, key, query.at);
    // Nothing folded: a state of {} for an entity with no event at all would hide a typo.
    if (state.basedOn.length === 0 && (await getEntityTimeline(db, key, { limit: 1 })).events.length === 0) {
      throw new NotFoundError(`no stored event belongs to entity ${key}`);
    }
    return Response.json(state, { headers: { "cache-control": "no-store" } });
  }
  const timeline = await getEntityTimeline(db, key, query);
  if (timeline.events.length === 0 && query.cursor === undefined) throw new NotFoundError(`no stored event belongs to entity ${key}`);
  return Response.json(timeline, { headers: { "cache-control": "no-store" } });
});
