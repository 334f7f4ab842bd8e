import { clearedSessionCookie } from "@/server/auth";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** POST /api/auth/logout — clears the session cookie. */
export const POST = withErrorMapping(async () =>
  Response.json({ signedOut: true }, { headers: { "set-cookie": clearedSessionCookie(), "cache-control": "no-store" } }),
);
