import { expect, test, type APIRequestContext, type Locator } from "@playwright/test";
import { findOrderWithTypes } from "./support/orders.ts";
import { EventscopePage } from "./support/page-object.ts";

/**
 * Two sources (the stack runs `npm run demo -- --sources 2`): the shop's cluster, named default,
 * and the warehouse's, to which warehouse-bridge hands every shipped order over.
 */

class OverviewPage extends EventscopePage {
  path = "/";

  node(kind: "Producer" | "Topic" | "Group", name: string): Locator {
    return this.page.getByRole("button", { name: `${kind} ${name}`, exact: true });
  }

  get sourceChoice(): Locator {
    return this.page.getByRole("combobox", { name: "Source" });
  }
}

/** The steps of a dispatched order, on both sources. */
const CROSSING = ["OrderPlaced", "OrderShipped", "WarehouseOrderReceived", "ParcelDispatched"];

/**
 * An order the warehouse dispatched, whose events on both sources are stored (the two sources are
 * collected side by side, each at its own pace).
 */
function dispatchedOrder(request: APIRequestContext): Promise<string> {
  return findOrderWithTypes(request, "type=ParcelDispatched&source=warehouse&limit=5", CROSSING, "an order whose parcel the warehouse dispatched");
}

test.describe("two sources", () => {
  test("the overview draws both clusters side by side, tagged by source, and one of them on choice", async ({ page }) => {
    const overview = await new OverviewPage(page).open();
    await expect(overview.node("Topic", "orders")).toBeVisible();
    await expect(overview.node("Topic", "warehouse-orders")).toBeVisible();
    await expect(overview.node("Group", "warehouse-service")).toBeVisible();
    await expect(overview.node("Topic", "warehouse-orders")).toContainText("warehouse");

    await expect(overview.sourceChoice).toBeVisible();
    await overview.sourceChoice.selectOption("warehouse");
    await expect(page).toHaveURL(/\/\?source=warehouse$/);
    await expect(overview.node("Topic", "warehouse-parcels")).toBeVisible();
    await expect(overview.node("Topic", "orders")).toHaveCount(0);
    // The bridge writes to the warehouse's cluster: it is drawn as that source's producer.
    await expect(overview.node("Producer", "warehouse-bridge")).toBeVisible();
  });

  test("an order's timeline runs across both clusters in time order, naming the warehouse's events by their source", async ({ page, request }) => {
    const orderId = await dispatchedOrder(request);
    await page.goto(`/entities/${encodeURIComponent(orderId)}`);
    const rows = page.getByRole("list", { name: `Events of ${orderId}` }).getByRole("listitem");
    await expect(rows.filter({ hasText: "ParcelDispatched" })).toHaveCount(1);
    const names = await rows.evaluateAll((items) => items.map((item) => item.getAttribute("aria-label") ?? ""));
    const placed = names.findIndex((name) => /^OrderPlaced orders\/\d+\/\d+$/.test(name));
    const shipped = names.findIndex((name) => /^OrderShipped shipping\/\d+\/\d+$/.test(name));
    const received = names.findIndex((name) => /^WarehouseOrderReceived warehouse:warehouse-orders\/\d+\/\d+$/.test(name));
    const dispatched = names.findIndex((name) => /^ParcelDispatched warehouse:warehouse-parcels\/\d+\/\d+$/.test(name));
    expect([placed, shipped, received, dispatched].every((i) => i >= 0), names.join("\n")).toBe(true);
    expect(placed).toBeLessThan(shipped);
    expect(shipped).toBeLessThan(received);
    expect(received).toBeLessThan(dispatched);

    // The warehouse's event opens its own page, on its own source.
    await rows.filter({ hasText: "ParcelDispatched" }).getByRole("link", { name: /^warehouse:warehouse-parcels\// }).click();
    await expect(page).toHaveURL(/\/events\/warehouse-parcels\/\d+\/\d+\?source=warehouse$/);
    await expect(page.getByRole("heading", { level: 1 })).toContainText("ParcelDispatched");
  });

  test("health reports each source", async ({ request }) => {
    const response = await request.get("/api/health");
    expect(response.status()).toBe(200);
    const health = (await response.json()) as { sources: { name: string; kind: string }[] };
    expect(health.sources.map((source) => [source.name, source.kind])).toEqual([
      ["default", "kafka"],
      ["warehouse", "kafka"],
      ["rabbitmq", "rabbitmq"],
    ]);
  });
});
