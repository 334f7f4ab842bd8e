import { tryAcquirePollerLock, type PollerLock } from "../db/index.ts";

/**
 * The loop of the collector's pollers (the Kafka admin poller, the RabbitMQ queue poller): a tick
 * at once and then every pollMs, its failures logged without flooding the log, and a stop that
 * waits for the running tick. Nothing here throws into the process.
 *
 * One poller per source across collector instances: a tick runs only while this instance holds
 * the source's advisory lock (server/db poller-lock.ts). Instances that do not hold it stand by and
 * try again every tick, so one takes over within a poll interval when the holder dies.
 */

/** Repeated identical failures are logged at most this often. */
const REPEATED_FAILURE_LOG_MS = 60_000;

export interface PollLoopOptions {
  /** What the log lines start with ("admin poller", "queue poller"). */
  name: string;
  pollMs: number;
  log: (line: string) => void;
  /** One poll. A throw is a failed poll: logged, and the next tick is the retry. */
  tick: (startedAt: Date) => Promise<void>;
  /** The source whose poller lock is held while polling. */
  lock: { db: { url: string }; sourceId: number; what: string };
  /** When another instance holds the lock (e.g. drop a client this one will not use). */
  onStandBy?: () => Promise<void>;
  /** After a failed poll (e.g. drop a client that may be broken). */
  onFailure?: () => Promise<void>;
  /** On stop, once the running tick has ended, before the lock is released (e.g. disconnect). */
  onStop?: () => Promise<void>;
}

export function describePollError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

export function startPollLoop(options: PollLoopOptions): { stop(): Promise<void> } {
  const { name, pollMs, log } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;
  let lastFailure = { text: "", loggedAt: 0 };
  let lock: PollerLock | null = null;
  let standingBy = false;

  const holdLock = async (): Promise<boolean> => {
    if (lock && !(await lock.verify())) {
      log(`${name}: lost the poller lock (database connection gone); trying to take it again`);
      await lock.release();
      lock = null;
    }
    if (!lock) {
      lock = await tryAcquirePollerLock(options.lock.db, options.lock.sourceId);
      if (!lock) {
        if (!standingBy) log(`${name}: another collector instance is polling ${options.lock.what}; standing by`);
        standingBy = true;
        await options.onStandBy?.();
        return false;
      }
      standingBy = false;
      log(`${name}: polling ${options.lock.what} every ${pollMs} ms`);
    }
    return true;
  };

  const tick = async (started: number) => {
    try {
      if (!(await holdLock())) return;
      await options.tick(new Date(started));
      if (failures > 0) log(`${name}: polling again after ${failures} failed poll${failures === 1 ? "" : "s"}`);
      failures = 0;
      lastFailure = { text: "", loggedAt: 0 };
    } catch (error) {
      failures += 1;
      const text = describePollError(error);
      const now = Date.now();
      if (text !== lastFailure.text || now - lastFailure.loggedAt >= REPEATED_FAILURE_LOG_MS) {
        log(`${name}: poll failed (${failures} in a row; retrying in ${pollMs} ms): ${text}`);
        lastFailure = { text, loggedAt: now };
      }
      await options.onFailure?.().catch(() => {});
    }
  };

  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      const started = Date.now();
      running = tick(started).finally(() => {
        running = undefined;
        // Polls start pollMs apart; a poll slower than that is followed by the next at once.
        schedule(Math.max(0, pollMs - (Date.now() - started)));
      });
    }, delayMs);
  };
  schedule(0);

  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
        await options.onStop?.();
        await lock?.release();
        lock = null;
      })()),
  };
}
