import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NextRequest } from "next/server";
import { afterEach, describe, expect, test } from "vitest";
import { createSessionValue, SESSION_COOKIE } from "./server/auth/index.ts";
import { proxy } from "./proxy.ts";
import { waitUntil } from "./server/broker/test-support.ts";

const saved = { ...process.env };
afterEach(() => {
  for (const name of ["EVENTSCOPE_ADMIN_TOKEN", "EVENTSCOPE_READ_TOKEN", "EVENTSCOPE_USERS_FILE"]) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

function request(path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  return new NextRequest(`http://127.0.0.1:3000${path}`, { method: init.method ?? "GET", headers: { host: "127.0.0.1:3000", ...init.headers } });
}

describe("writes from other sites", () => {
  test("are refused with 403 by Origin or Sec-Fetch-Site; same-origin and header-less clients pass", async () => {
    const refused = proxy(request("/api/dead-letters/1/replay", { method: "POST", headers: { origin: "http://evil.example" } }));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/another site/);
    expect(proxy(request("/api/dead-letters/1/replay", { method: "POST", headers: { "sec-fetch-site": "same-site" } })).status).toBe(403);
    expect(proxy(request("/api/dead-letters/1/replay", { method: "POST", headers: { origin: "http://127.0.0.1:3000", "sec-fetch-site": "same-origin" } })).headers.get("x-middleware-next")).toBe("1");
    expect(proxy(request("/api/dead-letters/1/replay", { method: "POST" })).headers.get("x-middleware-next")).toBe("1");
    // Reads from anywhere are not writes.
    expect(proxy(request("/api/dead-letters", { headers: { origin: "http://evil.example" } })).headers.get("x-middleware-next")).toBe("1");
  });
});

describe("EVENTSCOPE_READ_TOKEN", () => {
  test("pages send strangers to /login, the API answers 401; a token or a session gets through; sign-in stays open", () => {
    process.env.EVENTSCOPE_READ_TOKEN = "read-token-123";
    process.env.EVENTSCOPE_ADMIN_TOKEN = "admin-token-123";
    const page = proxy(request("/dead-letters?status=new"));
    expect(page.status).toBe(307);
    expect(page.headers.get("location")).toBe("/login?next=%2Fdead-letters%3Fstatus%3Dnew");
    expect(proxy(request("/api/dead-letters")).status).toBe(401);
    expect(proxy(request("/api/dead-letters", { headers: { authorization: "Bearer wrong-token-1" } })).status).toBe(401);
    expect(proxy(request("/api/dead-letters", { headers: { authorization: "Bearer read-token-123" } })).headers.get("x-middleware-next")).toBe("1");
    expect(proxy(request("/api/dead-letters", { headers: { authorization: "Bearer admin-token-123" } })).headers.get("x-middleware-next")).toBe("1");
    const session = createSessionValue({ adminToken: undefined, readToken: "read-token-123", users: [] }, { name: "reader", role: "read" });
    expect(proxy(request("/dead-letters", { headers: { cookie: `${SESSION_COOKIE}=${session}` } })).headers.get("x-middleware-next")).toBe("1");
    for (const open of ["/login", "/api/auth/login", "/api/health/live"]) {
      expect(proxy(request(open)).headers.get("x-middleware-next"), open).toBe("1");
    }
  });

  test("the health report needs it too; only the liveness check stays open", () => {
    process.env.EVENTSCOPE_READ_TOKEN = "read-token-123";
    for (const path of ["/api/health", "/api/health/", "/api/health/live/x", "/api/health/lively"]) {
      expect(proxy(request(path)).status, path).toBe(401);
    }
    expect(proxy(request("/api/health", { headers: { authorization: "Bearer read-token-123" } })).headers.get("x-middleware-next")).toBe("1");
    expect(proxy(request("/api/health/live")).headers.get("x-middleware-next")).toBe("1");
  });

  test("without it, reads are open", () => {
    delete process.env.EVENTSCOPE_READ_TOKEN;
    expect(proxy(request("/api/dead-letters")).headers.get("x-middleware-next")).toBe("1");
    expect(proxy(request("/dead-letters")).headers.get("x-middleware-next")).toBe("1");
  });
});

describe("the configuration is parsed once", () => {
  test("a users file that becomes unreadable or invalid leaves the last valid users in place; a valid change is taken in", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-users-"));
    const file = path.join(dir, "users");
    fs.writeFileSync(file, "alice:alice-token-1\n");
    process.env.EVENTSCOPE_READ_TOKEN = "read-token-123";
    process.env.EVENTSCOPE_USERS_FILE = file;
    const asAlice = () => proxy(request("/api/dead-letters", { headers: { authorization: "Bearer alice-token-1" } }));
    const asBob = () => proxy(request("/api/dead-letters", { headers: { authorization: "Bearer bob-token-22" } }));
    try {
      expect(asAlice().headers.get("x-middleware-next")).toBe("1");

      // Broken, then gone: requests go on with the users read before (before: a ConfigError, a 500, on every request).
      fs.writeFileSync(file, "this line has no colon\n");
      expect(asAlice().headers.get("x-middleware-next")).toBe("1");
      fs.rmSync(file);
      expect(asAlice().headers.get("x-middleware-next")).toBe("1");

      // A valid new version replaces the users once the file watcher sees it.
      fs.writeFileSync(file, "bob:bob-token-22\n");
      await waitUntil("the new users file to be taken in", () => asBob().headers.get("x-middleware-next") === "1", { timeoutMs: 20_000 });
      expect(asAlice().status).toBe(401);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
