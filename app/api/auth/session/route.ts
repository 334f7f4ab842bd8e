import { authenticateHeaders } from "@/server/auth";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** GET /api/auth/session — who this request is, and whether writes and reads need a token. */
export const GET = withErrorMapping(async (request: Request) => {
  const state = authenticateHeaders(request.headers);
  return Response.json(
    {
      writesEnabled: state.writesEnabled,
      readsProtected: state.readsProtected,
      user: state.principal?.name ?? null,
      role: state.principal?.role ?? null,
    },
    { headers: { "cache-control": "no-store" } },
  );
});
