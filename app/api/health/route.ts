import { getCollectorHealthReport, getDatabase } from "@/server/db";
import { withErrorMapping } from "@/lib/route-handler";

// Rendered per request: a response built at `next build` would start a database during the build
// and serve that moment's health forever.
export const dynamic = "force-dynamic";

/**
 * GET /api/health: is the data current? The collector instances, the last consumer and admin
 * polls, the collector's own lag, the last error, and `stale` with `staleReason` when the
 * collector stopped or fell behind (the UI's "data is stale" banner).
 */
export const GET = withErrorMapping(async () => {
  const report = await getCollectorHealthReport(await getDatabase());
  return Response.json(report, { headers: { "cache-control": "no-store" } });
});
