import { getDatabase, listDeadLetters } from "@/server/db";
import { deadLetterListQuerySchema } from "@/lib/api-schemas/dead-letters";
import { withErrorMapping } from "@/lib/route-handler";
import { queryRecord } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/** GET /api/dead-letters?status=new,replayed&topic=&source=&error=&from=&to=&cursor=&limit= — newest first. */
export const GET = withErrorMapping(async (request: Request) => {
  const query = deadLetterListQuerySchema.parse(queryRecord(new URL(request.url).searchParams));
  const db = await getDatabase();
  const page = await listDeadLetters(db, { ...query, errorText: query.error });
  return Response.json(page, { headers: { "cache-control": "no-store" } });
});
