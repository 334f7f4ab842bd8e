import { defineConfig } from "@playwright/test";

/**
 * End-to-end tests in Debian's Chromium (never a downloaded browser) against the demo stack that
 * e2e/global-setup.ts starts with `npm run demo`'s launcher on free ports and a throw-away data
 * directory. The stack is shared by every spec, so they run one at a time.
 *
 * Set E2E_BASE_URL (and E2E_ADMIN_TOKEN) to run the specs against a stack that is already running
 * instead, e.g. `npm run demo` in another terminal while writing specs.
 */
export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  outputDir: "test-results/e2e",
  globalSetup: "./e2e/global-setup.ts",
  globalTeardown: "./e2e/global-teardown.ts",
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: "list",
  // A guard against a hung run only: a first run builds the web UI (next build) inside the global
  // set-up, which takes minutes on 2 cores (8 on a busy one).
  globalTimeout: 60 * 60_000,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  use: {
    // Set by the global set-up (the workers read this file after it ran).
    baseURL: process.env.E2E_BASE_URL,
    browserName: "chromium",
    headless: true,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    viewport: { width: 1440, height: 900 },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
  projects: [{ name: "chromium" }],
});
