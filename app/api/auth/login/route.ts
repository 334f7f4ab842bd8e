import { authConfig, createSessionValue, principalForToken, sessionCookie } from "@/server/replay";
import { loginRequestSchema } from "@/lib/api-schemas/auth";
import { parseJsonBody } from "@/lib/api-schemas/dead-letters";
import { UnauthorizedError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/** POST /api/auth/login — body `{ token }`; sets the httpOnly session cookie. */
export const POST = withErrorMapping(async (request: Request) => {
  const { token } = await parseJsonBody(request, loginRequestSchema);
  const config = authConfig();
  const principal = principalForToken(config, token);
  if (!principal) throw new UnauthorizedError("that token is not valid here");
  const secure = new URL(request.url).protocol === "https:";
  return Response.json(
    { user: principal.name, role: principal.role },
    { headers: { "set-cookie": sessionCookie(createSessionValue(config, principal), secure), "cache-control": "no-store" } },
  );
});
