import { expect, test } from "@playwright/test";
import { DeadLetterDetailPage, DeadLetterInbox, findNewDeadLetter } from "./support/dead-letters.ts";
import { loginWithLink, SESSION_COOKIE } from "./support/login.ts";
import { EventscopePage } from "./support/page-object.ts";
import { stack } from "./support/stack.ts";

class LoginPage extends EventscopePage {
  readonly path = "/login";

  get token() {
    return this.page.getByLabel("Token");
  }

  get signIn() {
    return this.page.getByRole("button", { name: "Sign in" });
  }
}

test.describe("signing in and protected writes", () => {
  test("logged out: no replay button, and the API refuses writes", async ({ page, request }, testInfo) => {
    const deadLetter = await findNewDeadLetter(request, "GatewayUnavailableError");
    const inbox = await new DeadLetterInbox(page).open();
    await expect(inbox.notice).toContainText("Sign in to replay");
    await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
    await expect(page.getByRole("button", { name: /Replay/ })).toHaveCount(0);

    const detail = await new DeadLetterDetailPage(page, deadLetter.id).open();
    await expect(detail.heading).toContainText(`Dead letter #${deadLetter.id}`);
    await expect(detail.replayButton).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Discard" })).toHaveCount(0);
    await detail.screenshot(testInfo, "logged-out-detail");

    const anonymous = await request.post(`/api/dead-letters/${deadLetter.id}/replay`, { data: {} });
    expect(anonymous.status()).toBe(401);
    expect(((await anonymous.json()) as { message: string }).message).toMatch(/sign in/i);
    const wrongToken = await request.post(`/api/dead-letters/${deadLetter.id}/replay`, {
      headers: { authorization: "Bearer not-the-token-at-all" },
      data: {},
    });
    expect(wrongToken.status()).toBe(401);
    const resolve = await request.post(`/api/dead-letters/${deadLetter.id}/resolve`, { data: {} });
    expect(resolve.status()).toBe(401);
    // From another site, even with the right token.
    const foreign = await request.post(`/api/dead-letters/${deadLetter.id}/replay`, {
      headers: { authorization: `Bearer ${stack.adminToken}`, origin: "http://evil.example" },
      data: {},
    });
    expect(foreign.status()).toBe(403);

    const after = await request.get(`/api/dead-letters/${deadLetter.id}`);
    expect(await after.json()).toMatchObject({ status: "new", replays: [] });
  });

  test("the login form: a wrong token is refused in words, the right one signs in; sign out", async ({ page }, testInfo) => {
    const login = await new LoginPage(page).open();
    await login.token.fill("certainly-not-the-token");
    await login.signIn.click();
    await expect(page.getByRole("alert").filter({ hasText: "that token is not valid" })).toBeVisible();
    await login.screenshot(testInfo, "login-refused");

    await login.token.fill(stack.adminToken);
    await login.signIn.click();
    await expect(page).toHaveURL(/\/dead-letters$/);
    await expect(page.getByText("Signed in as")).toContainText("admin");
    const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(cookie!.value).not.toContain(stack.adminToken);
    expect(await page.evaluate(() => document.cookie)).not.toContain(SESSION_COOKIE);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page.getByRole("link", { name: "Sign in" }).first()).toBeVisible();
    expect((await page.context().cookies()).find((c) => c.name === SESSION_COOKIE)).toBeUndefined();
  });

  test("the demo's link /login#token=… signs in and leaves no token in the address bar", async ({ page }, testInfo) => {
    await loginWithLink(page, stack.adminToken);
    await expect(page).toHaveURL(/\/dead-letters$/);
    expect(page.url()).not.toContain(stack.adminToken);
    await expect(page.getByText("Signed in as")).toContainText("admin");
    await expect(page.getByRole("button", { name: /Replay selected/ })).toBeVisible();
    await new DeadLetterInbox(page).screenshot(testInfo, "signed-in-inbox");
  });
});
