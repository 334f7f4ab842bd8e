import { requireWriter } from "@/server/auth";
import { changeDeadLetterStatus, serverReplayDeps } from "@/server/replay";
import { deadLetterIdSchema, parseJsonBody, statusChangeRequestSchema } from "@/lib/api-schemas/dead-letters";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** POST /api/dead-letters/{id}/resolve — body `{ note? }`; marks it resolved, audited. */
export const POST = withErrorMapping(async (request: Request, context: { params: Promise<{ id: string }> }) => {
  const actor = requireWriter(request);
  const id = deadLetterIdSchema.parse((await context.params).id);
  const body = await parseJsonBody(request, statusChangeRequestSchema);
  const result = await changeDeadLetterStatus(await serverReplayDeps(), { deadLetterId: id, status: "resolved", actor: actor.name, note: body.note });
  return Response.json(result, { headers: { "cache-control": "no-store" } });
});
