import { gunzipSync, gzipSync } from "node:zlib";
import { crc32c } from "./crc32c.ts";

/**
 * Kafka's record batch, magic v2. The broker stores batches as the producer sent them and
 * only rewrites the two fields outside the CRC: the base offset and the partition leader epoch.
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
 *   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
 *   producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records…
 *
 * The CRC-32C covers everything from `attributes` to the end of the batch.
 */
export const BATCH_HEADER_SIZE = 61;
/** batchLength counts the bytes after itself: a batch occupies 12 + batchLength bytes. */
export const LOG_OVERHEAD = 12;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

export class CorruptBatchError extends Error {
  constructor(
    message: string,
    /** Kafka error code to answer with: CORRUPT_MESSAGE unless the format itself is unsupported. */
    readonly errorCode: number,
  ) {
    super(message);
    this.name = "CorruptBatchError";
  }
}

export interface BatchHeader {
  baseOffset: number;
  /** Bytes the whole batch occupies, header included. */
  size: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 4294967296 + buf.readUInt32BE(at + 4);
}

function writeInt64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * 4294967296, at + 4);
}

/** Reads a batch header at `at`; the caller has checked that 61 bytes are there. */
export function readBatchHeader(buf: Buffer, at = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, at),
    size: LOG_OVERHEAD + buf.readInt32BE(at + 8),
    magic: buf.readInt8(at + 16),
    crc: buf.readUInt32BE(at + CRC_OFFSET),
    attributes: buf.readInt16BE(at + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(at + 23),
    baseTimestamp: readInt64(buf, at + 27),
    maxTimestamp: readInt64(buf, at + 35),
    producerId: readInt64(buf, at + 43),
    producerEpoch: buf.readInt16BE(at + 51),
    baseSequence: buf.readInt32BE(at + 53),
    recordCount: buf.readInt32BE(at + 57),
  };
}

export interface ValidatedBatch {
  header: BatchHeader;
  /** The batch's own bytes (a view into the request). */
  bytes: Buffer;
}

/**
 * Splits the `records` of a produce request into batches and checks each one: magic 2, sizes
 * that add up, the CRC. Any defect rejects the whole partition's data, as Kafka does.
 */
export function validateBatches(records: Buffer): ValidatedBatch[] {
  const out: ValidatedBatch[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < BATCH_HEADER_SIZE) {
      throw new CorruptBatchError(`record batch truncated: ${records.length - at} bytes left`, 2);
    }
    const magic = records.readInt8(at + 16);
    if (magic !== 2) {
      // UNSUPPORTED_FOR_MESSAGE_FORMAT: the old message-set formats are not served.
      throw new CorruptBatchError(`record batch magic ${magic} is not supported (only v2)`, 43);
    }
    const header = readBatchHeader(records, at);
    if (header.size < BATCH_HEADER_SIZE || at + header.size > records.length) {
      throw new CorruptBatchError(`record batch length ${header.size} does not fit the request`, 2);
    }
    const actual = crc32c(records, at + ATTRIBUTES_OFFSET, at + header.size);
    if (actual !== header.crc) {
      throw new CorruptBatchError(
        `record batch CRC mismatch: header says ${header.crc.toString(16)}, data gives ${actual.toString(16)}`,
        2,
      );
    }
    if (header.recordCount < 0 || header.lastOffsetDelta < 0) {
      throw new CorruptBatchError(`record batch has a negative record count or offset delta`, 2);
    }
    out.push({ header, bytes: records.subarray(at, at + header.size) });
    at += header.size;
  }
  return out;
}

/** Checks the CRC of a batch read back from disk. */
export function batchCrcMatches(batch: Buffer): boolean {
  if (batch.length < BATCH_HEADER_SIZE) return false;
  return crc32c(batch, ATTRIBUTES_OFFSET, batch.length) === batch.readUInt32BE(CRC_OFFSET);
}

/** Assigns the batch its place in the log. Neither field is covered by the CRC. */
export function stampBatch(batch: Buffer, baseOffset: number, leaderEpoch: number): void {
  writeInt64(batch, 0, baseOffset);
  batch.writeInt32BE(leaderEpoch, 12);
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

class VarReader {
  constructor(
    private buf: Buffer,
    public at: number,
  ) {}

  varlong(): number {
    let result = 0;
    let mult = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.at++];
      if (b === undefined) throw new CorruptBatchError("record truncated inside a varint", 2);
      result += (b & 0x7f) * mult;
      if ((b & 0x80) === 0) {
        // zig-zag: even numbers are positive, odd are negative
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
      mult *= 128;
    }
    throw new CorruptBatchError("varint longer than 10 bytes", 2);
  }

  bytes(): Buffer | null {
    const len = this.varlong();
    if (len < 0) return null;
    if (this.at + len > this.buf.length) throw new CorruptBatchError("record field exceeds the batch", 2);
    const out = this.buf.subarray(this.at, this.at + len);
    this.at += len;
    return out;
  }
}

