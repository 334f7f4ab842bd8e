import { getDatabase, groupDeadLetters } from "@/server/db";
import { deadLetterFiltersSchema } from "@/lib/api-schemas/dead-letters";
import { withErrorMapping } from "@/lib/route-handler";
import { queryRecord } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/** GET /api/dead-letters/groups — by original topic and error class, with counts and ages. */
export const GET = withErrorMapping(async (request: Request) => {
  const filters = deadLetterFiltersSchema.parse(queryRecord(new URL(request.url).searchParams));
  const db = await getDatabase();
  const groups = await groupDeadLetters(db, { ...filters, errorText: filters.error });
  return Response.json({ groups }, { headers: { "cache-control": "no-store" } });
});
