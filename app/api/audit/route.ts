import { getDatabase, listAuditLog } from "@/server/db";
import { auditQuerySchema } from "@/lib/api-schemas/dead-letters";
import { withErrorMapping } from "@/lib/route-handler";
import { queryRecord } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

/** GET /api/audit?actor=&action=&targetType=&targetId=&cursor=&limit= — every write, newest first. */
export const GET = withErrorMapping(async (request: Request) => {
  const query = auditQuerySchema.parse(queryRecord(new URL(request.url).searchParams));
  const page = await listAuditLog(await getDatabase(), query);
  return Response.json(page, { headers: { "cache-control": "no-store" } });
});
