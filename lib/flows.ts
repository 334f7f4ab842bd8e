/**
 * Flows: the pathways an entity's events take, as steps. The one owner of what a step is, how an
 * entity's path counts towards its kind's pathway graph, and how step latencies are bucketed;
 * the collector's incremental fold (server/db/flows.ts), the plain recomputation in the tests and
 * the flows page all go through it.
 *
 * - An entity kind is the configured entity field that named it (`orderId`, `customer.id`) or,
 *   for an entity known only by its message key, `key:<topic>`.
 * - A step is an event type from a producer, in one of four roles: an ordinary event, a retry copy
 *   (an event that carries the failure headers of an earlier attempt), a dead letter, or a replay
 *   (`x-replay-of`). A retry loop is then a step of its own that repeats.
 * - An entity's path is its steps in time order (ties by step).
 * - A path's outcome (pathOutcome): dead-lettered, compensated, or open; an open path is completed,
 *   stuck or in flight depending on where it ended and for how long (the flow queries decide).
 */
import { duplicateOf } from "./delivery-marks.ts";
import { classifyStep } from "./step-outcome.ts";

export type StepRole = "event" | "retry" | "dead-letter" | "replay";
export const STEP_ROLES: readonly StepRole[] = ["event", "retry", "dead-letter", "replay"];

export interface Step {
  role: StepRole;
  /** The event type; an event without one is named by its channel in parentheses: `(orders)`. */
  type: string;
  producer: string | null;
}

/** Separates a step id's parts: no event type, producer or role contains it. */
const SEP = "\u001f";

/** A step as one text: the id aggregates, URLs (`?step=`) and the API use. */
export function stepId(step: Step): string {
  return `${step.role}${SEP}${step.type}${SEP}${step.producer ?? ""}`;
}

/** A step id's parts; null for a text that is not one. */
export function parseStepId(id: string): Step | null {
  const parts = id.split(SEP);
  if (parts.length !== 3) return null;
  const [role, type, producer] = parts as [string, string, string];
  if (!(STEP_ROLES as readonly string[]).includes(role) || type === "") return null;
  return { role: role as StepRole, type, producer: producer === "" ? null : producer };
}

/** The type of an event without one: its channel in parentheses. */
export function untypedStepType(channel: string): string {
  return `(${channel})`;
}

/** What an event says about the step it stands for (stepOfEvent's inputs, as a page has them). */
export interface EventStepFacts {
  deadLetter: boolean;
  replay: boolean;
  retry: boolean;
  eventType: string | null;
  channel: string;
  producer: string | null;
}

/**
 * The step an event stands for: a dead letter, a replay (it carries x-replay-of), a retry copy
 * (it carries an earlier failure), else an ordinary event; its type, or its channel in
 * parentheses; its producer. Over stored events, server/db/flows.ts STEP_COLUMNS gives its inputs.
 */
export function stepOfEvent(event: EventStepFacts): string {
  const role: StepRole = event.deadLetter ? "dead-letter" : event.replay ? "replay" : event.retry ? "retry" : "event";
  return stepId({ role, type: event.eventType ?? untypedStepType(event.channel), producer: event.producer });
}

/** Prefix of the kind of entities named by their message key on one topic. */
export const KEY_KIND_PREFIX = "key:";

export function keyEntityKind(topic: string): string {
  return `${KEY_KIND_PREFIX}${topic}`;
}

/** The kind of an entity key stored without one (rows from before kinds were recorded, tools). */
export const DEFAULT_ENTITY_KIND = "entity";

/** The kind of an event's i-th entity key, from its stored kinds (which may be shorter). */
export function entityKindAt(kinds: readonly string[] | null | undefined, i: number): string {
  return kinds?.[i] ?? DEFAULT_ENTITY_KIND;
}

// --- latency buckets --------------------------------------------------------------------------------

/**
 * Latencies are counted in buckets a quarter of a binary order of magnitude wide (each ≈ 19 %
 * wider than the one before), so they can be added and taken away as entities move on, and a
 * percentile read from them is within ≈ 10 % of the exact one. Bucket 0 holds 0 ms (and clock
 * skew: a step timed before the one it follows); bucket b ≥ 1 holds [2^((b-1)/4), 2^(b/4)) ms.
 */
export const LATENCY_BUCKETS_PER_DOUBLING = 4;
/** 2^(159/4) ms ≈ 10^12 ms (31 years): anything longer lands in the last bucket. */
export const MAX_LATENCY_BUCKET = 160;

