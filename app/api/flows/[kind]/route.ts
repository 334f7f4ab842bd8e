import { getDatabase, getFlow } from "@/server/db";
import { flowKindSchema, parseFlowQuery } from "@/lib/api-schemas/flows";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/flows/[kind]?window=1h|24h|7d (default 24h): the kind's pathway graph over the window,
 * its steps with the entities that reached each and the latency from the step before, the
 * transitions with their share and latency, end-to-end latency, and how many entities are not yet
 * counted (lib/api-schemas/flows.ts Flow). 404 when no entity of the kind is stored, 422 for
 * another window.
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ kind: string }> }) => {
  const kind = flowKindSchema.parse((await context.params).kind);
  const { window } = parseFlowQuery(new URL(request.url).searchParams);
  const flow = await getFlow(await getDatabase(), kind, { window });
  if (flow === null) throw new NotFoundError(`no entity of kind ${kind} is stored (GET /api/flows lists the kinds)`);
  return Response.json(flow, { headers: { "cache-control": "no-store" } });
});
