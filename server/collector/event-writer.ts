import {
  ingestEvents,
  toDatabaseError,
  type DatabaseError,
  type Database,
  type EventRow,
  type IngestResult,
} from "../db/index.ts";

/**
 * The collector's write path: a FIFO of extracted batches ("chunks"), written through
 * `ingestEvents`, several small chunks merged into one transaction, up to `maxConcurrentWrites`
 * transactions at a time.
 *
 * Why per-partition order: a chunk's offsets may be committed once it is stored, and committing
 * offset N of a partition says every earlier offset of it is stored. So the chunks of one
 * partition are written one transaction at a time, in queue order: "stored" is then always a
 * prefix of what was fetched, per partition, and the consumer can commit it. Different partitions
 * are independent, which is what lets two transactions run at once (PostgreSQL writes ~30 % more
 * with two COPYs in flight than with one, measured on the 2-core machine). The consumer keeps
 * fetching and extracting while writes are in flight (the queue is the overlap), up to the
 * queue's limits: then it waits.
 *
 * A write that fails is retried, the same rows, with exponential backoff, forever (until stop):
 * nothing is ever skipped, so nothing is ever committed past an unstored offset. A retriable
 * DatabaseError is an outage ("database unavailable"); anything else is retried as well, more
 * loudly, because skipping the rows would lose them (ingest already stores rows PostgreSQL
 * refuses as bytes, so a non-retriable error is rare: a broken schema, a permission).
 */

export interface PartitionPosition {
  topic: string;
  partition: number;
  /** The offset after the chunk's last message of this partition: what to commit once stored. */
  next: bigint;
}

export interface WriteChunk<Tag> {
  rows: EventRow[];
  /** Approximate memory held by the rows (key + value + headers bytes). */
  bytes: number;
  /** The partitions the chunk's rows belong to, with the position after them. */
  positions: PartitionPosition[];
  /** Whatever the consumer needs back with onStored (which consumer and generation fetched it). */
  tag: Tag;
}

export interface EventWriterOptions<Tag> {
  db: Pick<Database, "pool">;
  log: (line: string) => void;
  /** Rows per database transaction at most (chunks are never split). Default 5,000. */
  maxRowsPerWrite?: number;
  /** Bytes per transaction at most (chunks are never split). Default 32 MiB. */
  maxBytesPerWrite?: number;
  /** Transactions in flight at once, on distinct partitions. Default 2. */
  maxConcurrentWrites?: number;
  /** Rows waiting behind the writes in flight before `hasRoom()` says no. Default 20,000. */
  maxQueuedRows?: number;
  /** Bytes waiting behind the writes in flight before `hasRoom()` says no. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** First retry delay after a failed write. Default 250 ms; doubles up to maxRetryDelayMs. */
  initialRetryDelayMs?: number;
  /** Default 5 s: short enough that a recovered database is noticed promptly. */
  maxRetryDelayMs?: number;
  /** Mark the stored rows' entities for the flows fold (ingestEvents' `flows`). Default true. */
  flows?: boolean;
  /** Called once the chunks' rows are committed in PostgreSQL; per partition, in queue order. */
  onStored(chunks: readonly WriteChunk<Tag>[], result: IngestResult): void;
  /** Called when writes start failing (false, with the error) and when they all succeed again (true). */
  onAvailabilityChange?(available: boolean, error: DatabaseError | null): void;
}

