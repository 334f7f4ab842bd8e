import { getDatabase, getGroupLagHistory } from "@/server/db";
import { groupIdSchema, lagRange, parseLagQuery } from "@/lib/api-schemas/groups";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/**
 * GET /api/groups/{id}/lag?window=15m|1h|6h|24h|7d&source=: the group's lag over the window ending now,
 * bucketed (largest value per bucket), in total and per partition.
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ id: string }> }) => {
  const groupId = groupIdSchema.parse((await context.params).id);
  const params = new URL(request.url).searchParams;
  const { window } = parseLagQuery(params);
  const history = await getGroupLagHistory(await getDatabase(), groupId, { ...lagRange(window, Date.now()), source: sourceParam(params) });
  return Response.json({ window, ...history }, { headers: { "cache-control": "no-store" } });
});
