import { getConsumerGroup, getDatabase } from "@/server/db";
import { groupIdSchema } from "@/lib/api-schemas/groups";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/groups/{id}: members and their assignments, per partition committed offset, end
 * offset, offset lag, time lag, health and why, and the event each lagging partition waits on.
 */
export const GET = withErrorMapping(async (_request: Request, context: { params: Promise<{ id: string }> }) => {
  const groupId = groupIdSchema.parse((await context.params).id);
  const group = await getConsumerGroup(await getDatabase(), groupId);
  return Response.json(group, { headers: { "cache-control": "no-store" } });
});
