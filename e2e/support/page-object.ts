import { expect, type Locator, type Page, type TestInfo } from "@playwright/test";

/**
 * The base of the specs' page objects: a page of Eventscope at a path, opened and checked to have
 * answered, with the parts every page shares (the site header's navigation and the "who
 * consumes" search box). Subclasses add the page's own locators, found by role and name the way
 * a user would find them.
 */
export abstract class EventscopePage {
  constructor(readonly page: Page) {}

  /** The path this page object opens, e.g. `/dead-letters` or `/entities/ord-1`. */
  abstract readonly path: string;

  /** Opens the page and expects a successful answer (2xx, or 304 from the browser's cache). */
  async open(): Promise<this> {
    const response = await this.page.goto(this.path);
    expect(response, `no response for ${this.path}`).not.toBeNull();
    expect(response!.status(), `status of ${this.path}`).toBeLessThan(400);
    return this;
  }

  /** The site header's navigation (/, /events, /flows, /dead-letters, /groups, /audit). */
  get navigation(): Locator {
    return this.page.getByRole("navigation").first();
  }

  /** A link of the site header, by its visible name. */
  navigationLink(name: string | RegExp): Locator {
    return this.navigation.getByRole("link", { name });
  }

  /** The page's main heading. */
  get heading(): Locator {
    return this.page.getByRole("heading", { level: 1 }).first();
  }

  /** A full-page screenshot kept with the test's artifacts (see screenshot.ts). */
  async screenshot(testInfo: TestInfo, name: string): Promise<string> {
    return saveScreenshot(this.page, testInfo, name);
  }
}

/**
 * Saves a full-page screenshot under the test's output directory (test-results/e2e/…, kept after
 * the run and in CI artifacts) and attaches it to the report. Returns the file's path.
 */
export async function saveScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<string> {
  const file = testInfo.outputPath(`${name.replace(/[^\w.-]+/g, "-")}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
  return file;
}
