import { expect, test, type APIRequestContext, type Locator } from "@playwright/test";
import { DeadLetterDetailPage, findNewDeadLetter } from "./support/dead-letters.ts";
import { loginWithLink } from "./support/login.ts";
import { saveScreenshot } from "./support/page-object.ts";
import { findOrderWithTypes } from "./support/orders.ts";
import { stack } from "./support/stack.ts";

/**
 * RabbitMQ beside Kafka (the stack runs `npm run demo -- --rabbitmq`): notification-service
 * publishes each e-mail as a job on RabbitMQ's exchange `email`, email-sender consumes it from
 * the queue `email.jobs`; the collector reads both brokers into one store. The demo turns the
 * firehose on for its own node (as a user would) and its source has `deliveries: firehose`.
 */

const CROSSING = ["OrderPlaced", "OrderConfirmed", "EmailRequested", "EmailSent"];

interface GraphAnswer {
  exchanges: { id: string }[];
  queues: { id: string; deadLetters: { total: number } | null }[];
  consumers: { id: string }[];
  edges: { source: string; target: string; kind: string; messagesPerSecond: number | null; routingKeys?: string[] }[];
}

/** The demo's e-mail chain as GET /api/graph draws it, or what is missing from it yet. */
async function emailChain(request: APIRequestContext): Promise<string> {
  const response = await request.get("/api/graph");
  if (response.status() !== 200) return `GET /api/graph answered ${response.status()}`;
  const graph = (await response.json()) as GraphAnswer;
  const rate = (source: string, target: string) => graph.edges.find((e) => e.source === source && e.target === target)?.messagesPerSecond ?? null;
  const missing = [
    ["producer:notification-service", "exchange:email"],
    ["exchange:email", "queue:email.jobs"],
    ["queue:email.jobs", "consumer:email-sender"],
  ].filter(([source, target]) => !((rate(source!, target!) ?? 0) > 0));
  if (missing.length > 0) return `no rate yet on ${missing.map(([s, t]) => `${s} → ${t}`).join(", ")}`;
  if (!graph.queues.find((q) => q.id === "queue:email.dead")?.deadLetters) return "email.dead not flagged as a DLQ yet";
  return "drawn";
}

