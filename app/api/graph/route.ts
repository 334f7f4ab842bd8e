import { getDatabase, getFlowGraph } from "@/server/db";
import { parseGraphQuery } from "@/lib/api-schemas/graph";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/graph?window=<seconds>&source=<name>: the overview's flow graph: producers → topics → consumer
 * groups, messages/s per edge over the window (default 60 s), group lag and health, DLQ topics
 * with their dead letters; on RabbitMQ sources, publishers → exchanges (`exchanges`: type, publish
 * rate) → queues (`queues`: lag, time lag, health, DLQs with their dead letters; `routes` edges
 * carry the bindings' routing keys) → consumers (`consumers`: one per connection name, with
 * prefetch and channels), and queues → their dead-letter exchanges. Eventscope's own collector
 * group and its own `eventscope.*` queues are left out. The overview page polls it to update in place.
 */
export const GET = withErrorMapping(async (request: Request) => {
  const query = parseGraphQuery(new URL(request.url).searchParams);
  const graph = await getFlowGraph(await getDatabase(), {
    ...(query.window ? { windowMs: query.window * 1000 } : {}),
    ...(query.source ? { source: query.source } : {}),
  });
  // Eventscope's own collector group reads every topic: not part of the user's flow.
  return Response.json(graph, { headers: { "cache-control": "no-store" } });
});
