import fs from "node:fs";
import path from "node:path";
import {
  BATCH_HEADER_SIZE,
  batchCrcMatches,
  decodeRecords,
  readBatchHeader,
  stampBatch,
  type BatchHeader,
  type ValidatedBatch,
} from "./record-batch.ts";

export const LEADER_EPOCH = 0;

/**
 * Where each batch of a partition lives. Parallel arrays of numbers: with `--data-dir` the
 * batches themselves stay on disk, so memory grows with the number of batches, not messages.
 */
interface BatchIndex {
  baseOffsets: number[];
  lastOffsets: number[];
  maxTimestamps: number[];
  positions: number[];
  sizes: number[];
}

export interface AppendedBatch {
  baseOffset: number;
  header: BatchHeader;
}

/**
 * One partition's log: offsets are assigned here, in append order.
 * `highWatermark` is the offset the next batch will get (single node: everything stored is committed).
 */
export abstract class PartitionLog {
  protected index: BatchIndex = { baseOffsets: [], lastOffsets: [], maxTimestamps: [], positions: [], sizes: [] };
  logStartOffset = 0;
  highWatermark = 0;

  /** Stores validated batches, stamping each with its base offset. */
  append(batches: ValidatedBatch[]): AppendedBatch[] {
    const out: AppendedBatch[] = [];
    for (const b of batches) {
      const baseOffset = this.highWatermark;
      // Stored as a view into the request and stamped in place: socket chunks are never reused,
      // and copying each batch cost a fifth of the broker's produce time.
      const bytes = b.bytes;
      stampBatch(bytes, baseOffset, LEADER_EPOCH);
      const lastOffset = baseOffset + b.header.lastOffsetDelta;
      const position = this.write(bytes);
      this.index.baseOffsets.push(baseOffset);
      this.index.lastOffsets.push(lastOffset);
      this.index.maxTimestamps.push(b.header.maxTimestamp);
      this.index.positions.push(position);
      this.index.sizes.push(bytes.length);
      this.highWatermark = lastOffset + 1;
      out.push({ baseOffset, header: b.header });
    }
    return out;
  }

  /** Index of the first batch whose last offset is at or after `offset`, or -1. */
  private findBatch(offset: number): number {
    const last = this.index.lastOffsets;
    let lo = 0;
    let hi = last.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (last[mid]! >= offset) {
        found = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return found;
  }

  /**
   * Whole batches starting with the one that holds `offset`, up to `maxBytes`; the first batch is
   * returned even when larger than `maxBytes` (when `mustReturnFirst`), so a consumer always progresses.
   */
  read(offset: number, maxBytes: number, mustReturnFirst: boolean): { batches: Buffer[]; bytes: number } {
    const batches: Buffer[] = [];
    let bytes = 0;
    let i = this.findBatch(offset);
    if (i < 0) return { batches, bytes };
    const n = this.index.baseOffsets.length;
    for (; i < n; i++) {
      const size = this.index.sizes[i]!;
      if (bytes + size > maxBytes && !(mustReturnFirst && batches.length === 0)) break;
      batches.push(this.readAt(i));
      bytes += size;
    }
    return { batches, bytes };
  }

  /**
   * Moves the log start forward to `offset` (never back, never past the end): what DeleteRecords
   * and retention do. Batches that end before it are dropped from the index; a batch that straddles
   * it stays, and fetches from the new start skip its earlier records, as in Kafka.
   */
  advanceStart(offset: number): boolean {
    const start = Math.min(offset, this.highWatermark);
    if (start <= this.logStartOffset) return false;
    this.logStartOffset = start;
    let n = 0;
    while (n < this.index.lastOffsets.length && this.index.lastOffsets[n]! < start) n++;
    if (n > 0) {
      for (const column of Object.values(this.index) as number[][]) column.splice(0, n);
      this.dropFirst(n);
    }
    return true;
  }

  /**
   * The start offset that `retention.ms` and `retention.bytes` call for (-1 for no limit): whole
   * batches go from the front while their newest record is older than `now - retentionMs` or the
   * log holds more than `retentionBytes`.
   */
  retentionStart(retentionMs: number, retentionBytes: number, now: number): number {
    const { maxTimestamps, lastOffsets, sizes } = this.index;
    let bytes = retentionBytes >= 0 ? sizes.reduce((a, b) => a + b, 0) : 0;
    let i = 0;
    for (; i < lastOffsets.length; i++) {
      const expired = retentionMs >= 0 && maxTimestamps[i]! < now - retentionMs;
      const oversize = retentionBytes >= 0 && bytes > retentionBytes;
      if (!expired && !oversize) break;
      bytes -= sizes[i]!;
    }
    return i === 0 ? this.logStartOffset : lastOffsets[i - 1]! + 1;
  }

  /** Earliest offset whose record timestamp is at or after `timestamp` (Kafka's ListOffsets by time). */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    const ts = this.index.maxTimestamps;
    for (let i = 0; i < ts.length; i++) {
      if (ts[i]! < timestamp) continue;
      const batch = this.readAt(i);
      try {
        for (const rec of decodeRecords(batch)) {
          if (rec.timestamp >= timestamp && rec.offset >= this.logStartOffset) return { offset: rec.offset, timestamp: rec.timestamp };
        }
      } catch {
        // A codec Node cannot decode (snappy, lz4, zstd): answer at batch granularity.
        return { offset: Math.max(this.index.baseOffsets[i]!, this.logStartOffset), timestamp: ts[i]! };
      }
    }
    return null;
  }

