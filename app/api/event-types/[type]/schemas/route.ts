import { getDatabase, getSchemaHistory } from "@/server/db";
import { eventTypeParamSchema } from "@/lib/api-schemas/schema-history";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * GET /api/event-types/[type]/schemas: the event type's schema history — the Schema Registry
 * versions its events carried (subject, version, id, first and last seen, how many, the
 * field-level changes from the version before, compatible or breaking under the subject's level)
 * and the shape of its plain JSON values with the moments it changed. 404 when no event of the
 * type was collected.
 */
export const GET = withErrorMapping(async (_request: Request, context: { params: Promise<{ type: string }> }) => {
  const type = eventTypeParamSchema.parse((await context.params).type);
  const history = await getSchemaHistory(await getDatabase(), type);
  return Response.json(history, { headers: { "cache-control": "no-store" } });
});
