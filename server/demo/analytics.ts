import { TOPICS } from "./events.ts";
import { handleOnce, type DemoService, type ServiceContext } from "./service.ts";

const NAME = "analytics";

/**
 * Counts every event by type, deliberately slowly (`--analytics-delay-ms` per message, one
 * partition at a time): the consumer that falls behind, so that lag has something to show.
 */
export function analyticsService(context: ServiceContext): DemoService {
  const { options } = context;
  return {
    name: NAME,
    topics: [TOPICS.orders, TOPICS.inventory, TOPICS.payments, TOPICS.shipping, TOPICS.notifications],
    concurrency: 1,
    async handle(event) {
      if (options.analyticsDelayMs > 0) await context.sleep(options.analyticsDelayMs);
      await handleOnce(context, NAME, event, async (tx) => {
        await tx.query(
          `INSERT INTO demo.analytics_counts (event_type, events) VALUES ($1, 1)
           ON CONFLICT (event_type) DO UPDATE SET events = demo.analytics_counts.events + 1`,
          [event.type ?? "(untyped)"],
        );
      });
    },
  };
}
