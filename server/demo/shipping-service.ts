import { randomBytes } from "node:crypto";
import { derivedEventId, TOPICS } from "./events.ts";
import { handleOnce, orderIdOf, type DemoService, type ServiceContext } from "./service.ts";

const NAME = "shipping-service";
const CARRIERS = ["DHL", "UPS", "GLS", "DPD"];

/** Ships paid orders: OrderShipped, or ShippingFailed at `--shipping-failure-rate`. */
export function shippingService(context: ServiceContext): DemoService {
  const { options } = context;
  return {
    name: NAME,
    topics: [TOPICS.payments],
    concurrency: 3,
    async handle(event) {
      const orderId = orderIdOf(event);
      if (event.type !== "PaymentProcessed" || !orderId) return; // refunds and failures are not shipped
      await handleOnce(context, NAME, event, async (tx, send) => {
        const shipmentId = derivedEventId(NAME, orderId, "OrderShipped");
        const failed = context.random() < options.shippingFailureRate;
        const inserted = await tx.query(
          `INSERT INTO demo.shipments (order_id, shipment_id, status) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING`,
          [orderId, shipmentId, failed ? "failed" : "shipped"],
        );
        if (inserted.rowCount === 0) return;
        if (failed) {
          send(TOPICS.shipping, {
            source: NAME,
            type: "ShippingFailed",
            orderId,
            id: derivedEventId(NAME, event.id, "ShippingFailed"),
            data: { orderId, shipmentId, reason: "the carrier could not verify the delivery address" },
          });
        } else {
          const carrier = CARRIERS[Math.floor(context.random() * CARRIERS.length)]!;
          send(TOPICS.shipping, {
            source: NAME,
            type: "OrderShipped",
            orderId,
            id: derivedEventId(NAME, event.id, "OrderShipped"),
            data: { orderId, shipmentId, carrier, trackingNumber: `${carrier}-${randomBytes(5).toString("hex").toUpperCase()}` },
          });
        }
      });
    },
  };
}
