"use client";

import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { entityStateSchema, type EntityState, type EntityTimeline } from "@/lib/api-schemas/entities";
import { type EventDetail, eventHref, eventPlace, type TimelineEvent } from "@/lib/api-schemas/events";
import { formatDuration } from "@/lib/format-duration";
import { formatCount } from "@/lib/format-number";
import { assignLanes, buildTimeScale, gapsSincePrevious, laneKey, timelineBounds, type LaneMode } from "@/lib/timeline";
import { ConsumptionStatus, FailureNotes } from "@/components/events/consumption-status";
import { EventInspector } from "@/components/events/event-inspector";
import { TraceLinks } from "@/components/events/trace-links";
import { formatClock, formatTime } from "@/components/events/format";
import { OutcomeLegend, OutcomeTag } from "@/components/events/step-outcome";
import { classifyStep, type StepMark } from "@/lib/step-outcome";
import { readEvents, type PathReading } from "@/lib/flows";
import { diffStates } from "@/lib/entity-state";
import { deliveryMarks, type DeliveryMark } from "@/lib/delivery-marks";
import { REPLAY_OF_HEADER } from "@/lib/dead-letter-conventions";
import styles from "./timeline.module.css";

interface Props {
  entityKey: string;
  initial: EntityTimeline;
  traceUrlTemplate: string | null;
  /** Eventscope's own consumer group, left out of the statuses. */
  /** `<topic>/<partition>/<offset>` from the URL: shown selected and expanded. */
  selectedEvent: string | null;
  /** Whether the list starts at the entity's first event, so that it can be kept current. */
  live: boolean;
}

/** How often a live timeline asks for the entity's events again, and up to how many it keeps current. */
const LIVE_MS = 5_000;
const LIVE_MAX_EVENTS = 1_000;

const eventId = (e: TimelineEvent) => eventPlace(e);

/**
 * One entity's events across topics in time order: a lane chart (one lane per service or topic,
 * long idle gaps folded) over a virtualized list; a row expands to its headers and whole value.
 * Further pages are fetched from GET /api/entities/[key] with the cursor and appended.
 */
