import { expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { EventscopePage } from "./page-object.ts";

export interface DeadLetterJson {
  id: string;
  errorClass: string | null;
  errorMessage: string | null;
  originTopic: string | null;
  status: string;
  replayId: string | null;
}

/**
 * A dead letter the demo wrote that nobody touched yet: status new, not itself a failed replay,
 * of the given error class. Polls: the demo keeps failing orders.
 */
export async function findNewDeadLetter(request: APIRequestContext, errorClass: string, exclude: string[] = []): Promise<DeadLetterJson> {
  let found: DeadLetterJson | undefined;
  await expect
    .poll(
      async () => {
        const response = await request.get(`/api/dead-letters?status=new&error=${encodeURIComponent(errorClass)}&limit=100`);
        expect(response.status()).toBe(200);
        const { deadLetters } = (await response.json()) as { deadLetters: DeadLetterJson[] };
        found = deadLetters.find((d) => d.errorClass === errorClass && d.replayId === null && d.originTopic !== null && !exclude.includes(d.id));
        return found !== undefined;
      },
      { message: `a new ${errorClass} dead letter`, timeout: 120_000, intervals: [1_000] },
    )
    .toBe(true);
  return found!;
}

/** /dead-letters: the inbox. */
export class DeadLetterInbox extends EventscopePage {
  readonly path = "/dead-letters";

  get groups(): Locator {
    return this.page.getByRole("table", { name: "Dead-letter groups" });
  }

  get list(): Locator {
    return this.page.getByRole("list", { name: "Dead letters" });
  }

  get notice(): Locator {
    return this.page.getByRole("note");
  }
}

/** /dead-letters/{id}: one dead letter, its replays and the replay controls. */
export class DeadLetterDetailPage extends EventscopePage {
  readonly path: string;

  constructor(
    page: Page,
    readonly id: string,
  ) {
    super(page);
    this.path = `/dead-letters/${id}`;
  }

  get replayButton(): Locator {
    return this.page.getByRole("button", { name: "Replay", exact: true });
  }

  get dialog(): Locator {
    return this.page.getByRole("dialog");
  }

  get replays(): Locator {
    return this.page.getByRole("table", { name: "Replays" });
  }

  /** The first replay's row. */
  get firstReplay(): Locator {
    return this.replays.getByRole("row").nth(1);
  }

  get value(): Locator {
    return this.page.getByRole("region", { name: "Value" }).getByLabel("Value", { exact: true });
  }

  /** One click, then the confirmation that names the target topic. */
  async replay(expectedTopic: string): Promise<void> {
    await this.replayButton.click();
    await expect(this.dialog).toBeVisible();
    await expect(this.dialog).toContainText(expectedTopic);
    await this.dialog.getByRole("button", { name: `Replay to ${expectedTopic}` }).click();
    await expect(this.page.getByRole("status").filter({ hasText: `Replayed to ${expectedTopic}` })).toBeVisible();
  }
}

/** /audit. */
export class AuditPage extends EventscopePage {
  readonly path = "/audit";

  get table(): Locator {
    return this.page.getByRole("table", { name: "Audit log" });
  }

  /** The entries about one dead letter. */
  entriesFor(deadLetterId: string): Locator {
    return this.table.getByRole("row").filter({ has: this.page.getByRole("link", { name: `dead letter #${deadLetterId}`, exact: true }) });
  }
}