export interface WriterStats {
  /** Rows stored (new or already there) since start. */
  storedRows: number;
  /** Of those, rows that were new in the database. */
  insertedRows: number;
  writes: number;
  failedAttempts: number;
  /** Rows queued or being written. */
  queuedRows: number;
  lastStoredAt: Date | null;
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class EventWriter<Tag> {
  private readonly queue: WriteChunk<Tag>[] = [];
  private queuedRows = 0;
  private queuedBytes = 0;
  /** Rows of the writes in flight. */
  private writingRows = 0;
  /** Partitions with a write in flight: no other write may touch them until it is stored. */
  private readonly busyPartitions = new Set<string>();
  private inFlight = 0;
  private failingWrites = 0;
  private stopped = false;
  /** Wakes the idle workers when a chunk arrives or a write completes. */
  private readonly wakers = new Set<() => void>();
  /** Cut retry delays short when stop() is called (new chunks must not: that would skip the backoff). */
  private readonly sleepInterrupters = new Set<() => void>();
  private readonly roomWaiters = new Set<() => void>();
  /** drain() calls waiting: resolved true when idle, false when stopped first. */
  private readonly idleWaiters = new Set<(idle: boolean) => void>();
  private readonly workers: Promise<void>[];
  private readonly stats: WriterStats = {
    storedRows: 0,
    insertedRows: 0,
    writes: 0,
    failedAttempts: 0,
    queuedRows: 0,
    lastStoredAt: null,
  };
  private readonly limits: {
    maxRowsPerWrite: number;
    maxBytesPerWrite: number;
    maxQueuedRows: number;
    maxQueuedBytes: number;
    initialRetryDelayMs: number;
    maxRetryDelayMs: number;
  };

  constructor(private readonly options: EventWriterOptions<Tag>) {
    this.limits = {
      maxRowsPerWrite: options.maxRowsPerWrite ?? 5_000,
      maxBytesPerWrite: options.maxBytesPerWrite ?? 32 * 1024 * 1024,
      maxQueuedRows: options.maxQueuedRows ?? 20_000,
      maxQueuedBytes: options.maxQueuedBytes ?? 64 * 1024 * 1024,
      initialRetryDelayMs: options.initialRetryDelayMs ?? 250,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 5_000,
    };
    const concurrency = Math.max(1, options.maxConcurrentWrites ?? 2);
    this.workers = Array.from({ length: concurrency }, () => this.work());
  }

  /** Whether a new chunk may be queued now (an empty queue always takes one, however large). */
  hasRoom(): boolean {
    return (
      this.queue.length === 0 ||
      (this.queuedRows < this.limits.maxQueuedRows && this.queuedBytes < this.limits.maxQueuedBytes)
    );
  }

  /** Resolves when hasRoom() may have become true (or the writer stopped). */
  whenRoom(): Promise<void> {
    if (this.hasRoom() || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.add(resolve));
  }

  /** Queues a chunk (callers check hasRoom() first; enqueue itself never refuses). */
  enqueue(chunk: WriteChunk<Tag>): void {
    if (this.stopped) throw new Error("the event writer is stopped");
    this.queue.push(chunk);
    this.queuedRows += chunk.rows.length;
    this.queuedBytes += chunk.bytes;
    this.wakeWorkers();
  }

  /** True while writes are failing (the database is unreachable or refuses them). */
  isFailing(): boolean {
    return this.failingWrites > 0;
  }

  getStats(): WriterStats {
    return { ...this.stats, queuedRows: this.queuedRows + this.writingRows };
  }

  /** Resolves true once everything queued so far is stored, false if `timeoutMs` passes first. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return true;
    if (this.stopped) return false;
    let timer: NodeJS.Timeout | undefined;
    let waiter: ((idle: boolean) => void) | undefined;
    const idle = new Promise<boolean>((resolve) => {
      waiter = resolve;
      this.idleWaiters.add(waiter);
    });
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
      if (waiter) this.idleWaiters.delete(waiter);
    }
  }

  /**
   * Stops after the writes in flight (an attempt cannot be cancelled). Queued chunks are dropped:
   * their offsets were never committed, so the next consumer of those partitions reads them again.
   * Returns how many rows were dropped.
   */
  async stop(): Promise<number> {
    this.stopped = true;
    this.wakeWorkers();
    for (const interrupt of this.sleepInterrupters) interrupt();
    for (const resolve of this.roomWaiters) resolve();
    this.roomWaiters.clear();
    await Promise.all(this.workers);
    for (const resolve of this.idleWaiters) resolve(this.isIdle());
    this.idleWaiters.clear();
    const dropped = this.queuedRows;
    this.queue.length = 0;
    this.queuedRows = 0;
    this.queuedBytes = 0;
    return dropped;
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0;
  }

  private wakeWorkers(): void {
    for (const wake of this.wakers) wake();
    this.wakers.clear();
  }

  /**
   * Takes chunks for one write, up to its limits: from the head of the queue, skipping chunks of
   * partitions that another write holds. Once a chunk is skipped, later chunks of its partitions
   * are skipped too (they must be written after it). Empty when everything queued is blocked.
   */
  private takeWrite(): WriteChunk<Tag>[] {
    const taken: WriteChunk<Tag>[] = [];
    const blocked = new Set(this.busyPartitions);
    let rows = 0;
    let bytes = 0;
    for (let i = 0; i < this.queue.length; ) {
      const chunk = this.queue[i]!;
      const keys = chunk.positions.map((p) => partitionKey(p.topic, p.partition));
      if (keys.some((k) => blocked.has(k))) {
        for (const k of keys) blocked.add(k);
        i += 1;
        continue;
      }
      const fits =
        taken.length === 0 ||
        (rows + chunk.rows.length <= this.limits.maxRowsPerWrite && bytes + chunk.bytes <= this.limits.maxBytesPerWrite);
      if (!fits) break;
      this.queue.splice(i, 1);
      taken.push(chunk);
      rows += chunk.rows.length;
      bytes += chunk.bytes;
    }
    if (taken.length === 0) return taken;
    for (const chunk of taken) {
      for (const p of chunk.positions) this.busyPartitions.add(partitionKey(p.topic, p.partition));
    }
    this.queuedRows -= rows;
    this.queuedBytes -= bytes;
    this.writingRows += rows;
    if (this.hasRoom()) {
      for (const resolve of this.roomWaiters) resolve();
      this.roomWaiters.clear();
    }
    return taken;
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      const chunks = this.takeWrite();
      if (chunks.length === 0) {
        if (this.isIdle()) {
          for (const resolve of this.idleWaiters) resolve(true);
          this.idleWaiters.clear();
        }
        await new Promise<void>((resolve) => this.wakers.add(resolve));
        continue;
      }
      this.inFlight += 1;
      const rows = chunks.length === 1 ? chunks[0]!.rows : chunks.flatMap((chunk) => chunk.rows);
      let result: IngestResult | null = null;
      try {
        result = await this.writeWithRetries(rows);
      } finally {
        this.inFlight -= 1;
        this.writingRows -= rows.length;
        for (const chunk of chunks) {
          for (const p of chunk.positions) this.busyPartitions.delete(partitionKey(p.topic, p.partition));
        }
      }
      if (result !== null) {
        this.stats.storedRows += rows.length;
        this.stats.insertedRows += result.inserted;
        this.stats.writes += 1;
        if (rows.length > 0) this.stats.lastStoredAt = new Date();
        for (const r of result.recreated ?? []) {
          this.options.log(
            `topic ${r.topic} partition ${r.partition} was deleted and created again (its log restarts below what was stored): ` +
              `deleted ${r.deletedRows} stored events of its previous incarnation from offset ${r.fromOffset} on, then stored the new ones`,
          );
        }
        try {
          this.options.onStored(chunks, result);
        } catch (error) {
          this.options.log(`after storing ${rows.length} events: ${(error as Error).message}`);
        }
      }
      // Its partitions are free again: chunks queued behind them can go now.
      this.wakeWorkers();
      // null: stopped while retrying; the rows stay uncommitted.
    }
  }