export function EntityTimelineView({ entityKey, initial, traceUrlTemplate, selectedEvent, live }: Props) {
  const [events, setEvents] = useState<TimelineEvent[]>(initial.events);
  const [nextCursor, setNextCursor] = useState<string | null>(initial.nextCursor);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [laneMode, setLaneMode] = useState<LaneMode>("service");
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set(selectedEvent ? [selectedEvent] : []));
  const [selected, setSelected] = useState<number | null>(() => {
    const index = initial.events.findIndex((e) => eventId(e) === selectedEvent);
    return index === -1 ? null : index;
  });
  const listRef = useRef<HTMLDivElement>(null);
  const [liveOn, setLiveOn] = useState(live);
  const [liveState, setLiveState] = useState<{ at: number | null; error?: string; tooMany?: boolean }>({ at: null });
  const current = useRef({ events, selected });
  useEffect(() => {
    current.current = { events, selected };
  }, [events, selected]);

  // Live: while the whole timeline is shown, ask for it again every few seconds (not while the
  // tab is hidden) and take new events and changed statuses in place. Rows are keyed by their
  // position in Kafka, so what is expanded stays expanded and the selection follows its event.
  const complete = nextCursor === null;
  useEffect(() => {
    if (!liveOn || !complete) return;
    let stopped = false;
    let lastBody = "";
    const refresh = async () => {
      if (document.hidden) return;
      try {
        const response = await fetch(`/api/entities/${encodeURIComponent(entityKey)}?limit=${LIVE_MAX_EVENTS}`, { cache: "no-store" });
        const text = await response.text();
        if (stopped) return;
        const body = JSON.parse(text) as EntityTimeline & { message?: string };
        if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
        if (body.nextCursor !== null) {
          setLiveState({ at: Date.now(), tooMany: true });
          setLiveOn(false);
          return;
        }
        if (text !== lastBody) {
          lastBody = text;
          const next = body.events;
          const { events: before, selected: selectedIndex } = current.current;
          const selectedId = selectedIndex === null ? null : before[selectedIndex] ? eventId(before[selectedIndex]) : null;
          setEvents(next);
          if (selectedId !== null) {
            const index = next.findIndex((e) => eventId(e) === selectedId);
            setSelected(index === -1 ? null : index);
          }
        }
        setLiveState({ at: Date.now() });
      } catch (error) {
        if (!stopped) setLiveState((state) => ({ at: state.at, error: error instanceof Error ? error.message : String(error) }));
      }
    };
    const timer = setInterval(() => void refresh(), LIVE_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [liveOn, complete, entityKey]);

  const times = useMemo(() => events.map((e) => Date.parse(e.timestamp)), [events]);
  const gaps = useMemo(() => gapsSincePrevious(times), [times]);
  const scale = useMemo(() => buildTimeScale(times), [times]);
  const lanes = useMemo(() => assignLanes(events, (e) => laneKey(e, laneMode)), [events, laneMode]);
  const marks = useMemo(() => events.map(classifyStep), [events]);
  // Which failure the compensations answer, and an unresolved dead letter (lib/flows.ts readPath).
  const chain = useMemo(
    () =>
      readEvents(
        events.map((e) => ({
          deadLetter: e.deadLetter !== null,
          replay: e.headers.some((header) => header.key === REPLAY_OF_HEADER),
          retry: e.priorFailure !== null,
          eventType: e.eventType,
          channel: e.topic,
          producer: e.producer,
        })),
      ),
    [events],
  );
  // Duplicates, repeated effects (of steps the entity's flows say happen once) and partition splits.
  const delivery = useMemo(() => {
    const name = (step: { type: string; producer: string | null }) => `${step.type}\u0000${step.producer ?? ""}`;
    const once = new Set(initial.flows.flatMap((flow) => flow.onceSteps.map(name)));
    const after = new Map(initial.flows.flatMap((flow) => flow.alwaysAfter.map((pair) => [name(pair.step), pair.after] as const)));
    return deliveryMarks(
      events.map((e, i) => ({
        topic: e.topic,
        partition: e.partition,
        at: times[i]!,
        eventType: e.eventType,
        producer: e.producer,
        fingerprint: e.deliveryFingerprint,
        special: e.deadLetter !== null || e.priorFailure !== null || e.headers.some((header) => header.key === REPLAY_OF_HEADER),
      })),
      (type, producer) => once.has(name({ type, producer })),
      (type, producer) => after.get(name({ type, producer })) ?? null,
    );
  }, [events, times, initial.flows]);
  const bounds = timelineBounds(times);

  const virtualizer = useVirtualizer({
    count: events.length,
    getScrollElement: () => listRef.current,
    estimateSize: () => 62,
    overscan: 10,
    // Rendered on the server too: the first rows are in the HTML before the script runs.
    initialRect: { width: 1200, height: 900 },
    getItemKey: (i) => eventId(events[i]!),
  });

  // A link from the URL opens scrolled to its event (once, on arrival).
  const arrivedAt = useRef(selected);
  useEffect(() => {
    if (arrivedAt.current !== null) virtualizer.scrollToIndex(arrivedAt.current, { align: "center" });
  }, [virtualizer]);

  const select = useCallback(
    (index: number) => {
      setSelected(index);
      rememberInUrl(eventId(events[index]!));
      virtualizer.scrollToIndex(index, { align: "center" });
    },
    [virtualizer, events],
  );

  const toggle = (id: string, index: number) => {
    setSelected(index);
    rememberInUrl(id);
    setExpanded((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  };

  async function loadMore() {
    if (!nextCursor) return;
    setLoading(true);
    setLoadError(null);
    try {
      const response = await fetch(`/api/entities/${encodeURIComponent(entityKey)}?cursor=${encodeURIComponent(nextCursor)}`);
      const body = (await response.json()) as EntityTimeline & { message?: string };
      if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
      setEvents((current) => [...current, ...body.events]);
      setNextCursor(body.nextCursor);
    } catch (error) {
      setLoadError(`Could not load more events: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setLoading(false);
    }
  }

  return (
    <div>
      <div className={styles.tlToolbar}>
        <fieldset>
          <legend>Lanes</legend>
          {(["service", "topic"] as const).map((mode) => (
            <label key={mode}>
              <input type="radio" name="lanes" value={mode} checked={laneMode === mode} onChange={() => setLaneMode(mode)} /> by {mode}
            </label>
          ))}
        </fieldset>
        <span className={styles.tlSummary}>
          {events.length} event{events.length === 1 ? "" : "s"}
          {nextCursor ? " loaded (more below)" : ""}
          {bounds ? `, ${formatTime(events[0]!.timestamp)} → ${formatTime(events.at(-1)!.timestamp)} (${formatDuration(bounds.spanMs)})` : ""}
        </span>
        {live ? (
          <span className={styles.tlSummary}>
            <label title={`Ask for this entity's events every ${LIVE_MS / 1000} s and show what changed`}>
              <input type="checkbox" checked={liveOn} onChange={(event) => setLiveOn(event.target.checked)} disabled={liveState.tooMany} /> Live
            </label>{" "}
            {liveState.tooMany
              ? `(off: more than ${formatCount(LIVE_MAX_EVENTS)} events; reload to see new ones)`
              : liveState.error
                ? `(could not refresh: ${liveState.error})`
                : liveOn && !complete
                  ? "(paused while more events are below)"
                  : liveOn && liveState.at !== null
                    ? `(checked ${new Date(liveState.at).toLocaleTimeString()})`
                    : null}
          </span>
        ) : null}
      </div>

      <div className={styles.tlChart} role="group" aria-label="Timeline lanes">
        {lanes.names.map((name, lane) => (
          <div key={name} className={styles.tlLane}>
            <span className={styles.tlLaneName} title={name}>
              {name}
            </span>
            <div className={styles.tlTrack}>
              {lane === 0
                ? scale.breaks.map((b, i) => (
                    <span key={i} className={styles.tlBreak} style={{ left: `${b.at * 100}%`, height: `${lanes.names.length * 1.5}rem` }}>
                      <span className={styles.tlBreakLabel}>{formatDuration(b.skippedMs)} later</span>
                    </span>
                  ))
                : null}
              {events.map((e, i) =>
                lanes.laneOf[i] === lane ? (
                  <button
                    key={eventId(e)}
                    type="button"
                    className={styles.tlDot}
                    data-kind={e.topicKind ?? "normal"}
                    data-outcome={marks[i]!.outcome}
                    style={{ left: `${scale.position(times[i]!) * 100}%` }}
                    aria-pressed={selected === i}
                    aria-label={`${e.eventType ?? "event"} on ${eventId(e)} at ${formatClock(e.timestamp)}${outcomeSuffix(marks[i]!)}`}
                    title={`${e.eventType ?? "(no type)"} · ${eventId(e)} · ${formatTime(e.timestamp)}${outcomeSuffix(marks[i]!)}`}
                    onClick={() => select(i)}
                  />
                ) : null,
              )}
            </div>
          </div>
        ))}
        {bounds ? (
          <div className={styles.tlAxis} aria-hidden="true">
            <span />
            <span>
              <span>{formatClock(events[0]!.timestamp)}</span>
              <span>{formatClock(events.at(-1)!.timestamp)}</span>
            </span>
          </div>
        ) : null}
        <OutcomeLegend />
      </div>

      <div ref={listRef} className={styles.tlList} role="list" aria-label={`Events of ${entityKey}`}>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative", width: "100%" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const e = events[item.index]!;
            const id = eventId(e);
            const open = expanded.has(id);
            const gap = gaps[item.index];
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                role="listitem"
                aria-label={`${e.eventType ?? "event"} ${id}`}
                className={styles.tlRow}
                data-selected={selected === item.index}
                data-outcome={marks[item.index]!.outcome}
                style={{ position: "absolute", top: 0, left: 0, width: "100%", transform: `translateY(${item.start}px)` }}
              >
                <div className={styles.tlRowMain}>
                  <button
                    type="button"
                    className={styles.tlToggle}
                    aria-expanded={open}
                    aria-label={`${open ? "Hide" : "Show"} headers and value of ${id}`}
                    onClick={() => toggle(id, item.index)}
                  >
                    {open ? "▾" : "▸"}
                  </button>
                  <span className={styles.tlTime} title={formatTime(e.timestamp)}>
                    {formatClock(e.timestamp)}
                  </span>
                  <span className={styles.tlGap}>{gap === null || gap === undefined ? "first" : `+${formatDuration(gap)}`}</span>
                  <span className={styles.tlType}>
                    <span>{e.eventType ?? "(no type)"}</span> <OutcomeTag mark={marks[item.index]!} />
                    <ChainNote chain={chain} index={item.index} events={events} />
                    <DeliveryNotes marks={delivery[item.index]!} events={events} index={item.index} />
                  </span>
                  <span className={styles.tlWhere}>
                    <Link href={eventHref(e)}>{id}</Link>
                  </span>
                  <span className={styles.tlProducer}>{e.producer ?? "unknown producer"}</span>
                  <span>{e.traceId ? <TraceLinks traceId={e.traceId} traceUrlTemplate={traceUrlTemplate} /> : null}</span>
                  <div className={styles.tlStatus}>
                    <ConsumptionStatus consumption={e.consumption} queueConsumption={e.queueConsumption} />
                    <FailureNotes deadLetter={e.deadLetter} deadLetteredAs={e.deadLetteredAs} priorFailure={e.priorFailure} />
                  </div>
                  {open ? (
                    <div className={styles.tlDetail}>
                      <ExpandedEvent event={e} />
                      <StateAfter entityKey={entityKey} at={e.timestamp} previousAt={item.index > 0 ? events[item.index - 1]!.timestamp : null} />
                    </div>
                  ) : null}
                </div>
              </div>
            );
          })}
        </div>
      </div>

      <div className={styles.tlMore}>
        {nextCursor ? (
          <button type="button" onClick={loadMore} disabled={loading}>
            {loading ? "Loading…" : "Load more events"}
          </button>
        ) : (
          <span className={styles.tlSummary}>End of the timeline.</span>
        )}
        {loadError ? <span role="alert">{loadError}</span> : null}
      </div>
    </div>
  );
}

