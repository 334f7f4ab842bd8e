import { expect, test, type Locator, type Page } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";

/** The demo's deliberately slow consumer: it lags, so its charts and unprocessed events have content. */
const SLOW_GROUP = "analytics";

class GroupsPage extends EventscopePage {
  readonly path = "/groups";

  get table(): Locator {
    return this.page.getByRole("table", { name: "Consumer groups" });
  }

  groupLink(groupId: string): Locator {
    return this.table.getByRole("link", { name: groupId, exact: true });
  }

  sortBy(column: string | RegExp): Locator {
    return this.table.getByRole("columnheader", { name: column }).getByRole("link");
  }
}

class GroupPage extends EventscopePage {
  readonly path: string;

  constructor(
    page: Page,
    readonly groupId: string,
  ) {
    super(page);
    this.path = `/groups/${encodeURIComponent(groupId)}`;
  }

  /** The total offset lag chart: an SVG image named after its title. */
  get offsetLagChart(): Locator {
    return this.page.getByRole("img", { name: /^Offset lag \(records\)/ });
  }

  /** The line of the group's total lag in that chart. */
  get totalLagLine(): Locator {
    return this.offsetLagChart.locator('path[data-series="total"]');
  }

  get partitions(): Locator {
    return this.page.getByRole("table", { name: `Partitions of ${this.groupId}` });
  }

  get health(): Locator {
    return this.page.getByRole("status", { name: "Health" });
  }

  windowLink(label: string): Locator {
    return this.page.getByRole("link", { name: label, exact: true });
  }

  get unprocessed(): Locator {
    return this.page.getByRole("list", { name: /^Unprocessed events of partition \d+ of / });
  }
}

test.describe("consumer groups", () => {
  // Each test waits for the collector's samples and renders charts over thousands of them.
  test.describe.configure({ timeout: 180_000 });

  test("the group list shows every group with lag and health, and sorts by a column", async ({ page }, testInfo) => {
    const groups = new GroupsPage(page);
    // The admin poller lists the demo's groups within a poll or two of the stack starting.
    await expect(async () => {
      await groups.open();
      await expect(groups.groupLink(SLOW_GROUP)).toBeVisible({ timeout: 10_000 });
    }).toPass({ timeout: 90_000, intervals: [2_000] });
    await expect(groups.heading).toHaveText("Consumer groups");
    const row = groups.table.getByRole("row").filter({ has: page.getByRole("link", { name: SLOW_GROUP, exact: true }) });
    await expect(row.getByText(/^(OK|WARN|STALL|STOP)$/)).toBeVisible();
    // Group or queue, kind, state, members, topics…
    await expect(row.getByRole("cell").nth(1)).toHaveText("kafka group");
    await expect(row.getByRole("cell").nth(4)).toContainText("orders");

    await groups.sortBy(/^Group/).click();
    await expect(page).toHaveURL(/sort=group&order=asc/);
    const names = await groups.table.getByRole("row").locator("td:first-child").allTextContents();
    expect(names.length).toBeGreaterThan(1);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    await groups.screenshot(testInfo, "groups");
  });

  test("the slow consumer's page draws its lag over time and shows its partitions", async ({ page }, testInfo) => {
    const groups = new GroupsPage(page);
    await expect(async () => {
      await groups.open();
      await expect(groups.groupLink(SLOW_GROUP)).toBeVisible({ timeout: 10_000 });
    }).toPass({ timeout: 90_000, intervals: [2_000] });
    await groups.groupLink(SLOW_GROUP).click();

    const group = new GroupPage(page, SLOW_GROUP);
    await expect(page).toHaveURL(new RegExp(`/groups/${SLOW_GROUP}$`), { timeout: 60_000 });
    await expect(group.heading).toHaveText(SLOW_GROUP);
    // A line appears once the poller has taken lag samples with a known lag: reload until then.
    await expect(async () => {
      await page.reload({ timeout: 60_000 });
      await expect(group.totalLagLine).toHaveAttribute("d", /^M[\d.]+,[\d.]+/, { timeout: 10_000 });
    }).toPass({ timeout: 120_000, intervals: [3_000] });
    await expect(group.offsetLagChart).toBeVisible();

    const rows = group.partitions.getByRole("row");
    await expect(rows.nth(1)).toBeVisible();
    expect(await rows.count()).toBeGreaterThan(1);
    await expect(group.partitions.getByRole("cell", { name: "orders", exact: true }).first()).toBeVisible();
    await expect(group.health.getByText(/^(OK|WARN|STALL|STOP)$/)).toBeVisible();
    await group.screenshot(testInfo, "group-analytics");

    // The window chooser keeps the window in the URL and redraws.
    await group.windowLink("15 min").click();
    await expect(page).toHaveURL(/window=15m/, { timeout: 60_000 });
    await expect(group.windowLink("15 min")).toHaveAttribute("aria-current", "true");
    await expect(group.totalLagLine).toHaveAttribute("d", /^M/);
  });

  test("a lagging partition lists what the group has not processed, linking to each event", async ({ page }, testInfo) => {
    const group = new GroupPage(page, SLOW_GROUP);
    // The slow group falls behind on some partition as orders keep coming.
    await expect(async () => {
      await group.open();
      await expect(group.unprocessed.getByRole("listitem").first()).toBeVisible({ timeout: 15_000 });
    }).toPass({ timeout: 90_000, intervals: [3_000] });
    const first = group.unprocessed.getByRole("listitem").first().getByRole("link");
    await expect(first).toHaveAttribute("href", /^\/events\/[^/]+\/\d+\/\d+$/);
    await page.getByRole("link", { name: "newest first" }).click();
    await expect(page).toHaveURL(/order=newest/, { timeout: 60_000 });
    await expect(group.unprocessed.getByRole("listitem").first()).toBeVisible();
    await group.screenshot(testInfo, "group-analytics-unprocessed");
  });

  test("unknown groups are 404 and bad parameters say what is wrong", async ({ page, request }) => {
    const missing = await page.goto("/groups/no-such-group-e2e");
    expect(missing?.status()).toBe(404);

    const badWindow = await request.get(`/api/groups/${SLOW_GROUP}/lag?window=2h`);
    expect(badWindow.status()).toBe(422);
    expect(((await badWindow.json()) as { message: string }).message).toContain("window");
    expect((await request.get("/api/groups/no-such-group-e2e")).status()).toBe(404);
    const noPartition = await request.get(`/api/groups/${SLOW_GROUP}/unprocessed?topic=orders`);
    expect(noPartition.status()).toBe(422);

    await page.goto(`/groups/${SLOW_GROUP}?window=forever`);
    await expect(page.getByRole("alert").filter({ hasText: "Cannot show this group" })).toContainText("window");
  });
});
