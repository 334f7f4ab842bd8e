import { randomBytes, randomUUID } from "node:crypto";
import { derivedEventId, TOPICS, type EventType, type ReceivedEvent } from "./events.ts";
import { rekeyedKey } from "./failures.ts";
import { emit, handleOnce, isRecord, orderIdOf, type DemoService, type ServiceContext } from "./service.ts";
import { LIMITED_SKU, SKUS, type Tx } from "./state.ts";

const NAME = "order-service";

/** Unit prices in EUR. */
const PRICES: Record<string, number> = {
  "sku-espresso-beans": 14.9,
  "sku-grinder": 189,
  "sku-milk-jug": 19.5,
  "sku-tamper": 34,
  "sku-scale": 49.99,
  "sku-filter-papers": 4.2,
  "sku-kettle": 79,
  [LIMITED_SKU]: 249,
};

/** Share of orders that ask for the limited SKU (it runs out between restocks: InventoryFailed). */
const LIMITED_SHARE = 0.08;

export function newOrderId(): string {
  return `ord-${randomBytes(5).toString("hex")}`;
}

/** A new order's value. A malformed one carries the card number as a bare string (a client bug). */
export function makeOrder(orderId: string, random: () => number, malformed: boolean) {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const lines = 1 + Math.floor(random() * 3);
  const items = Array.from({ length: lines }, () => {
    const sku = random() < LIMITED_SHARE ? LIMITED_SKU : pick(SKUS);
    return { sku, quantity: 1 + Math.floor(random() * 2), unitPrice: PRICES[sku]! };
  });
  const amount = Math.round(items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0) * 100) / 100;
  const last4 = pick(["4242", "1881", "0005", "5100", "3782"]);
  return {
    orderId,
    customerId: `cust-${1000 + Math.floor(random() * 9000)}`,
    items,
    amount,
    currency: "EUR",
    card: malformed ? `4242 4242 4242 ${last4}` : { token: `tok_${randomBytes(6).toString("hex")}`, last4 },
    placedAt: new Date().toISOString(),
  };
}

/**
 * Places orders at `--rate` per second (each OrderPlaced is the root of its own trace) and turns
 * the saga's outcomes into OrderConfirmed / OrderCancelled on `orders`.
 */
export function orderService(context: ServiceContext): DemoService {
  const { state, options } = context;
  let timer: NodeJS.Timeout | undefined;
  let placed = 0;
  let startedAt = 0;
  let inFlight = new Set<Promise<void>>();
  let failures = 0;

  const placeOrder = async () => {
    const orderId = newOrderId();
    const order = makeOrder(orderId, context.random, context.random() < options.malformedRate);
    await state.pool.query(`INSERT INTO demo.orders (order_id, status, amount) VALUES ($1, 'placed', $2)`, [orderId, order.amount]);
    await emit(context, TOPICS.orders, { source: NAME, type: "OrderPlaced", orderId, id: randomUUID(), data: order });
  };

  const tick = () => {
    // Orders due since start at the configured rate: steady on average, whatever the timer's jitter.
    const due = Math.floor(((Date.now() - startedAt) / 1_000) * options.ordersPerSecond);
    // At most a few hundred in flight: a broker that is away must not pile up unbounded sends.
    while (placed < due && inFlight.size < 500 && !context.stopping) {
      placed += 1;
      const sending = placeOrder().then(
        () => {
          failures = 0;
        },
        (error: unknown) => {
          // Logged once per run of failures, not per order.
          if (failures++ === 0) context.log(`order-service: placing orders fails: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    }
    if (placed < due && inFlight.size >= 500) placed = due; // skip what cannot be sent rather than burst later
  };

  /**
   * Outcomes arrive on different topics and may overtake each other (OrderShipped before
   * PaymentProcessed): a status only moves forward, and a cancellation is final.
   */
  const setStatus = async (orderId: string, status: "confirmed" | "shipped" | "cancelled", reason: string | null, tx: Tx) => {
    const from = { confirmed: ["placed"], shipped: ["placed", "confirmed"], cancelled: ["placed", "confirmed", "shipped"] }[status];
    await tx.query(`UPDATE demo.orders SET status = $2, reason = $3, updated_at = now() WHERE order_id = $1 AND status = ANY($4)`, [
      orderId,
      status,
      reason,
      from,
    ]);
  };

  const outcome = async (event: ReceivedEvent, type: EventType, reason: string | null) => {
    const orderId = orderIdOf(event);
    if (!orderId) return;
    await handleOnce(context, NAME, event, async (tx, send) => {
      await setStatus(orderId, type === "OrderConfirmed" ? "confirmed" : "cancelled", reason, tx);
      // At --rekey-rate the outcome is keyed by something else than the order id: it may land on
      // another partition of `orders` than the order's OrderPlaced, and Kafka no longer orders
      // the two. The value's orderId stays the order's.
      const rekeyed = options.rekeyRate > 0 && context.random() < options.rekeyRate;
      send(TOPICS.orders, {
        source: NAME,
        type,
        orderId,
        key: rekeyed ? rekeyedKey(orderId, type) : orderId,
        id: derivedEventId(NAME, event.id, type),
        data: reason === null ? { orderId } : { orderId, reason },
      });
    });
  };

  return {
    name: NAME,
    topics: [TOPICS.inventory, TOPICS.payments, TOPICS.shipping],
    // Its consumer stalls on the `--stall-every` schedule (run-services.ts): orders paid meanwhile
    // wait for their confirmation, stuck, until it resumes and catches up.
    stalls: true,
    concurrency: 9,
    async handle(event) {
      const data = isRecord(event.data) ? event.data : {};
      switch (event.type) {
        case "InventoryFailed":
          return outcome(event, "OrderCancelled", typeof data.reason === "string" ? data.reason : "out of stock");
        case "InventoryReleased":
          return outcome(event, "OrderCancelled", typeof data.cause === "string" ? `${data.cause}: ${String(data.reason ?? "")}` : "cancelled");
        case "PaymentProcessed":
          return outcome(event, "OrderConfirmed", null);
        case "OrderShipped": {
          const orderId = orderIdOf(event);
          await handleOnce(context, NAME, event, async (tx) => {
            if (orderId) await setStatus(orderId, "shipped", null, tx);
          });
          return;
        }
        default:
        // Not ours to act on (no side effect, so nothing to record either).
      }
    },
    start() {
      startedAt = Date.now();
      tick();
      timer = setInterval(tick, Math.max(10, Math.min(200, 1_000 / options.ordersPerSecond)));
    },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
      inFlight = new Set();
    },
  };
}