export function latencyBucket(ms: number): number {
  if (!(ms >= 1)) return 0;
  const bucket = Math.floor(Math.log2(ms) * LATENCY_BUCKETS_PER_DOUBLING) + 1;
  return Math.min(bucket, MAX_LATENCY_BUCKET);
}

/** The value a bucket stands for: 0 for bucket 0, else the geometric middle of its bounds. */
export function bucketValueMs(bucket: number): number {
  if (bucket <= 0) return 0;
  return 2 ** ((bucket - 0.5) / LATENCY_BUCKETS_PER_DOUBLING);
}

export interface Latency {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** How many times it was measured. */
  count: number;
}

/**
 * Percentiles of bucketed counts (bucket → count): the nearest-rank percentile's bucket value,
 * rounded to the millisecond above 10 ms. null when nothing was counted.
 */
export function latencyOf(buckets: ReadonlyMap<number, number>): Latency | null {
  const entries = [...buckets.entries()].filter(([, count]) => count > 0).sort(([a], [b]) => a - b);
  const count = entries.reduce((sum, [, n]) => sum + n, 0);
  if (count === 0) return null;
  const at = (p: number) => {
    const rank = Math.max(1, Math.ceil(p * count));
    let seen = 0;
    for (const [bucket, n] of entries) {
      seen += n;
      if (seen >= rank) {
        const ms = bucketValueMs(bucket);
        return ms >= 10 ? Math.round(ms) : Math.round(ms * 100) / 100;
      }
    }
    return bucketValueMs(entries[entries.length - 1]![0]);
  };
  return { p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), count };
}

// --- an entity's path and what it counts for -------------------------------------------------------

export interface PathStep {
  step: string;
  /** Epoch milliseconds. */
  at: number;
  /** Where the event was stored (placeOf); "" when unknown. */
  place?: string;
  /** Its delivery fingerprint (lib/delivery-marks.ts deliveryFingerprint); 0 for none. */
  fingerprint?: number;
}

/** Where an event was stored, as a path keeps it: channel and partition. */
export function placeOf(channel: string, partition: number): string {
  return `${channel}${SEP}${partition}`;
}

/** placeOf's parts; null for "" (unknown) or a text that is not a place. */
export function parsePlace(place: string): { channel: string; partition: number } | null {
  const at = place.lastIndexOf(SEP);
  if (at <= 0) return null;
  const partition = Number(place.slice(at + 1));
  return Number.isInteger(partition) ? { channel: place.slice(0, at), partition } : null;
}

/** Steps of a path that are kept: a longer history counts by its first steps only. */
export const MAX_PATH_STEPS = 200;

export const HOUR_MS = 3_600_000;

export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/**
 * What one entity's path adds to its kind's pathway graph, as counters keyed by the hour they
 * fall in (so a window is a sum over hours, and a path that changes is taken away and added
 * again):
 * - `reach`: each distinct step, once, in the hour the entity first reached it;
 * - `start` / `end`: the first and the last step, in their hours; `end` also names the path's
 *   outcome (in `b`: open, compensated or dead-lettered), so outcomes are counted per last step;
 * - `edge`: each distinct transition a → b (consecutive steps), once, in the hour of its first
 *   occurrence's b, with the time from a to b as a latency bucket;
 * - `e2e`: for a path of two steps or more, first → last step, in the last step's hour;
 * - `repeat`: each ordinary (`event`) step the entity reached more than once, once, in the hour
 *   of its second time: a step most entities reach once is one that should happen once (isOnceStep);
 * - `tail`: for a path of two steps or more, its last transition (a → b), with the path's outcome as
 *   `bucket` (its index in PATH_OUTCOMES), in the last step's hour: whether ending right after a
 *   given transition completes an entity (a notification sent after a payment does not; one sent
 *   after the order was confirmed does) is read from these.
 * - `dup`: each duplicate delivery (lib/delivery-marks.ts isDuplicateDelivery: the same event
 *   again on the same channel), in its hour, by step (`a`: type and producer) and channel (`b`).
 *   A duplicate is not a repeat: it does not count towards `repeat`.
 * - `split`: each channel the entity's events sit on in more than one partition (its key changed,
 *   so Kafka no longer orders them), once, in the hour of the first event off the first partition.
 */
export type CounterMetric = "reach" | "start" | "end" | "edge" | "e2e" | "repeat" | "tail" | "dup" | "split";

