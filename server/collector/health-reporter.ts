import { randomBytes } from "node:crypto";
import os from "node:os";
import { recordCollectorHealth, type CollectorHealthUpdate, type Database } from "../db/index.ts";
import { oneLine } from "./event-writer.ts";

/**
 * A collector pipeline's health row (collector_instances, GET /api/health) on a timer: what the
 * pipeline reports (`snapshot`) under its identity, one write at a time. A failing write is logged
 * once until one succeeds again (the database being down is already logged by the writer).
 */
export interface HealthReporter {
  /** Writes the row now; never throws. */
  writeNow(): Promise<void>;
  /** Stops the timer; resolves once a write in progress has finished. */
  stop(): Promise<void>;
}

type Identity = Pick<CollectorHealthUpdate, "instanceId" | "sourceId" | "host" | "pid" | "startedAt">;

/** A pipeline's instance id, unless it is given one: `<host>-<pid>-<random>`. */
export function newInstanceId(): string {
  return `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

export interface HealthReporterOptions {
  db: Pick<Database, "prisma">;
  log(line: string): void;
  /** The row's key (newInstanceId()) and the source it reports on; host, pid and start time are this process's. */
  identity: Pick<Identity, "instanceId" | "sourceId">;
  /** The row's other fields, read at each write. */
  snapshot(): Omit<CollectorHealthUpdate, keyof Identity>;
  /** Default 5 s; the first write is at once. */
  intervalMs?: number;
}

export function startHealthReporter(options: HealthReporterOptions): HealthReporter {
  const identity: Identity = { ...options.identity, host: os.hostname(), pid: process.pid, startedAt: new Date() };
  let failing = false;
  const write = async () => {
    try {
      await recordCollectorHealth(options.db, { ...identity, ...options.snapshot() });
      failing = false;
    } catch (error) {
      if (!failing) options.log(`recording collector health failed: ${oneLine((error as Error).message)}`);
      failing = true;
    }
  };
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = write().finally(() => (running = null));
  };
  const timer = setInterval(tick, options.intervalMs ?? 5_000);
  tick();
  return {
    writeNow: write,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