/** The compensation chain drawn on its events: the failure names its answers, each answer its failure. */
function ChainNote({ chain, index, events }: { chain: PathReading; index: number; events: readonly TimelineEvent[] }) {
  const typeOf = (i: number) => events[i]!.eventType ?? "(no type)";
  if (chain.outcome === "dead-lettered" && chain.deadLetter === index) {
    return <span className={styles.tlChain}>not replayed: the entity is dead-lettered here</span>;
  }
  // A compensated entity's chain, and one drawn before a later dead letter decided the outcome.
  if (chain.failure === null || chain.compensations.length === 0) return null;
  if (index === chain.failure) {
    return <span className={styles.tlChain}>compensated by {chain.compensations.map(typeOf).join(", ")}</span>;
  }
  if (chain.compensations.includes(index)) {
    const earlier = Date.parse(events[index]!.timestamp) - Date.parse(events[chain.failure]!.timestamp);
    return (
      <span className={styles.tlChain}>
        answers {typeOf(chain.failure)} ({formatDuration(earlier)} earlier)
      </span>
    );
  }
  return null;
}

/**
 * The entity's state after this event (its events' values folded as JSON Merge Patches, from
 * `GET /api/entities/<key>?at=`), with what changed since the previous event. Events of the same
 * millisecond count together.
 */
