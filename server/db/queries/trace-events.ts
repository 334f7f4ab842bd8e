import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import { TIMELINE_JOINS, timelineColumns, toTimelineEvent, withConsumption, type TimelineRow } from "./entity-timeline.ts";
import type { TraceEvents } from "../../../lib/api-schemas/traces.ts";
import { maskRulesOf, runQuery, select, type Queryable } from "./shared.ts";

/** A trace is a flow, not a topic: a few hundred events at most in practice. */
export const MAX_TRACE_EVENTS = 1000;

/**
 * Every event carrying the W3C trace id (from `traceparent`, or the CloudEvents
 * `ce_traceparent` fallback), with the same per-group consumption status as a timeline. Each
 * event's parentSpanId is the producer span that sent it, for the waterfall.
 *
 * Index: events_trace_idx (trace_id, timestamp), partial WHERE trace_id IS NOT NULL (implied
 * by the equality).
 */
export async function getTraceEvents(db: Queryable, traceId: string): Promise<TraceEvents> {
  const id = traceId.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) {
    throw new ValidationError("a trace id is 32 hexadecimal characters", { field: "traceId" });
  }
  return runQuery(`reading trace ${id}`, async () => {
    const mask = maskRulesOf(db);
    const rows = await select<TimelineRow>(
      db,
      withConsumption(
        db,
        Prisma.sql`
        SELECT ${timelineColumns(mask)}
        FROM events e ${TIMELINE_JOINS}
        WHERE e.trace_id = ${id}::text
        ORDER BY e."timestamp", e.channel, e.partition, e.position, e.source_id
        LIMIT ${MAX_TRACE_EVENTS + 1}::int`,
        mask,
      ),
    );
    const events = rows.slice(0, MAX_TRACE_EVENTS).map((row) => toTimelineEvent(row, mask));
    return { traceId: id, events, truncated: rows.length > MAX_TRACE_EVENTS };
  });
}
