import { randomBytes } from "node:crypto";
import { expect, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { Kafka, logLevel } from "kafkajs";
import { findShippedOrder, SAGA_FLOW as FLOW } from "./support/orders.ts";
import { EventscopePage } from "./support/page-object.ts";
import { stack } from "./support/stack.ts";

/** An order that went through the whole saga, whose OrderPlaced the inventory service has consumed. */
function shippedAndConsumed(request: APIRequestContext): Promise<string> {
  return findShippedOrder(request, "an order that went through the whole saga", (events, orderId) => {
    const types = events.map((e) => e.eventType);
    const placed = events.find((e) => e.eventType === "OrderPlaced");
    const consumed = placed?.consumption.some((c) => c.groupId === "inventory-service" && c.status === "consumed");
    return FLOW.every((type) => types.includes(type)) && consumed ? orderId : undefined;
  });
}

class EntityTimelinePage extends EventscopePage {
  readonly path: string;

  constructor(
    page: Page,
    readonly entityKey: string,
  ) {
    super(page);
    this.path = `/entities/${encodeURIComponent(entityKey)}`;
  }

  /** The rows of the event list, each named "<type> <topic>/<partition>/<offset>". */
  get rows(): Locator {
    return this.page.getByRole("list", { name: `Events of ${this.entityKey}` }).getByRole("listitem");
  }

  row(type: string): Locator {
    return this.rows.filter({ has: this.page.getByText(type, { exact: true }) }).first();
  }

  async rowTypes(): Promise<string[]> {
    const labels = await this.rows.evaluateAll((items) => items.map((item) => item.getAttribute("aria-label") ?? ""));
    return labels.map((label) => label.split(" ")[0]!);
  }

  get lanes(): Locator {
    return this.page.getByRole("group", { name: "Timeline lanes" });
  }
}

test.describe("entity timeline", () => {
  test("an order's timeline shows its events in order, with consumption status, headers and value", async ({ page, request }, testInfo) => {
    const orderId = await shippedAndConsumed(request);
    const timeline = await new EntityTimelinePage(page, orderId).open();
    await expect(timeline.heading).toHaveText(orderId);

    // Time order: each step of the saga after the one that caused it.
    await expect(timeline.row("OrderShipped")).toBeVisible();
    const types = await timeline.rowTypes();
    const positions = FLOW.map((type) => types.indexOf(type));
    expect(positions.every((p) => p >= 0), `rows: ${types.join(", ")}`).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);

    // Where each event is and who produced it; which groups consumed it.
    const placed = timeline.row("OrderPlaced");
    await expect(placed.getByRole("link", { name: /^orders\/\d+\/\d+$/ })).toBeVisible();
    await expect(placed.getByText("order-service", { exact: true })).toBeVisible();
    await expect(placed.getByRole("list", { name: "Consumer groups" })).toContainText("inventory-service: consumed");
    // Time since the previous event.
    await expect(timeline.row("InventoryReserved").getByText(/^\+\d+ (ms|s|min)/)).toBeVisible();

    // One lane per service.
    await expect(timeline.lanes).toContainText("order-service");
    await expect(timeline.lanes).toContainText("inventory-service");

    // Expanding a row shows every header and the value, as text.
    await placed.getByRole("button", { name: /^Show headers and value of orders\// }).click();
    const headers = placed.getByRole("region", { name: "Headers" });
    await expect(headers.getByRole("rowheader", { name: "ce_type" })).toBeVisible();
    await expect(headers.getByRole("row", { name: /ce_type/ })).toContainText("OrderPlaced");
    await expect(headers.getByRole("rowheader", { name: "traceparent" })).toBeVisible();
    await expect(placed.getByRole("region", { name: "Value" })).toContainText(`"orderId": "${orderId}"`);

    await timeline.screenshot(testInfo, "entity-timeline");

    // The URL names the open event: pasted elsewhere, it opens the timeline there, expanded.
    await expect(page).toHaveURL(/[?&]event=orders%2F\d+%2F\d+/);
    await page.goto(page.url());
    await expect(timeline.row("OrderPlaced").getByRole("region", { name: "Headers" })).toBeVisible();
    await expect(timeline.row("InventoryReserved").getByRole("region", { name: "Headers" })).toHaveCount(0);
  });

  test("an open timeline shows the order's new events as they are stored, keeping what is expanded", async ({ page, request }, testInfo) => {
    const orderId = await shippedAndConsumed(request);
    const timeline = await new EntityTimelinePage(page, orderId).open();
    const placed = timeline.row("OrderPlaced");
    await placed.getByRole("button", { name: /^Show headers and value of orders\// }).click();
    await expect(placed.getByRole("region", { name: "Headers" })).toBeVisible();
    await expect(page.getByRole("checkbox", { name: "Live" })).toBeChecked();

    // Another service writes an event about the order while the page is open.
    const ticket = `T-${randomBytes(3).toString("hex")}`;
    const kafka = new Kafka({ clientId: "eventscope-e2e", brokers: stack.kafkaBrokers.split(","), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: "notifications",
        messages: [
          {
            key: orderId,
            value: JSON.stringify({ orderId, ticket }),
            headers: { ce_specversion: "1.0", ce_id: ticket, ce_type: "SupportTicketOpened", ce_source: "support-desk", ce_time: new Date().toISOString() },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    // It appears without a reload, and the expanded event is still open.
    await expect(timeline.row("SupportTicketOpened")).toBeVisible({ timeout: 30_000 });
    await expect(timeline.row("SupportTicketOpened").getByText("support-desk", { exact: true })).toBeVisible();
    await expect(placed.getByRole("region", { name: "Headers" })).toBeVisible();
    await timeline.screenshot(testInfo, "entity-timeline-live");
  });

  test("an entity without events gets a 404 page that says what to do", async ({ page }, testInfo) => {
    const response = await page.goto(`/entities/no-such-order-${Date.now()}`);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("No events for this entity");
    await expect(page.getByText("EVENTSCOPE_ENTITY_FIELDS")).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath("entity-not-found.png"), fullPage: true });
  });
});
