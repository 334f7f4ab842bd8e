import { randomBytes } from "node:crypto";
import { expect, test } from "@playwright/test";
import { Kafka, logLevel } from "kafkajs";
import { AuditPage, DeadLetterDetailPage, DeadLetterInbox, findNewDeadLetter } from "./support/dead-letters.ts";
import { loginWithLink } from "./support/login.ts";
import { stack } from "./support/stack.ts";

/**
 * The dead-letter inbox against the demo stack: a gateway-outage dead letter replays and is
 * consumed; a malformed order's fails again and links to its new dead letter; the guard; the
 * audit; a hostile payload shows as text.
 */
test.describe("dead letters", () => {
  test.beforeEach(async ({ page }) => {
    await loginWithLink(page, stack.adminToken);
  });

  test("replay an outage dead letter with one click: replayed, then consumed; a second click shows the guard", async ({ page, request }, testInfo) => {
    const inbox = await new DeadLetterInbox(page).open();
    await expect(inbox.heading).toHaveText("Dead letters");
    await expect(inbox.groups.getByRole("row").filter({ hasText: "GatewayUnavailableError" }).first()).toBeVisible();
    await expect(inbox.list.getByRole("listitem").first()).toBeVisible();
    await inbox.screenshot(testInfo, "inbox");

    const outage = await findNewDeadLetter(request, "GatewayUnavailableError");
    const detail = await new DeadLetterDetailPage(page, outage.id).open();
    await expect(detail.heading).toContainText(`Dead letter #${outage.id}`);
    await expect(detail.heading).toContainText("new");
    await detail.screenshot(testInfo, "outage-before-replay");

    await detail.replay(outage.originTopic!);
    await expect(detail.heading).toContainText("replayed");
    await expect(detail.firstReplay).toContainText("admin");
    await expect(detail.firstReplay).toContainText("consumed", { timeout: 60_000 });
    await detail.screenshot(testInfo, "outage-consumed");

    // A second click: the guard says who replayed it and when, and offers "Replay again".
    await detail.replayButton.click();
    await expect(detail.dialog.getByRole("heading")).toHaveText("Replay again?");
    await expect(detail.dialog.getByRole("note")).toContainText(/Already replayed by admin at \d{4}-\d\d-\d\d/);
    await expect(detail.dialog.getByRole("button", { name: "Replay again" })).toBeVisible();
    await detail.screenshot(testInfo, "guard");
    await detail.dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(detail.replays.getByRole("row")).toHaveCount(2);

    // The API refuses a second replay without "again" and names the first one.
    const again = await request.post(`/api/dead-letters/${outage.id}/replay`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
      data: {},
    });
    expect(again.status()).toBe(409);
    expect(await again.json()).toMatchObject({ status: "already-replayed", previous: [{ requestedBy: "admin" }] });

    const audit = await new AuditPage(page).open();
    await expect(audit.entriesFor(outage.id).first()).toContainText("replay");
    await expect(audit.entriesFor(outage.id).first()).toContainText("ok");
    await audit.screenshot(testInfo, "audit");
  });

  test("replay a malformed order's dead letter: it fails again and links to its new dead letter", async ({ page, request }, testInfo) => {
    const malformed = await findNewDeadLetter(request, "MalformedOrderError");
    const detail = await new DeadLetterDetailPage(page, malformed.id).open();
    await detail.replay(malformed.originTopic!);
    await expect(detail.firstReplay).toContainText("failed again", { timeout: 60_000 });
    const link = detail.firstReplay.getByRole("link", { name: /new dead letter #\d+/ });
    await expect(link).toBeVisible();
    await detail.screenshot(testInfo, "malformed-failed-again");

    await link.click();
    await expect(page.getByText("This dead letter is a replay that failed again")).toBeVisible();
    await expect(page.getByRole("link", { name: `dead letter #${malformed.id}` })).toBeVisible();
    await detail.screenshot(testInfo, "new-dead-letter");

    const audit = await new AuditPage(page).open();
    await expect(audit.entriesFor(malformed.id).first()).toContainText("admin");
    await expect(audit.entriesFor(malformed.id).first()).toContainText("replay");
  });

  test("bulk: select two dead letters, dry run lists them, the replay shows its progress and is audited", async ({ page, request }, testInfo) => {
    await findNewDeadLetter(request, "GatewayUnavailableError");
    const inbox = new DeadLetterInbox(page);
    await page.goto("/dead-letters?status=new&error=GatewayUnavailableError");
    const boxes = inbox.list.getByRole("checkbox", { name: /Select dead letter \d+/ });
    await expect(boxes.first()).toBeVisible();
    const ids: string[] = [];
    for (const box of [boxes.nth(0), boxes.nth(1)]) {
      ids.push(((await box.getAttribute("aria-label")) ?? "").replace("Select dead letter ", ""));
      await box.check();
    }
    await page.getByRole("button", { name: "Replay selected (2)" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Dry run" }).click();
    const planned = dialog.getByRole("table", { name: "What would be sent" });
    await expect(planned.getByRole("row").filter({ hasText: "would-send" })).toHaveCount(2);
    await expect(dialog.getByText("Dry run, nothing sent.")).toBeVisible();
    for (const id of ids) expect(((await (await request.get(`/api/dead-letters/${id}`)).json()) as { status: string }).status).toBe("new");

    await dialog.getByLabel("Messages per second").fill("2");
    await dialog.getByRole("button", { name: "Replay now" }).click();
    await expect(dialog.getByRole("status")).toContainText("2 of 2 processed");
    await expect(dialog.getByText("2 dead letter(s): 2 sent")).toBeVisible();
    await expect(dialog.getByRole("table", { name: "Replay results" }).getByRole("row").filter({ hasText: "sent" })).toHaveCount(2);
    await inbox.screenshot(testInfo, "bulk-replay");
    for (const id of ids) expect(((await (await request.get(`/api/dead-letters/${id}`)).json()) as { status: string }).status).toBe("replayed");

    const audit = await new AuditPage(page).open();
    await expect(audit.table.getByRole("row").filter({ hasText: "replay-bulk" }).first()).toContainText("2 sent");
    for (const id of ids) await expect(audit.entriesFor(id).first()).toContainText("replay");
  });

  test("a hostile payload in a dead letter is shown as text, never run", async ({ page, request }, testInfo) => {
    const hostile = "<img src=x onerror=alert(1)>";
    const marker = `hostile-${randomBytes(4).toString("hex")}`;
    const kafka = new Kafka({ clientId: "eventscope-e2e", brokers: stack.kafkaBrokers.split(","), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: "payment-service-dlq",
        messages: [
          {
            key: marker,
            value: hostile,
            headers: {
              "x-original-topic": "inventory",
              "x-original-partition": "0",
              "x-original-offset": "0",
              "x-error": `${marker} ${hostile}`,
              "x-error-class": "HostileTestError",
              "x-attempts": "1",
              "x-note": hostile,
            },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    let id: string | undefined;
    await expect
      .poll(
        async () => {
          const response = await request.get(`/api/dead-letters?error=${marker}`);
          const { deadLetters } = (await response.json()) as { deadLetters: { id: string }[] };
          id = deadLetters[0]?.id;
          return id !== undefined;
        },
        { message: "the hostile dead letter collected", timeout: 60_000, intervals: [500] },
      )
      .toBe(true);

    const alerts: string[] = [];
    page.on("dialog", (dialog) => {
      alerts.push(dialog.message());
      void dialog.dismiss();
    });
    const detail = await new DeadLetterDetailPage(page, id!).open();
    await expect(detail.value).toHaveText(hostile);
    await expect(page.getByRole("cell", { name: hostile, exact: true })).toBeVisible();
    await expect(page.getByText(`${marker} ${hostile}`).first()).toBeVisible();
    await expect(page.locator('img[src="x"]')).toHaveCount(0);

    const inbox = new DeadLetterInbox(page);
    await page.goto(`/dead-letters?error=${marker}`);
    await expect(inbox.list.getByText(`${marker} ${hostile}`)).toBeVisible();
    await expect(page.locator('img[src="x"]')).toHaveCount(0);
    await detail.screenshot(testInfo, "hostile-payload");
    expect(alerts).toEqual([]);
  });
});
