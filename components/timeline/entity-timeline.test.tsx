import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EntityState, EntityTimeline } from "@/lib/api-schemas/entities";
import type { EventDetail, GroupConsumption, TimelineEvent } from "@/lib/api-schemas/events";
import { jsonResponse, stubFetch, type SentRequest } from "@/components/test-support";
import { EntityTimelineView } from "./entity-timeline";

const ORDER = "ord-7";

function group(groupId: string, status: GroupConsumption["status"], lag: string | null = null): GroupConsumption {
  return { groupId, state: "Stable", status, committedOffset: status === "consumed" ? "9" : "0", lag, clientIds: [] };
}

function event(topic: string, offset: number, second: number, eventType: string, consumption: GroupConsumption[]): TimelineEvent {
  return {
    source: "default", topic, partition: 0, offset: String(offset), timestamp: `2026-11-23T08:00:${String(second).padStart(2, "0")}.000Z`,
    key: ORDER, keyBase64: null, valueKind: "json", valuePreview: "{}", headers: [], size: 10, eventType, producer: "order-service",
    entityKeys: [ORDER], traceId: null, parentSpanId: null, flags: [], priorFailure: null, deliveryFingerprint: null,
    topicKind: "normal", deadLetter: null, deadLetteredAs: [], consumption: [...consumption],
    queueConsumption: null,
  };
}

const placed = event("orders", 0, 10, "OrderPlaced", [group("inventory", "behind", "1")]);
const paid = event("payments", 3, 20, "PaymentProcessed", [group("shipping", "behind", "4")]);
const timeline = (events: TimelineEvent[], nextCursor: string | null = null): EntityTimeline => ({ entityKey: ORDER, flows: [], events, nextCursor });

function detail(of: TimelineEvent): EventDetail {
  return { ...of, value: { kind: "json", json: { orderId: ORDER, amount: 42 } }, valueBytesBase64: null, ingestedAt: of.timestamp, schemaId: null, schemaSubject: null, schemaVersion: null };
}

/** Answers the timeline's live requests with `current()`, and an event's detail when a row opens. */
function serve(current: () => Response): SentRequest[] {
  return stubFetch((request) => {
    if (request.url.startsWith(`/api/entities/${ORDER}?at=`)) return jsonResponse(stateAt(decodeURIComponent(request.url.split("at=")[1]!)));
    if (request.url.startsWith(`/api/entities/${ORDER}`)) return current();
    const opened = [placed, paid].find((e) => request.url === `/api/events/${e.topic}/${e.partition}/${e.offset}`);
    return opened ? jsonResponse(detail(opened)) : jsonResponse({ message: "not found" }, 404);
  });
}

/** The state the API folds: the order placed, then paid (a hand-written answer per time). */
function stateAt(at: string): EntityState {
  const paidYet = at >= paid.timestamp;
  return {
    entityKey: ORDER,
    at,
    state: paidYet ? { orderId: ORDER, status: "paid", payment: "pay-1" } : { orderId: ORDER, status: "placed" },
    basedOn: [],
  };
}

function show(initial: EntityTimeline, selectedEvent: string | null = null) {
  render(<EntityTimelineView entityKey={ORDER} initial={initial} traceUrlTemplate={null} selectedEvent={selectedEvent} live />);
}

/** One live round: the 5 s timer fires and the answer has been taken in. */
async function nextRound() {
  await act(async () => {
    vi.advanceTimersByTime(5_000);
  });
}

const rows = () => within(screen.getByRole("list", { name: `Events of ${ORDER}` })).getAllByRole("listitem").filter((item) => item.dataset.index !== undefined);
const row = (name: string) => screen.getByRole("listitem", { name });
/** The lane chart's dots that show as selected. */
const selectedDots = () => within(screen.getByRole("group", { name: "Timeline lanes" })).queryAllByRole("button", { pressed: true }).map((dot) => dot.getAttribute("aria-label"));

