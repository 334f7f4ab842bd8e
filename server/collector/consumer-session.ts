import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { EventRow, StalledPartitionUpdate } from "../db/index.ts";
import { undecodableBatchOf, type UndecodableBatch } from "../kafka/index.ts";
import type { ExtractOptions } from "./extract/index.ts";
import type { EventWriter, PartitionPosition, WriteChunk } from "./event-writer.ts";
import { withTimeout } from "./time-limit.ts";
import { toEventRow, undecodableRangeRow } from "./to-event-row.ts";

/**
 * One kafkajs consumer with a fixed subscription (kafkajs fixes it when the consumer starts; the
 * collector replaces the session when the topic list changes, see collector.ts).
 *
 * Commit after store. kafkajs runs with autoCommit off and eachBatchAutoResolve off, so it never
 * commits anything on its own. A batch is extracted and queued in the EventWriter; only then is
 * its last offset "resolved", which moves kafkajs's fetch position on (so fetching overlaps the
 * database write) but commits nothing. When the writer reports the batch stored, the session
 * commits the offset after it, itself. The writer stores in queue order, so a committed offset
 * always has every earlier offset of its partition stored.
 *
 * Generations. After any (re)join of the group, kafkajs starts fetching again from the committed
 * offsets: batches queued before the join may be fetched and stored a second time, which ingest
 * makes harmless (one row per topic/partition/offset). The session numbers its joins ("epochs")
 * and commits only positions stored in the current one, for partitions assigned in it, so it never
 * commits for a partition it has lost, nor a stale position over a newer one.
 *
 * Undecodable batches (server/kafka/undecodable-batches.ts) arrive as marker messages. The first
 * time a partition's batch fails, what came before it is stored, the partition alone is paused and
 * fetched again after a backoff (1 s, 2 s, 4 s, … up to 30 s): the rest of the topics keep flowing.
 * When the same range has failed the same way `decodeAttempts` times, it is stored as one row
 * flagged `batch-undecodable` (with the error and the raw bytes) and collection moves past it.
 * While it is being retried, stalledPartitions() names it (health).
 */

/**
 * A partition held up by a batch that does not decode: the batch's offset range from the first
 * offset not yet stored, the codec, the error, failed fetches so far, and when it first failed.
 */
/** The session's own record of a stall; the collector adds the source's name for the health row. */
type DecodeStall = Omit<StalledPartitionUpdate, "source">;

export interface SessionTag {
  session: number;
  epoch: number;
}

