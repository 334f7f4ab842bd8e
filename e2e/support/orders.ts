import { expect, type APIRequestContext } from "@playwright/test";

/** The happy path of the demo's order saga, in the order it happens. */
export const SAGA_FLOW = ["OrderPlaced", "InventoryReserved", "PaymentProcessed", "OrderShipped"];

export interface TimelineEventJson {
  eventType: string | null;
  traceId: string | null;
  consumption: { groupId: string; status: string }[];
}

/**
 * The first recently shipped order whose timeline (`/api/entities/<id>`) `accept` takes, with
 * what `accept` made of it. Polls for up to a minute: the demo stack keeps producing orders, and
 * the collector and the groups need a moment to store and consume them.
 */
export async function findShippedOrder<T>(
  request: APIRequestContext,
  description: string,
  accept: (events: TimelineEventJson[], orderId: string) => T | undefined,
): Promise<T> {
  let found: T | undefined;
  await expect
    .poll(
      async () => {
        const search = await request.get("/api/events?type=OrderShipped&limit=20");
        expect(search.status()).toBe(200);
        const { events } = (await search.json()) as { events: { entityKeys: string[] }[] };
        for (const key of events.flatMap((e) => e.entityKeys.slice(0, 1))) {
          const response = await request.get(`/api/entities/${encodeURIComponent(key)}`);
          if (response.status() !== 200) continue;
          found = accept(((await response.json()) as { events: TimelineEventJson[] }).events, key);
          if (found !== undefined) return true;
        }
        return false;
      },
      { message: description, timeout: 60_000, intervals: [1_000] },
    )
    .toBe(true);
  return found!;
}
