import { createRequire } from "node:module";
import path from "node:path";
import type { KafkaMessage } from "kafkajs";
import { compressionNameOf } from "./codecs.ts";

/**
 * Record batches that cannot be decoded reach the collector as one marker message instead of
 * failing the whole fetch.
 *
 * kafkajs decodes a Fetch response in one piece: a record batch whose data cannot be decompressed
 * or parsed (an unknown codec, corrupt compressed data, a record that breaks the decoder) throws
 * out of the decoding of the response, so every partition of that response is lost with it, the
 * consumer crashes, restarts, fetches the same batch and crashes again: one bad batch anywhere
 * stops all collection. kafkajs's record-batch decoder is a module of its own, loaded by the
 * fetch response decoder the first time a Fetch is decoded; wrapping it here, before the first
 * fetch, confines a failure to its batch. The wrapper leaves complete batches alone and lets a
 * partial batch at the end of a response (normal: maxBytes cut it) through to kafkajs as before.
 *
 * A batch that fails becomes one message whose offset is the batch's last offset (so kafkajs's
 * "offset ≥ fetched offset" filter keeps it) carrying `undecodableBatchOf(message)`: the offset
 * range, the codec, the error and the raw record bytes. What to do with it (retry, then store the
 * range flagged) is the collector's decision (server/collector/consumer-session.ts).
 */

export interface UndecodableBatch {
  /** The batch's first and last offsets (decimal int64). */
  firstOffset: string;
  lastOffset: string;
  /** Records the batch header announces. */
  recordCount: number;
  /** `gzip`, `zstd`, …, or `unknown codec N`. */
  codec: string;
  /** What the decoder said. */
  error: string;
  /** The batch's records section as received (compressed, for a compressed batch). */
  raw: Buffer;
  /** The batch's first timestamp (ms since the epoch), as its header says. */
  firstTimestamp: number;
}

const MARK = Symbol.for("eventscope.undecodableBatch");
type MarkedMessage = KafkaMessage & { [MARK]?: UndecodableBatch };

/** The undecodable batch a marker message stands for; undefined for an ordinary message. */
export function undecodableBatchOf(message: KafkaMessage): UndecodableBatch | undefined {
  return (message as MarkedMessage)[MARK];
}

/** kafkajs's protocol decoder: the parts the wrapper uses. */
interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
}

type RecordBatchDecoder = (decoder: KafkajsDecoder) => Promise<Record<string, unknown> & { records: unknown[] }>;

/** baseOffset (8) + batchLength (4): batchLength counts the bytes after these. */
const LOG_OVERHEAD = 12;
/** Fixed part of a v2 batch, up to and including the record count. */
const BATCH_HEADER_SIZE = 61;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;

function int64Text(buffer: Buffer, at: number): string {
  return buffer.readBigInt64BE(at).toString();
}

function markerBatch(buffer: Buffer, start: number, error: unknown): Record<string, unknown> & { records: unknown[] } {
  const length = buffer.readInt32BE(start + 8);
  const end = start + LOG_OVERHEAD + length;
  const firstOffset = buffer.readBigInt64BE(start);
  const attributes = buffer.readInt16BE(start + 21);
  const lastOffsetDelta = buffer.readInt32BE(start + 23);
  const firstTimestamp = int64Text(buffer, start + 27);
  const maxTimestamp = int64Text(buffer, start + 35);
  const producerId = int64Text(buffer, start + 43);
  const producerEpoch = buffer.readInt16BE(start + 51);
  const firstSequence = buffer.readInt32BE(start + 53);
  const recordCount = buffer.readInt32BE(start + 57);
  const lastOffset = (firstOffset + BigInt(Math.max(lastOffsetDelta, 0))).toString();
  const batchContext = {
    firstOffset: firstOffset.toString(),
    firstTimestamp,
    partitionLeaderEpoch: buffer.readInt32BE(start + 12),
    inTransaction: (attributes & TRANSACTIONAL_FLAG) !== 0,
    isControlBatch: (attributes & CONTROL_FLAG) !== 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & 0x08) !== 0 ? 1 : 0,
  };
  const undecodable: UndecodableBatch = {
    firstOffset: firstOffset.toString(),
    lastOffset,
    recordCount,
    codec: compressionNameOf(attributes),
    error: error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error),
    raw: Buffer.from(buffer.subarray(start + BATCH_HEADER_SIZE, end)),
    firstTimestamp: Number(firstTimestamp),
  };
  const marker: MarkedMessage = {
    key: null,
    value: null,
    timestamp: firstTimestamp,
    attributes: 0,
    offset: lastOffset,
    headers: {},
    [MARK]: undecodable,
  };
  Object.assign(marker, { magicByte: 2, isControlRecord: false, batchContext });
  return { ...batchContext, records: [marker] };
}

export function tolerantRecordBatchDecoder(original: RecordBatchDecoder): RecordBatchDecoder {
  return async (decoder) => {
    const { buffer } = decoder;
    const start = decoder.offset;
    const available = buffer.length - start;
    // Not a whole batch (the fetch's size limit cut it): kafkajs reports it as partial and stops
    // reading this partition's data there, as it should.
    if (available < LOG_OVERHEAD) return original(decoder);
    const length = buffer.readInt32BE(start + 8);
    if (length < BATCH_HEADER_SIZE - LOG_OVERHEAD || available < LOG_OVERHEAD + length) return original(decoder);
    try {
      return await original(decoder);
    } catch (error) {
      // kafkajs moved past the batch before decoding its records; make sure of it whatever threw.
      decoder.offset = start + LOG_OVERHEAD + length;
      return markerBatch(buffer, start, error);
    }
  };
}

let installed = false;

/**
 * Puts the tolerant decoder in place of kafkajs's record-batch decoder, process-wide. The fetch
 * response decoders take their reference to it when they are first loaded (lazily, at the first
 * Fetch): any already loaded are dropped from the module cache, so the next Fetch loads them
 * again with the tolerant one. Idempotent.
 */
export function installUndecodableBatchHandling(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const decoderPath = require.resolve("kafkajs/src/protocol/recordBatch/v0/decoder");
  const original = require(decoderPath) as RecordBatchDecoder;
  const cached = require.cache[decoderPath];
  if (!cached) throw new Error(`kafkajs's record batch decoder is not in the module cache (${decoderPath})`);
  cached.exports = tolerantRecordBatchDecoder(original);
  const fetchDir = path.dirname(require.resolve("kafkajs/src/protocol/requests/fetch/v4/decodeMessages"));
  const fetchRoot = path.dirname(fetchDir) + path.sep;
  for (const loaded of Object.keys(require.cache)) {
    if (loaded.startsWith(fetchRoot) && path.basename(loaded) !== "index.js") delete require.cache[loaded];
  }
  installed = true;
}
