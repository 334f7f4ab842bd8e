import type { Config } from "../config.ts";
import { pruneOlderThan, type Database } from "../db/index.ts";
import { oneLine } from "./event-writer.ts";

/**
 * Retention on a timer (EVENTSCOPE_RETENTION for events and samples, EVENTSCOPE_AUDIT_RETENTION
 * for dead letters and the audit log): every collector pipeline runs one; pruneOlderThan's
 * advisory lock lets one instance at a time do the work. A failure is logged and tried again at
 * the next tick.
 */
export interface RetentionTimer {
  /** Stops the timer; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

export interface RetentionTimerOptions {
  db: Pick<Database, "pool" | "prisma">;
  /** EVENTSCOPE_RETENTION and EVENTSCOPE_AUDIT_RETENTION. */
  config: Pick<Config, "retentionMs" | "auditRetentionMs">;
  log(line: string): void;
  /** Default 10 min; the first run is a minute after start (or after one interval, if shorter). */
  intervalMs?: number;
}

export function startRetentionTimer(options: RetentionTimerOptions): RetentionTimer {
  const { log } = options;
  let running: Promise<void> | null = null;
  const prune = () => {
    if (running) return;
    running = (async () => {
      const now = Date.now();
      const before = new Date(now - options.config.retentionMs);
      const auditBefore = new Date(now - options.config.auditRetentionMs);
      try {
        const result = await pruneOlderThan(options.db, { data: before, audit: auditBefore });
        if (!result.ran) return;
        const total = result.events + result.lagSamples + result.lagMinutes + result.endOffsetSamples + result.flowEntities + result.flowCounts;
        if (total > 0) {
          log(
            `retention: deleted ${result.events} events, ${result.lagSamples} lag samples, ${result.lagMinutes} per-minute lag roll-ups, ${result.endOffsetSamples} end-offset samples, ` +
              `${result.flowEntities} flow entities and ${result.flowCounts} hourly flow counters from before ${before.toISOString()}`,
          );
        }
        if (result.deadLetters + result.auditEntries > 0) {
          log(
            `audit retention: deleted ${result.deadLetters} dead letters (with their replays) and ${result.auditEntries} audit entries from before ${auditBefore.toISOString()}`,
          );
        }
      } catch (error) {
        log(`retention: pruning failed (tried again later): ${oneLine((error as Error).message)}`);
      }
    })().finally(() => (running = null));
  };
  const intervalMs = options.intervalMs ?? 10 * 60_000;
  const first = setTimeout(prune, Math.min(60_000, intervalMs));
  const timer = setInterval(prune, intervalMs);
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
