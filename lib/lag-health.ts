import { formatDuration } from "./format-duration.ts";

/**
 * Consumer-lag health in the spirit of Burrow, as CONVENTIONS.md ("Consumer lag") states it,
 * judged over a window of samples per partition:
 *
 * - STOP: the group has no active members (state Empty or Dead) while lag > 0;
 * - STALL: members are present, but the committed offset has not moved across the window while
 *   lag > 0 (in every sample: a partition that was caught up at the start of the window and only
 *   now received records is not stalled yet);
 * - WARN: lag grew across the whole window (never shrank from one sample to the next, and ended
 *   higher than it started);
 * - OK: anything else, including unknown lag (nothing committed: no claim can be made).
 *
 * STALL and WARN are claims about the whole window: until a partition's samples cover it (the
 * first one within about two sampling intervals of the window's start), the partition is OK with a
 * reason that says it is still being judged. A group that commits every 30 s would otherwise read
 * as stalled from two samples 5 s apart, right after it appears or after a restart. STOP needs no
 * window (no members while lagging) and is said at once.
 *
 * A group is as bad as its worst partition, and says which partition and why. Pure: the server
 * computes it for the graph and group pages, the browser may recompute it for a chosen window.
 */

export const LAG_HEALTH_STATUSES = ["OK", "WARN", "STALL", "STOP"] as const;

/** The window health is judged over: long enough to tell a stall from a pause between batches. */
export const HEALTH_WINDOW_MS = 5 * 60_000;
export type LagHealthStatus = (typeof LAG_HEALTH_STATUSES)[number];

/** Higher is worse. */
export const LAG_HEALTH_SEVERITY: Readonly<Record<LagHealthStatus, number>> = { OK: 0, WARN: 1, STALL: 2, STOP: 3 };

/** Offsets as the database layer returns them (decimal strings) or as numbers / bigints. */
export type OffsetValue = bigint | number | string;

export interface LagHealthSample {
  /** When the sample was taken: epoch milliseconds, an ISO 8601 string or a Date. */
  at: number | string | Date;
  /** The NEXT offset the group will read; null when the group has committed nothing. */
  committedOffset: OffsetValue | null;
  /** end − committed, clamped at 0; null when unknown (nothing committed). */
  offsetLag: OffsetValue | null;
}

export interface PartitionLagSamples {
  topic: string;
  partition: number;
  /** The window's samples, in any order. */
  samples: readonly LagHealthSample[];
}

export interface PartitionHealth {
  topic: string;
  partition: number;
  status: LagHealthStatus;
  /** In words, naming the partition: "partition 2 of orders: committed offset 1040 has not moved for 5 min while lag is 312". */
  reason: string;
  /** Latest offset lag (decimal), null when unknown or when there are no samples. */
  offsetLag: string | null;
  /** Latest committed offset (decimal), null when nothing is committed. */
  committedOffset: string | null;
}

export interface GroupHealth {
  status: LagHealthStatus;
  reason: string;
  /** The partition that decided the group's status (worst, then largest lag); null without partitions. */
  worst: PartitionHealth | null;
  partitions: PartitionHealth[];
}

/** Group states (as Kafka's admin API names them) in which the group has no active members. */
const MEMBERLESS_STATES = new Set(["Empty", "Dead"]);

export function hasActiveMembers(groupState: string): boolean {
  return !MEMBERLESS_STATES.has(groupState);
}

function toBigInt(value: OffsetValue | null): bigint | null {
  if (value === null) return null;
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return Number.isFinite(value) ? BigInt(Math.trunc(value)) : null;
  return /^-?\d+$/.test(value.trim()) ? BigInt(value.trim()) : null;
}

function toMs(at: LagHealthSample["at"]): number {
  if (typeof at === "number") return at;
  if (at instanceof Date) return at.getTime();
  return Date.parse(at);
}

interface NormalisedSample {
  at: number;
  committed: bigint | null;
  lag: bigint | null;
}

function normalise(samples: readonly LagHealthSample[]): NormalisedSample[] {
  return samples
    .map((s) => {
      const committed = toBigInt(s.committedOffset);
      // A negative committed offset is Kafka's "nothing committed" (-1): lag unknown, as null is.
      const known = committed !== null && committed >= 0n ? committed : null;
      return { at: toMs(s.at), committed: known, lag: known === null ? null : toBigInt(s.offsetLag) };
    })
    .filter((s) => Number.isFinite(s.at))
    .sort((a, b) => a.at - b.at);
}

