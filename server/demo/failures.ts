/**
 * Failure injection (the payment gateway's, the delivery faults'), as pure functions of time and
 * chance so that tests can pin them down.
 */

/** A failure of the (simulated) payment gateway. `retriable`: trying again later may succeed. */
export class PaymentError extends Error {
  constructor(
    override readonly name: "GatewayUnavailableError" | "GatewayTimeoutError" | "MalformedOrderError",
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/** First retry delay in milliseconds; each further attempt doubles it, up to RETRY_MAX_DELAY_MS. */
export const RETRY_BASE_DELAY_MS = 200;
export const RETRY_MAX_DELAY_MS = 5_000;

/**
 * Delay before attempt `failedAttempts + 1`: exponential backoff with "equal jitter" (half the
 * step fixed, half random), so retries of orders that failed together spread out instead of
 * hitting the gateway again in one burst, yet each wait stays at least half the step.
 * `random` is in [0, 1).
 */
export function retryDelayMs(failedAttempts: number, random: number = Math.random()): number {
  const step = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(step / 2 + (step / 2) * random);
}

export interface OutageSchedule {
  /** Seconds between outage starts; 0: never. */
  everySeconds: number;
  lengthSeconds: number;
  /** When the schedule starts counting (the services' start), epoch milliseconds. */
  startedAtMs: number;
}

/**
 * The first outage begins min(every, 30) seconds after start, so that a fresh demo shows one
 * within its first minute, and then one every `everySeconds`.
 */
export function firstOutageOffsetMs(schedule: OutageSchedule): number {
  return Math.min(schedule.everySeconds, 30) * 1_000;
}

/** The outage window containing `nowMs`, or null when the gateway is up. */
export function outageAt(schedule: OutageSchedule, nowMs: number): { startMs: number; endMs: number } | null {
  return windowAt(schedule, firstOutageOffsetMs(schedule), nowMs);
}

/** The schedule of order-service's stalls (`--stall-every`, `--stall-length`): the outages' shape. */
export type StallSchedule = OutageSchedule;

/**
 * The first stall begins min(every, 300) seconds after start: a few minutes of a healthy saga
 * first, so that a stall stands out against it, and then one every `everySeconds`.
 */
export function firstStallOffsetMs(schedule: StallSchedule): number {
  return Math.min(schedule.everySeconds, 300) * 1_000;
}

/** The stall window containing `nowMs`, or null when the consumer is not stalled. */
export function stallAt(schedule: StallSchedule, nowMs: number): { startMs: number; endMs: number } | null {
  return windowAt(schedule, firstStallOffsetMs(schedule), nowMs);
}

/** The window of a periodic schedule whose first window starts `firstOffsetMs` after start. */
function windowAt(schedule: OutageSchedule, firstOffsetMs: number, nowMs: number): { startMs: number; endMs: number } | null {
  if (schedule.everySeconds <= 0) return null;
  const first = schedule.startedAtMs + firstOffsetMs;
  if (nowMs < first) return null;
  const periodMs = schedule.everySeconds * 1_000;
  const startMs = first + Math.floor((nowMs - first) / periodMs) * periodMs;
  const endMs = startMs + schedule.lengthSeconds * 1_000;
  return nowMs < endMs ? { startMs, endMs } : null;
}

/** Bounds of the wait before a duplicate delivery, in milliseconds. */
export const DUPLICATE_MIN_DELAY_MS = 50;
export const DUPLICATE_MAX_DELAY_MS = 500;

/**
 * When a producer retry re-sends a message it had already delivered (its acknowledgement was
 * lost): after a request timeout and a backoff, tens to hundreds of milliseconds later.
 * `random` is in [0, 1).
 */
export function duplicateDelayMs(random: number = Math.random()): number {
  return Math.round(DUPLICATE_MIN_DELAY_MS + (DUPLICATE_MAX_DELAY_MS - DUPLICATE_MIN_DELAY_MS) * random);
}

/**
 * The key of an order's event that a service keys by something else than the order id: the order
 * id with the event's kind as a suffix, a composite key someone thought more precise. The default
 * partitioner hashes it elsewhere than the order id (on another partition two times out of three
 * with three partitions), and Kafka no longer orders it with the order's other events.
 */
export function rekeyedKey(orderId: string, suffix: string): string {
  return `${orderId}:${suffix}`;
}
