import { getDatabase, getGroupDetail } from "@/server/db";
import { graphNameSchema } from "@/lib/api-schemas/graph";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** GET /api/graph/groups/[group]: state, health, members with their assignments, lag per partition. */
export const GET = withErrorMapping(async (_request: Request, context: { params: Promise<{ group: string }> }) => {
  const groupId = graphNameSchema.parse((await context.params).group);
  return Response.json(await getGroupDetail(await getDatabase(), groupId), { headers: { "cache-control": "no-store" } });
});
