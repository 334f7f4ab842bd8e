import { foldFlows, pendingFlowSteps, type Database } from "../db/index.ts";
import { oneLine } from "./event-writer.ts";
import type { CompensationPair } from "../../lib/flows.ts";

/**
 * Runs the flows fold (server/db/flows.ts) on a timer: every `intervalMs`, fold batches of waiting
 * steps until none is left (yielding between batches, so the collector's own writes go on).
 *
 * A fold rewrites each entity it touches once, however many of its steps it brings: while the
 * collector catches up (its own lag above `catchUpLag` records, or, while its lag is not known,
 * more than `catchUpSteps` waiting), folding every `catchUpIntervalMs` instead brings each entity
 * several steps at a time and leaves the collector's time to storing events (the fold costs about
 * as much CPU per step as storing the event did). The flows page says how many steps wait meanwhile.
 *
 * Several collectors may run one each: an advisory lock lets one fold at a time, and the others
 * find it taken and wait for their next tick. A failure is logged once and tried again next tick;
 * the waiting steps stay until a fold commits.
 */
export interface FlowFolder {
  stop(): Promise<void>;
}

export interface FlowFolderOptions {
  db: Pick<Database, "pool">;
  /** EVENTSCOPE_COMPENSATIONS (foldFlows). */
  compensations?: readonly CompensationPair[];
  log(line: string): void;
  /** Default 2 s. */
  intervalMs?: number;
  /** Default 100,000 steps. */
  catchUpSteps?: number;
  /** The collector's own lag (records behind the end of its partitions), when known. */
  ownLag?: () => bigint | null;
  /** Default 20,000 records. */
  catchUpLag?: number;
  /** Default 60 s. */
  catchUpIntervalMs?: number;
}

export function startFlowFolder(options: FlowFolderOptions): FlowFolder {
  const intervalMs = options.intervalMs ?? 2_000;
  const catchUpSteps = options.catchUpSteps ?? 100_000;
  const catchUpIntervalMs = options.catchUpIntervalMs ?? 60_000;
  const catchUpLag = BigInt(options.catchUpLag ?? 20_000);
  // Its own lag says whether the collector catches up; without one (not known yet), the steps waiting do.
  const catchingUp = async () => {
    const lag = options.ownLag?.() ?? null;
    return lag !== null ? lag > catchUpLag : (await pendingFlowSteps(options.db)) > catchUpSteps;
  };
  let stopped = false;
  let failing = false;
  // As if a fold had just run: a collector that starts behind leaves folding for later at once.
  let lastFoldAt = Date.now();
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running || stopped) return;
    running = (async () => {
      try {
        if (Date.now() - lastFoldAt < catchUpIntervalMs && (await catchingUp())) return;
        lastFoldAt = Date.now();
        for (;;) {
          const result = await foldFlows(options.db, { compensations: options.compensations });
          if (!result.more || stopped) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (failing) options.log("flows: folding works again");
        failing = false;
      } catch (error) {
        if (!failing) options.log(`flows: folding failed (tried again every ${intervalMs} ms): ${oneLine((error as Error).message)}`);
        failing = true;
      }
    })().finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