export interface Counter {
  metric: CounterMetric;
  hour: number;
  /** reach/start/end/dup: the step; edge: the step it comes from; split: the channel; e2e: "". */
  a: string;
  /** edge: the step it goes to; dup: the channel; else "". */
  b: string;
  /** edge/e2e: the latency bucket; else -1. */
  bucket: number;
}

export function counterKey(counter: Counter): string {
  return `${counter.metric}${SEP}${counter.hour}${SEP}${counter.a}${SEP}${counter.b}${SEP}${counter.bucket}`;
}

export function pathCounters(path: readonly PathStep[], outcome: PathOutcome = "open"): Counter[] {
  const steps = path.length > MAX_PATH_STEPS ? path.slice(0, MAX_PATH_STEPS) : path;
  if (steps.length === 0) return [];
  const counters: Counter[] = [];
  const reached = new Set<string>();
  const repeated = new Set<string>();
  const repeats: Counter[] = [];
  const deliveries: Counter[] = [];
  const firstPartition = new Map<string, number>();
  const split = new Set<string>();
  const places = steps.map((entry) => parsePlace(entry.place ?? ""));
  const duplicates = duplicateOf(steps.map((entry, i) => ({ channel: places[i]?.channel ?? "", at: entry.at, fingerprint: places[i] ? (entry.fingerprint ?? 0) : 0 })));
  for (let i = 0; i < steps.length; i++) {
    const { step, at } = steps[i]!;
    const place = places[i] ?? null;
    if (place !== null) {
      const first = firstPartition.get(place.channel);
      if (first === undefined) firstPartition.set(place.channel, place.partition);
      else if (first !== place.partition && !split.has(place.channel)) {
        split.add(place.channel);
        deliveries.push({ metric: "split", hour: hourOf(at), a: place.channel, b: "", bucket: -1 });
      }
      if (duplicates[i]! >= 0) {
        deliveries.push({ metric: "dup", hour: hourOf(at), a: step, b: place.channel, bucket: -1 });
        continue;
      }
    }
    if (reached.has(step)) {
      if (!repeated.has(step) && step.startsWith(`event${SEP}`)) {
        repeated.add(step);
        repeats.push({ metric: "repeat", hour: hourOf(at), a: step, b: "", bucket: -1 });
      }
      continue;
    }
    reached.add(step);
    counters.push({ metric: "reach", hour: hourOf(at), a: step, b: "", bucket: -1 });
  }
  counters.push(...repeats, ...deliveries);
  const first = steps[0]!;
  const last = steps[steps.length - 1]!;
  counters.push({ metric: "start", hour: hourOf(first.at), a: first.step, b: "", bucket: -1 });
  counters.push({ metric: "end", hour: hourOf(last.at), a: last.step, b: outcome, bucket: -1 });
  const transitions = new Set<string>();
  for (let i = 1; i < steps.length; i++) {
    const from = steps[i - 1]!;
    const to = steps[i]!;
    const key = `${from.step}${SEP}${to.step}`;
    if (transitions.has(key)) continue;
    transitions.add(key);
    counters.push({ metric: "edge", hour: hourOf(to.at), a: from.step, b: to.step, bucket: latencyBucket(to.at - from.at) });
  }
  if (steps.length >= 2) {
    counters.push({ metric: "e2e", hour: hourOf(last.at), a: "", b: "", bucket: latencyBucket(last.at - first.at) });
    counters.push({ metric: "tail", hour: hourOf(last.at), a: steps[steps.length - 2]!.step, b: last.step, bucket: PATH_OUTCOMES.indexOf(outcome) });
  }
  return counters;
}

/** A kind's counter as one text: the key of a tally and of the comparison in the tests. */
export function kindCounterKey(kind: string, counter: Counter): string {
  return `${kind}\u0000${counterKey(counter)}`;
}

export type CounterTally = Map<string, { kind: string; counter: Counter; count: number }>;

/**
 * Adds `sign` × each counter of one entity's path into a tally, the fold's way of turning an
 * entity's old path into its new one: −1 for the old, +1 for the new.
 */
export function addCounters(into: CounterTally, kind: string, counters: readonly Counter[], sign: 1 | -1): void {
  for (const counter of counters) {
    const key = kindCounterKey(kind, counter);
    const entry = into.get(key);
    if (entry) entry.count += sign;
    else into.set(key, { kind, counter, count: sign });
  }
}

