import { describe, expect, test } from "vitest";
import { parseUsersFile } from "../config.ts";
import { requireWriter } from "./request-auth.ts";
import { createSessionValue, readCookie, sessionCookie, verifySessionValue, SESSION_TTL_MS } from "./session.ts";
import { principalForToken, type AuthConfig } from "./tokens.ts";

const config: AuthConfig = {
  adminToken: "admin-secret-1",
  readToken: "reader-secret-1",
  users: [{ name: "alice", token: "alice-secret-1" }],
};

const withBearer = (token: string) => ({ headers: new Headers({ authorization: `Bearer ${token}` }) });

describe("tokens", () => {
  test("each token names its user and role; others name nobody", () => {
    expect(principalForToken(config, "admin-secret-1")).toEqual({ name: "admin", role: "admin" });
    expect(principalForToken(config, "alice-secret-1")).toEqual({ name: "alice", role: "admin" });
    expect(principalForToken(config, "reader-secret-1")).toEqual({ name: "reader", role: "read" });
    expect(principalForToken(config, "admin-secret-")).toBeNull();
    expect(principalForToken(config, "")).toBeNull();
  });

  test("writes need an admin token, and say why when refused", () => {
    expect(requireWriter(withBearer("alice-secret-1"), config)).toEqual({ name: "alice", role: "admin" });
    expect(() => requireWriter(withBearer("reader-secret-1"), config)).toThrow(/only read/);
    expect(() => requireWriter({ headers: new Headers() }, config)).toThrow(/sign in/);
    expect(() => requireWriter(withBearer("admin-secret-1"), { adminToken: undefined, readToken: undefined, users: [] })).toThrow(/read-only/);
  });
});

describe("sessions", () => {
  test("a session cookie verifies until it expires, and not once its token changes or it is altered", () => {
    const now = 1_800_000_000_000;
    const value = createSessionValue(config, { name: "alice", role: "admin" }, now);
    expect(value).not.toContain("alice-secret-1");
    expect(verifySessionValue(config, value, now + 1000)).toEqual({ name: "alice", role: "admin" });
    expect(verifySessionValue(config, value, now + SESSION_TTL_MS + 1)).toBeNull();
    expect(verifySessionValue({ ...config, users: [{ name: "alice", token: "alice-secret-2" }] }, value, now)).toBeNull();
    const [payload, signature] = value.split(".");
    const promoted = Buffer.from(JSON.stringify({ n: "admin", r: "admin", e: now + 5000 })).toString("base64url");
    expect(verifySessionValue(config, `${promoted}.${signature}`, now)).toBeNull();
    expect(verifySessionValue(config, `${payload}.x${signature!.slice(1)}`, now)).toBeNull();
  });

  test("the cookie is httpOnly and SameSite=Strict, and reads back from a Cookie header", () => {
    const header = sessionCookie("abc.def", false);
    expect(header).toMatch(/HttpOnly/);
    expect(header).toMatch(/SameSite=Strict/);
    expect(header).not.toMatch(/Secure/);
    expect(sessionCookie("abc.def", true)).toMatch(/Secure/);
    expect(readCookie("a=1; eventscope_session=abc.def; b=2", "eventscope_session")).toBe("abc.def");
    expect(readCookie("a=1", "eventscope_session")).toBeNull();
  });
});

describe("users file", () => {
  test("lines name:token and JSON give the same users", () => {
    const lines = parseUsersFile("# people\nalice: alice-secret-1\n\nbob:bob:secret-2\n");
    expect(lines).toEqual({ users: [{ name: "alice", token: "alice-secret-1" }, { name: "bob", token: "bob:secret-2" }] });
    expect(parseUsersFile('{"alice": "alice-secret-1", "bob": "bob:secret-2"}')).toEqual(lines);
    expect(parseUsersFile('[{"name": "alice", "token": "alice-secret-1"}, {"name": "bob", "token": "bob:secret-2"}]')).toEqual(lines);
  });

  test("bad files say what is wrong", () => {
    expect(parseUsersFile("alice").problem).toMatch(/line 1: expected name:token/);
    expect(parseUsersFile("alice:short").problem).toMatch(/at least 8/);
    expect(parseUsersFile("alice:secret-one\nalice:secret-two").problem).toMatch(/twice/);
    expect(parseUsersFile("alice:secret-one\nbob:secret-one").problem).toMatch(/shares a token/);
    expect(parseUsersFile("{nope").problem).toMatch(/not valid JSON/);
    expect(parseUsersFile("# nobody\n").problem).toMatch(/no users/);
  });
});