/** An order whose e-mail was sent, with its Kafka and RabbitMQ events stored. */
function emailedOrder(request: APIRequestContext): Promise<string> {
  return findOrderWithTypes(request, "type=EmailSent&source=rabbitmq&limit=5", CROSSING, "an order whose e-mail was sent through RabbitMQ");
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

  test("an order's e-mail job shows, on its timeline, that the queue email.jobs delivered it", async ({ page, request }) => {
    const orderId = await emailedOrder(request);
    await page.goto(`/entities/${encodeURIComponent(orderId)}`);
    const rows = page.getByRole("list", { name: `Events of ${orderId}` }).getByRole("listitem");
    const job = rows.filter({ has: page.getByText("EmailRequested", { exact: true }) }).first();
    await expect(job.getByRole("list", { name: "Queues" }).getByRole("listitem").filter({ hasText: /^email\.jobs: delivered/ })).toBeVisible();
    // A Kafka event beside it keeps its consumer groups.
    const placed = rows.filter({ has: page.getByText("OrderPlaced", { exact: true }) }).first();
    await expect(placed.getByRole("list", { name: "Consumer groups" })).toBeVisible();
  });

  test("the consumers page lists RabbitMQ's queues beside Kafka's groups, with their kind", async ({ page }) => {
    await page.goto("/groups");
    const table = page.getByRole("table", { name: "Consumer groups" });
    const jobs = table.getByRole("row").filter({ has: page.getByRole("link", { name: "email.jobs", exact: true }) });
    await expect(jobs).toHaveCount(1);
    await expect(jobs).toContainText("rabbitmq queue");
    await expect(table.getByRole("row").filter({ has: page.getByRole("link", { name: "order-service", exact: true }) })).toContainText("kafka group");
  });

  test("the overview draws notification-service → email → email.jobs → email-sender with rates, and email.dead as a DLQ", async ({ page, request }, testInfo) => {
    // The queue poller's and the management plugin's rates come every few seconds.
    await expect.poll(() => emailChain(request), { message: "the e-mail chain in GET /api/graph", timeout: 60_000, intervals: [2_000] }).toBe("drawn");
    await page.goto("/");
    const node = (name: string) => page.getByRole("button", { name, exact: true });
    const [publisher, exchange, jobs, sender, dead] = [
      node("Producer notification-service"),
      node("Exchange email"),
      node("Queue email.jobs"),
      node("Consumer email-sender"),
      node("Queue email.dead"),
    ];
    for (const shown of [publisher, exchange, jobs, sender, dead]) await expect(shown).toBeVisible();
    // notification-service is one node: it produces on Kafka and publishes on RabbitMQ.
    await expect(page.getByRole("button", { name: /^Producer notification-service$/ })).toHaveCount(1);
    // Columns: publishers, exchanges (with the topics), queues (with the groups), then RabbitMQ's consumers.
    const x = async (locator: Locator) => (await locator.boundingBox())!.x;
    expect(await x(publisher)).toBeLessThan(await x(exchange));
    expect(await x(exchange)).toBeLessThan(await x(jobs));
    expect(await x(jobs)).toBeLessThan(await x(sender));
    expect(await x(exchange)).toBe(await x(node("Topic orders")));
    await expect(dead).toContainText("DLQ");
    await expect(dead).toContainText("dead letters");
    await expect(exchange).toContainText("topic");
    // Eventscope's own queues and consumers are not the user's flow.
    await expect(page.getByRole("button", { name: /^(Queue|Consumer) eventscope/ })).toHaveCount(0);

    // Selecting the queue: its panel, its edges' labels (the binding's routing key and rate).
    await jobs.click();
    const panel = page.getByRole("complementary", { name: "Details of queue email.jobs" });
    await expect(panel.getByRole("heading", { name: "email.jobs" })).toBeVisible();
    await expect(page).toHaveURL(/\?node=queue%3Aemail\.jobs$/);
    const binding = panel.getByRole("row").filter({ has: page.getByRole("cell", { name: "email.requested.#", exact: true }) });
    await expect(binding).toContainText("email");
    await expect(binding).toContainText(/\d\/s/);
    await expect(panel.getByRole("row").filter({ has: page.getByRole("cell", { name: "email-sender", exact: true }) })).toContainText(/\d\/s/);
    await expect(panel).toContainText("email.dlx");
    await expect(page.locator(".graph-edge-label").filter({ hasText: /^email\.requested\.# · ≈?[\d.]+k?\/s$/ })).toBeVisible();
    await expect(panel.getByRole("link", { name: /^Queue email\.jobs/ })).toHaveAttribute("href", "/groups/rabbitmq%3A%252F%2Femail.jobs?source=rabbitmq");
    await saveScreenshot(page, testInfo, "overview-rabbitmq-queue");
  });

  test("a refused e-mail job, dead-lettered by RabbitMQ, is replayed to its exchange with one click", async ({ page, request }, testInfo) => {
    await loginWithLink(page, stack.adminToken);
    // RabbitMQ's reason is the dead letter's error class: a job the mail server refused was rejected.
    const refused = await findNewDeadLetter(request, "rejected");
    expect(refused).toMatchObject({ source: "rabbitmq", originTopic: "email" });
    const detail = await new DeadLetterDetailPage(page, refused.id).open();
    await expect(detail.heading).toContainText(`Dead letter #${refused.id}`);
    // One click on Replay, one on the dialog's confirmation: to the original exchange, with the original routing key.
    await detail.replayButton.click();
    await expect(detail.dialog).toContainText("email");
    await detail.dialog.getByRole("button", { name: "Replay to email" }).click();
    await expect(page.getByRole("status").filter({ hasText: /^Replayed to exchange email, routing key email\.requested\./ })).toBeVisible();
    await expect(detail.heading).toContainText("replayed");
    await expect(detail.firstReplay).toContainText("admin");
    await expect(detail.firstReplay).toContainText(/email · email\.requested\./);
    // Deliveries come from the firehose (acks stay unseen): the job is delivered from email.jobs, or
    // not yet, or the mail server refused it again.
    await expect(detail.firstReplay).toContainText(/delivered from email\.jobs|no queue has delivered it yet|failed again/);
    await detail.screenshot(testInfo, "rabbitmq-replayed");

    // The replay reached the exchange: the collector stores it with x-replay-of, on the source rabbitmq.
    await expect
      .poll(
        async () => {
          const response = await request.get(`/api/events?source=rabbitmq&header=${encodeURIComponent("x-replay-id")}&limit=50`);
          if (response.status() !== 200) return `GET /api/events answered ${response.status()}`;
          const { events } = (await response.json()) as { events: { topic: string; headers: { key: string; value: string | null }[] }[] };
          return events.some((event) => event.topic === "email" && event.headers.some((h) => h.key === "x-replay-of")) ? "stored" : "not yet";
        },
        { message: "the replayed job stored from RabbitMQ", timeout: 60_000, intervals: [1_000] },
      )
      .toBe("stored");
  });
});
