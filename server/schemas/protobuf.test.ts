import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { protobufReader, readMessageIndexes } from "./protobuf.ts";

const PROTO = `
syntax = "proto3";
package com.example.orders;
message OrderPlaced {
  string order_id = 1;
  message Line { string sku = 1; int32 qty = 2; }
  message Note { string text = 1; }
}
message OrderCancelled { string order_id = 1; uint64 refund_cents = 2; }
`;

/** Zig-zag varints, as Confluent's Java serializer writes the index path. */
function zigZag(values: number[]): Buffer {
  const bytes: number[] = [];
  for (const value of values) {
    let n = (value << 1) ^ (value >> 31);
    while (n > 0x7f) {
      bytes.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    bytes.push(n);
  }
  return Buffer.from(bytes);
}

describe("Protobuf in the Schema Registry wire format", () => {
  it("reads the message-index path: a lone 0 is [0], else a count and that many indexes", () => {
    expect(readMessageIndexes(Buffer.from([0x00, 0xaa]))).toEqual({ indexes: [0], offset: 1 });
    expect(readMessageIndexes(Buffer.concat([zigZag([2, 0, 1]), Buffer.from([0xaa])]))).toEqual({ indexes: [0, 1], offset: 3 });
    expect(() => readMessageIndexes(Buffer.from([0x80]))).toThrow(/cut short/);
  });

  it("decodes the message the path names: top-level by declaration order, then nested", () => {
    const reader = protobufReader(PROTO, []);
    const root = protobuf.parse(PROTO, { keepCase: true }).root;
    const cancelled = root.lookupType("com.example.orders.OrderCancelled");
    const cancelledBytes = cancelled.encode(cancelled.fromObject({ order_id: "ord-1", refund_cents: "9007199254740993" })).finish();
    expect(reader.read(Buffer.concat([zigZag([1, 1]), cancelledBytes]))).toEqual({
      typeName: "com.example.orders.OrderCancelled",
      // 64-bit integers stay exact, as text.
      json: { order_id: "ord-1", refund_cents: "9007199254740993" },
    });
    const note = root.lookupType("com.example.orders.OrderPlaced.Note");
    const noteBytes = note.encode(note.fromObject({ text: "leave at the door" })).finish();
    expect(reader.read(Buffer.concat([zigZag([2, 0, 1]), noteBytes]))).toEqual({
      typeName: "com.example.orders.OrderPlaced.Note",
      json: { text: "leave at the door" },
    });
  });

  it("refuses an index the schema does not have", () => {
    const reader = protobufReader(PROTO, []);
    expect(() => reader.read(Buffer.concat([zigZag([1, 5]), Buffer.alloc(0)]))).toThrow(/beyond the schema's 2 messages/);
  });
});
