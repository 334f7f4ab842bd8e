import AxeBuilder from "@axe-core/playwright";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { loginWithLink } from "./support/login.ts";
import { findShippedOrder } from "./support/orders.ts";
import { stack } from "./support/stack.ts";

/** One of each page of the UI, with real data of the demo stack in it. */
async function everyPage(request: APIRequestContext): Promise<string[]> {
  const { orderId, traceId } = await findShippedOrder(request, "a shipped order with a trace", (events, orderId) => {
    const traceId = events.find((e) => e.traceId)?.traceId;
    return traceId ? { orderId, traceId } : undefined;
  });
  const search = (await (await request.get("/api/events?type=OrderPlaced&limit=1")).json()) as { events: { topic: string; partition: number; offset: string }[] };
  const event = search.events[0]!;
  const deadLetters = (await (await request.get("/api/dead-letters?limit=1")).json()) as { deadLetters: { id: string }[] };
  // The collector folds the orders into their flow every few seconds.
  await expect.poll(async () => (await request.get("/api/flows/orderId")).status(), { message: "the orderId flow", timeout: 60_000 }).toBe(200);
  return [
    "/",
    "/?node=topic%3Aorders",
    "/events",
    "/events?type=OrderPlaced",
    `/events/${event.topic}/${event.partition}/${event.offset}`,
    `/entities/${encodeURIComponent(orderId)}`,
    `/traces/${traceId}`,
    "/event-types/OrderPlaced",
    "/who-consumes?q=OrderPlaced",
    "/flows",
    "/flows/orderId",
    "/dead-letters",
    `/dead-letters/${deadLetters.deadLetters[0]!.id}`,
    "/groups",
    "/groups/inventory-service",
    "/audit",
    "/login",
  ];
}

/**
 * The one exception, kept narrow: the graph's nodes are buttons named by kind and name ("Topic
 * orders") while they also show live figures (rates, lags, dead letters) that change every few
 * seconds; putting those in the name would rename a node on every refresh. The node's panel reads
 * the figures out. Every other element is held to label-in-name.
 */
const isGraphNodeName = (rule: string, html: string) => rule === "label-content-name-mismatch" && /^<div [^>]*class="react-flow__node /.test(html);

/** axe-core's WCAG 2.1 A and AA rules; what it rates serious or critical, as readable lines. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ ...v, nodes: v.nodes.filter((n) => !isGraphNodeName(v.id, n.html)) }))
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")} — ${n.failureSummary?.split("\n").slice(1, 2).join(" ").trim()}`));
}

/** Presses Tab until the focused element matches `isTarget` (in the page), as a keyboard user would. */
async function tabTo(page: Page, description: string, isTarget: (element: Element) => boolean, maxPresses = 60): Promise<void> {
  for (let i = 0; i < maxPresses; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((test) => document.activeElement !== null && new Function("e", `return (${test})(e)`)(document.activeElement), isTarget.toString())) return;
  }
  throw new Error(`${description}: not reached in ${maxPresses} presses of Tab`);
}

/** Whether the focused element (or what it marks as focused) shows a focus ring. */
async function focusRingShown(page: Page, selector?: string): Promise<boolean> {
  return page.evaluate((inner) => {
    const focused = document.activeElement as HTMLElement;
    const element = inner ? (focused.querySelector(inner) ?? focused) : focused;
    const style = getComputedStyle(element);
    return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  }, selector);
}

test.describe("keyboard", () => {
  test("the graph's nodes: Tab reaches them with a visible focus, Enter opens the panel, Escape closes it", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("button", { name: "Topic orders", exact: true })).toBeVisible();
    await tabTo(page, "a graph node", (e) => e.classList.contains("react-flow__node"));
    expect(await focusRingShown(page, ".graph-node")).toBe(true);
    const name = await page.evaluate(() => document.activeElement!.getAttribute("aria-label"));
    await page.keyboard.press("Enter");
    const panel = page.getByRole("complementary", { name: /^Details of / });
    await expect(panel).toBeVisible();
    await expect(panel.getByRole("heading").first()).toContainText(name!.replace(/^(Producer|Topic|Group|Exchange|Queue|Consumer) /, ""));
    await page.keyboard.press("Escape");
    await expect(panel).toHaveCount(0);
  });

  test("the timeline's rows: Tab reaches each row's toggle with a visible focus, Enter opens it", async ({ page, request }) => {
    const orderId = await findShippedOrder(request, "a shipped order", (_events, orderId) => orderId);
    await page.goto(`/entities/${encodeURIComponent(orderId)}`);
    await tabTo(page, "a row's toggle", (e) => (e.getAttribute("aria-label") ?? "").startsWith("Show headers and value of "));
    expect(await focusRingShown(page)).toBe(true);
    await page.keyboard.press("Enter");
    await expect(page.getByRole("region", { name: "Headers" }).first()).toBeVisible();
    expect(await page.evaluate(() => document.activeElement!.getAttribute("aria-expanded"))).toBe("true");
  });

  test("the replay dialog: opens from the keyboard with focus inside, keeps Tab inside, closes on Escape back to its button", async ({ page, request }) => {
    // Signed in once the page after the login form has loaded (no navigation left to race with).
    await loginWithLink(page, stack.adminToken);
    const deadLetters = (await (await request.get("/api/dead-letters?status=new&limit=1")).json()) as { deadLetters: { id: string }[] };
    await page.goto(`/dead-letters/${deadLetters.deadLetters[0]!.id}`);
    const replay = page.getByRole("button", { name: "Replay", exact: true });
    await expect(replay).toBeVisible();
    await tabTo(page, "the Replay button", (e) => e.textContent?.trim() === "Replay" && e.tagName === "BUTTON");
    expect(await focusRingShown(page)).toBe(true);
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole("textbox", { name: "Target topic" })).toBeFocused();
    // Tab and Shift+Tab go round inside the dialog.
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press(i % 3 === 2 ? "Shift+Tab" : "Tab");
      expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    }
    await page.keyboard.press("Escape");
    await expect(dialog).toHaveCount(0);
    await expect(replay).toBeFocused();
  });
});

test.describe("accessibility", () => {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`every page passes axe-core with no serious or critical violation, ${colorScheme} theme`, async ({ page, request }) => {
      test.setTimeout(180_000);
      await page.emulateMedia({ colorScheme });
      const found: string[] = [];
      for (const path of await everyPage(request)) {
        const response = await page.goto(path);
        expect(response?.status(), path).toBeLessThan(400);
        await page.waitForLoadState("networkidle").catch(() => {});
        found.push(...(await seriousViolations(page)).map((line) => `${path}: ${line}`));
      }
      expect(found).toEqual([]);
    });
  }
});
