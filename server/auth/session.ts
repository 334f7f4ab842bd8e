import crypto from "node:crypto";
import { tokenOf, type AuthConfig, type Principal } from "./tokens.ts";

/**
 * Browser sessions: an httpOnly, SameSite=Strict cookie `<payload>.<signature>`, where the
 * payload names the user, role and expiry, and the signature is an HMAC keyed by a hash of that
 * user's token. Nothing secret is in the cookie, nothing is kept on the server (several server
 * processes and restarts need no shared state), and changing a token ends its sessions.
 */

export const SESSION_COOKIE = "eventscope_session";
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

interface SessionPayload {
  n: string;
  r: Principal["role"];
  /** Expiry, epoch ms. */
  e: number;
}

function signingKey(token: string): Buffer {
  return crypto.createHash("sha256").update(`eventscope-session\u0000${token}`, "utf8").digest();
}

function sign(payload: string, token: string): string {
  return crypto.createHmac("sha256", signingKey(token)).update(payload, "utf8").digest("base64url");
}

export function createSessionValue(config: AuthConfig, principal: Principal, now = Date.now()): string {
  const token = tokenOf(config, principal);
  if (token === null) throw new Error(`no token configured for ${principal.name}`);
  const payload = Buffer.from(JSON.stringify({ n: principal.name, r: principal.role, e: now + SESSION_TTL_MS } satisfies SessionPayload)).toString(
    "base64url",
  );
  return `${payload}.${sign(payload, token)}`;
}

/** The principal of a valid, unexpired session cookie whose user is still configured; else null. */
export function verifySessionValue(config: AuthConfig, value: string, now = Date.now()): Principal | null {
  const dot = value.indexOf(".");
  if (dot <= 0 || value.length > 1024) return null;
  const payloadText = value.slice(0, dot);
  const signature = value.slice(dot + 1);
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(payloadText, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof payload !== "object" || payload === null) return null;
  const { n, r, e } = payload as Partial<SessionPayload>;
  if (typeof n !== "string" || (r !== "admin" && r !== "read") || typeof e !== "number" || e <= now) return null;
  const token = tokenOf(config, { name: n, role: r });
  if (token === null) return null;
  const expected = Buffer.from(sign(payloadText, token));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return null;
  return { name: n, role: r };
}

/** The Set-Cookie value that stores a session (Secure when the request came over HTTPS). */
export function sessionCookie(value: string, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Strict",
    `Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
    ...(secure ? ["Secure"] : []),
  ].join("; ");
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** One cookie's value from a Cookie header. */
export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
