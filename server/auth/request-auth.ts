import { getConfig } from "../config.ts";
import type { AuthState } from "../../lib/api-schemas/auth.ts";
import { UnauthorizedError } from "../../lib/errors.ts";
import { readCookie, SESSION_COOKIE, verifySessionValue } from "./session.ts";
import { principalForToken, readsProtected, writesEnabled, type AuthConfig, type Principal } from "./tokens.ts";

/** The authentication settings of this process, from the environment (server/config.ts). */
export function authConfig(): AuthConfig {
  const config = getConfig();
  // `?? []`: a development server that hot-reloaded an older config module has no `users`.
  return { adminToken: config.adminToken, readToken: config.readToken, users: config.users ?? [] };
}

export type { AuthState };

/** What the request presents, for a request with headers (a Request, or Next's headers()). */
export function authenticateHeaders(headers: Pick<Headers, "get">, config: AuthConfig = authConfig()): AuthState {
  let principal: Principal | null = null;
  const authorization = headers.get("authorization");
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (bearer) principal = principalForToken(config, bearer[1]!);
  else {
    const cookie = readCookie(headers.get("cookie"), SESSION_COOKIE);
    if (cookie) principal = verifySessionValue(config, cookie);
  }
  return { writesEnabled: writesEnabled(config), readsProtected: readsProtected(config), principal };
}

/**
 * The user a write acts as. Throws UnauthorizedError (401) with a message that says why:
 * read-only (no token configured), not signed in, or a read-only token.
 */
export function requireWriter(request: Pick<Request, "headers">, config: AuthConfig = authConfig()): Principal {
  const state = authenticateHeaders(request.headers, config);
  if (!state.writesEnabled) {
    throw new UnauthorizedError(
      "Eventscope is read-only: no admin token is configured (set EVENTSCOPE_ADMIN_TOKEN or EVENTSCOPE_USERS_FILE)",
    );
  }
  if (state.principal === null) {
    throw new UnauthorizedError("sign in first: send Authorization: Bearer <token>, or sign in at /login");
  }
  if (state.principal.role !== "admin") throw new UnauthorizedError("this token may only read; writes need an admin token");
  return state.principal;
}
