import { getDatabase, getGroupDetail } from "@/server/db";
import { graphNameSchema } from "@/lib/api-schemas/graph";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/** GET /api/graph/groups/[group]?source=: state, health, members with their assignments, lag per partition. */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ group: string }> }) => {
  const groupId = graphNameSchema.parse((await context.params).group);
  const source = sourceParam(new URL(request.url).searchParams);
  return Response.json(await getGroupDetail(await getDatabase(), groupId, { source }), { headers: { "cache-control": "no-store" } });
});
