/**
 * Timeline maths for the entity timeline and the trace waterfall: time bounds, a time scale that
 * folds long idle gaps, lanes, gaps between events and the causal order of a trace. Pure; times
 * are epoch milliseconds.
 */

export interface TimeBounds {
  startMs: number;
  endMs: number;
  spanMs: number;
}

/** First and last time, or null for no events. */
export function timelineBounds(timesMs: readonly number[]): TimeBounds | null {
  if (timesMs.length === 0) return null;
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const t of timesMs) {
    if (t < startMs) startMs = t;
    if (t > endMs) endMs = t;
  }
  return { startMs, endMs, spanMs: endMs - startMs };
}

/** Milliseconds since the previous event (in the order given), null for the first. */
export function gapsSincePrevious(timesMs: readonly number[]): (number | null)[] {
  return timesMs.map((t, i) => (i === 0 ? null : t - timesMs[i - 1]!));
}

/** A gap the scale folded: drawn narrow, labelled with how long it really was. */
export interface ScaleBreak {
  /** Where the folded gap sits on the scale, 0..1. */
  at: number;
  /** How long the gap really is. */
  skippedMs: number;
}

export interface TimeScale {
  /** A time's position on the scale, 0..1 (0 for a scale of one instant). */
  position(ms: number): number;
  breaks: ScaleBreak[];
}

export interface TimeScaleOptions {
  /** Gaps longer than this are folded to this length. Default: 3 × the median gap, at least minFoldMs. */
  foldAboveMs?: number;
  /** Default 1000. */
  minFoldMs?: number;
}

/**
 * A piecewise-linear time scale over the given times in which a gap longer than a few typical
 * gaps is folded: one order's saga takes milliseconds, its replay may come two days later, and on
 * a linear scale the saga would be one dot. The order of events is always kept.
 */
export function buildTimeScale(timesMs: readonly number[], options: TimeScaleOptions = {}): TimeScale {
  const times = [...new Set(timesMs)].sort((a, b) => a - b);
  if (times.length < 2) return { position: () => 0, breaks: [] };
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const fold = options.foldAboveMs ?? Math.max(3 * median, options.minFoldMs ?? 1000);
  // Cumulative folded time at each distinct time.
  const folded = [0];
  for (const gap of gaps) folded.push(folded.at(-1)! + Math.min(gap, fold));
  const total = folded.at(-1)!;
  const breaks: ScaleBreak[] = [];
  gaps.forEach((gap, i) => {
    if (gap > fold) breaks.push({ at: (folded[i]! + fold / 2) / total, skippedMs: gap });
  });
  const position = (ms: number): number => {
    if (ms <= times[0]!) return 0;
    if (ms >= times.at(-1)!) return 1;
    // The last distinct time at or before ms.
    let lo = 0;
    let hi = times.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! <= ms) lo = mid;
      else hi = mid;
    }
    const gap = times[hi]! - times[lo]!;
    const within = ((ms - times[lo]!) / gap) * Math.min(gap, fold);
    return (folded[lo]! + within) / total;
  };
  return { position, breaks };
}

export interface Lanes {
  /** Lane names, in order of first appearance. */
  names: string[];
  /** Each item's lane index. */
  laneOf: number[];
}

/** One lane per distinct key, in the order keys first appear. */
export function assignLanes<T>(items: readonly T[], keyOf: (item: T) => string): Lanes {
  const index = new Map<string, number>();
  const laneOf = items.map((item) => {
    const key = keyOf(item);
    let lane = index.get(key);
    if (lane === undefined) {
      lane = index.size;
      index.set(key, lane);
    }
    return lane;
  });
  return { names: [...index.keys()], laneOf };
}

export type LaneMode = "service" | "topic";

/** The lane of an event: its producing service (or "unknown producer"), or its topic. */
export function laneKey(event: { producer: string | null; topic: string }, mode: LaneMode): string {
  return mode === "topic" ? event.topic : (event.producer ?? "unknown producer");
}

// --- trace waterfall ----------------------------------------------------------------------------------

export interface WaterfallEvent {
  timestampMs: number;
  /** The service that produced the event (ce_source / producer header). */
  producer: string | null;
  /**
   * The names the consumer groups subscribed to the event's topic go by: their group ids and
   * their members' client ids.
   */
  consumerGroups: readonly string[];
}

export interface WaterfallRow {
  /** Index of the event in the input. */
  index: number;
  /** Index of the event inferred to have caused it, or null for a root. */
  parent: number | null;
  /** Hops from its root. */
  depth: number;
  /** Since the first event of the trace. */
  offsetMs: number;
  /** Until the first event it caused (the hop's latency); null when it caused none. */
  durationMs: number | null;
}

/**
 * A service produces as the consumer of the same name: a group named after it (or `<service>-…`),
 * or a group whose members' client id is its name.
 */
function readsAs(producer: string, group: string): boolean {
  return group === producer || group.startsWith(`${producer}-`) || producer.startsWith(`${group}-`);
}

/**
 * Causal order of a trace's events, input in time order. The headers name the producer's span,
 * not the consumer's, so causality is inferred: an event's cause is the latest earlier event on a
 * topic its producing service consumes (through a group named after it, or whose members' client
 * id is its name). Rows come in causal order (each event after its cause,
 * siblings in time order, like a span tree) with their depth for indentation.
 */
export function buildWaterfall(events: readonly WaterfallEvent[]): WaterfallRow[] {
  const startMs = events.length > 0 ? Math.min(...events.map((e) => e.timestampMs)) : 0;
  const parent: (number | null)[] = events.map((event, i) => {
    if (event.producer === null) return null;
    for (let j = i - 1; j >= 0; j--) {
      const candidate = events[j]!;
      if (candidate.timestampMs > event.timestampMs) continue;
      if (candidate.consumerGroups.some((group) => readsAs(event.producer!, group))) return j;
    }
    return null;
  });
  const children: number[][] = events.map(() => []);
  parent.forEach((p, i) => {
    if (p !== null) children[p]!.push(i);
  });
  const rows: WaterfallRow[] = [];
  const visit = (i: number, depth: number) => {
    const kids = children[i]!;
    const firstChild = kids.length > 0 ? Math.min(...kids.map((k) => events[k]!.timestampMs)) : null;
    rows.push({
      index: i,
      parent: parent[i]!,
      depth,
      offsetMs: events[i]!.timestampMs - startMs,
      durationMs: firstChild === null ? null : firstChild - events[i]!.timestampMs,
    });
    for (const k of kids) visit(k, depth + 1);
  };
  parent.forEach((p, i) => {
    if (p === null) visit(i, 0);
  });
  return rows;
}
