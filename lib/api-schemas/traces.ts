import { traceIdSchema } from "./events.ts";

/** `/traces/[traceId]` and `GET /api/traces/[traceId]`: a W3C trace id. */
export { traceIdSchema };

export function traceHref(traceId: string): string {
  return `/traces/${traceId}`;
}