export interface HealthWindowOptions {
  /** The window the samples were taken from (ms). Without it, any span of samples is judged. */
  windowMs?: number;
}

/** Whether the samples reach back to the window's start, give or take two sampling intervals. */
function coversWindow(samples: readonly NormalisedSample[], windowMs: number): boolean {
  if (samples.length < 2) return false;
  const gaps = samples.slice(1).map((s, i) => s.at - samples[i]!.at).sort((a, b) => a - b);
  const typicalGap = gaps[Math.floor(gaps.length / 2)]!;
  const span = samples.at(-1)!.at - samples[0]!.at;
  return span + 2 * typicalGap >= windowMs;
}

/** Health of one partition of a group over the window its samples cover. */
export function evaluatePartitionHealth(
  input: PartitionLagSamples,
  groupState: string,
  options: HealthWindowOptions = {},
): PartitionHealth {
  const where = `partition ${input.partition} of ${input.topic}`;
  const samples = normalise(input.samples);
  const last = samples.at(-1);
  const result = (status: LagHealthStatus, reason: string): PartitionHealth => ({
    topic: input.topic,
    partition: input.partition,
    status,
    reason: `${where}: ${reason}`,
    offsetLag: last?.lag?.toString() ?? null,
    committedOffset: last?.committed?.toString() ?? null,
  });

  if (!last) return result("OK", "no lag samples yet");
  if (last.lag === null) return result("OK", "nothing committed yet, lag unknown");
  const lag = last.lag;
  if (lag <= 0n) return result("OK", "caught up (lag 0)");
  if (!hasActiveMembers(groupState)) {
    return result("STOP", `the group has no active members (state ${groupState}) while lag is ${lag}`);
  }

  const first = samples[0]!;
  const span = formatDuration(last.at - first.at);
  const judging =
    options.windowMs !== undefined && !coversWindow(samples, options.windowMs)
      ? `judging: samples cover ${span} of the ${formatDuration(options.windowMs)} window, lag ${lag}`
      : null;
  if (samples.length >= 2 && last.at > first.at) {
    const stalled = samples.every((s) => s.committed === last.committed && s.lag !== null && s.lag > 0n);
    if (stalled) {
      if (judging) return result("OK", judging);
      return result("STALL", `committed offset ${last.committed} has not moved for ${span} while lag is ${lag}`);
    }
    let grew = first.lag !== null && first.lag < lag;
    for (let i = 1; grew && i < samples.length; i++) {
      const before = samples[i - 1]!.lag;
      const now = samples[i]!.lag;
      grew = before !== null && now !== null && now >= before;
    }
    if (grew) return result(judging ? "OK" : "WARN", judging ?? `lag grew from ${first.lag} to ${lag} over ${span}`);
  }
  return result("OK", `consuming, lag ${lag}`);
}

function compareBadness(a: PartitionHealth, b: PartitionHealth): number {
  const severity = LAG_HEALTH_SEVERITY[b.status] - LAG_HEALTH_SEVERITY[a.status];
  if (severity !== 0) return severity;
  const lagA = toBigInt(a.offsetLag) ?? -1n;
  const lagB = toBigInt(b.offsetLag) ?? -1n;
  return lagA > lagB ? -1 : lagA < lagB ? 1 : a.topic.localeCompare(b.topic) || a.partition - b.partition;
}

/**
 * Health of a group: each partition judged over its window, the group as bad as its worst
 * partition. `groupState` as the admin API says it (Stable, Empty, Dead, PreparingRebalance, …).
 */
export function evaluateGroupHealth(
  groupState: string,
  partitions: readonly PartitionLagSamples[],
  options: HealthWindowOptions = {},
): GroupHealth {
  const judged = partitions.map((p) => evaluatePartitionHealth(p, groupState, options));
  const worst = [...judged].sort(compareBadness)[0] ?? null;
  if (!worst) return { status: "OK", reason: "no committed offsets to judge", worst: null, partitions: judged };
  if (worst.status !== "OK") return { status: worst.status, reason: worst.reason, worst, partitions: judged };
  let total = 0n;
  let unknown = 0;
  for (const p of judged) {
    const lag = toBigInt(p.offsetLag);
    if (lag === null) unknown += 1;
    else total += lag;
  }
  const count = `${judged.length} partition${judged.length === 1 ? "" : "s"}`;
  const reason =
    unknown === judged.length
      ? `${count}, nothing committed yet: lag unknown`
      : `${count} OK, total lag ${total}${unknown > 0 ? ` (${unknown} with nothing committed)` : ""}`;
  return { status: "OK", reason, worst, partitions: judged };
}

