import { describe, expect, it } from "vitest";
import { z } from "zod";
import { NotFoundError, UnauthorizedError, ValidationError } from "./errors.ts";
import { withErrorMapping } from "./route-handler.ts";

const request = new Request("http://127.0.0.1/api/things/7?x=1", { method: "POST" });

async function answer(error: unknown, logged: string[] = []) {
  const handler = withErrorMapping(
    () => {
      throw error;
    },
    { log: (line) => logged.push(line) },
  );
  const response = await handler(request, {});
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, response };
}

describe("withErrorMapping", () => {
  it("passes a handler's response through", async () => {
    const handler = withErrorMapping(async () => Response.json({ ok: true }, { status: 201 }));
    const response = await handler(request, {});
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("answers a ValidationError with 422 and the field", async () => {
    const { status, body } = await answer(new ValidationError("limit must be from 1 to 500", { field: "limit" }));
    expect(status).toBe(422);
    expect(body).toEqual({ error: "validation", message: "limit must be from 1 to 500", field: "limit" });
  });

  it("answers a zod error with 422 and every issue", async () => {
    const parsed = z.object({ limit: z.number().int(), topic: z.string() }).safeParse({ limit: 1.5 });
    const { status, body } = await answer(parsed.error);
    expect(status).toBe(422);
    expect(body.error).toBe("validation");
    expect((body.issues as { path: string }[]).map((i) => i.path)).toEqual(["limit", "topic"]);
  });

  it("answers NotFoundError with 404 and UnauthorizedError with 401", async () => {
    expect((await answer(new NotFoundError("no event orders/0/9"))).status).toBe(404);
    const unauthorized = await answer(new UnauthorizedError());
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("recognises our errors by name too (a class loaded twice)", async () => {
    const twin = new Error("no such group");
    twin.name = "NotFoundError";
    expect((await answer(twin)).status).toBe(404);
  });

  it("answers anything else with 500 and an id that is logged with the details", async () => {
    const logged: string[] = [];
    const { status, body } = await answer(new Error("connection refused to 10.0.0.5:5432"), logged);
    expect(status).toBe(500);
    expect(body.error).toBe("internal");
    // The details stay in the log; the response only names the id to quote.
    expect(JSON.stringify(body)).not.toContain("10.0.0.5");
    expect(body.message).toContain(String(body.id));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(String(body.id));
    expect(logged[0]).toContain("POST /api/things/7 failed");
    expect(logged[0]).toContain("connection refused to 10.0.0.5:5432");
  });
});