function StateAfter({ entityKey, at, previousAt }: { entityKey: string; at: string; previousAt: string | null }) {
  const [state, setState] = useState<{ after?: EntityState; before?: EntityState | null; error?: string }>({});
  useEffect(() => {
    let current = true;
    const load = async (time: string) => {
      const response = await fetch(`/api/entities/${encodeURIComponent(entityKey)}?at=${encodeURIComponent(time)}`);
      const body = (await response.json()) as { message?: string };
      if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
      const parsed = entityStateSchema.safeParse(body);
      if (!parsed.success) throw new Error("the answer is not an entity state");
      return parsed.data;
    };
    Promise.all([load(at), previousAt === null ? Promise.resolve(null) : load(previousAt)])
      .then(([after, before]) => {
        if (current) setState({ after, before });
      })
      .catch((error: unknown) => {
        if (current) setState({ error: `Could not load the state: ${error instanceof Error ? error.message : String(error)}` });
      });
    return () => {
      current = false;
    };
  }, [entityKey, at, previousAt]);
  if (state.error) return <p role="alert">{state.error}</p>;
  if (!state.after) return <p>Loading the state…</p>;
  const changes = diffStates(state.before?.state ?? {}, state.after.state);
  const show = (value: unknown) => JSON.stringify(value);
  return (
    <section className={styles.tlState} aria-label="State after this event">
      <h3>State after this event</h3>
      {changes.length === 0 ? (
        <p>No field changed.</p>
      ) : (
        <ul aria-label="Changed fields">
          {changes.map((change) => (
            <li key={change.path} data-change={change.change}>
              {change.change === "added" ? `+ ${change.path}: ${show(change.after)}` : null}
              {change.change === "removed" ? `− ${change.path} (was ${show(change.before)})` : null}
              {change.change === "changed" ? `~ ${change.path}: ${show(change.before)} → ${show(change.after)}` : null}
            </li>
          ))}
        </ul>
      )}
      <details>
        <summary>Whole state ({state.after.basedOn.length} events folded)</summary>
        <pre>{JSON.stringify(state.after.state, null, 2)}</pre>
      </details>
    </section>
  );
}