  /**
   * ListOffsets' MAX_TIMESTAMP (-3, KIP-734): the first record carrying the largest timestamp in
   * the log, or null for an empty log.
   */
  offsetOfMaxTimestamp(): { offset: number; timestamp: number } | null {
    const ts = this.index.maxTimestamps;
    let best = -1;
    for (let i = 0; i < ts.length; i++) if (best < 0 || ts[i]! > ts[best]!) best = i;
    if (best < 0) return null;
    const timestamp = ts[best]!;
    try {
      const rec = decodeRecords(this.readAt(best)).find((r) => r.timestamp === timestamp && r.offset >= this.logStartOffset);
      if (rec) return { offset: rec.offset, timestamp };
    } catch {
      // A codec Node cannot decode: answer at batch granularity.
    }
    return { offset: Math.max(this.index.lastOffsets[best]!, this.logStartOffset), timestamp };
  }

  /** The batches whose headers the producer state is rebuilt from after a restart. */
  *headers(): Generator<{ baseOffset: number; header: BatchHeader }> {
    for (let i = 0; i < this.index.baseOffsets.length; i++) {
      yield { baseOffset: this.index.baseOffsets[i]!, header: readBatchHeader(this.readHeaderAt(i)) };
    }
  }

  protected abstract write(bytes: Buffer): number;
  /** Forgets the first `n` batches (their index entries are already gone). */
  protected abstract dropFirst(n: number): void;
  protected abstract readAt(i: number): Buffer;
  protected readHeaderAt(i: number): Buffer {
    return this.readAt(i);
  }
  /** Starts an fdatasync of what was written so far, off the event loop. */
  abstract flush(): Promise<void>;
  abstract close(): Promise<void>;
}

/**
 * fdatasync on libuv's thread pool, so the broker keeps answering requests while the disk catches
 * up; one at a time per file.
 */
export class BackgroundSync {
  private dirty = false;
  private running: Promise<void> | null = null;

  constructor(private readonly fd: number) {}

  markDirty(): void {
    this.dirty = true;
  }

  flush(): Promise<void> {
    if (this.running) return this.running;
    if (!this.dirty) return Promise.resolve();
    this.dirty = false;
    this.running = new Promise((resolve) =>
      fs.fdatasync(this.fd, (err) => {
        this.running = null;
        if (err) this.dirty = true;
        resolve();
      }),
    );
    return this.running;
  }

