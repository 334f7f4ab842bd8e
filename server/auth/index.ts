/**
 * Authentication of Eventscope's web server: tokens (EVENTSCOPE_ADMIN_TOKEN, EVENTSCOPE_USERS_FILE,
 * EVENTSCOPE_READ_TOKEN), signed session cookies, and the checks of each request: the public face
 * app/ and proxy.ts import.
 */
export { principalForToken, writesEnabled, readsProtected, type AuthConfig, type Principal, type Role } from "./tokens.ts";
export {
  SESSION_COOKIE,
  SESSION_TTL_MS,
  createSessionValue,
  verifySessionValue,
  sessionCookie,
  clearedSessionCookie,
  readCookie,
} from "./session.ts";
export { authConfig, authenticateHeaders, requireWriter, type AuthState } from "./request-auth.ts";
export {
  signIn,
  signInConfig,
  clientAddress,
  isSecureOrigin,
  resetSignInLimit,
  CLIENT_ADDRESS_HEADER,
  SIGN_IN_FAILURES_ALLOWED,
  SIGN_IN_WINDOW_MS,
  type SignInConfig,
} from "./sign-in.ts";
