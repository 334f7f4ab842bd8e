import { getDatabase, listUnprocessedEvents } from "@/server/db";
import { groupIdSchema, parseUnprocessedQuery } from "@/lib/api-schemas/groups";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/groups/{id}/unprocessed?topic=&partition=&order=oldest|newest&cursor=&limit=: the events
 * of one partition the group has not processed yet (committed offset ≤ offset < end offset).
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ id: string }> }) => {
  const groupId = groupIdSchema.parse((await context.params).id);
  const query = parseUnprocessedQuery(new URL(request.url).searchParams);
  const page = await listUnprocessedEvents(await getDatabase(), groupId, query);
  return Response.json(page, { headers: { "cache-control": "no-store" } });
});
