import { getDatabase, listFlowEntities } from "@/server/db";
import { flowKindSchema, parseFlowEntitiesQuery } from "@/lib/api-schemas/flows";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/flows/[kind]/entities?window=&step=<step id> (the entities that reached a step), or
 * &from=<step id>&to=<step id> (those that went along a transition), or neither (every entity of
 * the kind in the window); newest last step first, `cursor=` and `limit=` (at most 500) page through
 * them (lib/api-schemas/flows.ts FlowEntities). 404 for an unknown kind, 422 for a bad window,
 * step id, an edge without both ends, or a step and an edge at once.
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<{ kind: string }> }) => {
  const kind = flowKindSchema.parse((await context.params).kind);
  const query = parseFlowEntitiesQuery(new URL(request.url).searchParams);
  const entities = await listFlowEntities(await getDatabase(), kind, query);
  if (entities === null) throw new NotFoundError(`no entity of kind ${kind} is stored (GET /api/flows lists the kinds)`);
  return Response.json(entities, { headers: { "cache-control": "no-store" } });
});
