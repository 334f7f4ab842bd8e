import { requireWriter } from "@/server/auth";
import { replayDeadLetter, serverReplayDeps } from "@/server/replay";
import { deadLetterIdSchema, parseJsonBody, replayRequestSchema } from "@/lib/api-schemas/dead-letters";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * POST /api/dead-letters/{id}/replay — body `{ again?, seen?, topic?, value?, headers? }`.
 * 200 sent; 409 already replayed (who, when: send `again: true` to replay once more);
 * 422 the target topic (RabbitMQ: exchange) does not exist (`field: "topic"`; nothing claimed:
 * choose another), or an edited Schema Registry value does not fit its schema (`field: "value"`, the
 * message names the field); 502 the produce (publish) failed (recorded as a failed replay); 503 no
 * cluster or broker reachable, or no Schema Registry to re-encode an edit with (nothing claimed).
 */
export const POST = withErrorMapping(async (request: Request, context: { params: Promise<{ id: string }> }) => {
  const actor = requireWriter(request);
  const id = deadLetterIdSchema.parse((await context.params).id);
  const body = await parseJsonBody(request, replayRequestSchema);
  const result = await replayDeadLetter(await serverReplayDeps(), { deadLetterId: id, actor: actor.name, ...body });
  const status = { sent: 200, "already-replayed": 409, unavailable: 503, failed: 502 }[result.status];
  return Response.json(result, { status, headers: { "cache-control": "no-store" } });
});
