import { derivedEventId, TOPICS } from "./events.ts";
import { handleOnce, orderIdOf, type DemoService, type ServiceContext } from "./service.ts";

const NAME = "notification-service";

/** The customer e-mail each event type triggers; other events send nothing. */
const TEMPLATES: Record<string, string> = {
  OrderConfirmed: "order-confirmed",
  OrderCancelled: "order-cancelled",
  OrderShipped: "order-shipped",
  PaymentRefunded: "payment-refunded",
};

/** Tells the customer what happened to their order: NotificationSent on `notifications`. */
export function notificationService(context: ServiceContext): DemoService {

  return {
    name: NAME,
    topics: [TOPICS.orders, TOPICS.payments, TOPICS.shipping],
    concurrency: 9,
    async handle(event) {
      const template = event.type ? TEMPLATES[event.type] : undefined;
      const orderId = orderIdOf(event);
      if (!template || !orderId) return; // nothing to tell the customer
      const id = derivedEventId(NAME, event.id, "NotificationSent");
      const handled = await handleOnce(context, NAME, event, async (tx, send) => {
        await tx.query(`INSERT INTO demo.notifications (event_id, order_id, template) VALUES ($1, $2, $3)`, [id, orderId, template]);
        send(TOPICS.notifications, {
          source: NAME,
          type: "NotificationSent",
          orderId,
          id,
          data: { orderId, channel: "email", template, about: event.type },
        });
      });
      // With --rabbitmq the e-mail itself is a job on RabbitMQ (email.ts), published once the
      // notification is recorded.
      if (handled && context.email) await context.email.requestEmail({ orderId, template, notificationId: id });
    },
  };
}
