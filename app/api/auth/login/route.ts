import { signIn } from "@/server/auth";
import { loginRequestSchema } from "@/lib/api-schemas/auth";
import { parseJsonBody } from "@/lib/api-schemas/dead-letters";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * POST /api/auth/login — body `{ token }`; sets the httpOnly session cookie. 401 for a wrong
 * token, 429 with Retry-After after too many from one address.
 */
export const POST = withErrorMapping(async (request: Request) => {
  const { token } = await parseJsonBody(request, loginRequestSchema);
  const { principal, cookie } = signIn(request, token);
  return Response.json({ user: principal.name, role: principal.role }, { headers: { "set-cookie": cookie, "cache-control": "no-store" } });
});
