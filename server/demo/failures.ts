/**
 * Failure injection for the payment gateway, as pure functions of time and chance so that tests
 * can pin them down.
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
  if (schedule.everySeconds <= 0) return null;
  const first = schedule.startedAtMs + firstOutageOffsetMs(schedule);
  if (nowMs < first) return null;
  const periodMs = schedule.everySeconds * 1_000;
  const startMs = first + Math.floor((nowMs - first) / periodMs) * periodMs;
  const endMs = startMs + schedule.lengthSeconds * 1_000;
  return nowMs < endMs ? { startMs, endMs } : null;
}
