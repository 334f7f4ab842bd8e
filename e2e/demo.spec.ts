import { expect, test } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";
import { stack } from "./support/stack.ts";

class HomePage extends EventscopePage {
  readonly path = "/";
}

interface HealthReport {
  stale: boolean;
  staleReason: string | null;
  lastPollAt: string | null;
  instances: unknown[];
}

test.describe("the demo stack", () => {
  test("the home page loads with the site header", async ({ page }, testInfo) => {
    const home = await new HomePage(page).open();
    await expect(home.navigationLink(/dead letters/i)).toBeVisible();
    await expect(page).toHaveTitle(/eventscope/i);
    await home.screenshot(testInfo, "home");
  });

  test("the collector has polled Kafka recently and the data is not stale", async ({ request }) => {
    // Polled: the last poll must be newer than when the test started, so it is live, not a
    // leftover of an earlier moment.
    const since = Date.now();
    await expect
      .poll(
        async () => {
          const response = await request.get("/api/health");
          expect(response.status()).toBe(200);
          const report = (await response.json()) as HealthReport;
          return {
            collectorReported: report.instances.length > 0,
            stale: report.stale ? report.staleReason : false,
            polledSinceStart: report.lastPollAt !== null && Date.parse(report.lastPollAt) >= since,
          };
        },
        { message: "GET /api/health", timeout: 30_000 },
      )
      .toEqual({ collectorReported: true, stale: false, polledSinceStart: true });
  });

  test("the collector keeps storing the services' orders", async ({ request }) => {
    // Two searches some seconds apart: the newest OrderPlaced moves on while the services run.
    const newestOrder = async () => {
      const response = await request.get("/api/events?type=OrderPlaced&limit=1");
      expect(response.status(), await response.text()).toBe(200);
      const body = (await response.json()) as { events: { offset: string; partition: number; timestamp: string }[] };
      return body.events[0];
    };
    const first = await newestOrder();
    expect(first, "an OrderPlaced event").toBeDefined();
    await expect
      .poll(async () => Date.parse((await newestOrder())?.timestamp ?? "0"), { timeout: 30_000 })
      .toBeGreaterThan(Date.parse(first!.timestamp));
    expect(stack.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
