import { expect, test, type Locator } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";

/** The overview: the flow graph, its nodes (buttons named "Producer …", "Topic …", "Group …") and the side panel. */
class OverviewPage extends EventscopePage {
  path = "/";

  node(kind: "Producer" | "Topic" | "Group", name: string): Locator {
    return this.page.getByRole("button", { name: `${kind} ${name}`, exact: true });
  }

  get panel(): Locator {
    return this.page.getByRole("complementary", { name: /^Details of / });
  }

  withNode(id: string): this {
    this.path = `/?node=${encodeURIComponent(id)}`;
    return this;
  }
}

test.describe("overview flow graph", () => {
  test("shows order-service producing to orders, read by the inventory-service group", async ({ page }, testInfo) => {
    const overview = await new OverviewPage(page).open();
    await expect(overview.node("Producer", "order-service")).toBeVisible();
    await expect(overview.node("Topic", "orders")).toBeVisible();
    await expect(overview.node("Group", "inventory-service")).toBeVisible();
    // Eventscope's own collector group reads every topic and is left out of the user's flow.
    await expect(page.getByRole("button", { name: /^Group eventscope/ })).toHaveCount(0);
    // Producers are left of topics, topics left of groups.
    const x = async (node: Locator) => (await node.boundingBox())!.x;
    expect(await x(overview.node("Producer", "order-service"))).toBeLessThan(await x(overview.node("Topic", "orders")));
    expect(await x(overview.node("Topic", "orders"))).toBeLessThan(await x(overview.node("Group", "inventory-service")));
    // The minimap draws the same nodes: one shape per producer, topic and group of the graph.
    const minimapNodes = page.getByRole("img", { name: "Mini Map" }).locator(".react-flow__minimap-node");
    await expect
      .poll(async () => {
        const [inMinimap, inGraph] = [await minimapNodes.count(), await page.locator(".react-flow__node").count()];
        return inGraph > 0 && inMinimap === inGraph;
      }, { message: "as many minimap shapes as graph nodes" })
      .toBe(true);
    await overview.screenshot(testInfo, "overview");
  });

  test("clicking a topic opens its panel and puts the node in the URL; the link reopens it", async ({ page }, testInfo) => {
    const overview = await new OverviewPage(page).open();
    await overview.node("Topic", "orders").click();
    await expect(overview.panel).toBeVisible();
    await expect(overview.panel.getByRole("heading", { name: "orders" })).toBeVisible();
    // Who reads it, with lag, and its partitions.
    await expect(overview.panel.getByRole("cell", { name: "inventory-service", exact: true })).toBeVisible();
    await expect(overview.panel.getByRole("columnheader", { name: "end offset" })).toBeVisible();
    await expect(page).toHaveURL(/\?node=topic%3Aorders$/);
    await overview.screenshot(testInfo, "overview-topic-panel");

    // A pasted link opens the same panel; the graph keeps it open across its live refreshes.
    const linked = await new OverviewPage(page).withNode("group:inventory-service").open();
    await expect(linked.panel.getByRole("heading", { name: "inventory-service" })).toBeVisible();
    await expect(linked.panel.getByRole("columnheader", { name: "client id" })).toBeVisible();
    const updated = page.getByRole("status").filter({ hasText: /updated/ });
    const before = await updated.textContent();
    await expect(updated).not.toHaveText(before ?? "", { timeout: 20_000 });
    await expect(linked.panel.getByRole("heading", { name: "inventory-service" })).toBeVisible();
    await linked.screenshot(testInfo, "overview-group-panel");

    await page.keyboard.press("Escape");
    await expect(linked.panel).toHaveCount(0);
    await expect(page).toHaveURL(/\/$/);
  });

  test("a malformed node parameter is answered with a message, not a crash", async ({ page }) => {
    const response = await page.goto("/?node=orders");
    expect(response!.status()).toBeLessThan(500);
    await expect(page.getByRole("alert").filter({ hasText: "producer:<name>, topic:<name> or group:<group id>" })).toBeVisible();
  });
});
