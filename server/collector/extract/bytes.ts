import { isUtf8 } from "node:buffer";

/**
 * The text of bytes when they are valid UTF-8 without NUL, else null. NUL counts as binary because
 * PostgreSQL's text and jsonb types reject it: a "text" that cannot be stored as text is bytes.
 * Valid UTF-8 decodes losslessly (a BOM is kept), so the text round-trips to the same bytes.
 */
export function decodeText(bytes: Uint8Array): string | null {
  if (!isUtf8(bytes) || bytes.includes(0)) return null;
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString("utf8");
}

/**
 * The longest prefix that does not end in the middle of a UTF-8 sequence: a value cut at a byte
 * cap usually splits a character, and the text before the cut is still worth showing.
 */
export function completeUtf8Prefix(bytes: Buffer): Buffer {
  const end = bytes.length;
  // A sequence is at most 4 bytes: only the last 3 can belong to an unfinished one.
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const byte = bytes[i]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const expected = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return end - i < expected ? bytes.subarray(0, i) : bytes;
  }
  return bytes;
}

/** Bytes from whatever a caller handed over; strings are UTF-8 encoded. */
export function toBuffer(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return Buffer.from(value, "utf8");
  return Buffer.from(String(value), "utf8");
}

/** The first byte that is not JSON whitespace, or -1. */
export function firstNonWhitespaceByte(bytes: Uint8Array): number {
  for (const byte of bytes) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return byte;
  }
  return -1;
}
