import { checkLiveness, getDatabase } from "@/server/db";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** GET /api/health/live — `{"status":"up"}` (200) or `{"status":"down"}` (503), for load balancers; public. */
export const GET = withErrorMapping(async () => {
  const liveness = await checkLiveness(getDatabase);
  return Response.json(liveness, { status: liveness.status === "up" ? 200 : 503, headers: { "cache-control": "no-store" } });
});
