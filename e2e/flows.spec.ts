import { expect, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";

/**
 * Flows, as a user reaches them: from the navigation to the list of entity kinds, to the demo's
 * `orderId` pathway with its steps and latencies, to the orders behind a step, to one order's
 * timeline. The collector folds entities into their kind's figures every few seconds, so the spec
 * first waits, through the API, until the demo's orders have gone past their first step.
 */

interface FlowJson {
  steps: { type: string; entities: number; latency: { p50Ms: number } | null }[];
}

async function waitForOrderFlow(request: APIRequestContext): Promise<void> {
  await expect
    .poll(
      async () => {
        const kinds = await request.get("/api/flows");
        expect(kinds.status()).toBe(200);
        const { kinds: list } = (await kinds.json()) as { kinds: { kind: string; entities: number }[] };
        if (!list.some((k) => k.kind === "orderId" && k.entities > 0)) return "no orderId kind yet";
        const response = await request.get("/api/flows/orderId");
        if (response.status() !== 200) return `GET /api/flows/orderId answered ${response.status()}`;
        const { steps } = (await response.json()) as FlowJson;
        const placed = steps.find((s) => s.type === "OrderPlaced");
        const reserved = steps.find((s) => s.type === "InventoryReserved");
        return placed && placed.entities > 0 && reserved?.latency ? "ready" : `steps so far: ${steps.map((s) => s.type).join(", ")}`;
      },
      { message: "the orderId flow with OrderPlaced and a timed InventoryReserved", timeout: 90_000, intervals: [1_000] },
    )
    .toBe("ready");
}

class FlowsPage extends EventscopePage {
  readonly path = "/flows";

  kindLink(kind: string): Locator {
    return this.page.getByRole("link", { name: kind, exact: true });
  }
}

class FlowPage extends EventscopePage {
  constructor(
    page: Page,
    readonly kind: string,
  ) {
    super(page);
  }

  get path(): string {
    return `/flows/${encodeURIComponent(this.kind)}`;
  }

  /** A step drawn in the pathway, by its type ("Step OrderPlaced from order-service"). */
  step(type: string): Locator {
    return this.page.getByTestId("pathway").getByRole("button", { name: new RegExp(`^Step ${type} from `) });
  }

  get figures(): Locator {
    return this.page.getByRole("region", { name: "Figures" });
  }

  entities(type: string): Locator {
    return this.page.getByRole("region", { name: new RegExp(`^Entities at ${type} from `) });
  }

  windowLink(window: string): Locator {
    return this.page.getByRole("navigation", { name: "Window" }).getByRole("link", { name: window, exact: true });
  }
}

test.describe("flows", () => {
  test("the orderId pathway: its steps with latencies, the orders behind a step, one order's timeline", async ({ page, request }, testInfo) => {
    await waitForOrderFlow(request);

    const flows = new FlowsPage(page);
    await page.goto("/events");
    await flows.navigationLink("Flows").click();
    await expect(page).toHaveURL(/\/flows$/);
    await expect(flows.heading).toHaveText("Flows");
    await flows.kindLink("orderId").click();

    const flow = new FlowPage(page, "orderId");
    await expect(page).toHaveURL(/\/flows\/orderId$/);
    await expect(flow.heading).toHaveText("Flow of orderId");
    await expect(flow.windowLink("24h")).toHaveAttribute("aria-current", "page");

    // Each step: who produced it, how many orders reached it, and for a later step the time from the one before.
    const placed = flow.step("OrderPlaced");
    await expect(placed).toBeVisible();
    await expect(placed).toContainText("order-service");
    await expect(placed).toContainText(/[\d,]+ entit(y|ies)/);
    await expect(flow.step("InventoryReserved")).toContainText(/p50 [\d.<]+ ?(ms|s|min) · p95 .* · p99 /);
    await expect(flow.figures).toContainText(/End to end\s*p50 /);
    // The transitions are labelled with their share.
    await expect(page.getByTestId("flow-edge-label").first()).toContainText(/\d+ %|< 1 %/);
    await flow.screenshot(testInfo, "flow-orderId");

    // A click on a step lists its orders; the URL names the step.
    await placed.click();
    const orders = flow.entities("OrderPlaced");
    const links = orders.getByRole("link");
    await expect(links.first()).toBeVisible();
    await expect(page).toHaveURL(/[?&]step=/);
    const orderId = (await links.first().textContent())!.trim();
    expect(orderId).not.toBe("");

    await links.first().click();
    await expect(page).toHaveURL(`/entities/${encodeURIComponent(orderId)}`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(orderId);
  });

  test("another window, and the API's answers to an unknown kind and a bad window", async ({ page, request }) => {
    await waitForOrderFlow(request);
    const flow = await new FlowPage(page, "orderId").open();
    await flow.windowLink("1h").click();
    await expect(page).toHaveURL(/\/flows\/orderId\?window=1h$/);
    await expect(flow.windowLink("1h")).toHaveAttribute("aria-current", "page");
    await expect(flow.step("OrderPlaced")).toBeVisible();

    const unknown = await request.get("/api/flows/no-such-kind");
    expect(unknown.status()).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/no entity of kind no-such-kind/);
    const badWindow = await request.get("/api/flows/orderId?window=2d");
    expect(badWindow.status()).toBe(422);
    expect(((await badWindow.json()) as { message: string }).message).toMatch(/window must be one of 1h, 24h, 7d/);
  });
  test("duplicate deliveries counted by topic and producer, as the demo's producers re-send", async ({ page, request }) => {
    await waitForOrderFlow(request);
    // The demo re-sends 1 in 50 records (--duplicate-rate): within a minute some have been counted.
    await expect
      .poll(
        async () => {
          const response = await request.get("/api/flows/orderId");
          const { delivery } = (await response.json()) as { delivery: { duplicates: { topic: string; producer: string | null; count: number }[] } };
          return delivery.duplicates.reduce((sum, row) => sum + row.count, 0);
        },
        { message: "duplicate deliveries counted in the orderId flow", timeout: 90_000, intervals: [1_000] },
      )
      .toBeGreaterThan(0);
    await new FlowPage(page, "orderId").open();
    const table = page.getByRole("table", { name: /^Duplicate deliveries/ });
    await expect(table).toBeVisible();
    const first = table.getByRole("row").nth(1).getByRole("cell");
    // Topic, event type, producer (one of the demo's services), count.
    await expect(first.nth(0)).toHaveText(/^[a-z.-]+$/);
    await expect(first.nth(2)).toHaveText(/-service$/);
    await expect(first.nth(3)).toHaveText(/^[\d,]+$/);
  });
});
