import { randomBytes } from "node:crypto";
import { expect, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { Kafka, logLevel } from "kafkajs";
import { findShippedOrder, SAGA_FLOW as FLOW } from "./support/orders.ts";
import { EventscopePage, saveScreenshot } from "./support/page-object.ts";
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

/** The demo's compensation chain: the card is declined, the stock released, the order cancelled. */
const COMPENSATED = ["PaymentFailed", "InventoryReleased", "OrderCancelled"];

/** A recently cancelled order whose timeline holds the whole compensation chain in one trace, with that trace. */
async function findCompensatedOrder(request: APIRequestContext): Promise<{ orderId: string; traceId: string }> {
  let found: { orderId: string; traceId: string } | undefined;
  await expect
    .poll(
      async () => {
        const search = await request.get("/api/events?type=OrderCancelled&limit=20");
        expect(search.status()).toBe(200);
        const { events } = (await search.json()) as { events: { entityKeys: string[] }[] };
        for (const orderId of events.flatMap((e) => e.entityKeys.slice(0, 1))) {
          const response = await request.get(`/api/entities/${encodeURIComponent(orderId)}`);
          if (response.status() !== 200) continue;
          const timeline = (await response.json()) as { events: { eventType: string | null; traceId: string | null }[] };
          const chain = COMPENSATED.map((type) => timeline.events.find((e) => e.eventType === type));
          const traceId = chain[0]?.traceId;
          if (traceId && chain.every((e) => e?.traceId === traceId)) {
            found = { orderId, traceId };
            return true;
          }
        }
        return false;
      },
      { message: "an order cancelled after its payment failed", timeout: 90_000, intervals: [1_000] },
    )
    .toBe(true);
  return found!;
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

    // It appears without a reload (at the end of the list, which draws the rows in view: scrolled
    // down to), and the expanded event is still open.
    const list = page.getByRole("list", { name: `Events of ${orderId}` });
    await expect
      .poll(
        async () => {
          await list.evaluate((element) => element.scrollTo(0, element.scrollHeight));
          return timeline.row("SupportTicketOpened").count();
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0);
    await expect(timeline.row("SupportTicketOpened")).toBeVisible();
    await expect(timeline.row("SupportTicketOpened").getByText("support-desk", { exact: true })).toBeVisible();
    await list.evaluate((element) => element.scrollTo(0, 0));
    await expect(placed.getByRole("region", { name: "Headers" })).toBeVisible();
    await timeline.screenshot(testInfo, "entity-timeline-live");
  });

  test("a compensated order shows its failed step and its compensations, in words and in the lanes", async ({ page, request }, testInfo) => {
    const { orderId, traceId } = await findCompensatedOrder(request);
    const timeline = await new EntityTimelinePage(page, orderId).open();

    await expect(timeline.row("PaymentFailed").getByText("failure", { exact: true })).toBeVisible();
    await expect(timeline.row("InventoryReleased").getByText("compensation", { exact: true })).toBeVisible();
    await expect(timeline.row("OrderCancelled").getByText("compensation", { exact: true })).toBeVisible();
    // The happy steps before it carry no mark.
    await expect(timeline.row("OrderPlaced").getByText(/^(failure|compensation)/)).toHaveCount(0);
    // The chain says which failure the compensations answer.
    await expect(timeline.row("PaymentFailed").getByText(/^compensated by InventoryReleased/)).toBeVisible();
    await expect(timeline.row("InventoryReleased").getByText(/^answers PaymentFailed \(/)).toBeVisible();
    await expect(timeline.row("OrderCancelled").getByText(/^answers PaymentFailed \(/)).toBeVisible();

    // The lanes name each mark, and say what the marks mean.
    await expect(timeline.lanes.getByRole("button", { name: /^PaymentFailed on .*, failure \(failed step\)$/ })).toBeVisible();
    await expect(timeline.lanes.getByRole("button", { name: /^OrderCancelled on .*, compensation/ })).toBeVisible();
    await expect(timeline.lanes.getByRole("list", { name: "Legend" })).toContainText("failure");
    await expect(timeline.lanes.getByRole("list", { name: "Legend" })).toContainText("compensation");
    // Colour as well as words: a failure's mark is not the colour of an ordinary step's.
    const colour = (name: RegExp) => timeline.lanes.getByRole("button", { name }).first().evaluate((dot) => getComputedStyle(dot).backgroundColor);
    const [ordinary, failure, compensation] = await Promise.all([colour(/^OrderPlaced on /), colour(/^PaymentFailed on /), colour(/^InventoryReleased on /)]);
    expect(new Set([ordinary, failure, compensation]).size).toBe(3);
    await timeline.screenshot(testInfo, "entity-timeline-compensated");

    // The same marks on the trace's waterfall.
    await page.goto(`/traces/${traceId}`);
    const waterfall = page.getByRole("table", { name: "Trace waterfall" });
    await expect(waterfall.getByRole("row", { name: /^PaymentFailed / }).getByText("failure", { exact: true })).toBeVisible();
    await expect(waterfall.getByRole("row", { name: /^InventoryReleased / }).getByText("compensation", { exact: true })).toBeVisible();
    await expect(waterfall.getByRole("row", { name: /^OrderCancelled / }).getByText("compensation", { exact: true })).toBeVisible();
    await expect(page.getByRole("list", { name: "Legend" })).toContainText("compensation");
    await saveScreenshot(page, testInfo, "trace-compensated");
  });

  test("an entity without events gets a 404 page that says what to do", async ({ page }, testInfo) => {
    const response = await page.goto(`/entities/no-such-order-${Date.now()}`);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("No events for this entity");
    await expect(page.getByText("EVENTSCOPE_ENTITY_FIELDS")).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath("entity-not-found.png"), fullPage: true });
  });

  test("an opened event shows the order's state after it, and what it changed", async ({ page, request }) => {
    const orderId = await shippedAndConsumed(request);
    const timeline = await new EntityTimelinePage(page, orderId).open();
    const placed = timeline.row("OrderPlaced");
    await placed.getByRole("button", { name: /^Show headers and value of orders\// }).click();
    const state = placed.getByRole("region", { name: "State after this event" });
    // The first event adds every field of its value, the order id among them.
    await expect(state.getByRole("list", { name: "Changed fields" })).toContainText(`+ orderId: "${orderId}"`);
    await state.getByText(/^Whole state/).click();
    await expect(state.locator("pre")).toContainText(`"orderId": "${orderId}"`);
    // The API answers the same state for the same time.
    const placedAt = await request.get(`/api/entities/${encodeURIComponent(orderId)}`);
    const { events } = (await placedAt.json()) as { events: { eventType: string; timestamp: string }[] };
    const at = events.find((e) => e.eventType === "OrderPlaced")!.timestamp;
    const answer = await request.get(`/api/entities/${encodeURIComponent(orderId)}?at=${encodeURIComponent(at)}`);
    expect(answer.status()).toBe(200);
    expect(((await answer.json()) as { state: { orderId?: string } }).state.orderId).toBe(orderId);
  });

  test("a stuck order says which step it waits for and which consumer group to look at", async ({ page, request }) => {
    test.setTimeout(120_000);
    // A payment for an order nobody else hears of: written to a topic no demo service reads, so
    // the step that usually follows a payment never comes.
    const orderId = `ord-stuck-${randomBytes(3).toString("hex")}`;
    const kafka = new Kafka({ clientId: "eventscope-e2e", brokers: stack.kafkaBrokers.split(","), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "payments-archive", numPartitions: 1 }] }).finally(() => admin.disconnect());
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: "payments-archive",
        messages: [
          {
            key: orderId,
            value: JSON.stringify({ orderId, amount: 12.5 }),
            headers: { ce_specversion: "1.0", ce_id: `evt-${orderId}`, ce_type: "PaymentProcessed", ce_source: "payment-service", ce_time: new Date().toISOString() },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    // Stuck once nothing followed for 30 s (the floor: the demo's next steps take milliseconds).
    await expect
      .poll(
        async () => {
          const response = await request.get("/api/flows/orderId/entities?outcome=stuck&limit=500");
          if (response.status() !== 200) return false;
          const { entities } = (await response.json()) as { entities: { entityKey: string }[] };
          return entities.some((e) => e.entityKey === orderId);
        },
        { message: `${orderId} listed as stuck`, timeout: 90_000, intervals: [2_000] },
      )
      .toBe(true);

    const timeline = await new EntityTimelinePage(page, orderId).open();
    const flows = page.getByRole("list", { name: "Flows" });
    await expect(flows).toContainText("orderId flow: stuck after PaymentProcessed (payment-service)");
    await expect(flows).toContainText(/waiting .+ for \w+ from [\w-]+, which usually follows within/);
    await expect(flows.getByRole("link", { name: "orderId flow" })).toHaveAttribute("href", "/flows/orderId");
    // The service that produces the awaited step runs a consumer group of its name: linked, with its health.
    await expect(flows.getByRole("link", { name: /-service$/ }).first()).toHaveAttribute("href", /^\/groups\//);
    await expect(timeline.row("PaymentProcessed")).toBeVisible();

    // The flow lists it among its stuck entities, with the same words.
    await page.goto("/flows/orderId?outcome=stuck");
    const stuck = page.getByRole("region", { name: "Entities stuck" });
    await expect(stuck.getByRole("link", { name: orderId })).toBeVisible();
    await expect(stuck.getByRole("listitem").filter({ has: page.getByRole("link", { name: orderId }) })).toContainText(/stuck · .* waiting .+ for \w+/);
    await expect(page.getByRole("region", { name: "Figures" }).getByRole("button", { name: /^Entities stuck: \d/ })).toBeVisible();
  });
});
