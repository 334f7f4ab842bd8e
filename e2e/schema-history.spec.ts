import { expect, test } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";

/**
 * The schema history of an event type, as a user reaches it: from "who consumes PaymentProcessed"
 * to the page that lists the registry versions its events carried. The global set-up has the demo
 * roll out a compatible change to the payments schema (a new optional field) 8 s after the
 * services start, so two versions of `payments-value` are seen, the second judged compatible.
 */

class WhoConsumesPage extends EventscopePage {
  readonly path = "/who-consumes?q=PaymentProcessed";
}

class EventTypePage extends EventscopePage {
  constructor(
    page: EventscopePage["page"],
    readonly type: string,
  ) {
    super(page);
  }

  get path(): string {
    return `/event-types/${encodeURIComponent(this.type)}`;
  }

  get versions() {
    return this.page.getByRole("table", { name: "Schema versions" });
  }

  version(name: string) {
    return this.versions.getByRole("row", { name });
  }
}

test.describe("schema history", () => {
  test("the demo's payments schema change shows as a second version, judged compatible, with the field it added", async ({ page, request }, testInfo) => {
    // Both versions carried by events (a reused stack must have run past --schema-change-after).
    await expect
      .poll(async () => {
        const response = await request.get("/api/event-types/PaymentProcessed/schemas");
        if (!response.ok()) return [];
        const body = (await response.json()) as { registry: { subject: string | null; version: number | null }[] };
        return body.registry.map((v) => `${v.subject} v${v.version}`);
      }, { timeout: 60_000 })
      .toEqual(expect.arrayContaining(["payments-value v1", "payments-value v2"]));

    const who = await new WhoConsumesPage(page).open();
    await who.page.getByRole("link", { name: "Schema history of PaymentProcessed" }).click();
    const history = new EventTypePage(page, "PaymentProcessed");
    await expect(page).toHaveURL(/\/event-types\/PaymentProcessed$/);
    await expect(history.heading).toHaveText("PaymentProcessed");

    const first = history.version("payments-value v1");
    await expect(first).toContainText("the first version seen");
    const second = history.version("payments-value v2");
    await expect(second).toContainText("compatible under BACKWARD");
    const changes = second.getByRole("list", { name: "Changes in payments-value v2" });
    await expect(changes.getByRole("listitem")).toHaveCount(1);
    await expect(changes.getByRole("listitem")).toContainText("cardLast4 added (string)");
    await expect(changes.getByRole("listitem")).toContainText("compatible");
    await history.screenshot(testInfo, "schema-history-payments");

    // The events that carried the second version, one click away.
    await second.getByRole("cell").nth(4).getByRole("link").click();
    await expect(page).toHaveURL(/\/events\?type=PaymentProcessed&schemaId=\d+/);
    await expect(page.getByRole("status").first()).toContainText(/\d+ events?/);
  });

  test("a plain JSON event type shows its observed fields", async ({ page }) => {
    const history = await new EventTypePage(page, "OrderPlaced").open();
    await expect(history.page.getByText("No event of this type carried a Schema Registry schema")).toBeVisible();
    const fields = page.getByRole("table", { name: "JSON fields" });
    await expect(fields.getByRole("row", { name: /^orderId/ })).toContainText("string");
  });
});
