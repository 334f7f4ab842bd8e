import { z } from "zod";
import { timelineEventSchema, traceIdSchema } from "./events.ts";

/** `/traces/[traceId]` and `GET /api/traces/[traceId]`: a W3C trace id. */
export { traceIdSchema };

export function traceHref(traceId: string): string {
  return `/traces/${traceId}`;
}

/** Every event carrying a trace id (`GET /api/traces/[traceId]`). */
export const traceEventsSchema = z.object({
  traceId: z.string(),
  /** In time order (then topic, partition, offset): the order the flow happened in. */
  events: z.array(timelineEventSchema),
  /** More events carry the trace than one answer holds; the first ones are returned. */
  truncated: z.boolean(),
});

export type TraceEvents = z.infer<typeof traceEventsSchema>;
