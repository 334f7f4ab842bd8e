import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Flow, FlowEntities, FlowStep } from "@/lib/api-schemas/flows";
import { stepId, type StepRole } from "@/lib/flows";
import { jsonResponse, stubFetch } from "@/components/test-support";
import { FlowView } from "./flow-view";

const PLACED = stepId({ role: "event", type: "OrderPlaced", producer: "order-service" });
const RESERVED = stepId({ role: "event", type: "InventoryReserved", producer: "inventory-service" });
const PAID = stepId({ role: "event", type: "PaymentProcessed", producer: "payment-service" });
const RETRY = stepId({ role: "retry", type: "PaymentRequested", producer: "payment-service" });
const DEAD = stepId({ role: "dead-letter", type: "PaymentRequested", producer: "payment-service" });

const latency = (p50Ms: number, p95Ms: number, p99Ms: number, count = 10) => ({ p50Ms, p95Ms, p99Ms, count });

function step(id: string, role: StepRole, type: string, producer: string, figures: Partial<FlowStep>): FlowStep {
  return { id, role, type, producer, entities: 0, starts: 0, ends: 0, latency: null, repeats: 0, once: false, terminal: false, completesAfter: [], usualNext: null, alwaysAfter: null, stuckAfterMs: null, ...figures };
}

const flow: Flow = {
  kind: "orderId",
  window: "24h",
  from: "2026-12-04T19:00:00.000Z",
  to: "2026-12-05T19:12:00.000Z",
  entities: 1200,
  steps: [
    step(PLACED, "event", "OrderPlaced", "order-service", { entities: 1200, starts: 1200 }),
    step(RESERVED, "event", "InventoryReserved", "inventory-service", { entities: 1150, latency: latency(42, 180, 950) }),
    step(PAID, "event", "PaymentProcessed", "payment-service", { entities: 1000, ends: 1000, latency: latency(1500, 4000, 9000) }),
    step(RETRY, "retry", "PaymentRequested", "payment-service", { entities: 120, latency: latency(2000, 5000, 6000) }),
    step(DEAD, "dead-letter", "PaymentRequested", "payment-service", { entities: 30, ends: 30, latency: latency(30_000, 60_000, 61_000) }),
  ],
  edges: [
    { from: PLACED, to: RESERVED, entities: 1150, share: 1150 / 1200, latency: latency(42, 180, 950) },
    { from: RESERVED, to: PAID, entities: 1000, share: 1000 / 1150, latency: latency(1500, 4000, 9000) },
    { from: RESERVED, to: RETRY, entities: 120, share: 120 / 1150, latency: latency(2000, 5000, 6000) },
    { from: RETRY, to: RETRY, entities: 60, share: 0.5, latency: latency(1000, 1000, 1000) },
    { from: RETRY, to: DEAD, entities: 30, share: 0.25, latency: latency(30_000, 60_000, 61_000) },
  ],
  endToEnd: latency(2100, 8000, 65_000),
  outcomes: { completed: 1000, compensated: 0, deadLettered: 30, stuck: 0, inFlight: 170 },
  outcomeHours: [],
  delivery: { duplicates: [], partitionSplits: [], outOfOrder: [] },
  pending: 7,
};

const page = (keys: string[], nextCursor: string | null = null): FlowEntities => ({
  kind: "orderId",
  nextCursor,
  entities: keys.map((entityKey) => ({
    entityKey,
    outcome: "completed" as const,
    stuck: null,
    firstAt: "2026-12-05T19:00:00.000Z",
    lastAt: "2026-12-05T19:00:05.000Z",
    steps: 3,
    lastStep: { id: PAID, role: "event", type: "PaymentProcessed", producer: "payment-service" },
  })),
});

