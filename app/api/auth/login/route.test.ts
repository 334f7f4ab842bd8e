/**
 * POST /api/auth/login through its route handler: the limit on failed sign-ins per address, which
 * address counts, and when the session cookie is Secure.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_ADDRESS_HEADER, resetSignInLimit, signIn, signInConfig, SIGN_IN_WINDOW_MS } from "@/server/auth";
import { POST } from "./route.ts";

const VARIABLES = ["EVENTSCOPE_ADMIN_TOKEN", "EVENTSCOPE_READ_TOKEN", "EVENTSCOPE_USERS_FILE", "EVENTSCOPE_TRUST_PROXY", "EVENTSCOPE_PUBLIC_URL"];
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
const TOKEN = "admin-token-123";

beforeEach(() => {
  for (const name of VARIABLES) delete process.env[name];
  process.env.EVENTSCOPE_ADMIN_TOKEN = TOKEN;
  resetSignInLimit();
});

afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetSignInLimit();
});

function login(token: string, headers: Record<string, string> = {}): Promise<Response> {
  return POST(
    new Request("http://127.0.0.1:3000/api/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json", [CLIENT_ADDRESS_HEADER]: "198.51.100.7", ...headers },
      body: JSON.stringify({ token }),
    }),
    {},
  );
}

async function failTenTimes(headers: Record<string, string> = {}): Promise<void> {
  for (let attempt = 1; attempt <= 10; attempt++) expect((await login(`wrong-token-${attempt}`, headers)).status).toBe(401);
}

describe("failed sign-ins", () => {
  it("ten from one address within 15 minutes, and the next is answered 429 with Retry-After, even with the right token", async () => {
    await failTenTimes();
    const refused = await login("wrong-token-11");
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 15 * 60).toBe(true);
    expect(((await refused.json()) as { message: string }).message).toMatch(/too many failed sign-ins/);
    expect((await login(TOKEN)).status).toBe(429);
    // Another address is not held back.
    expect((await login(TOKEN, { [CLIENT_ADDRESS_HEADER]: "198.51.100.8" })).status).toBe(200);
  });

  it("nine are not enough", async () => {
    for (let attempt = 1; attempt <= 9; attempt++) expect((await login(`wrong-token-${attempt}`)).status).toBe(401);
    expect((await login(TOKEN)).status).toBe(200);
  });

  it("count for 15 minutes", () => {
    const config = signInConfig();
    const request = { headers: new Headers({ [CLIENT_ADDRESS_HEADER]: "198.51.100.9" }) };
    const start = 1_800_000_000_000;
    for (let attempt = 0; attempt < 10; attempt++) expect(() => signIn(request, "wrong-token", config, start + attempt)).toThrow(/not valid/);
    expect(() => signIn(request, TOKEN, config, start + SIGN_IN_WINDOW_MS - 1)).toThrow(/too many/);
    expect(signIn(request, TOKEN, config, start + SIGN_IN_WINDOW_MS).principal).toEqual({ name: "admin", role: "admin" });
  });

  it("are counted by the socket's address: X-Forwarded-For does not change it without EVENTSCOPE_TRUST_PROXY", async () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      expect((await login(`wrong-token-${attempt}`, { "x-forwarded-for": `203.0.113.${attempt}` })).status).toBe(401);
    }
    expect((await login(TOKEN, { "x-forwarded-for": "203.0.113.99" })).status).toBe(429);
  });

  it("are counted by the proxy's X-Forwarded-For with EVENTSCOPE_TRUST_PROXY=1: the address the proxy saw", async () => {
    process.env.EVENTSCOPE_TRUST_PROXY = "1";
    // The client may write anything before the proxy's own entry.
    await failTenTimes({ "x-forwarded-for": "10.0.0.1, 203.0.113.5" });
    expect((await login(TOKEN, { "x-forwarded-for": "10.0.0.2, 203.0.113.5" })).status).toBe(429);
    expect((await login(TOKEN, { "x-forwarded-for": "203.0.113.6" })).status).toBe(200);
  });
});

describe("the session cookie", () => {
  const cookieOf = async (headers: Record<string, string> = {}) => {
    const response = await login(TOKEN, headers);
    expect(response.status).toBe(200);
    return response.headers.get("set-cookie") ?? "";
  };

  it("is Secure when EVENTSCOPE_PUBLIC_URL is https", async () => {
    expect(await cookieOf()).not.toMatch(/;\s*Secure/);
    process.env.EVENTSCOPE_PUBLIC_URL = "https://eventscope.example.com";
    expect(await cookieOf()).toMatch(/;\s*Secure/);
  });

  it("is Secure when a trusted proxy says https, and only then", async () => {
    expect(await cookieOf({ "x-forwarded-proto": "https" })).not.toMatch(/;\s*Secure/);
    process.env.EVENTSCOPE_TRUST_PROXY = "1";
    expect(await cookieOf({ "x-forwarded-proto": "https" })).toMatch(/;\s*Secure/);
    expect(await cookieOf({ "x-forwarded-proto": "http" })).not.toMatch(/;\s*Secure/);
  });
});
