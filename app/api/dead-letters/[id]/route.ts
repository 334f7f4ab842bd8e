import { getDatabase, getDeadLetter } from "@/server/db";
import { deadLetterIdSchema } from "@/lib/api-schemas/dead-letters";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** GET /api/dead-letters/{id} — the dead letter, its record, and its replays with their outcome. */
export const GET = withErrorMapping(async (_request: Request, context: { params: Promise<{ id: string }> }) => {
  const id = deadLetterIdSchema.parse((await context.params).id);
  const db = await getDatabase();
  const deadLetter = await getDeadLetter(db, id);
  if (!deadLetter) throw new NotFoundError(`no dead letter ${id}`);
  return Response.json(deadLetter, { headers: { "cache-control": "no-store" } });
});
