import { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from "@toondepauw/node-zstd";
import kafkajs, { CompressionTypes } from "kafkajs";
import { compressFrame, decompressFrame } from "lz4-napi";
import { compress as snappyCompress, uncompress as snappyUncompress } from "snappy";
import { COMPRESSION_NAMES, type CompressionName } from "./compression-names.ts";

/**
 * The compression codecs of every Kafka client of Eventscope. kafkajs ships gzip only and throws
 * KafkaJSNotImplemented for the rest; these fill in snappy, LZ4 and zstd with compressors that ship
 * their binaries (napi-rs packages: nothing is downloaded or built at install).
 *
 * Formats, as Kafka's own clients write them (record batch v2):
 * - snappy: Java's producer writes xerial's framing (a 16-byte header, then blocks of
 *   [int32 length][raw snappy]); librdkafka writes one raw snappy block. Both are read; writes use
 *   the xerial framing, which every client reads.
 * - LZ4: the standard LZ4 frame format (independent blocks, no block checksums).
 * - zstd: a standard zstd frame.
 *
 * Codec ids 5–7 are not defined by Kafka; a batch that claims one fails to decode with a message
 * that says so (instead of kafkajs reading the compressed bytes as records).
 */


/** kafkajs's CompressionTypes value for a name (what `producer.send({ compression })` takes). */
export function compressionType(name: CompressionName): CompressionTypes {
  switch (name) {
    case "none":
      return CompressionTypes.None;
    case "gzip":
      return CompressionTypes.GZIP;
    case "snappy":
      return CompressionTypes.Snappy;
    case "lz4":
      return CompressionTypes.LZ4;
    case "zstd":
      return CompressionTypes.ZSTD;
  }
}

/** The codec name of a record batch's attributes (bits 0–2), for messages about a batch. */
export function compressionNameOf(attributes: number): string {
  const id = attributes & 0x07;
  return COMPRESSION_NAMES[id] ?? `unknown codec ${id}`;
}

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

// --- snappy -------------------------------------------------------------------------------------

/** xerial snappy-java's stream header: magic (8 bytes), version, compatible version. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
/** snappy-java's default block size. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

function isXerialFramed(buffer: Buffer): boolean {
  return buffer.length >= XERIAL_HEADER_SIZE && buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

async function snappyDecompress(buffer: Buffer): Promise<Buffer> {
  if (!isXerialFramed(buffer)) return asBuffer(await snappyUncompress(buffer));
  const blocks: Buffer[] = [];
  let at = XERIAL_HEADER_SIZE;
  while (at < buffer.length) {
    if (buffer.length - at < 4) throw new Error(`snappy (xerial framing): ${buffer.length - at} stray bytes after the last block`);
    const size = buffer.readInt32BE(at);
    at += 4;
    if (size < 0 || at + size > buffer.length) {
      throw new Error(`snappy (xerial framing): a block of ${size} bytes runs past the end of the data`);
    }
    blocks.push(asBuffer(await snappyUncompress(buffer.subarray(at, at + size))));
    at += size;
  }
  return Buffer.concat(blocks);
}

async function snappyFramedCompress(data: Buffer): Promise<Buffer> {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  const parts: Buffer[] = [header];
  for (let at = 0; at < data.length; at += XERIAL_BLOCK_SIZE) {
    const block = await snappyCompress(data.subarray(at, at + XERIAL_BLOCK_SIZE));
    const size = Buffer.alloc(4);
    size.writeInt32BE(block.length, 0);
    parts.push(size, block);
  }
  return Buffer.concat(parts);
}

function asBuffer(data: string | Buffer): Buffer {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

const snappy: Codec = {
  compress: (encoder) => snappyFramedCompress(encoder.buffer),
  decompress: snappyDecompress,
};

// --- LZ4 ----------------------------------------------------------------------------------------

const lz4: Codec = {
  compress: (encoder) => compressFrame(encoder.buffer),
  decompress: (buffer) => decompressFrame(buffer),
};

// --- zstd ---------------------------------------------------------------------------------------

/** zstd's default level, as Kafka's producers use unless `compression.zstd.level` says otherwise. */
const ZSTD_LEVEL = 3;
const zstdEncoder = new ZstdEncoder(ZSTD_LEVEL);
const zstdDecoder = new ZstdDecoder();

const zstd: Codec = {
  compress: (encoder) => zstdEncoder.encode(encoder.buffer),
  decompress: (buffer) => zstdDecoder.decode(buffer),
};

// --- registration -------------------------------------------------------------------------------

function undefinedCodec(id: number): Codec {
  const refuse = () => Promise.reject(new Error(`compression codec ${id} is not defined by Kafka (attributes bits 0-2 are 0-4)`));
  return { compress: refuse, decompress: refuse };
}

let registered = false;

/**
 * Registers snappy, LZ4 and zstd with kafkajs (process-wide: kafkajs keeps its codecs in one
 * module-level table). Every Kafka client Eventscope creates calls this; so do the demo services,
 * which load the same kafkajs module through `require`. Idempotent.
 */
export function registerCompressionCodecs(): void {
  if (registered) return;
  registered = true;
  // Through the default export: Node's ESM view of kafkajs (a CommonJS module) does not list it.
  const codecs = kafkajs.CompressionCodecs as unknown as Record<number, () => Codec>;
  codecs[CompressionTypes.Snappy] = () => snappy;
  codecs[CompressionTypes.LZ4] = () => lz4;
  codecs[CompressionTypes.ZSTD] = () => zstd;
  for (const id of [5, 6, 7]) {
    const codec = undefinedCodec(id);
    codecs[id] = () => codec;
  }
}
