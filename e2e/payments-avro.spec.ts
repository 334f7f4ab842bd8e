import { expect, test, type APIRequestContext } from "@playwright/test";
import { EventscopePage } from "./support/page-object.ts";

/**
 * The demo's payments are Avro in the Schema Registry wire format, and the global set-up has the
 * services roll out a compatible schema change 8 s after they start: the first payments carry
 * the first schema's id, later ones the new version's, and Eventscope shows both decoded. (A
 * stack reused through E2E_BASE_URL must have run past its --schema-change-after.)
 */

interface EventAddress {
  topic: string;
  partition: number;
  offset: string;
}

interface EventDetailJson extends EventAddress {
  eventType: string | null;
  entityKeys: string[];
  schemaId: number | null;
  flags: string[];
  value: { kind: string; json?: Record<string, unknown> };
}

class EventPage extends EventscopePage {
  constructor(
    page: EventscopePage["page"],
    readonly address: EventAddress,
  ) {
    super(page);
  }

  get path(): string {
    return `/events/${encodeURIComponent(this.address.topic)}/${this.address.partition}/${this.address.offset}`;
  }
}

async function getJson<T>(request: APIRequestContext, url: string): Promise<T> {
  const response = await request.get(url);
  expect(response.status(), `${url}: ${await response.text()}`).toBe(200);
  return (await response.json()) as T;
}

const detailOf = (request: APIRequestContext, e: EventAddress) =>
  getJson<EventDetailJson>(request, `/api/events/${encodeURIComponent(e.topic)}/${e.partition}/${e.offset}`);

/** Avro payments only: a stack reused through E2E_BASE_URL may hold JSON ones from older runs. */
const SEARCH = `/api/events?topic=payments&type=PaymentProcessed&header=${encodeURIComponent("content-type=application/avro")}&limit=500`;

test.describe("Avro payments and their schema change", () => {
  test("the newest payment is decoded with the changed schema, the first one with the schema before", async ({ page, request }, testInfo) => {
    // Newest first: the last page's last event is the first payment of the run.
    let body = await getJson<{ events: EventAddress[]; nextCursor: string | null }>(request, SEARCH);
    const newest = body.events[0];
    expect(newest, "a PaymentProcessed event").toBeDefined();
    let oldest = body.events.at(-1)!;
    while (body.nextCursor) {
      body = await getJson(request, `${SEARCH}&cursor=${encodeURIComponent(body.nextCursor)}`);
      oldest = body.events.at(-1) ?? oldest;
    }

    const [before, after] = [await detailOf(request, oldest), await detailOf(request, newest!)];
    for (const detail of [before, after]) {
      expect(detail).toMatchObject({ eventType: "PaymentProcessed", flags: [], value: { kind: "json" } });
      expect(detail.schemaId).toEqual(expect.any(Number));
      expect(detail.entityKeys).toEqual([detail.value.json!.orderId]);
    }
    expect(after.schemaId).not.toBe(before.schemaId);
    expect(before.value.json).not.toHaveProperty("cardLast4");
    expect(after.value.json).toMatchObject({ status: "CAPTURED", cardLast4: expect.stringMatching(/^\d{4}$/) });

    // What a user sees on the event's page: the schema id it was read with, the decoded value.
    const eventPage = await new EventPage(page, newest!).open();
    await expect(eventPage.heading).toHaveText("PaymentProcessed");
    await expect(page.getByText(`Schema Registry id ${after.schemaId}, payments-value version 2 (the value shown is its decoded reading)`)).toBeVisible();
    await expect(page.getByText(/"cardLast4": "\d{4}"/)).toBeVisible();
    await expect(page.getByText(/"status": "CAPTURED"/)).toBeVisible();
    await eventPage.screenshot(testInfo, "payment-avro");
  });
});
