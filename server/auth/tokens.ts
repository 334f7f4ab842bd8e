import crypto from "node:crypto";
import type { Config } from "../config.ts";
import type { Principal } from "../../lib/api-schemas/auth.ts";

/**
 * Who a token belongs to. Writes need an "admin" (EVENTSCOPE_ADMIN_TOKEN is the user "admin";
 * EVENTSCOPE_USERS_FILE names more); EVENTSCOPE_READ_TOKEN only reads.
 */
export type { Principal, Role } from "../../lib/api-schemas/auth.ts";

export type AuthConfig = Pick<Config, "adminToken" | "readToken" | "users">;

interface Credential extends Principal {
  token: string;
}

/** The user EVENTSCOPE_ADMIN_TOKEN signs in as, and the one EVENTSCOPE_READ_TOKEN does: no user of the users file may take them. */
export const ADMIN_TOKEN_USER = "admin";
export const READ_TOKEN_USER = "reader";

/** Every configured credential. */
export function credentialsOf(config: AuthConfig): Credential[] {
  const credentials: Credential[] = [];
  if (config.adminToken !== undefined) credentials.push({ name: ADMIN_TOKEN_USER, role: "admin", token: config.adminToken });
  for (const user of config.users) credentials.push({ name: user.name, role: "admin", token: user.token });
  if (config.readToken !== undefined) credentials.push({ name: READ_TOKEN_USER, role: "read", token: config.readToken });
  return credentials;
}

/** True when any write token is configured; otherwise Eventscope is read-only. */
export function writesEnabled(config: AuthConfig): boolean {
  return config.adminToken !== undefined || config.users.length > 0;
}

/** True when reads need a token too. */
export function readsProtected(config: AuthConfig): boolean {
  return config.readToken !== undefined;
}

function digest(text: string): Buffer {
  return crypto.createHash("sha256").update(text, "utf8").digest();
}

/**
 * The principal whose token this is, or null. Compares SHA-256 digests with timingSafeEqual and
 * looks at every credential whatever matches, so the time taken says nothing about the tokens.
 */
export function principalForToken(config: AuthConfig, token: string): Principal | null {
  const presented = digest(token);
  let found: Principal | null = null;
  for (const credential of credentialsOf(config)) {
    if (crypto.timingSafeEqual(presented, digest(credential.token)) && found === null) {
      found = { name: credential.name, role: credential.role };
    }
  }
  return found;
}

/** The token of a principal still configured, for signing and checking its sessions. */
export function tokenOf(config: AuthConfig, principal: Principal): string | null {
  return credentialsOf(config).find((c) => c.name === principal.name && c.role === principal.role)?.token ?? null;
}