/** Orders an entity's events into its path: by time, then by where they are stored. */
export function comparePathEvents(
  a: { at: number; sourceId: number; channel: string; partition: number; position: bigint | string },
  b: { at: number; sourceId: number; channel: string; partition: number; position: bigint | string },
): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.sourceId !== b.sourceId) return a.sourceId - b.sourceId;
  if (a.channel !== b.channel) return a.channel < b.channel ? -1 : 1;
  if (a.partition !== b.partition) return a.partition - b.partition;
  const pa = BigInt(a.position);
  const pb = BigInt(b.position);
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/**
 * A step that should happen once per entity: fewer than 1 in 20 of the entities that reached it
 * reached it again. A repeat of such a step is a repeated effect (lib/delivery-marks.ts).
 */
export function isOnceStep(step: { entities: number; repeats: number }): boolean {
  return step.entities > 0 && step.repeats * 20 < step.entities;
}

// --- outcomes ------------------------------------------------------------------------------------

/**
 * What a path says about how its entity fared, by its steps alone:
 * - `dead-lettered`: a dead letter with no replay after it;
 * - `compensated`: a failure (an event named like one: PaymentFailed, lib/step-outcome.ts; or a
 *   configured pair's failure) followed by compensations (named like one: InventoryReleased,
 *   PaymentRefunded…; or the configured pair's compensation for that failure);
 * - `open`: neither. The flow queries tell completed (it ended where most entities of its kind
 *   end, or at a configured terminal step), stuck and in flight apart.
 */
export type PathOutcome = "open" | "compensated" | "dead-lettered";
export const PATH_OUTCOMES: readonly PathOutcome[] = ["open", "compensated", "dead-lettered"];

/** A configured failure → compensation pair (EVENTSCOPE_COMPENSATIONS), by event type. */
export interface CompensationPair {
  failure: string;
  compensation: string;
}

export interface PathReading {
  outcome: PathOutcome;
  /** The dead letter that is not resolved (dead-lettered), as an index into the path. */
  deadLetter: number | null;
  /**
   * The failure the compensations answer, and the compensations: a compensated path's, and also a
   * dead-lettered one's when the chain came before (the timeline draws it either way).
   */
  failure: number | null;
  compensations: number[];
}

export function readPath(steps: readonly Step[], pairs: readonly CompensationPair[] = []): PathReading {
  let deadLetter: number | null = null;
  for (let i = 0; i < steps.length; i++) {
    if (steps[i]!.role === "dead-letter") deadLetter = i;
    else if (steps[i]!.role === "replay") deadLetter = null;
  }
  // The latest failure before each compensation is the one it answers (read also when a dead
  // letter decides the outcome: the chain is still drawn).
  let failure: number | null = null;
  let answered: number | null = null;
  const compensations: number[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.role !== "event") continue;
    const paired = failure !== null && pairs.some((pair) => pair.failure === steps[failure!]!.type && pair.compensation === step.type);
    const outcome = classifyStep({ eventType: step.type }).outcome;
    if (failure !== null && (paired || outcome === "compensation")) {
      if (answered !== failure) compensations.length = 0;
      answered = failure;
      compensations.push(i);
    } else if (outcome === "failure" || pairs.some((pair) => pair.failure === step.type)) {
      failure = i;
    }
  }
  if (deadLetter !== null) return { outcome: "dead-lettered", deadLetter, failure: answered, compensations: answered !== null ? compensations : [] };
  if (answered !== null) return { outcome: "compensated", deadLetter: null, failure: answered, compensations };
  return { outcome: "open", deadLetter: null, failure: null, compensations: [] };
}

/** readPath over events in time order (an entity's timeline): indexes are the events'. */
export function readEvents(events: readonly EventStepFacts[], pairs: readonly CompensationPair[] = []): PathReading {
  return readPath(
    events.map((event) => parseStepId(stepOfEvent(event))!),
    pairs,
  );
}

/** A path's outcome from its step ids (see readPath). */
export function pathOutcome(path: readonly PathStep[], pairs: readonly CompensationPair[] = []): PathOutcome {
  const steps: Step[] = [];
  for (const entry of path) {
    const step = parseStepId(entry.step);
    if (step !== null) steps.push(step);
  }
  return readPath(steps, pairs).outcome;
}

// --- windows ----------------------------------------------------------------------------------------

export const FLOW_WINDOWS = { "1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS } as const;
export type FlowWindow = keyof typeof FLOW_WINDOWS;
export const DEFAULT_FLOW_WINDOW: FlowWindow = "24h";

/** The first hour a window counts: the hour that holds `now − window` (so "1h" is one or two hours of counters). */
export function windowStartHour(window: FlowWindow, now: number): number {
  return hourOf(now - FLOW_WINDOWS[window]);
}