// --- RabbitMQ queues ---------------------------------------------------------------------------------

/**
 * A RabbitMQ queue's sample: its lag is what waits in it (ready + unacknowledged), its progress the
 * broker's count of acks and of deliveries without ack (auto-ack consumers never ack).
 */
export interface QueueHealthSample {
  at: number | string | Date;
  ready: OffsetValue;
  unacknowledged: OffsetValue;
  consumers: number;
  /** Acks + deliveries without ack since the queue started; null when the broker gave no figures. */
  processedTotal: OffsetValue | null;
}

/** A stream keeps what its consumers read (each keeps its own offset): its message count is no lag. */
export const STREAM_LAG_UNKNOWN = "a stream keeps what its consumers read: its message count is its length, not a lag";

export interface QueueHealth {
  status: LagHealthStatus;
  /** In words, naming the queue. */
  reason: string;
}

/**
 * A queue's health, the Kafka rules said of a queue (one place for both, so the vocabulary stays
 * one): STOP when messages wait and no consumer is attached; STALL when consumers are attached but
 * nothing was acked (or delivered without ack) across the window while messages waited all along;
 * WARN when the lag grew across the whole window (never shrank, ended higher); else OK. As for a
 * group, STALL and WARN need samples that cover the window; STOP is said at once. A stream is not
 * judged (STREAM_LAG_UNKNOWN).
 */
export function evaluateQueueHealth(
  queue: string,
  input: readonly QueueHealthSample[],
  options: HealthWindowOptions & { /** classic, quorum or stream. */ type?: string } = {},
): QueueHealth {
  if (options.type === "stream") return { status: "OK", reason: `queue ${queue}: ${STREAM_LAG_UNKNOWN}` };
  const samples = input
    .map((s) => ({
      at: toMs(s.at),
      lag: (toBigInt(s.ready) ?? 0n) + (toBigInt(s.unacknowledged) ?? 0n),
      consumers: s.consumers,
      processed: toBigInt(s.processedTotal),
    }))
    .filter((s) => Number.isFinite(s.at))
    .sort((a, b) => a.at - b.at);
  const where = `queue ${queue}`;
  const result = (status: LagHealthStatus, reason: string): QueueHealth => ({ status, reason: `${where}: ${reason}` });
  const last = samples.at(-1);
  if (!last) return result("OK", "no lag samples yet");
  const lag = last.lag;
  if (lag <= 0n) return result("OK", "empty (lag 0)");
  if (last.consumers === 0) return result("STOP", `no consumers while ${lag} message${lag === 1n ? "" : "s"} wait`);

  const first = samples[0]!;
  const span = formatDuration(last.at - first.at);
  const judging =
    options.windowMs !== undefined && !coversWindow(samples.map((s) => ({ at: s.at, committed: null, lag: s.lag })), options.windowMs)
      ? `judging: samples cover ${span} of the ${formatDuration(options.windowMs)} window, lag ${lag}`
      : null;
  if (samples.length >= 2 && last.at > first.at) {
    // No progress counter at all (a queue the broker keeps no stats for) is no progress.
    const stalled = samples.every((s) => s.lag > 0n && s.consumers > 0 && (s.processed ?? 0n) === (last.processed ?? 0n));
    if (stalled) {
      if (judging) return result("OK", judging);
      return result("STALL", `${last.consumers} consumer${last.consumers === 1 ? "" : "s"} but nothing acked for ${span} while lag is ${lag}`);
    }
    let grew = first.lag < lag;
    for (let i = 1; grew && i < samples.length; i++) grew = samples[i]!.lag >= samples[i - 1]!.lag;
    if (grew) return result(judging ? "OK" : "WARN", judging ?? `lag grew from ${first.lag} to ${lag} over ${span}`);
  }
  return result("OK", `consuming, lag ${lag}`);
}
