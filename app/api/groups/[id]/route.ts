import { getConsumerGroup, getDatabase } from "@/server/db";
import { groupIdSchema } from "@/lib/api-schemas/groups";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/**
 * GET /api/groups/{id}?source=: members and their assignments, per partition committed offset, end
 * offset, offset lag, time lag, health and why, and the event each lagging partition waits on.
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ id: string }> }) => {
  const groupId = groupIdSchema.parse((await context.params).id);
  const source = sourceParam(new URL(request.url).searchParams);
  const group = await getConsumerGroup(await getDatabase(), groupId, { source });
  return Response.json(group, { headers: { "cache-control": "no-store" } });
});
