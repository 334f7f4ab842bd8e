import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { crc32c } from "./crc32c.ts";

/** CRC-32C one bit at a time, straight from the definition (reflected polynomial 0x82f63b78). */
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// kafkajs's CRC-32C, the checksum its producer puts into every batch the broker checks.
const require = createRequire(import.meta.url);
const kafkajsCrc32c = require("kafkajs/src/protocol/recordBatch/crc32C/index.js") as (buf: Buffer) => number;

describe("crc32c", () => {
  it("gives the published check values", () => {
    // The CRC catalogue's check value for CRC-32C (iSCSI).
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.from("a"))).toBe(0xc1d04330);
    // RFC 3720 (iSCSI), appendix B.4.
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
  });

  it("matches a bitwise reference over random buffers of every length up to 80 and at every alignment", () => {
    const pool = randomBytes(4096 + 16);
    for (let length = 0; length <= 80; length++) {
      for (let align = 0; align < 8; align++) {
        const view = pool.subarray(align + length * 3, align + length * 3 + length);
        const expected = referenceCrc32c(view);
        // As its own view (a different byteOffset into the pool each time)...
        expect(crc32c(view), `length ${length}, align ${align}`).toBe(expected);
        // ...and as a range of the whole pool, the way the broker checks a batch inside a request.
        expect(crc32c(pool, align + length * 3, align + length * 3 + length), `range, length ${length}, align ${align}`).toBe(expected);
      }
    }
  });

  it("matches the reference and kafkajs on large buffers", () => {
    for (const length of [1023, 1024, 4097, 65_536 + 7, 1_000_003]) {
      const buf = randomBytes(length);
      const expected = referenceCrc32c(buf);
      expect(crc32c(buf), `length ${length}`).toBe(expected);
      expect(kafkajsCrc32c(buf), `kafkajs, length ${length}`).toBe(expected);
    }
  });

  it("changes when any single bit changes", () => {
    const buf = randomBytes(61);
    const original = crc32c(buf);
    for (let bit = 0; bit < buf.length * 8; bit++) {
      buf[bit >> 3]! ^= 1 << (bit & 7);
      expect(crc32c(buf)).not.toBe(original);
      buf[bit >> 3]! ^= 1 << (bit & 7);
    }
    expect(crc32c(buf)).toBe(original);
  });

  it("works on a plain Uint8Array, not only a Buffer", () => {
    const bytes = new TextEncoder().encode("123456789");
    expect(crc32c(bytes)).toBe(0xe3069283);
    expect(crc32c(bytes, 2, 7)).toBe(referenceCrc32c(bytes.subarray(2, 7)));
  });
});