export interface ConsumerSessionOptions {
  /** This session's number (the collector's count of consumers so far). */
  id: number;
  /** The source it consumes (sources.id): every row it stores carries it. */
  sourceId: number;
  kafka: Kafka;
  groupId: string;
  /** The topics to consume, sorted. */
  topics: readonly string[];
  /** Where a partition without a committed offset starts, per topic. */
  fromBeginning(topic: string): boolean;
  writer: EventWriter<SessionTag>;
  extractOptions: ExtractOptions;
  /**
   * Runs before a fetched batch is extracted (extraction is synchronous): fetches the Schema
   * Registry schemas its values name. Bounded by its own timeout; never throws.
   */
  prepareBatch?: (messages: readonly KafkaMessage[]) => Promise<void>;
  /** Messages per queued chunk at most (the writer's rows per write). */
  maxRowsPerChunk: number;
  /** Start with consumption paused (the database is known to be failing). */
  paused: boolean;
  consumerConfig: Pick<ConsumerConfig, "sessionTimeout" | "heartbeatInterval" | "rebalanceTimeout" | "maxBytes" | "maxBytesPerPartition" | "maxWaitTimeInMs">;
  log(line: string): void;
  /** kafkajs gave up on this consumer for good (a non-retriable crash): replace the session. */
  onFatal(error: Error): void;
  /** Something went wrong (null: recovered); for the health row. */
  onKafkaError(message: string | null): void;
  /** Each fetch, even an empty one (health: last poll). */
  onFetch(): void;
  /** Fetches of a batch that fails to decode the same way before its range is stored flagged. */
  decodeAttempts: number;
  /** Backoff before the first re-fetch of an undecodable batch (doubles each time, up to 30 s). Default 1 s. */
  decodeRetryMs?: number;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** How often a handler waiting for room in the writer queue heartbeats and checks for stop. */
const WAIT_SLICE_MS = 1_000;
/** A failed commit is tried again this often (a later store also triggers one). */
const COMMIT_RETRY_MS = 2_000;
/** The longest wait before an undecodable batch is fetched again. */
const MAX_DECODE_RETRY_MS = 30_000;

export class ConsumerSession {
  readonly id: number;
  readonly topics: readonly string[];
  private readonly consumer: Consumer;
  private epoch = 0;
  private joined = false;
  private assignment = new Set<string>();
  /** Current epoch: the offset after the last stored message, per partition. */
  private stored = new Map<string, PartitionPosition>();
  /** Current epoch: what this session has committed, per partition. */
  private committed = new Map<string, bigint>();
  /** High watermark per partition, from the last batch of it (for the session's own lag). */
  private readonly highWatermarks = new Map<string, bigint>();
  private paused: boolean;
  private stopping = false;
  private disconnected = false;
  private activeHandlers = 0;
  private readonly handlerIdleWaiters = new Set<() => void>();
  private committing: Promise<void> | null = null;
  private commitAgain = false;
  private commitTimer: NodeJS.Timeout | null = null;
  private lastCommitError = "";
  /** A crash was reported through onKafkaError and not yet cleared by a successful fetch. */
  private kafkaErrorShown = true;
  /** Partitions whose next batch failed to decode, per partition key (kept across rejoins). */
  private readonly decodeStalls = new Map<string, DecodeStall>();
  /** Partitions paused until an undecodable batch is fetched again. */
  private readonly decodeRetryTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: ConsumerSessionOptions) {
    this.id = options.id;
    this.topics = options.topics;
    this.paused = options.paused;
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      ...options.consumerConfig,
      // Read-only on the user's cluster: a metadata request must never create a topic.
      allowAutoTopicCreation: false,
      retry: {
        retries: 10,
        initialRetryTime: 300,
        maxRetryTime: 5_000,
        // A retriable crash (broker gone, retries exhausted): kafkajs restarts the consumer itself.
        restartOnFailure: async () => true,
      },
    });
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => this.onJoin(payload.memberAssignment));
    this.consumer.on(events.FETCH, () => {
      // An error stands until the consumer fetches again, not merely rejoins: a consumer that
      // crashes on every fetch must keep showing why.
      if (this.kafkaErrorShown) {
        this.kafkaErrorShown = false;
        options.onKafkaError(null);
      }
      options.onFetch();
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.joined = false;
      this.kafkaErrorShown = true;
      const message = `${payload.error.name}: ${payload.error.message}`;
      if (payload.restart) {
        options.log(`consumer crashed (${message}); kafkajs restarts it`);
        options.onKafkaError(`consumer crashed: ${message}`);
      } else if (!this.stopping) {
        options.log(`consumer crashed for good (${message}); replacing it`);
        options.onKafkaError(`consumer crashed: ${message}`);
        options.onFatal(payload.error);
      }
    });
  }

  async start(): Promise<void> {
    const earliest = this.topics.filter((topic) => this.options.fromBeginning(topic));
    const latest = this.topics.filter((topic) => !this.options.fromBeginning(topic));
    await this.consumer.connect();
    if (earliest.length > 0) await this.consumer.subscribe({ topics: earliest, fromBeginning: true });
    if (latest.length > 0) await this.consumer.subscribe({ topics: latest, fromBeginning: false });
    // stop() may have come while connecting (a broker that is down makes that slow): never start then.
    if (this.stopping) return;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.commitTimer = setInterval(() => this.scheduleCommit(), COMMIT_RETRY_MS);
  }

  /** Pauses (the database is failing) or resumes fetching; kept across rejoins. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    this.applyPause();
  }

  /** The writer stored these chunks (in queue order). */
  onStored(chunks: readonly WriteChunk<SessionTag>[]): void {
    let changed = false;
    for (const chunk of chunks) {
      if (chunk.tag.session !== this.id || chunk.tag.epoch !== this.epoch) continue;
      for (const position of chunk.positions) {
        const k = key(position.topic, position.partition);
        const known = this.stored.get(k);
        if (!known || position.next > known.next) {
          this.stored.set(k, position);
          changed = true;
        }
      }
    }
    if (changed) this.scheduleCommit();
  }

  /** Records behind the high watermark over the assigned partitions this session has seen data of. */
  ownLag(): bigint | null {
    let lag: bigint | null = null;
    for (const k of this.assignment) {
      const highWatermark = this.highWatermarks.get(k);
      const position = this.stored.get(k)?.next ?? this.committed.get(k);
      if (highWatermark === undefined || position === undefined) continue;
      lag = (lag ?? 0n) + (highWatermark > position ? highWatermark - position : 0n);
    }
    return lag;
  }

  /** Partitions held up by a batch that does not decode and is being fetched again (health). */
  stalledPartitions(): DecodeStall[] {
    return [...this.decodeStalls.values()].map((stall) => ({ ...stall }));
  }

  /**
   * Stops consuming, waits for what was queued to be stored, commits it, and leaves the group,
   * all within `timeoutMs` (a broker or database that does not answer must not hold a stop up).
   * What is still unstored then stays uncommitted: whoever consumes those partitions next reads it
   * again, and ingest stores it once. Resolves with what it cut short (empty: nothing).
   */
  async stop(timeoutMs: number): Promise<string[]> {
    if (this.stopping) return [];
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    const cutShort: string[] = [];
    this.applyPause();
    await this.handlersIdle(Math.min(WAIT_SLICE_MS * 5, left()));
    const drained = await this.options.writer.drain(left());
    if (drained) {
      await withTimeout(this.flushCommits(), left()).catch((error: unknown) => {
        cutShort.push("committing the stored offsets");
        this.options.log(`final offset commit failed (those events will be read again, and stored once): ${String(error)}`);
      });
    } else {
      const queued = this.options.writer.getStats().queuedRows;
      cutShort.push("storing the fetched events");
      this.options.log(
        `stopping the consumer with ${queued} events not yet stored: their offsets stay uncommitted and they will be read again`,
      );
    }
    if (this.commitTimer) clearInterval(this.commitTimer);
    for (const timer of this.decodeRetryTimers.values()) clearTimeout(timer);
    this.decodeRetryTimers.clear();
    this.disconnected = true;
    await withTimeout(this.consumer.disconnect(), left()).catch((error: unknown) => {
      cutShort.push("leaving the consumer group");
      this.options.log(`leaving the group failed: ${String(error)}`);
    });
    return cutShort;
  }

  private onJoin(memberAssignment: Record<string, number[]>): void {
    this.epoch += 1;
    this.joined = true;
    this.assignment = new Set(
      Object.entries(memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => key(topic, p))),
    );
    // kafkajs restarts from the committed offsets after a join: positions of the previous epoch
    // are no longer what this member fetches from.
    this.stored = new Map();
    this.committed = new Map();
    for (const k of this.decodeStalls.keys()) if (!this.assignment.has(k)) this.decodeStalls.delete(k);
    const described = Object.entries(memberAssignment)
      .filter(([, partitions]) => partitions.length > 0)
      .map(([topic, partitions]) => `${topic} [${[...partitions].sort((a, b) => a - b).join(",")}]`)
      .join(", ");
    this.options.log(`joined group ${this.options.groupId}: assigned ${described || "no partitions"}`);
    this.applyPause();
  }

  private applyPause(): void {
    if (this.disconnected) return;
    const topics = this.topics.map((topic) => ({ topic }));
    try {
      if (this.paused || this.stopping) this.consumer.pause(topics);
      else {
        this.consumer.resume(topics);
        // Resuming a topic resumes all its partitions: those waiting to re-fetch a batch stay paused.
        for (const k of this.decodeRetryTimers.keys()) {
          const stall = this.decodeStalls.get(k);
          if (stall) this.consumer.pause([{ topic: stall.topic, partitions: [stall.partition] }]);
        }
      }
    } catch {
      // Not running yet (or restarting after a crash): applied again on the next join.
    }
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning()) return;
    this.activeHandlers += 1;
    try {
      const tag: SessionTag = { session: this.id, epoch: this.epoch };
      const k = key(batch.topic, batch.partition);
      this.highWatermarks.set(k, BigInt(batch.highWatermark));
      // kafkajs's Batch knows the offset it fetched from; its type does not say so.
      const fetchedOffset = (batch as { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset() ?? "0";
      const { messages, retry } = this.decodableMessages(batch.topic, batch.partition, batch.messages, fetchedOffset);
      await this.options.prepareBatch?.(messages);
      const writer = this.options.writer;
      const chunkRows = this.options.maxRowsPerChunk;
      // A catch-up fetch can hold tens of thousands of messages per partition: queued in chunks of
      // at most one write each, so commits follow the writes closely and the queue limits bite.
      for (let start = 0; start < messages.length; start += chunkRows) {
        const slice = messages.slice(start, start + chunkRows);
        const rows = slice.map((message) => this.toRow(batch.topic, batch.partition, message));
        let bytes = 0;
        for (const row of rows) bytes += row.sizeBytes;
        // Backpressure: while the writer's queue is full (a slow or unavailable database), hold
        // this chunk, heartbeating so the group keeps the partitions here.
        while (!writer.hasRoom()) {
          await Promise.race([writer.whenRoom(), delay(WAIT_SLICE_MS)]);
          // Not queued and not resolved: fetched again from here by whoever consumes next.
          if (this.stopping || !isRunning()) return;
          await heartbeat();
        }
        if (this.stopping || !isRunning()) return;
        // The batch's last offset may lie past its last message (control records): resolve to it,
        // unless the batch was cut before an undecodable batch that is to be fetched again.
        const last = start + chunkRows >= messages.length && !retry ? batch.lastOffset() : slice[slice.length - 1]!.offset;
        writer.enqueue({
          rows,
          bytes,
          positions: [{ topic: batch.topic, partition: batch.partition, next: BigInt(last) + 1n }],
          tag,
        });
        // Moves the fetch position on; commits nothing (autoCommit is off).
        resolveOffset(last);
      }
      if (retry) this.scheduleDecodeRetry(k, retry);
    } finally {
      this.activeHandlers -= 1;
      if (this.activeHandlers === 0) {
        for (const resolve of this.handlerIdleWaiters) resolve();
        this.handlerIdleWaiters.clear();
      }
    }
  }

  private toRow(topic: string, partition: number, message: KafkaMessage): EventRow {
    const undecodable = undecodableBatchOf(message);
    if (!undecodable) return toEventRow(this.options.sourceId, topic, partition, message, this.options.extractOptions);
    const k = key(topic, partition);
    const stall = this.decodeStalls.get(k);
    this.decodeStalls.delete(k);
    return undecodableRangeRow(this.options.sourceId, topic, partition, undecodable, {
      fromOffset: stall?.fromOffset ?? undecodable.firstOffset,
      attempts: stall?.attempts ?? this.options.decodeAttempts,
      since: stall?.since ?? new Date(),
      maxValueBytes: this.options.extractOptions.maxValueBytes,
    });
  }

  /**
   * The messages of a fetched batch that are to be stored now: all of them, or those before the
   * first undecodable batch that is to be fetched again (`retry`). An undecodable batch that has
   * failed `decodeAttempts` times stays in the list (stored as its flagged range).
   */
  private decodableMessages(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    fetchedOffset: string,
  ): { messages: KafkaMessage[]; retry: DecodeStall | null } {
    const k = key(topic, partition);
    for (let i = 0; i < messages.length; i++) {
      const undecodable = undecodableBatchOf(messages[i]!);
      if (!undecodable) continue;
      const stall = this.noteDecodeFailure(topic, partition, undecodable, i === 0 ? fetchedOffset : undecodable.firstOffset);
      if (stall.attempts >= this.options.decodeAttempts) {
        this.options.log(
          `${topic}-${partition}: offsets ${stall.fromOffset}..${stall.toOffset} (${stall.codec}) failed to decode ${stall.attempts} times (${stall.error}): stored as one row flagged batch-undecodable, moving on`,
        );
        continue;
      }
      return { messages: messages.slice(0, i), retry: stall };
    }
    // A fetch that got past the stalled range without a marker: whatever held it up is gone.
    const stall = this.decodeStalls.get(k);
    const first = messages[0];
    if (stall && first && BigInt(first.offset) > BigInt(stall.toOffset)) this.decodeStalls.delete(k);
    return { messages, retry: null };
  }

  private noteDecodeFailure(topic: string, partition: number, undecodable: UndecodableBatch, fetchedOffset: string): DecodeStall {
    const k = key(topic, partition);
    const first = BigInt(undecodable.firstOffset);
    const fetched = BigInt(fetchedOffset);
    const fromOffset = (fetched > first && fetched <= BigInt(undecodable.lastOffset) ? fetched : first).toString();
    const known = this.decodeStalls.get(k);
    const same = known && known.fromOffset === fromOffset && known.toOffset === undecodable.lastOffset && known.error === undecodable.error;
    const stall: DecodeStall = same
      ? { ...known, attempts: known.attempts + 1 }
      : {
          topic,
          partition,
          fromOffset,
          toOffset: undecodable.lastOffset,
          codec: undecodable.codec,
          error: undecodable.error,
          attempts: 1,
          since: new Date(),
        };
    this.decodeStalls.set(k, stall);
    return stall;
  }

  /** Pauses the partition alone and fetches the failed batch again after a backoff. */
  private scheduleDecodeRetry(k: string, stall: DecodeStall): void {
    if (this.stopping || this.decodeRetryTimers.has(k)) return;
    const baseMs = this.options.decodeRetryMs ?? 1_000;
    const waitMs = Math.min(MAX_DECODE_RETRY_MS, baseMs * 2 ** (stall.attempts - 1));
    this.options.log(
      `${stall.topic}-${stall.partition}: offsets ${stall.fromOffset}..${stall.toOffset} (${stall.codec}) failed to decode (${stall.error}); attempt ${stall.attempts} of ${this.options.decodeAttempts}, fetching it again in ${waitMs} ms`,
    );
    const partitions = [{ topic: stall.topic, partitions: [stall.partition] }];
    try {
      this.consumer.pause(partitions);
    } catch {
      // Not running (a crash or a rejoin under way): the re-fetch happens on its own then.
      return;
    }
    this.decodeRetryTimers.set(
      k,
      setTimeout(() => {
        this.decodeRetryTimers.delete(k);
        if (this.paused || this.stopping || this.disconnected) return;
        try {
          this.consumer.resume(partitions);
        } catch {
          // Not running: the next join fetches from the committed offsets anyway.
        }
      }, waitMs),
    );
  }

  private handlersIdle(timeoutMs: number): Promise<void> {
    if (this.activeHandlers === 0) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve) => this.handlerIdleWaiters.add(resolve)),
      timeoutMs,
    ).catch(() => undefined);
  }

  private scheduleCommit(): void {
    if (this.disconnected) return;
    if (this.committing) {
      this.commitAgain = true;
      return;
    }
    this.committing = (async () => {
      do {
        this.commitAgain = false;
        await this.commitOnce();
      } while (this.commitAgain && !this.disconnected);
    })().finally(() => {
      this.committing = null;
    });
  }

  private async flushCommits(): Promise<void> {
    while (this.committing) await this.committing;
    await this.commitOnce();
  }

  private async commitOnce(): Promise<void> {
    if (!this.joined || this.disconnected) return;
    const epoch = this.epoch;
    const offsets: { topic: string; partition: number; offset: string; next: bigint; k: string }[] = [];
    for (const [k, position] of this.stored) {
      if (!this.assignment.has(k)) continue;
      const committed = this.committed.get(k);
      if (committed !== undefined && committed >= position.next) continue;
      offsets.push({ topic: position.topic, partition: position.partition, offset: position.next.toString(), next: position.next, k });
    }
    if (offsets.length === 0) return;
    try {
      await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      if (epoch !== this.epoch) return;
      for (const { k, next } of offsets) {
        const committed = this.committed.get(k);
        if (committed === undefined || next > committed) this.committed.set(k, next);
      }
      this.lastCommitError = "";
    } catch (error) {
      // Stored but not committed is safe: at worst those events are read again and stored once.
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastCommitError) {
        this.options.log(`committing offsets failed (retried in ${COMMIT_RETRY_MS / 1000}s): ${message}`);
        this.lastCommitError = message;
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
