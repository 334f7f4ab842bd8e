import { expect, type Page } from "@playwright/test";

/** The httpOnly session cookie the server sets on sign-in (server/auth/session.ts). */
export const SESSION_COOKIE = "eventscope_session";

async function expectSessionCookie(page: Page): Promise<void> {
  await expect
    .poll(async () => (await page.context().cookies()).find((cookie) => cookie.name === SESSION_COOKIE), {
      message: `the ${SESSION_COOKIE} cookie after signing in`,
    })
    .toMatchObject({ httpOnly: true });
}

/**
 * Signs in the way a user does: the /login form, its token field and the "Sign in" button. Ends
 * when the session cookie is set.
 */
export async function login(page: Page, token: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel(/token/i).fill(token);
  await page.getByRole("button", { name: /sign in/i }).click();
  await expectSessionCookie(page);
}

/**
 * Signs in through the link `npm run demo` prints: /login#token=… (the token never reaches a server
 * log). Ends when the page the login form goes on to has loaded: a navigation started before that
 * would be interrupted by the form's own.
 */
export async function loginWithLink(page: Page, token: string): Promise<void> {
  await page.goto(`/login#token=${encodeURIComponent(token)}`);
  await expectSessionCookie(page);
  await page.waitForURL((url) => url.pathname !== "/login", { waitUntil: "load" });
}

/** Signs out: the session cookie is gone. */
export async function logout(page: Page): Promise<void> {
  await page.context().clearCookies({ name: SESSION_COOKIE });
}
