import { getDatabase, getTopicDetail } from "@/server/db";
import { graphNameSchema } from "@/lib/api-schemas/graph";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/** GET /api/graph/topics/[topic]?source=: partitions with offsets, event types, producers, consuming groups with lag. */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ topic: string }> }) => {
  const topic = graphNameSchema.parse((await context.params).topic);
  const detail = await getTopicDetail(await getDatabase(), topic, { source: sourceParam(new URL(request.url).searchParams) });
  return Response.json(detail, { headers: { "cache-control": "no-store" } });
});
