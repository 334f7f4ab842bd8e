import { getDatabase, listUnprocessedEvents } from "@/server/db";
import { groupIdSchema, parseUnprocessedQuery } from "@/lib/api-schemas/groups";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/**
 * GET /api/groups/{id}/unprocessed?topic=&partition=&source=&order=oldest|newest&cursor=&limit=: the events
 * of one partition the group has not processed yet (committed offset ≤ offset < end offset).
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ id: string }> }) => {
  const groupId = groupIdSchema.parse((await context.params).id);
  const params = new URL(request.url).searchParams;
  const query = parseUnprocessedQuery(params);
  const page = await listUnprocessedEvents(await getDatabase(), groupId, { ...query, source: sourceParam(params) });
  return Response.json(page, { headers: { "cache-control": "no-store" } });
});
