import { getDatabase, getTraceEvents } from "@/server/db";
import { traceIdSchema } from "@/lib/api-schemas/traces";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/traces/[traceId]: every event carrying the W3C trace id, in time order, with the
 * consumption status of each. 404 when no stored event carries it.
 */
export const GET = withErrorMapping(async (_request: Request, context: { params: Promise<{ traceId: string }> }) => {
  const traceId = traceIdSchema.parse((await context.params).traceId);
  const trace = await getTraceEvents(await getDatabase(), traceId);
  if (trace.events.length === 0) throw new NotFoundError(`no stored event carries trace ${traceId}`);
  return Response.json(trace, { headers: { "cache-control": "no-store" } });
});