beforeEach(() => {
  // Only the live timer is the test's to move; promises and Testing Library's polling run as usual.
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
  // jsdom lays nothing out: the event list gets the size a browser window would give it, so
  // that the virtualized list shows its rows.
  vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(900);
  vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(1200);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("EntityTimelineView, live", () => {
  it("takes in a new event and changed statuses, keeping what is open and the selection on its event", async () => {
    const user = userEvent.setup();
    const late = event("inventory", 1, 5, "InventoryChecked", [group("analytics", "consumed")]);
    const shipped = event("shipments", 2, 30, "OrderShipped", []);
    let answer = timeline([placed, paid]);
    const requests = serve(() => jsonResponse(answer));
    show(timeline([placed, paid]), "payments/0/3");

    expect(screen.getByText("2 events", { exact: false })).toBeTruthy();
    await user.click(within(row("OrderPlaced orders/0/0")).getByRole("button", { name: "Show headers and value of orders/0/0" }));
    expect(await within(row("OrderPlaced orders/0/0")).findByText(/"amount": 42/)).toBeTruthy();
    await user.click(screen.getByRole("button", { name: /^PaymentProcessed on payments\/0\/3/ }));

    // An event that happened earlier arrives late, one is new, and inventory has caught up.
    answer = timeline([late, { ...placed, consumption: [group("inventory", "consumed")] }, paid, shipped]);
    await nextRound();

    await screen.findByText("4 events", { exact: false });
    expect(rows().map((item) => item.getAttribute("aria-label"))).toEqual([
      "InventoryChecked inventory/0/1",
      "OrderPlaced orders/0/0",
      "PaymentProcessed payments/0/3",
      "OrderShipped shipments/0/2",
    ]);
    expect(within(row("OrderPlaced orders/0/0")).getByText("inventory: consumed")).toBeTruthy();
    expect(within(row("OrderPlaced orders/0/0")).getByRole("button", { name: /headers and value of orders\/0\/0/ }).getAttribute("aria-expanded")).toBe("true");
    expect(within(row("OrderPlaced orders/0/0")).getByText(/"amount": 42/)).toBeTruthy();
    expect(selectedDots()).toEqual([expect.stringMatching(/^PaymentProcessed on payments\/0\/3/)]);
    // Eventscope's own group reads every topic and says nothing about the user's system.
    expect(requests.filter((r) => r.url.startsWith("/api/entities/") && !r.url.includes("?at=")).map((r) => r.url)).toEqual([`/api/entities/${ORDER}?limit=1000`]);
  });

  it("leaves the selection empty when its event is gone", async () => {
    let answer = timeline([placed, paid]);
    serve(() => jsonResponse(answer));
    show(timeline([placed, paid]), "orders/0/0");
    expect(selectedDots()).toEqual([expect.stringMatching(/^OrderPlaced on orders\/0\/0/)]);
    // Its place in the list is taken by another event, which must not look selected.
    answer = timeline([paid]);
    await nextRound();
    await screen.findByText("1 event", { exact: false });
    expect(selectedDots()).toEqual([]);
  });

  it("says why it stopped or could not refresh", async () => {
    let answer = jsonResponse({ error: "internal", message: "internal error (reference 7f3a)" }, 500);
    serve(() => answer);
    show(timeline([placed, paid]));
    await nextRound();
    expect(await screen.findByText("(could not refresh: internal error (reference 7f3a))")).toBeTruthy();

    answer = jsonResponse(timeline([placed, paid], "more"));
    await nextRound();
    expect(await screen.findByText("(off: more than 1,000 events; reload to see new ones)")).toBeTruthy();
    expect(screen.getByRole("checkbox", { name: "Live" })).toHaveProperty("disabled", true);
  });

  it("does not ask again while more events are below, nor when switched off", async () => {
    const requests = serve(() => jsonResponse(timeline([placed, paid])));
    show(timeline([placed], "cursor-2"));
    expect(screen.getByText("(paused while more events are below)")).toBeTruthy();
    await nextRound();
    expect(requests).toEqual([]);

    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Load more events" }));
    await screen.findByText("End of the timeline.");
    await user.click(screen.getByRole("checkbox", { name: "Live" }));
    await nextRound();
    expect(requests.map((r) => r.url)).toEqual([`/api/entities/${ORDER}?cursor=cursor-2`]);
  });
});

describe("EntityTimelineView, failures and compensations", () => {
  it("marks the failed step and the compensations in the list and the lanes, in words, with a legend", () => {
    serve(() => jsonResponse(timeline([])));
    const failed = event("payments", 4, 21, "PaymentFailed", []);
    const released = event("inventory", 5, 22, "InventoryReleased", []);
    const cancelled = event("orders", 6, 23, "OrderCancelled", []);
    const retried = { ...event("payment-service-retry", 7, 24, "InventoryReserved", []), priorFailure: { attempts: 1 } as TimelineEvent["priorFailure"] };
    show(timeline([placed, failed, released, cancelled, retried]));

    expect(within(row("PaymentFailed payments/0/4")).getByText("failure")).toBeTruthy();
    expect(within(row("InventoryReleased inventory/0/5")).getByText("compensation")).toBeTruthy();
    expect(within(row("OrderCancelled orders/0/6")).getByText("compensation")).toBeTruthy();
    expect(within(row("InventoryReserved payment-service-retry/0/7")).getByText("failure: failure headers (a retry)")).toBeTruthy();
    expect(within(row("OrderPlaced orders/0/0")).queryByText(/failure|compensation/)).toBeNull();

    const lanes = within(screen.getByRole("group", { name: "Timeline lanes" }));
    expect(lanes.getByRole("button", { name: /^PaymentFailed on payments\/0\/4 at .*, failure \(failed step\)$/ })).toBeTruthy();
    expect(lanes.getByRole("button", { name: /^OrderCancelled on orders\/0\/6 at .*, compensation \(compensation\)$/ })).toBeTruthy();
    expect(lanes.getByRole("button", { name: /^OrderPlaced on orders\/0\/0 at [\d:.]+$/ })).toBeTruthy();
    expect(lanes.getByRole("list", { name: "Legend" }).textContent).toMatch(/step.*failure.*compensation/);
  });
});

describe("EntityTimelineView, the compensation chain", () => {
  it("names on the failure what compensated it, and on each compensation the failure it answers", () => {
    const failed = event("payments", 30, 21, "PaymentFailed", []);
    const released = event("inventory", 31, 23, "InventoryReleased", []);
    const cancelled = event("orders", 32, 24, "OrderCancelled", []);
    show(timeline([placed, failed, released, cancelled]));
    expect(within(row("PaymentFailed payments/0/30")).getByText("compensated by InventoryReleased, OrderCancelled")).toBeTruthy();
    expect(within(row("InventoryReleased inventory/0/31")).getByText("answers PaymentFailed (2 s earlier)")).toBeTruthy();
    expect(within(row("OrderCancelled orders/0/32")).getByText("answers PaymentFailed (3 s earlier)")).toBeTruthy();
    expect(within(row("OrderPlaced orders/0/0")).queryByText(/answers|compensated by/)).toBeNull();
  });

  it("draws no chain for a cancellation without a failure before it", () => {
    show(timeline([placed, event("orders", 32, 24, "OrderCancelled", [])]));
    expect(screen.queryByText(/answers|compensated by/)).toBeNull();
  });
});

describe("EntityTimelineView, state after each event", () => {
  it("shows, in an opened event, the fields it changed and the whole state after it", async () => {
    serve(() => jsonResponse(timeline([placed, paid])));
    show(timeline([placed, paid]));
    const user = userEvent.setup();
    const paidRow = () => row(`PaymentProcessed ${paid.topic}/0/${paid.offset}`);
    await user.click(within(paidRow()).getByRole("button", { name: /^Show headers and value of/ }));
    const state = await within(paidRow()).findByRole("region", { name: "State after this event" });
    expect(within(state).getAllByRole("listitem").map((li) => li.textContent)).toEqual(['+ payment: "pay-1"', '~ status: "placed" → "paid"']);
    expect(within(state).getByText(/Whole state/).textContent).toBe("Whole state (0 events folded)");
  });
});

describe("EntityTimelineView, delivery marks", () => {
  it("marks a message delivered twice, and an order's event that landed on another partition", () => {
    // The fingerprints ingest took: positive ones come from the message id.
    const withId = (e: TimelineEvent, deliveryFingerprint: number): TimelineEvent => ({ ...e, deliveryFingerprint });
    const first = withId(event("payments", 20, 20, "PaymentProcessed", []), 101);
    const again = withId(event("payments", 21, 21, "PaymentProcessed", []), 101);
    const moved: TimelineEvent = { ...withId(event("orders", 5, 22, "OrderConfirmed", []), 102), partition: 2 };
    show(timeline([withId(placed, 100), first, again, moved]));
    expect(within(row("PaymentProcessed payments/0/21")).getByText("duplicate: payments/0/20 delivered again 1 s later (same message id)")).toBeTruthy();
    expect(within(row("OrderConfirmed orders/2/5")).getByText(/^ordering break: on partition 2 of orders, while this entity's earlier events there were on 0/)).toBeTruthy();
    expect(within(row("PaymentProcessed payments/0/20")).queryByText(/duplicate|ordering break|repeated/)).toBeNull();
  });
});

describe("EntityTimelineView, steps out of their order", () => {
  it("marks a step seen before the step its flow says always comes right before it", () => {
    const early = event("payments", 20, 11, "PaymentProcessed", []);
    const late = { ...event("inventory", 21, 13, "InventoryReserved", []), producer: "inventory-service" };
    const payment = { ...early, producer: "payment-service" };
    const flows: EntityTimeline["flows"] = [
      {
        kind: "orderId", entityKey: ORDER, outcome: "in-flight", firstAt: payment.timestamp, lastAt: late.timestamp, steps: 2,
        lastStep: { id: "x", role: "event", type: "InventoryReserved", producer: "inventory-service" }, stuck: null, onceSteps: [],
        alwaysAfter: [{ step: { type: "PaymentProcessed", producer: "payment-service" }, after: { type: "InventoryReserved", producer: "inventory-service" } }],
      },
    ];
    show({ ...timeline([payment, late]), flows });
    expect(within(row("PaymentProcessed payments/0/20")).getByText("ordering break: seen before InventoryReserved, which always comes right before it (inventory/0/21, 2 s later)")).toBeTruthy();
    expect(within(row("InventoryReserved inventory/0/21")).queryByText(/ordering break/)).toBeNull();
  });
});

describe("EntityTimelineView, RabbitMQ queues", () => {
  it("shows each queue that delivered a RabbitMQ event, none seen yet, or that bindings mode does not observe consumption", () => {
    const rabbit = (e: TimelineEvent, queueConsumption: TimelineEvent["queueConsumption"]): TimelineEvent => ({ ...e, source: "shop-rabbit", queueConsumption });
    const job = rabbit(event("email", 0, 30, "EmailRequested", []), {
      observed: true,
      queues: [
        { queue: "email.jobs", deliveries: 2, redeliveries: 1, lastAt: "2026-11-23T08:00:31.000Z" },
        { queue: "email.audit", deliveries: 1, redeliveries: 0, lastAt: "2026-11-23T08:00:30.500Z" },
      ],
    });
    const waiting = rabbit(event("email", 1, 40, "EmailRetried", []), { observed: true, queues: [] });
    const unobserved = rabbit(event("billing", 0, 50, "InvoiceRequested", []), { observed: false, queues: [] });
    show(timeline([placed, job, waiting, unobserved]));
    const queues = within(row("EmailRequested shop-rabbit:email/0/0")).getByRole("list", { name: "Queues" });
    expect(within(queues).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "email.jobs: delivered 2 times (1 redelivered)",
      "email.audit: delivered",
    ]);
    expect(within(row("EmailRetried shop-rabbit:email/0/1")).getByText("no delivery seen from any queue")).toBeTruthy();
    expect(within(row("InvoiceRequested shop-rabbit:billing/0/0")).getByText(/^consumption not observed \(bindings mode/)).toBeTruthy();
    // A Kafka event keeps its groups.
    expect(within(row("OrderPlaced orders/0/0")).getByRole("list", { name: "Consumer groups" })).toBeTruthy();
  });
});