  /** The rows' IngestResult once stored; null when stop() came first. */
  private async writeWithRetries(rows: EventRow[]): Promise<IngestResult | null> {
    if (rows.length === 0) return { inserted: 0, deadLetters: 0 };
    let failingSince = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await ingestEvents(this.options.db, rows, { flows: this.options.flows ?? true });
        if (failingSince !== 0) {
          this.failingWrites -= 1;
          const seconds = ((Date.now() - failingSince) / 1000).toFixed(1);
          this.options.log(`database available again: stored ${rows.length} waiting events (${seconds}s after the first failure)`);
          if (this.failingWrites === 0) this.options.onAvailabilityChange?.(true, null);
        }
        return result;
      } catch (thrown) {
        const error = toDatabaseError(thrown, `storing ${rows.length} events`);
        this.stats.failedAttempts += 1;
        if (failingSince === 0) {
          failingSince = Date.now();
          this.failingWrites += 1;
          if (this.failingWrites === 1) this.options.onAvailabilityChange?.(false, error);
        }
        if (this.stopped) {
          this.failingWrites -= 1;
          return null;
        }
        const delay = this.retryDelay(attempt);
        const seconds = (delay / 1000).toFixed(1);
        this.options.log(
          error.retriable
            ? `database unavailable, retrying in ${seconds}s: ${oneLine(error.message)}`
            : `storing ${rows.length} events failed with an error not known to be transient, retrying in ${seconds}s (nothing is skipped or committed past it): ${oneLine(error.message)}`,
        );
        await this.sleep(delay);
        if (this.stopped) {
          this.failingWrites -= 1;
          return null;
        }
      }
    }
  }

  private retryDelay(attempt: number): number {
    const base = Math.min(this.limits.maxRetryDelayMs, this.limits.initialRetryDelayMs * 2 ** Math.min(attempt, 20));
    // ±20 % so that several collectors do not hammer a recovering server in step.
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /** A delay that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const interrupt = () => {
        clearTimeout(timer);
        this.sleepInterrupters.delete(interrupt);
        resolve();
      };
      const timer = setTimeout(interrupt, ms);
      this.sleepInterrupters.add(interrupt);
    });
  }
}

/**
 * A log line from an error message: Prisma's span several lines (the call site, then the reason on
 * the last line); pg's and kafkajs's are one line already.
 */
export function oneLine(message: string): string {
  const lines = message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  if (lines.length <= 1) return lines[0] ?? message;
  return `${lines[0]!.replace(/:$/, "")}: ${lines[lines.length - 1]}`;
}
