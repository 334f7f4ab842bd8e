import { expect, test, type APIRequestContext } from "@playwright/test";

/**
 * RabbitMQ beside Kafka (the stack runs `npm run demo -- --rabbitmq`): notification-service
 * publishes each e-mail as a job on RabbitMQ's exchange `email`, email-sender consumes it from
 * the queue `email.jobs`; the collector reads both brokers into one store.
 */

const CROSSING = ["OrderPlaced", "OrderConfirmed", "EmailRequested", "EmailSent"];

/** An order whose e-mail was sent, with its Kafka and RabbitMQ events stored. */
async function emailedOrder(request: APIRequestContext): Promise<string> {
  let orderId: string | undefined;
  await expect
    .poll(
      async () => {
        const response = await request.get("/api/events?type=EmailSent&source=rabbitmq&limit=5");
        expect(response.status()).toBe(200);
        const { events } = (await response.json()) as { events: { entityKeys: string[] }[] };
        for (const candidate of events.flatMap((event) => event.entityKeys.slice(0, 1))) {
          const timeline = await request.get(`/api/entities/${encodeURIComponent(candidate)}`);
          if (timeline.status() !== 200) continue;
          const types = new Set(((await timeline.json()) as { events: { eventType: string | null }[] }).events.map((event) => event.eventType));
          if (CROSSING.every((type) => types.has(type))) {
            orderId = candidate;
            return true;
          }
        }
        return false;
      },
      { message: "an order whose e-mail was sent through RabbitMQ", timeout: 90_000, intervals: [1_000] },
    )
    .toBe(true);
  return orderId!;
}

test.describe("RabbitMQ", () => {
  test("an order's timeline runs from Kafka topics into RabbitMQ's exchange, in time order", async ({ page, request }) => {
    const orderId = await emailedOrder(request);
    await page.goto(`/entities/${encodeURIComponent(orderId)}`);
    const rows = page.getByRole("list", { name: `Events of ${orderId}` }).getByRole("listitem");
    // One e-mail per notification (confirmed, shipped): at least one was sent.
    await expect(rows.filter({ hasText: "EmailSent" }).first()).toBeVisible();
    const names = await rows.evaluateAll((items) => items.map((item) => item.getAttribute("aria-label") ?? ""));
    const placed = names.findIndex((name) => /^OrderPlaced orders\/\d+\/\d+$/.test(name));
    const confirmed = names.findIndex((name) => /^OrderConfirmed orders\/\d+\/\d+$/.test(name));
    const requested = names.findIndex((name) => /^EmailRequested rabbitmq:email\/0\/\d+$/.test(name));
    const sent = names.findIndex((name) => /^EmailSent rabbitmq:email\/0\/\d+$/.test(name));
    expect([placed, confirmed, requested, sent].every((i) => i >= 0), names.join("\n")).toBe(true);
    expect(placed).toBeLessThan(confirmed);
    expect(confirmed).toBeLessThan(requested);
    expect(requested).toBeLessThan(sent);
  });

  test("the consumers page lists RabbitMQ's queues beside Kafka's groups, with their kind", async ({ page }) => {
    await page.goto("/groups");
    const table = page.getByRole("table", { name: "Consumer groups" });
    const jobs = table.getByRole("row").filter({ has: page.getByRole("link", { name: "email.jobs", exact: true }) });
    await expect(jobs).toHaveCount(1);
    await expect(jobs).toContainText("rabbitmq queue");
    await expect(table.getByRole("row").filter({ has: page.getByRole("link", { name: "order-service", exact: true }) })).toContainText("kafka group");
  });
});
