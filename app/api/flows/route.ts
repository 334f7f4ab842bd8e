import { getDatabase, listFlowKinds } from "@/server/db";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/flows: the entity kinds (each configured entity field, e.g. `orderId`, and `key:<topic>`
 * for entities known only by their message key), each with how many entities of it are stored and
 * its latest step (lib/api-schemas/flows.ts FlowKinds).
 */
export const GET = withErrorMapping(async () => {
  const kinds = await listFlowKinds(await getDatabase());
  return Response.json(kinds, { headers: { "cache-control": "no-store" } });
});
