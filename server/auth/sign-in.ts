import { TooManyRequestsError, UnauthorizedError } from "../../lib/errors.ts";
import { getConfig, type Config } from "../config.ts";
import { authConfig } from "./request-auth.ts";
import { createSessionValue, sessionCookie } from "./session.ts";
import { principalForToken, type AuthConfig, type Principal } from "./tokens.ts";

/**
 * Sign-in (POST /api/auth/login): a token for a session cookie, with a limit on guessing. Ten
 * failed sign-ins from one address within 15 minutes, and that address is answered 429 with
 * Retry-After until the oldest of them is 15 minutes old; a right token does not get through
 * either meanwhile, or the limit would not stop guessing. Kept in this process's memory: a
 * restart forgets it, and each server process counts on its own.
 */

export const SIGN_IN_FAILURES_ALLOWED = 10;
export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;

/**
 * The header through which the web server (scripts/web-server.ts) hands a request's socket
 * address to the app: set on every request, whatever the client sent under that name.
 */
export const CLIENT_ADDRESS_HEADER = "x-eventscope-client-address";

export type SignInConfig = AuthConfig & Pick<Config, "publicUrl" | "trustProxy">;

export function signInConfig(): SignInConfig {
  const config = getConfig();
  return { ...authConfig(), publicUrl: config.publicUrl, trustProxy: config.trustProxy };
}

/**
 * Who is signing in, as an address: the socket's. With EVENTSCOPE_TRUST_PROXY, the proxy's
 * X-Forwarded-For names the client: its last entry, the address the proxy itself saw (entries
 * before it are whatever the client wrote). Without the web server's header (a development
 * server), every request counts as one unknown address: the limit then holds for all together.
 */
export function clientAddress(headers: Pick<Headers, "get">, config: Pick<SignInConfig, "trustProxy">): string {
  if (config.trustProxy) {
    const forwarded = headers.get("x-forwarded-for")?.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
    const last = forwarded?.at(-1);
    if (last !== undefined) return last;
  }
  return headers.get(CLIENT_ADDRESS_HEADER)?.trim() || "unknown";
}

/** Whether the session cookie is Secure: Eventscope is reached over https (by its public URL, or a trusted proxy's word). */
export function isSecureOrigin(headers: Pick<Headers, "get">, config: Pick<SignInConfig, "publicUrl" | "trustProxy">): boolean {
  if (config.publicUrl?.startsWith("https:")) return true;
  return config.trustProxy && headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}

/** Failed sign-ins per address, oldest first (epoch ms), within the window. */
const failures = new Map<string, number[]>();

function recentFailures(address: string, now: number): number[] {
  const recent = (failures.get(address) ?? []).filter((at) => now - at < SIGN_IN_WINDOW_MS);
  if (recent.length === 0) failures.delete(address);
  else failures.set(address, recent);
  return recent;
}

function forgetOldFailures(now: number): void {
  for (const address of failures.keys()) recentFailures(address, now);
}

/** Throws TooManyRequestsError when this address has used up its failed sign-ins. */
function checkSignInLimit(address: string, now: number): void {
  const recent = recentFailures(address, now);
  if (recent.length < SIGN_IN_FAILURES_ALLOWED) return;
  const oldest = recent[recent.length - SIGN_IN_FAILURES_ALLOWED]!;
  throw new TooManyRequestsError(
    `too many failed sign-ins from this address: try again in ${Math.ceil((oldest + SIGN_IN_WINDOW_MS - now) / 60_000)} min`,
    (oldest + SIGN_IN_WINDOW_MS - now) / 1000,
  );
}

function recordFailedSignIn(address: string, now: number): void {
  // Addresses that stopped failing are dropped now and then, so the map stays small.
  if (failures.size > 10_000) forgetOldFailures(now);
  failures.set(address, [...recentFailures(address, now), now]);
}

/** Forgets every failed sign-in (tests). */
export function resetSignInLimit(): void {
  failures.clear();
}

/**
 * Signs in with a token: the principal and the Set-Cookie value of its session. Throws
 * UnauthorizedError for a token that is not valid here, TooManyRequestsError past the limit.
 */
export function signIn(
  request: Pick<Request, "headers">,
  token: string,
  config: SignInConfig = signInConfig(),
  now = Date.now(),
): { principal: Principal; cookie: string } {
  const address = clientAddress(request.headers, config);
  checkSignInLimit(address, now);
  const principal = principalForToken(config, token);
  if (!principal) {
    recordFailedSignIn(address, now);
    throw new UnauthorizedError("that token is not valid here");
  }
  return { principal, cookie: sessionCookie(createSessionValue(config, principal, now), isSecureOrigin(request.headers, config)) };
}
