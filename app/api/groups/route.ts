import { getDatabase, listConsumerGroups } from "@/server/db";
import { parseGroupListQuery } from "@/lib/api-schemas/groups";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/groups?sort=&order=&cursor=&limit=: every consumer group with state, members, topics,
 * total offset lag, time lag and health; sorted (default: worst health first), paged by cursor.
 */
export const GET = withErrorMapping(async (request: Request) => {
  const query = parseGroupListQuery(new URL(request.url).searchParams);
  const page = await listConsumerGroups(await getDatabase(), query);
  return Response.json(page, { headers: { "cache-control": "no-store" } });
});
