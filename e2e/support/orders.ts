import { expect, type APIRequestContext } from "@playwright/test";

/** The happy path of the demo's order saga, in the order it happens. */
export const SAGA_FLOW = ["OrderPlaced", "InventoryReserved", "PaymentProcessed", "OrderShipped"];

export interface TimelineEventJson {
  eventType: string | null;
  traceId: string | null;
  consumption: { groupId: string; status: string }[];
}

/**
 * The first order among the entities of the events `/api/events?<search>` finds whose timeline
 * (`/api/entities/<id>`) `accept` takes, with what `accept` made of it. Polls for up to
 * `timeoutMs`: the demo stack keeps producing orders, and the collector and the groups need a
 * moment to store and consume them.
 */
export async function findOrder<T>(
  request: APIRequestContext,
  search: string,
  description: string,
  accept: (events: TimelineEventJson[], orderId: string) => T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  let found: T | undefined;
  await expect
    .poll(
      async () => {
        const response = await request.get(`/api/events?${search}`);
        expect(response.status()).toBe(200);
        const { events } = (await response.json()) as { events: { entityKeys: string[] }[] };
        for (const key of events.flatMap((e) => e.entityKeys.slice(0, 1))) {
          const timeline = await request.get(`/api/entities/${encodeURIComponent(key)}`);
          if (timeline.status() !== 200) continue;
          found = accept(((await timeline.json()) as { events: TimelineEventJson[] }).events, key);
          if (found !== undefined) return true;
        }
        return false;
      },
      { message: description, timeout: timeoutMs, intervals: [1_000] },
    )
    .toBe(true);
  return found!;
}

/** The first recently shipped order whose timeline `accept` takes (findOrder). */
export function findShippedOrder<T>(
  request: APIRequestContext,
  description: string,
  accept: (events: TimelineEventJson[], orderId: string) => T | undefined,
): Promise<T> {
  return findOrder(request, "type=OrderShipped&limit=20", description, accept);
}

/** An order whose timeline has every one of `types` (findOrder over the events `search` finds). */
export function findOrderWithTypes(request: APIRequestContext, search: string, types: readonly string[], description: string): Promise<string> {
  return findOrder(
    request,
    search,
    description,
    (events, orderId) => {
      const seen = new Set(events.map((event) => event.eventType));
      return types.every((type) => seen.has(type)) ? orderId : undefined;
    },
    90_000,
  );
}
