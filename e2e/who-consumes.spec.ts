import { expect, test, type Locator } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";

class AnyPage extends EventscopePage {
  readonly path = "/events";

  get searchBox(): Locator {
    return this.page.getByRole("search", { name: "Who consumes" }).getByRole("searchbox");
  }

  async whoConsumes(term: string): Promise<WhoConsumesPage> {
    await this.searchBox.fill(term);
    await this.searchBox.press("Enter");
    return new WhoConsumesPage(this.page);
  }
}

class WhoConsumesPage extends EventscopePage {
  readonly path = "/who-consumes";

  get groups(): Locator {
    return this.page.getByRole("list", { name: "Consumer groups" }).getByRole("listitem");
  }

  get topics(): Locator {
    return this.page.getByRole("list", { name: "Topics" }).getByRole("listitem");
  }

  get producers(): Locator {
    return this.page.getByRole("list", { name: "Producers" }).getByRole("listitem");
  }
}

test.describe("who consumes …", () => {
  test("OrderPlaced, asked in the header's search box: the orders topic and the groups that read it", async ({ page }, testInfo) => {
    const start = await new AnyPage(page).open();
    const answer = await start.whoConsumes("OrderPlaced");
    await expect(page).toHaveURL(/\/who-consumes\?q=OrderPlaced$/);
    await expect(answer.heading).toHaveText(/Who consumes\s*.?OrderPlaced.?/);
    await expect(answer.topics).toContainText(["orders"]);
    await expect(answer.producers).toContainText(["order-service"]);

    const groups = await answer.groups.allTextContents();
    expect(groups).toContain("inventory-service");
    expect(groups).toContain("notification-service");
    expect(groups.some((g) => g.startsWith("analytics")), `an analytics group among ${groups.join(", ")}`).toBe(true);
    // They do not read orders.
    expect(groups).not.toContain("payment-service");
    expect(groups).not.toContain("shipping-service");

    // Live members with client id and host, and lag, per group.
    const inventoryRow = page.getByRole("row").filter({ has: page.getByRole("link", { name: "inventory-service", exact: true }) });
    await expect(inventoryRow.first()).toContainText(/\S+ · \/?127\.0\.0\.1/);
    await answer.screenshot(testInfo, "who-consumes-OrderPlaced");
  });

  test("the same answer as JSON; a missing parameter is a 422 that says what to give", async ({ request }) => {
    const response = await request.get("/api/who-consumes?type=OrderPlaced");
    expect(response.status()).toBe(200);
    const body = (await response.json()) as { topics: { topic: string }[]; groups: string[]; producers: string[] };
    expect(body.topics.map((t) => t.topic)).toContain("orders");
    expect(body.groups).toContain("inventory-service");
    expect(body.groups).not.toContain("payment-service");
    expect(body.producers).toContain("order-service");

    const bad = await request.get("/api/who-consumes");
    expect(bad.status()).toBe(422);
    expect(((await bad.json()) as { message: string }).message).toMatch(/type=<event type>, topic=<topic>, service=<service>/);
  });

  test("an unknown name says nothing was found and how to check", async ({ page }) => {
    const start = await new AnyPage(page).open();
    await start.whoConsumes(`NoSuchEvent${Date.now()}`);
    await expect(page.getByRole("status").filter({ hasText: "Nothing found" })).toBeVisible();
  });
});
