import Link from "next/link";
import { eventHref, eventPlace, type TimelineEvent } from "@/lib/api-schemas/events";
import { formatDuration } from "@/lib/format-duration";
import { buildWaterfall } from "@/lib/timeline";
import { ConsumptionSummary, FailureNotes } from "@/components/events/consumption-status";
import { formatTime } from "@/components/events/format";
import { OutcomeLegend, OutcomeTag } from "@/components/events/step-outcome";
import { classifyStep } from "@/lib/step-outcome";
import styles from "./trace.module.css";

/** Indentation stops growing past this many hops; the hop number still says how deep a row is. */
const MAX_INDENT = 12;

/**
 * A trace's events as a waterfall: in causal order (each event under the event its producer
 * consumed, lib/timeline.ts buildWaterfall), a mark at each event's time since the first one and a
 * bar to the first event it caused (the hop's latency).
 */
export function TraceWaterfall({ events }: { events: TimelineEvent[] }) {
  const rows = buildWaterfall(
    events.map((e) => ({ timestampMs: Date.parse(e.timestamp), producer: e.producer, consumerGroups: e.consumption.flatMap((c) => [c.groupId, ...c.clientIds]) })),
  );
  const totalMs = Math.max(1, ...rows.map((r) => r.offsetMs + (r.durationMs ?? 0)));
  const percent = (ms: number) => `${Math.min(100, (ms / totalMs) * 100)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <>
    <div className={styles.traceLegend}>
      <OutcomeLegend />
    </div>
    <div className={styles.traceTable} role="table" aria-label="Trace waterfall">
      <div className={styles.traceHead} role="row">
        <span role="columnheader">Event (hop, type, topic/partition/offset, producer)</span>
        <span role="columnheader" aria-label="Time since the first event">
          <span className={styles.traceTicks} style={{ display: "block" }}>
            {ticks.map((t) => (
              <span key={t} className={styles.traceTick} style={{ left: `${t * 100}%` }}>
                {t === 0 ? "0" : `+${formatDuration(t * totalMs)}`}
              </span>
            ))}
          </span>
        </span>
      </div>
      {rows.map((row) => {
        const e = events[row.index]!;
        const id = eventPlace(e);
        const mark = classifyStep(e);
        return (
          <div key={id} className={styles.traceRow} role="row" aria-label={`${e.eventType ?? "event"} ${id}`} data-outcome={mark.outcome}>
            <div className={styles.traceLabel} role="cell" style={{ paddingLeft: `${0.6 + Math.min(row.depth, MAX_INDENT) * 1.1}rem` }}>
              <div className={styles.traceLabelLine}>
                <span className={styles.traceHop} title="hops from the start of the flow">
                  {row.depth}
                </span>
                <span className={styles.traceType}>{e.eventType ?? "(no type)"}</span>
                <OutcomeTag mark={mark} />
                <Link className={styles.traceWhere} href={eventHref(e)}>
                  {id}
                </Link>
                <span className={styles.traceProducer}>by {e.producer ?? "unknown producer"}</span>
              </div>
              <div className={styles.traceStatus}>
                <ConsumptionSummary consumption={e.consumption} queueConsumption={e.queueConsumption} />
                <FailureNotes deadLetter={e.deadLetter} deadLetteredAs={e.deadLetteredAs} priorFailure={e.priorFailure} />
              </div>
            </div>
            <div className={styles.traceLane} role="cell" title={formatTime(e.timestamp)}>
              {row.durationMs !== null ? (
                <span
                  className={styles.traceBar}
                  style={{ left: percent(row.offsetMs), width: percent(row.durationMs) }}
                  title={`${formatDuration(row.durationMs)} until the first event it caused`}
                />
              ) : null}
              <span className={styles.traceMark} data-outcome={mark.outcome} style={{ left: percent(row.offsetMs) }} />
              <span
                className={styles.traceOffset}
                // Near the right edge the label goes to the left of its mark, inside the lane.
                style={row.offsetMs / totalMs > 0.75 ? { right: `calc(100% - ${percent(row.offsetMs)})`, paddingRight: "0.35rem", paddingLeft: 0 } : { left: percent(row.offsetMs) }}
              >
                +{row.offsetMs === 0 ? "0 ms" : formatDuration(row.offsetMs)}
              </span>
            </div>
          </div>
        );
      })}
    </div>
    </>
  );
}
