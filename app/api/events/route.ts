import { getDatabase, searchEvents } from "@/server/db";
import { parseEventSearchQuery } from "@/lib/api-schemas/events";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/events?entity=&key=&type=&topic=&source=&header=name[=value]&traceId=&from=&to=&cursor=&limit=:
 * events newest first, every filter optional and combined with AND; nextCursor fetches the next
 * (older) page.
 */
export const GET = withErrorMapping(async (request: Request) => {
  const query = parseEventSearchQuery(new URL(request.url).searchParams);
  const page = await searchEvents(await getDatabase(), query);
  return Response.json(page, { headers: { "cache-control": "no-store" } });
});