beforeEach(() => {
  // React Flow measures what it draws; jsdom lays nothing out, so it gets the sizes a browser would give.
  vi.stubGlobal(
    "ResizeObserver",
    class {
      constructor(private readonly callback: (entries: { target: Element }[]) => void) {}
      observe(target: Element) {
        // Measured at once: React Flow then knows each step's size and handles, and draws the edges.
        this.callback([{ target }]);
      }
      unobserve() {}
      disconnect() {}
    },
  );
  vi.stubGlobal(
    "DOMMatrixReadOnly",
    class {
      m22 = 1;
      constructor(transform?: string) {
        const scale = transform?.match(/scale\(([\d.]+)\)/)?.[1];
        this.m22 = scale !== undefined ? Number(scale) : 1;
      }
    },
  );
  vi.spyOn(HTMLElement.prototype, "offsetWidth", "get").mockReturnValue(230);
  vi.spyOn(HTMLElement.prototype, "offsetHeight", "get").mockReturnValue(92);
  vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(1200);
  vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(600);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const stepNode = (name: string) => screen.getByRole("button", { name: `Step ${name}` });

describe("FlowView", () => {
  it("counts duplicate deliveries by topic and producer, partition splits by topic, and steps seen out of order", () => {
    const delivery: Flow["delivery"] = {
      duplicates: [{ topic: "payments", step: PAID, type: "PaymentProcessed", producer: "payment-service", count: 1234 }],
      partitionSplits: [{ topic: "orders", entities: 12 }],
      outOfOrder: [{ step: PAID, before: RESERVED, entities: 3 }],
    };
    render(<FlowView flow={{ ...flow, delivery }} initialSelection={null} />);
    const rows = (caption: RegExp) =>
      within(screen.getByRole("table", { name: caption }))
        .getAllByRole("row")
        .slice(1)
        .map((row) => within(row).getAllByRole("cell").map((cell) => cell.textContent));
    expect(rows(/^Duplicate deliveries/)).toEqual([["payments", "PaymentProcessed", "payment-service", "1,234"]]);
    expect(rows(/^Entities split over partitions/)).toEqual([["orders", "12"]]);
    expect(rows(/^Steps seen before/)).toEqual([["PaymentProcessed from payment-service", "InventoryReserved from inventory-service", "3"]]);
  });

  it("says when the window had no duplicates, splits or steps out of order", () => {
    render(<FlowView flow={flow} initialSelection={null} />);
    expect(screen.getByTestId("delivery-none").textContent).toBe("No duplicate deliveries, partition splits or steps out of order in this window.");
  });

  it("draws each step with its role, producer, entities and latencies from the step before", () => {
    stubFetch(() => jsonResponse(page([])));
    render(<FlowView flow={flow} initialSelection={null} />);

    const reserved = stepNode("InventoryReserved from inventory-service");
    expect(reserved.textContent).toContain("1,150 entities");
    expect(reserved.textContent).toContain("inventory-service");
    expect(reserved.textContent).toContain("p50 42 ms · p95 180 ms · p99 950 ms");
    expect(stepNode("OrderPlaced from order-service").textContent).toContain("first step");
    expect(stepNode("PaymentProcessed from payment-service").textContent).toContain("p50 1 s · p95 4 s · p99 9 s");

    // Retries and dead letters are told apart from ordinary steps, in words and not only by colour.
    const retry = stepNode("retry of PaymentRequested from payment-service");
    expect(within(retry).getByText("retry")).toBeTruthy();
    const dead = stepNode("dead letter of PaymentRequested from payment-service");
    expect(within(dead).getByText("dead letter")).toBeTruthy();
    expect(dead.querySelector("[data-role='dead-letter']")).not.toBeNull();

    // The kind's figures.
    const figures = screen.getByRole("region", { name: "Figures" });
    expect(figures.textContent).toContain("1,200");
    expect(figures.textContent).toContain("p50 2 s · p95 8 s · p99 1 min");
    expect(screen.getByRole("status").textContent).toContain("7 steps stored but not yet counted");
  });

  it("labels each transition with its share and p50 / p95", async () => {
    stubFetch(() => jsonResponse(page([])));
    render(<FlowView flow={flow} initialSelection={null} />);
    const labels = (await screen.findAllByTestId("flow-edge-label")).map((label) => label.textContent);
    expect(labels).toContain("96 % p50 42 ms · p95 180 ms");
    expect(labels).toContain("87 % p50 1 s · p95 4 s");
    expect(labels).toContain("10 % p50 2 s · p95 5 s");
    expect(labels).toHaveLength(flow.edges.length);

    const transitions = screen.getByRole("table", { name: "Transitions" });
    const toRetry = within(transitions).getByRole("row", { name: /InventoryReserved → PaymentRequested/ });
    expect(toRetry.textContent).toContain("120");
    expect(toRetry.textContent).toContain("10 %");
  });

  it("draws rare transitions only on demand, and always the busiest way into each step", async () => {
    const user = userEvent.setup();
    stubFetch(() => jsonResponse(page([])));
    const rare = { from: PLACED, to: PAID, entities: 12, share: 0.01, latency: latency(300, 400, 500) };
    const onlyWayIn = { from: PAID, to: DEAD, entities: 1, share: 0.001, latency: latency(100, 100, 100) };
    const withRare: Flow = { ...flow, edges: [...flow.edges.filter((e) => e.to !== DEAD), rare, onlyWayIn] };
    render(<FlowView flow={withRare} initialSelection={null} />);
    const drawn = async () => (await screen.findAllByTestId("flow-edge-label")).map((label) => label.textContent);
    expect(await drawn()).toHaveLength(withRare.edges.length - 1);
    expect(await drawn()).toContain("< 1 % p50 100 ms · p95 100 ms");
    expect(await drawn()).not.toContain("1 % p50 300 ms · p95 400 ms");

    await user.click(screen.getByRole("checkbox", { name: /Draw the 1 transition taken by under 5 %/ }));
    await waitFor(async () => expect(await drawn()).toHaveLength(withRare.edges.length));
  });

  it("lists the entities behind a clicked step, each linking to its timeline, and fetches more on demand", async () => {
    const user = userEvent.setup();
    const requests = stubFetch((request) => {
      const url = new URL(request.url, "http://localhost");
      return jsonResponse(url.searchParams.get("cursor") === "page-2" ? page(["ord-3"]) : page(["ord-1", "ord-2"], "page-2"));
    });
    render(<FlowView flow={flow} initialSelection={null} />);

    // A click without the pointer's press: the canvas's pan handler needs a window the test's events do not carry.
    fireEvent.click(stepNode("PaymentProcessed from payment-service"));
    const list = await screen.findByRole("region", { name: "Entities at PaymentProcessed from payment-service" });
    await waitFor(() => expect(within(list).getAllByRole("link").map((a) => a.getAttribute("href"))).toEqual(["/entities/ord-1", "/entities/ord-2"]));
    const first = new URL(requests[0]!.url, "http://localhost");
    expect(first.pathname).toBe("/api/flows/orderId/entities");
    expect(first.searchParams.get("step")).toBe(PAID);
    expect(first.searchParams.get("window")).toBe("24h");
    // The selection is in the URL: a link to it opens the same list.
    expect(new URL(window.location.href).searchParams.get("step")).toBe(PAID);

    await user.click(within(list).getByRole("button", { name: "More entities" }));
    await waitFor(() => expect(within(list).getAllByRole("link")).toHaveLength(3));
    expect(new URL(requests[1]!.url, "http://localhost").searchParams.get("cursor")).toBe("page-2");
    expect(within(list).queryByRole("button", { name: "More entities" })).toBeNull();
  });

  it("lists the entities of a transition, and says so when they cannot be loaded", async () => {
    const user = userEvent.setup();
    const requests = stubFetch(() => jsonResponse({ error: "internal", message: "internal error (reference 42)" }, 500));
    render(<FlowView flow={flow} initialSelection={null} />);

    await user.click(screen.getByRole("button", { name: "Entities from InventoryReserved from inventory-service to retry of PaymentRequested from payment-service" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Could not load the entities: internal error (reference 42)");
    const url = new URL(requests[0]!.url, "http://localhost");
    expect([url.searchParams.get("from"), url.searchParams.get("to"), url.searchParams.get("step")]).toEqual([RESERVED, RETRY, null]);
  });

  it("opens with the selection of its URL", async () => {
    stubFetch(() => jsonResponse(page(["ord-9"])));
    render(<FlowView flow={flow} initialSelection={{ step: DEAD }} />);
    const list = await screen.findByRole("region", { name: "Entities at dead letter of PaymentRequested from payment-service" });
    expect(await within(list).findByRole("link", { name: "ord-9" })).toBeTruthy();
  });
});

describe("FlowView, outcomes", () => {
  it("counts each outcome, and lists the stuck entities with what they wait for and whom to ask", async () => {
    const user = userEvent.setup();
    const requests = stubFetch(() =>
      jsonResponse({
        kind: "orderId",
        nextCursor: null,
        entities: [
          {
            entityKey: "ord-42",
            outcome: "stuck",
            firstAt: "2026-12-05T18:00:00.000Z",
            lastAt: "2026-12-05T18:00:01.000Z",
            steps: 2,
            lastStep: { id: RESERVED, role: "event", type: "InventoryReserved", producer: "inventory-service" },
            stuck: {
              forMs: 12 * 60_000,
              nextStep: { id: PAID, role: "event", type: "PaymentProcessed", producer: "payment-service" },
              usualP99Ms: 9_000,
              stuckAfterMs: 30_000,
              groups: [{ kind: "kafka-group", source: "default", groupId: "payment-service", healthStatus: "STALL", healthReason: "no commits for 10 min" }],
            },
          },
        ],
      } satisfies FlowEntities),
    );
    render(<FlowView flow={{ ...flow, outcomes: { completed: 1000, compensated: 4, deadLettered: 30, stuck: 1, inFlight: 165 } }} initialSelection={null} />);
    const figures = screen.getByRole("region", { name: "Figures" });
    expect(within(figures).getAllByRole("button").map((b) => b.textContent)).toEqual([
      "1,000 completed",
      "4 compensated",
      "30 dead-lettered",
      "1 stuck",
      "165 in flight",
    ]);
    await user.click(within(figures).getByRole("button", { name: "Entities stuck: 1" }));
    const list = await screen.findByRole("region", { name: "Entities stuck" });
    await within(list).findByRole("link", { name: "ord-42" });
    expect(list.textContent).toContain("waiting 12 min for PaymentProcessed from payment-service");
    expect(within(list).getByRole("link", { name: "payment-service" }).getAttribute("href")).toBe("/groups/payment-service");
    expect(requests.at(-1)!.url).toBe("/api/flows/orderId/entities?window=24h&outcome=stuck&limit=50");
  });
});