/** Duplicates, repeated effects and partition splits, in words, on the event they concern. */
function DeliveryNotes({ marks, events, index }: { marks: readonly DeliveryMark[]; events: readonly TimelineEvent[]; index: number }) {
  if (marks.length === 0) return null;
  const e = events[index]!;
  return (
    <>
      {marks.map((mark) => {
        const earlier = mark.kind === "duplicate" || mark.kind === "repeated" ? events[mark.of]! : null;
        const text =
          mark.kind === "duplicate"
            ? `duplicate: ${eventId(earlier!)} delivered again ${formatDuration(Date.parse(e.timestamp) - Date.parse(earlier!.timestamp))} later (same ${mark.by === "id" ? "message id" : "content"})`
            : mark.kind === "repeated"
              ? `repeated effect: ${e.eventType} already happened at ${formatClock(earlier!.timestamp)} (${eventId(earlier!)}): a consumer did it twice`
              : mark.kind === "early"
                ? `ordering break: seen before ${events[mark.before]!.eventType}, which always comes right before it (${eventId(events[mark.before]!)}, ${formatDuration(Date.parse(events[mark.before]!.timestamp) - Date.parse(e.timestamp))} later)`
                : `ordering break: on partition ${mark.partition} of ${e.topic}, while this entity's earlier events there were on ${mark.firstPartition}: Kafka does not keep them in order`;
        return (
          <span key={mark.kind} className={styles.tlChain} data-mark={mark.kind}>
            {text}
          </span>
        );
      })}
    </>
  );
}

/** How a dot names its mark to a screen reader and in its tooltip. */
function outcomeSuffix(mark: StepMark): string {
  return mark.outcome === "normal" ? "" : `, ${mark.outcome} (${mark.reason})`;
}

/** The selected event goes into the URL (`?event=`), so a pasted link opens the timeline at it. */
function rememberInUrl(id: string) {
  const url = new URL(window.location.href);
  url.searchParams.set("event", id);
  window.history.replaceState(window.history.state, "", url);
}

/** The whole event (value included) is fetched when a row is first expanded. */
function ExpandedEvent({ event }: { event: TimelineEvent }) {
  const [state, setState] = useState<{ detail?: EventDetail; error?: string }>({});
  const url = `/api${eventHref(event)}`;
  useEffect(() => {
    let current = true;
    fetch(url)
      .then(async (response) => {
        const body = (await response.json()) as EventDetail & { message?: string };
        if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
        if (current) setState({ detail: body });
      })
      .catch((error: unknown) => {
        if (current) setState({ error: `Could not load the event: ${error instanceof Error ? error.message : String(error)}` });
      });
    return () => {
      current = false;
    };
  }, [url]);
  if (state.error) return <p role="alert">{state.error}</p>;
  if (!state.detail) return <p>Loading the value…</p>;
  return <EventInspector headers={state.detail.headers} value={state.detail.value} />;
}