  /** Waits for a sync in flight, then syncs whatever is left: the file can then be closed. */
  async finish(): Promise<void> {
    await this.running;
    if (this.dirty) fs.fdatasyncSync(this.fd);
    this.dirty = false;
  }
}

export class MemoryPartitionLog extends PartitionLog {
  private batches: Buffer[] = [];

  protected write(bytes: Buffer): number {
    this.batches.push(bytes);
    return 0;
  }
  protected readAt(i: number): Buffer {
    return this.batches[i]!;
  }
  protected dropFirst(n: number): void {
    this.batches.splice(0, n);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.batches = [];
    return Promise.resolve();
  }
}

/**
 * A partition log in one append-only file of batches, exactly as they go over the wire.
 * Writes go to the OS with write(2) before the producer is acknowledged, so killing the broker
 * loses nothing acknowledged; `flush()` (fdatasync) runs on a timer and at shutdown, so an OS crash
 * or power loss can lose the writes since the last sync. See README.md.
 */
export class FilePartitionLog extends PartitionLog {
  private fd: number;
  private size = 0;
  private readonly syncer: BackgroundSync;
  /** Bytes cut off the end at start-up: a batch torn by a crash mid-write. */
  truncatedBytes = 0;

  constructor(readonly file: string) {
    super();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, fs.existsSync(file) ? "r+" : "w+");
    this.syncer = new BackgroundSync(this.fd);
    this.recover();
  }

  /** Rebuilds the index from the file and cuts off a batch torn by a crash mid-write. */
  private recover(): void {
    const fileSize = fs.fstatSync(this.fd).size;
    const head = Buffer.alloc(BATCH_HEADER_SIZE);
    let pos = 0;
    while (pos + BATCH_HEADER_SIZE <= fileSize) {
      fs.readSync(this.fd, head, 0, BATCH_HEADER_SIZE, pos);
      const header = readBatchHeader(head);
      if (header.size < BATCH_HEADER_SIZE || pos + header.size > fileSize) break;
      if (pos + header.size === fileSize) {
        // Only the last batch can be torn: check its CRC before trusting it.
        const whole = Buffer.alloc(header.size);
        fs.readSync(this.fd, whole, 0, header.size, pos);
        if (!batchCrcMatches(whole)) break;
      }
      this.index.baseOffsets.push(header.baseOffset);
      this.index.lastOffsets.push(header.baseOffset + header.lastOffsetDelta);
      this.index.maxTimestamps.push(header.maxTimestamp);
      this.index.positions.push(pos);
      this.index.sizes.push(header.size);
      this.highWatermark = header.baseOffset + header.lastOffsetDelta + 1;
      pos += header.size;
    }
    if (pos < fileSize) {
      fs.ftruncateSync(this.fd, pos);
      this.truncatedBytes = fileSize - pos;
    }
    this.size = pos;
    if (this.index.baseOffsets.length > 0) this.logStartOffset = this.index.baseOffsets[0]!;
  }

  protected write(bytes: Buffer): number {
    const position = this.size;
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, position + done);
    this.size += bytes.length;
    this.syncer.markDirty();
    return position;
  }
  /** The bytes stay in the file (one file per partition, no segments to delete); only the index forgets them. */
  protected dropFirst(): void {}
  protected readAt(i: number): Buffer {
    const size = this.index.sizes[i]!;
    const buf = Buffer.allocUnsafe(size);
    fs.readSync(this.fd, buf, 0, size, this.index.positions[i]!);
    return buf;
  }
  protected override readHeaderAt(i: number): Buffer {
    const buf = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
    fs.readSync(this.fd, buf, 0, BATCH_HEADER_SIZE, this.index.positions[i]!);
    return buf;
  }
  flush(): Promise<void> {
    return this.syncer.flush();
  }
  async close(): Promise<void> {
    await this.syncer.finish();
    fs.closeSync(this.fd);
  }
}

