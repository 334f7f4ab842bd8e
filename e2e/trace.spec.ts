import { expect, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { findShippedOrder, SAGA_FLOW as FLOW } from "./support/orders.ts";
import { EventscopePage } from "./support/page-object.ts";

/** An order whose saga went through and whose events all carry one trace (OpenTelemetry's kafkajs instrumentation). */
function findTracedOrder(request: APIRequestContext): Promise<{ orderId: string; traceId: string }> {
  return findShippedOrder(request, "an order whose saga events share one trace", (events, orderId) => {
    const flow = events.filter((e) => FLOW.includes(e.eventType ?? ""));
    const traceId = flow[0]?.traceId;
    return traceId && FLOW.every((type) => flow.some((e) => e.eventType === type && e.traceId === traceId)) ? { orderId, traceId } : undefined;
  });
}

class TracePage extends EventscopePage {
  readonly path: string;

  constructor(
    page: Page,
    readonly traceId: string,
  ) {
    super(page);
    this.path = `/traces/${traceId}`;
  }

  get waterfall(): Locator {
    return this.page.getByRole("table", { name: "Trace waterfall" });
  }

  /** Rows are named "<type> <topic>/<partition>/<offset>", in causal order. */
  row(type: string): Locator {
    return this.waterfall.getByRole("row", { name: new RegExp(`^${type} `) }).first();
  }

  async rowTypes(): Promise<string[]> {
    const labels = await this.waterfall.getByRole("row").evaluateAll((rows) => rows.map((row) => row.getAttribute("aria-label") ?? ""));
    return labels.filter(Boolean).map((label) => label.split(" ")[0]!);
  }

  /** How many hops from the start of the flow the waterfall puts an event. */
  async hop(type: string): Promise<number> {
    return Number(await this.row(type).getByTitle("hops from the start of the flow").textContent());
  }
}

test.describe("trace view", () => {
  test("the trace of an order shows the same flow as a waterfall, reached from the timeline", async ({ page, request }, testInfo) => {
    const { orderId, traceId } = await findTracedOrder(request);

    // From the order's timeline, the OrderPlaced row links to its trace.
    await page.goto(`/entities/${encodeURIComponent(orderId)}`);
    const placedRow = page.getByRole("listitem").filter({ has: page.getByText("OrderPlaced", { exact: true }) }).first();
    await placedRow.getByRole("link", { name: "trace", exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/traces/${traceId}$`));

    const trace = new TracePage(page, traceId);
    await expect(trace.heading).toContainText(traceId);
    await expect(trace.row("OrderShipped")).toBeVisible();

    // Causal and time order: each step below the one that caused it, one hop deeper.
    const types = await trace.rowTypes();
    const positions = FLOW.map((type) => types.indexOf(type));
    expect(positions.every((p) => p >= 0), `rows: ${types.join(", ")}`).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const hops = await Promise.all(FLOW.map((type) => trace.hop(type)));
    expect(hops[1]).toBe(hops[0]! + 1);
    expect(hops[2]).toBeGreaterThan(hops[1]!);
    expect(hops[3]).toBeGreaterThan(hops[2]!);

    // Each row names where the event is and who produced it, and links to the event.
    await expect(trace.row("InventoryReserved")).toContainText("by inventory-service");
    await expect(page.getByRole("link", { name: orderId, exact: true })).toBeVisible();
    await trace.screenshot(testInfo, "trace-waterfall");

    await trace.row("PaymentProcessed").getByRole("link", { name: /^payments\/\d+\/\d+$/ }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("PaymentProcessed");
  });

  test("a malformed trace id gets a message, not a crash page", async ({ page }, testInfo) => {
    await page.goto("/traces/not-a-trace-id");
    // (Next's route announcer is an alert too: pick ours by its title.)
    await expect(page.getByRole("alert").filter({ hasText: "Not a trace id" })).toContainText("32 hexadecimal characters");
    await page.screenshot({ path: testInfo.outputPath("trace-malformed.png"), fullPage: true });
  });
});