/** Decodes the records of one batch. Supports no compression and gzip (what Node ships). */
export function decodeRecords(batch: Buffer): DecodedRecord[] {
  const header = readBatchHeader(batch);
  const codec = header.attributes & 0x7;
  let body = batch.subarray(BATCH_HEADER_SIZE, header.size);
  if (codec === Compression.gzip) body = gunzipSync(body);
  else if (codec !== Compression.none) {
    throw new CorruptBatchError(`compression codec ${codec} cannot be decoded by the embedded broker`, 76);
  }
  const r = new VarReader(body, 0);
  const out: DecodedRecord[] = [];
  for (let i = 0; i < header.recordCount; i++) {
    const length = r.varlong();
    const end = r.at + length;
    r.at += 1; // attributes, unused
    const timestampDelta = r.varlong();
    const offsetDelta = r.varlong();
    const key = r.bytes();
    const value = r.bytes();
    const headerCount = r.varlong();
    const headers: DecodedRecord["headers"] = [];
    for (let h = 0; h < headerCount; h++) {
      const k = r.bytes();
      headers.push({ key: k ? k.toString("utf8") : "", value: r.bytes() });
    }
    if (r.at !== end) throw new CorruptBatchError("record length does not match its fields", 2);
    out.push({ offset: header.baseOffset + offsetDelta, timestamp: header.baseTimestamp + timestampDelta, key, value, headers });
  }
  return out;
}

export interface RecordToEncode {
  key: Buffer | null;
  value: Buffer | null;
  headers?: { key: string; value: Buffer | null }[];
  /** Milliseconds after the batch's base timestamp. Default 0. */
  timestampDelta?: number;
}

export interface EncodeBatchOptions {
  records: RecordToEncode[];
  baseTimestamp: number;
  /** A codec id (Compression). gzip is applied here; for the others pass `recordsSection`. */
  compression?: number;
  /**
   * The bytes after the header as they are to be sent (the compressed records, or anything at all):
   * a batch whose CRC is right around data that is not. `records` still sets the record count.
   */
  recordsSection?: Buffer;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

function zigZagVarint(value: number): Buffer {
  // zig-zag as a non-negative number of up to 53 bits, then 7 bits per byte.
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

function varBytes(data: Buffer | null): Buffer[] {
  return data === null ? [zigZagVarint(-1)] : [zigZagVarint(data.length), data];
}

/**
 * Encodes a v2 record batch at base offset 0 with a correct CRC (the inverse of decodeRecords):
 * the broker stamps the real base offset when it appends. For tests and tools that need batches
 * no client would write (a codec id, corrupt compressed data).
 */
export function encodeRecordBatch(options: EncodeBatchOptions): Buffer {
  const compression = options.compression ?? Compression.none;
  let section = options.recordsSection;
  if (section === undefined) {
    const records = options.records.map((record, index) => {
      const headers = record.headers ?? [];
      const body = Buffer.concat([
        Buffer.from([0]), // attributes
        zigZagVarint(record.timestampDelta ?? 0),
        zigZagVarint(index),
        ...varBytes(record.key),
        ...varBytes(record.value),
        zigZagVarint(headers.length),
        ...headers.flatMap((header) => [...varBytes(Buffer.from(header.key, "utf8")), ...varBytes(header.value)]),
      ]);
      return Buffer.concat([zigZagVarint(body.length), body]);
    });
    const plain = Buffer.concat(records);
    if (compression === Compression.gzip) section = gzipSync(plain);
    else if (compression === Compression.none) section = plain;
    else throw new Error(`encodeRecordBatch compresses with gzip only: pass recordsSection for codec ${compression}`);
  }
  const header = Buffer.alloc(BATCH_HEADER_SIZE);
  const maxDelta = Math.max(0, ...options.records.map((record) => record.timestampDelta ?? 0));
  writeInt64(header, 0, 0);
  header.writeInt32BE(BATCH_HEADER_SIZE - LOG_OVERHEAD + section.length, 8);
  header.writeInt32BE(-1, 12); // partition leader epoch: the broker's to stamp
  header.writeInt8(2, 16);
  header.writeInt16BE(compression & 0x7, ATTRIBUTES_OFFSET);
  header.writeInt32BE(Math.max(0, options.records.length - 1), 23);
  writeInt64(header, 27, options.baseTimestamp);
  writeInt64(header, 35, options.baseTimestamp + maxDelta);
  writeInt64(header, 43, options.producerId ?? -1);
  header.writeInt16BE(options.producerEpoch ?? -1, 51);
  header.writeInt32BE(options.baseSequence ?? -1, 53);
  header.writeInt32BE(options.records.length, 57);
  const batch = Buffer.concat([header, section]);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
  return batch;
}

/**
 * Marks a batch as LogAppendTime (attribute bit 3) with `now` as its max timestamp, which then
 * stands for every record's timestamp, and rewrites the CRC: what Kafka does for a topic with
 * `message.timestamp.type=LogAppendTime`. The records themselves are untouched.
 */
export function stampLogAppendTime(batch: Buffer, now: number): void {
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_LOG_APPEND, ATTRIBUTES_OFFSET);
  writeInt64(batch, 35, now);
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_OFFSET, batch.length), CRC_OFFSET);
}
