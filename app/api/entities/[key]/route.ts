import { getDatabase, getEntityTimeline } from "@/server/db";
import { entityKeySchema, parseEntityTimelineQuery } from "@/lib/api-schemas/entities";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/entities/[key]?cursor=&limit=: a page of the entity's timeline (every event of it
 * across topics, in time order, with each subscribed group's consumption status); nextCursor
 * fetches the next page. 404 when no stored event belongs to the entity (a later page may be empty).
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ key: string }> }) => {
  const key = entityKeySchema.parse((await context.params).key);
  const query = parseEntityTimelineQuery(new URL(request.url).searchParams);
  const timeline = await getEntityTimeline(await getDatabase(), key, query);
  if (timeline.events.length === 0 && query.cursor === undefined) throw new NotFoundError(`no stored event belongs to entity ${key}`);
  return Response.json(timeline, { headers: { "cache-control": "no-store" } });
});
