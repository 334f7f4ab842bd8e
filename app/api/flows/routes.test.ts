/**
 * The flows API's route handlers with the query layer stood in for: what they hand it from the
 * query string, and how they answer an unknown kind (404) and bad input (422) before asking it.
 * routes.int.test.ts runs the same routes against a real database.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Flow, FlowEntities } from "@/lib/api-schemas/flows";
import { stepId } from "@/lib/flows";

const db = vi.hoisted(() => ({
  listFlowKinds: vi.fn(),
  getFlow: vi.fn(),
  listFlowEntities: vi.fn(),
}));

vi.mock("@/server/db", () => ({ getDatabase: async () => ({ stub: "database" }), ...db }));

const { GET: listKinds } = await import("./route.ts");
const { GET: getFlow } = await import("./[kind]/route.ts");
const { GET: listEntities } = await import("./[kind]/entities/route.ts");

const PLACED = stepId({ role: "event", type: "OrderPlaced", producer: "order-service" });
const RESERVED = stepId({ role: "event", type: "InventoryReserved", producer: "inventory-service" });

const flow: Flow = {
  kind: "orderId",
  window: "1h",
  from: "2026-12-05T18:00:00.000Z",
  to: "2026-12-05T19:30:00.000Z",
  entities: 1,
  steps: [],
  edges: [],
  endToEnd: null,
  outcomes: { completed: 0, compensated: 0, deadLettered: 0, stuck: 0, inFlight: 1 },
  outcomeHours: [],
      delivery: { duplicates: [], partitionSplits: [], outOfOrder: [] },
  pending: 0,
};

async function call(handler: (request: Request, context: never) => Promise<Response>, path: string, kind?: string) {
  const response = await handler(new Request(`http://127.0.0.1${path}`), { params: Promise.resolve({ kind }) } as never);
  return { status: response.status, cache: response.headers.get("cache-control"), body: (await response.json()) as Record<string, unknown> };
}

beforeEach(() => {
  vi.clearAllMocks();
});

describe("GET /api/flows", () => {
  it("serves the kinds as the query layer lists them", async () => {
    db.listFlowKinds.mockResolvedValue({ kinds: [{ kind: "orderId", entities: 3, lastAt: null }] });
    const answer = await call(listKinds, "/api/flows");
    expect(answer).toEqual({ status: 200, cache: "no-store", body: { kinds: [{ kind: "orderId", entities: 3, lastAt: null }] } });
  });
});

describe("GET /api/flows/[kind]", () => {
  it("asks for the window given, 24h without one", async () => {
    db.getFlow.mockResolvedValue(flow);
    expect(await call(getFlow, "/api/flows/orderId?window=1h", "orderId")).toMatchObject({ status: 200, cache: "no-store", body: { kind: "orderId" } });
    expect(db.getFlow).toHaveBeenLastCalledWith({ stub: "database" }, "orderId", { window: "1h" });
    await call(getFlow, "/api/flows/orderId", "orderId");
    expect(db.getFlow).toHaveBeenLastCalledWith({ stub: "database" }, "orderId", { window: "24h" });
  });

  it("answers 404 naming the kind when no entity of it is stored", async () => {
    db.getFlow.mockResolvedValue(null);
    const answer = await call(getFlow, "/api/flows/customerId", "customerId");
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: "not-found" });
    expect(answer.body.message).toMatch(/no entity of kind customerId is stored/);
  });

  it("answers 422 for a window it does not know, without asking the database", async () => {
    const answer = await call(getFlow, "/api/flows/orderId?window=2h", "orderId");
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ error: "validation" });
    expect(answer.body.message).toMatch(/window must be one of 1h, 24h, 7d/);
    expect(db.getFlow).not.toHaveBeenCalled();
  });
});

describe("GET /api/flows/[kind]/entities", () => {
  const page: FlowEntities = { kind: "orderId", entities: [], nextCursor: null };

  it("hands over a step, or an edge's two ends, with the window and paging", async () => {
    db.listFlowEntities.mockResolvedValue(page);
    const step = await call(listEntities, `/api/flows/orderId/entities?window=7d&step=${encodeURIComponent(PLACED)}&limit=20&cursor=abc`, "orderId");
    expect(step).toEqual({ status: 200, cache: "no-store", body: page });
    expect(db.listFlowEntities).toHaveBeenLastCalledWith({ stub: "database" }, "orderId", {
      window: "7d",
      outcome: undefined,
      step: PLACED,
      from: undefined,
      to: undefined,
      cursor: "abc",
      limit: 20,
    });
    const edge = `/api/flows/orderId/entities?from=${encodeURIComponent(PLACED)}&to=${encodeURIComponent(RESERVED)}`;
    expect((await call(listEntities, edge, "orderId")).status).toBe(200);
    expect(db.listFlowEntities).toHaveBeenLastCalledWith({ stub: "database" }, "orderId", expect.objectContaining({ window: "24h", from: PLACED, to: RESERVED }));
  });

  it("answers 404 for an unknown kind", async () => {
    db.listFlowEntities.mockResolvedValue(null);
    const answer = await call(listEntities, "/api/flows/nope/entities", "nope");
    expect(answer.status).toBe(404);
    expect(answer.body.message).toMatch(/no entity of kind nope is stored/);
  });

  it.each([
    ["a bad window", "window=1w", /window must be one of/],
    ["a text that is not a step id", "step=OrderPlaced", /is not a step id/],
    ["an edge with one end", `from=${encodeURIComponent(PLACED)}`, /give both or neither/],
    ["a step and an edge at once", `step=${encodeURIComponent(PLACED)}&from=${encodeURIComponent(PLACED)}&to=${encodeURIComponent(RESERVED)}`, /not both/],
    ["a limit above 500", "limit=501", /limit: must be a whole number from 1 to 500/],
  ])("answers 422 for %s", async (_name, query, message) => {
    const answer = await call(listEntities, `/api/flows/orderId/entities?${query}`, "orderId");
    expect(answer.status).toBe(422);
    expect(answer.body.message).toMatch(message);
    expect(db.listFlowEntities).not.toHaveBeenCalled();
  });
});
