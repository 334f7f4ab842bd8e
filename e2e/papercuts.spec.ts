import { expect, test } from "@playwright/test";

test.describe("first sight", () => {
  test("every page names an icon, and the icons answer (no 404 for /favicon.ico)", async ({ page, request }) => {
    const missing: string[] = [];
    page.on("response", (response) => {
      if (response.status() === 404) missing.push(response.url());
    });
    for (const path of ["/", "/events", "/dead-letters", "/groups"]) {
      await page.goto(path);
      await expect(page.locator('link[rel="icon"][href^="/favicon.svg"]')).toHaveCount(1);
    }
    expect(missing).toEqual([]);

    const ico = await request.get("/favicon.ico");
    expect(ico.status()).toBe(200);
    expect((await ico.body()).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
    const svg = await request.get("/favicon.svg");
    expect(svg.status()).toBe(200);
    expect(svg.headers()["content-type"]).toContain("image/svg+xml");
  });

  test("filters show example values as hints, not as if filled in", async ({ page }) => {
    await page.goto("/dead-letters");
    const placeholders = await page.locator("form input[placeholder]").evaluateAll((inputs) => inputs.map((input) => input.getAttribute("placeholder")));
    expect(placeholders.length).toBeGreaterThan(0);
    for (const placeholder of placeholders) expect(placeholder).toMatch(/^e\.g\. /);
  });
});
