import { getDatabase, getTopicDetail } from "@/server/db";
import { getConfig } from "@/server/config";
import { graphNameSchema } from "@/lib/api-schemas/graph";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** GET /api/graph/topics/[topic]: partitions with offsets, event types, producers, consuming groups with lag. */
export const GET = withErrorMapping(async (_request: Request, context: { params: Promise<{ topic: string }> }) => {
  const topic = graphNameSchema.parse((await context.params).topic);
  const detail = await getTopicDetail(await getDatabase(), topic);
  // Eventscope's own collector group reads every topic: not one of the user's consumers.
  const collectorGroup = getConfig().collectorGroup;
  return Response.json({ ...detail, consumers: detail.consumers.filter((g) => g.groupId !== collectorGroup) }, { headers: { "cache-control": "no-store" } });
});
