import { expect, test, type APIRequestContext, type Locator } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";

interface SearchJson {
  events: { topic: string; partition: number; offset: string; eventType: string | null; headers: { key: string; value: string | null }[] }[];
}

class EventSearchPage extends EventscopePage {
  readonly path = "/events";

  get form(): Locator {
    return this.page.getByRole("search", { name: "Search events" });
  }

  field(label: string): Locator {
    return this.form.getByLabel(label, { exact: true });
  }

  async search(fields: Record<string, string>): Promise<void> {
    for (const [label, value] of Object.entries(fields)) await this.field(label).fill(value);
    await this.form.getByRole("button", { name: "Search" }).click();
  }

  /** Result rows: each one link, named "<type> <topic>/<partition>/<offset>". */
  get results(): Locator {
    return this.page.getByRole("list", { name: "Matching events" }).getByRole("link");
  }
}

/**
 * An InventoryReserved event the collector stored on the inventory topic, with its CloudEvents id.
 * The newest one of that type may be a copy on the retry topic or in the DLQ, which payment-service
 * does not read: the event page's consumer groups would then not name it.
 */
async function someInventoryEvent(request: APIRequestContext) {
  const response = await request.get("/api/events?type=InventoryReserved&topic=inventory&limit=1");
  expect(response.status()).toBe(200);
  const event = ((await response.json()) as SearchJson).events[0];
  expect(event, "an InventoryReserved event").toBeDefined();
  const ceId = event!.headers.find((h) => h.key === "ce_id")?.value;
  expect(ceId, "its ce_id header").toBeTruthy();
  return { ...event!, ceId: ceId! };
}

test.describe("event search", () => {
  test("a search by header value finds the event, and the row opens it", async ({ page, request }, testInfo) => {
    const target = await someInventoryEvent(request);
    const where = `${target.topic}/${target.partition}/${target.offset}`;
    const search = await new EventSearchPage(page).open();
    await search.search({ Header: `ce_id=${target.ceId}` });

    // The filter is in the URL, so the result can be pasted into a chat.
    await expect(page).toHaveURL(new RegExp(`header=ce_id%3D${target.ceId}`));
    // A retried or dead-lettered copy carries the same ce_id: every record with it is listed. A
    // copy may be stored between the page's search and the API's: compared again after a reload.
    let matching: SearchJson["events"] = [];
    await expect(async () => {
      const sameId = await request.get(`/api/events?header=${encodeURIComponent(`ce_id=${target.ceId}`)}`);
      expect(sameId.status()).toBe(200);
      matching = ((await sameId.json()) as SearchJson).events;
      expect(matching.length).toBeGreaterThanOrEqual(1);
      expect(matching.every((event) => event.headers.some((h) => h.key === "ce_id" && h.value === target.ceId))).toBe(true);
      await page.reload();
      await expect(search.results).toHaveCount(matching.length, { timeout: 5_000 });
    }).toPass({ timeout: 60_000 });
    await expect(page.getByRole("status").filter({ hasText: "newest first" })).toContainText(`${matching.length} event`);
    const targetRow = page.getByRole("list", { name: "Matching events" }).getByRole("link", { name: `InventoryReserved ${where}`, exact: true });
    await expect(targetRow.first()).toBeVisible();
    await search.screenshot(testInfo, "search-by-header");

    await targetRow.first().click();
    await expect(page).toHaveURL(new RegExp(`/events/${target.topic}/${target.partition}/${target.offset}$`));
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("InventoryReserved");
    await expect(page.getByRole("region", { name: "Headers" }).getByRole("row", { name: /ce_id/ })).toContainText(target.ceId);
    await expect(page.getByRole("list", { name: "Consumer groups" }).first()).toContainText("payment-service");
    await page.screenshot({ path: testInfo.outputPath("event-page.png"), fullPage: true });
  });

  test("a search by event type header lists only that type, newest first, and pages by cursor", async ({ page }, testInfo) => {
    const search = await new EventSearchPage(page).open();
    await search.search({ Header: "ce_type=OrderPlaced" });
    await expect(page).toHaveURL(/header=ce_type%3DOrderPlaced/);
    // The newest events of any type were listed before the search: wait for the filtered list.
    const names = () => search.results.evaluateAll((links) => links.map((link) => link.textContent ?? ""));
    await expect
      .poll(async () => {
        const current = await names();
        return current.length > 0 && current.every((name) => name.startsWith("OrderPlaced "));
      })
      .toBe(true);
    const firstPageTop = (await names())[0];
    const next = page.getByRole("link", { name: /Next page/ });
    await expect(next).toBeVisible();
    await next.click();
    await expect(page).toHaveURL(/cursor=/);
    await expect(page).toHaveURL(/header=ce_type%3DOrderPlaced/);
    await expect(search.results.first()).toBeVisible();
    await expect(search.results.first()).not.toHaveAccessibleName(firstPageTop!);
    await search.screenshot(testInfo, "search-next-page");
  });

  test("an inverted time range is refused with a message", async ({ page }) => {
    await page.goto("/events?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z");
    // (Next's route announcer is an alert too: pick ours by its title.)
    await expect(page.getByRole("alert").filter({ hasText: "Cannot search" })).toContainText("from must be before to");
    // The form keeps what was typed.
    await expect(new EventSearchPage(page).field("From (UTC)")).toHaveValue(/^2026-11-23T10:00/);
  });
});
