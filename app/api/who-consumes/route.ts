import { getDatabase, whoConsumes } from "@/server/db";
import { parseWhoConsumesQuery, resolveWhoConsumes } from "@/lib/api-schemas/who-consumes";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/**
 * GET /api/who-consumes?type=OrderPlaced (or ?topic=, ?service=, or ?q= tried as a type, a topic,
 * then a service): the topics that carry it, the groups reading them with their live members and
 * lag, and who produces it (Eventscope's own collector group left out). Exactly one parameter,
 * else 422. Across sources (each topic and group says its source); `&source=` narrows it to one.
 */
export const GET = withErrorMapping(async (request: Request) => {
  const params = new URL(request.url).searchParams;
  const source = sourceParam(params);
  const query = parseWhoConsumesQuery(params);
  const db = await getDatabase();
  const answer = await resolveWhoConsumes(query, (q) => whoConsumes(db, q, { source }));
  return Response.json(answer, { headers: { "cache-control": "no-store" } });
});
