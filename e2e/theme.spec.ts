import { expect, test, type Page } from "@playwright/test";

const DARK_BG = "rgb(17, 24, 39)";
const LIGHT_BG = "rgb(255, 255, 255)";

const background = (page: Page, selector = "body") => page.locator(selector).first().evaluate((element) => getComputedStyle(element).backgroundColor);
const themeSwitch = (page: Page) => page.getByRole("banner").getByRole("button", { name: "Dark theme" });

test.describe("theme", () => {
  test("follows the system's colour scheme until the switch chooses one, and remembers the choice", async ({ page }) => {
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto("/events");
    expect(await background(page)).toBe(DARK_BG);
    await expect(themeSwitch(page)).toHaveAttribute("aria-pressed", "true");

    await page.emulateMedia({ colorScheme: "light" });
    expect(await background(page)).toBe(LIGHT_BG);
    await expect(themeSwitch(page)).toHaveAttribute("aria-pressed", "false");

    // Chosen: dark, whatever the system says, on every page and after a reload.
    await themeSwitch(page).click();
    await expect(themeSwitch(page)).toHaveAttribute("aria-pressed", "true");
    expect(await background(page)).toBe(DARK_BG);
    await page.goto("/dead-letters");
    expect(await background(page)).toBe(DARK_BG);
    await page.reload();
    expect(await background(page)).toBe(DARK_BG);

    // Back to light: remembered too, also on a dark system.
    await themeSwitch(page).click();
    await page.emulateMedia({ colorScheme: "dark" });
    await page.reload();
    expect(await background(page)).toBe(LIGHT_BG);
    await expect(themeSwitch(page)).toHaveAttribute("aria-pressed", "false");
  });

  test("a remembered dark theme is there before any script bundle runs (no light flash)", async ({ page }) => {
    await page.goto("/events");
    await page.evaluate(() => localStorage.setItem("eventscope-theme", "dark"));
    // Without Next's bundles nothing hydrates: only the inline script in <head> can set the theme.
    await page.route("**/_next/static/**/*.js", (route) => route.abort());
    await page.goto("/groups");
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    expect(await background(page)).toBe(DARK_BG);
  });

  test("the graph, its controls and minimap follow the theme", async ({ page }) => {
    await page.goto("/");
    await page.evaluate(() => localStorage.setItem("eventscope-theme", "dark"));
    await page.reload();
    await expect(page.getByRole("button", { name: "Topic orders", exact: true })).toBeVisible();
    const canvas = await background(page, ".react-flow");
    const node = await background(page, ".graph-node");
    const minimap = await background(page, ".react-flow__minimap");
    for (const colour of [canvas, node, minimap]) {
      const [r, g, b] = colour.match(/\d+/g)!.map(Number);
      expect(r! + g! + b!, colour).toBeLessThan(3 * 80);
    }
  });
});
