import { getDatabase, searchEvents } from "@/server/db";
import { parseEventSearchQuery } from "@/lib/api-schemas/events";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/**
 * GET /api/events?entity=&key=&type=&topic=&source=&header=name[=value]&traceId=&from=&to=&cursor=&limit=:
 * events newest first, every filter optional and combined with AND; nextCursor fetches the next
 * (older) page.
 */
export const GET = withErrorMapping(async (request: Request) => {
  const params = new URL(request.url).searchParams;
  const query = parseEventSearchQuery(params);
  const page = await searchEvents(await getDatabase(), { ...query, source: sourceParam(params) });
  return Response.json(page, { headers: { "cache-control": "no-store" } });
});
