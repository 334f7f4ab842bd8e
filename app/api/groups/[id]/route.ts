import { findRabbitQueue, getConsumerGroup, getDatabase } from "@/server/db";
import { groupIdSchema, lagRange, parseLagQuery } from "@/lib/api-schemas/groups";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/**
 * GET /api/groups/{id}?source=: members and their assignments, per partition committed offset, end
 * offset, offset lag, time lag, health and why, and the event each lagging partition waits on.
 * A RabbitMQ queue's id (`rabbitmq:<vhost>/<queue>`, lib/api-schemas/groups.ts) answers the queue
 * (rabbitQueueViewSchema: consumers, bindings, arguments, rates, lag over `?window=`).
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ id: string }> }) => {
  const groupId = groupIdSchema.parse((await context.params).id);
  const params = new URL(request.url).searchParams;
  const source = sourceParam(params);
  const db = await getDatabase();
  const queue = await findRabbitQueue(db, groupId, { source, history: lagRange(parseLagQuery(params).window, Date.now()) });
  const body = queue ?? (await getConsumerGroup(db, groupId, { source }));
  return Response.json(body, { headers: { "cache-control": "no-store" } });
});
