import { z } from "zod";

export const loginRequestSchema = z
  .object({
    token: z.string().trim().min(1, "enter a token").max(1024, "a token is at most 1024 characters"),
  })
  .strict();

export type LoginRequest = z.infer<typeof loginRequestSchema>;

/** Where a sign-in goes when it was given no usable `next`. */
export const DEFAULT_NEXT_PATH = "/dead-letters";

/**
 * Stands in for the app's own origin: only whether resolving `next` keeps the origin matters, and
 * `.invalid` can never be a real host.
 */
const OWN_ORIGIN = "http://eventscope.invalid";

/**
 * Where to go after signing in: a path on this site only, never another origin. Decided by parsing,
 * as the browser will: URL parsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example`
 * is `//evil.example`, another host. `next` is resolved against the app's origin; it is kept only if
 * it is written as a path, the origin stays the same and the resolved path starts with a single
 * `/`. What is returned is the parser's own serialization of that path, so the browser reads it as
 * this check did.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/")) return DEFAULT_NEXT_PATH;
  let resolved: URL;
  try {
    resolved = new URL(next, OWN_ORIGIN);
  } catch {
    return DEFAULT_NEXT_PATH;
  }
  if (resolved.origin !== OWN_ORIGIN || resolved.username !== "" || resolved.password !== "") return DEFAULT_NEXT_PATH;
  const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  // "/.//evil.example" resolves on this origin to the path "//evil.example", which a browser
  // given it as a location reads as another host.
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return DEFAULT_NEXT_PATH;
  return path;
}

export const principalSchema = z.object({ name: z.string(), role: z.enum(["admin", "read"]) });
export type Principal = z.infer<typeof principalSchema>;
export type Role = Principal["role"];

/** What a request may do, as GET /api/auth/session answers and the pages show it. */
export const authStateSchema = z.object({
  /** Some write token is configured (else: read-only). */
  writesEnabled: z.boolean(),
  readsProtected: z.boolean(),
  /** Who this request is, when it carries a valid Bearer token or session cookie. */
  principal: principalSchema.nullable(),
});
export type AuthState = z.infer<typeof authStateSchema>;

/** `GET /api/auth/session`: who this request is, and whether writes and reads need a token. */
export const sessionSchema = z.object({
  writesEnabled: z.boolean(),
  readsProtected: z.boolean(),
  user: principalSchema.shape.name.nullable(),
  role: principalSchema.shape.role.nullable(),
});

export type Session = z.infer<typeof sessionSchema>;
