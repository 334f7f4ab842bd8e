import { z } from "zod";
import { derivedEventId, TOPICS, type ReceivedEvent } from "./events.ts";
import { handleOnce, isRecord, orderIdOf, type DemoService, type ServiceContext } from "./service.ts";
import type { Tx } from "./state.ts";

const NAME = "inventory-service";

/** The limited SKU is restocked this often (milliseconds). */
const RESTOCK_EVERY_MS = 120_000;

const orderItemsSchema = z
  .array(z.object({ sku: z.string().min(1), quantity: z.number().int().positive() }).loose())
  .min(1);

/**
 * Reserves stock for OrderPlaced (InventoryReserved, or InventoryFailed when a SKU runs short) and
 * compensates: PaymentFailed or ShippingFailed releases the reservation (InventoryReleased).
 */
export function inventoryService(context: ServiceContext): DemoService {
  const { state } = context;
  let restockTimer: NodeJS.Timeout | undefined;

  const reserve = (event: ReceivedEvent) =>
    handleOnce(context, NAME, event, async (tx, send) => {
      const orderId = orderIdOf(event);
      if (!orderId || !isRecord(event.data)) return;
      const order = event.data;
      const reply = (type: "InventoryReserved" | "InventoryFailed", data: Record<string, unknown>) =>
        send(TOPICS.inventory, { source: NAME, type, orderId, id: derivedEventId(NAME, event.id, type), data: { orderId, ...data } });

      const items = orderItemsSchema.safeParse(order.items);
      if (!items.success) return reply("InventoryFailed", { reason: "the order has no valid items" });

      // The reservation row first: a compensation for this order that arrives while this
      // transaction is still open waits on its key instead of missing it.
      const reservationId = derivedEventId(NAME, orderId, "InventoryReserved");
      const claimed = await tx.query(
        `INSERT INTO demo.reservations (order_id, reservation_id, items, status) VALUES ($1, $2, $3, 'reserved')
         ON CONFLICT (order_id) DO NOTHING`,
        [orderId, reservationId, JSON.stringify(items.data)],
      );
      if (claimed.rowCount === 0) return; // already reserved or released under another event id

      // Stock rows locked in a fixed order, so that two orders for the same SKUs cannot deadlock.
      const wanted = new Map<string, number>();
      for (const item of items.data) wanted.set(item.sku, (wanted.get(item.sku) ?? 0) + item.quantity);
      const skus = [...wanted.keys()].sort();
      const { rows } = await tx.query<{ sku: string; available: number }>(
        `SELECT sku, available FROM demo.stock WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`,
        [skus],
      );
      const available = new Map(rows.map((row) => [row.sku, row.available]));
      const short = skus.find((sku) => (available.get(sku) ?? 0) < wanted.get(sku)!);
      if (short !== undefined) {
        await tx.query(`UPDATE demo.reservations SET status = 'failed', updated_at = now() WHERE order_id = $1`, [orderId]);
        return reply("InventoryFailed", {
          reason: `insufficient stock for ${short}: ${wanted.get(short)} wanted, ${available.get(short) ?? 0} available`,
        });
      }
      // One statement for every line (the rows are locked already, in order, by the SELECT above).
      await tx.query(
        `UPDATE demo.stock s SET available = s.available - w.quantity
           FROM unnest($1::text[], $2::int[]) AS w(sku, quantity) WHERE s.sku = w.sku`,
        [skus, skus.map((sku) => wanted.get(sku))],
      );
      // The payment details travel on, as they would in a saga without a shared database.
      reply("InventoryReserved", {
        reservationId,
        customerId: order.customerId,
        items: order.items,
        amount: order.amount,
        currency: order.currency,
        card: order.card,
      });
    });

  const release = (event: ReceivedEvent, cause: "PaymentFailed" | "ShippingFailed") =>
    handleOnce(context, NAME, event, async (tx: Tx, send) => {
      const orderId = orderIdOf(event);
      if (!orderId) return;
      const reason = isRecord(event.data) && typeof event.data.reason === "string" ? event.data.reason : cause;
      // An INSERT, not an UPDATE: if the reservation's transaction is still open, this waits for it.
      const { rows } = await tx.query<{ items: { sku: string; quantity: number }[]; reservation_id: string; released: boolean }>(
        `INSERT INTO demo.reservations (order_id, reservation_id, items, status) VALUES ($1, '', '[]', 'none')
         ON CONFLICT (order_id) DO UPDATE SET status = 'released', updated_at = now()
           WHERE demo.reservations.status = 'reserved'
         RETURNING items, reservation_id, (xmax <> 0) AS released`,
        [orderId],
      );
      const row = rows[0];
      if (!row?.released) return; // nothing reserved, or released already
      // Per SKU, in the same order as reservations lock them (no deadlock between the two).
      const returned = new Map<string, number>();
      for (const item of row.items) returned.set(item.sku, (returned.get(item.sku) ?? 0) + item.quantity);
      for (const sku of [...returned.keys()].sort()) {
        await tx.query(`UPDATE demo.stock SET available = available + $2 WHERE sku = $1`, [sku, returned.get(sku)]);
      }
      send(TOPICS.inventory, {
        source: NAME,
        type: "InventoryReleased",
        orderId,
        id: derivedEventId(NAME, event.id, "InventoryReleased"),
        data: { orderId, reservationId: row.reservation_id, cause, reason },
      });
    });

  return {
    name: NAME,
    topics: [TOPICS.orders, TOPICS.payments, TOPICS.shipping],
    concurrency: 9,
    async handle(event) {
      switch (event.type) {
        case "OrderPlaced":
          await reserve(event);
          return;
        case "PaymentFailed":
          await release(event, "PaymentFailed");
          return;
        case "ShippingFailed":
          await release(event, "ShippingFailed");
          return;
        default:
        // Not ours to act on.
      }
    },
    start() {
      restockTimer = setInterval(() => {
        state.restockLimitedSku().catch(() => {
          // The database is away; the next restock tries again.
        });
      }, RESTOCK_EVERY_MS);
    },
    async stop() {
      clearInterval(restockTimer);
    },
  };
}
