import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { protobufReader, protobufWriter, readMessageIndexes } from "./protobuf.ts";

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

const SHIPMENT = `
syntax = "proto3";
package com.example.shipping;
message Shipment {
  string shipment_id = 1;
  Address to = 2;
  repeated Parcel parcels = 3;
  Carrier carrier = 4;
  uint64 weight_grams = 5;
  bytes label = 6;
  map<string, int32> counts = 7;
  double insured = 8;
  message Address { string city = 1; string zip = 2; }
  message Parcel {
    int32 qty = 1;
    message Seal { sint64 code = 1; }
  }
  enum Carrier { CARRIER_UNSPECIFIED = 0; DHL = 1; UPS = 2; }
}
`;

describe("Protobuf writer", () => {
  const like = (indexes: number[]) => Buffer.concat([zigZag(indexes), Buffer.from([0x0a, 0x00])]);

  it("writes what the reader shows back, nested messages, enums, 64-bit text and bytes included, after the same index path", () => {
    const value = {
      shipment_id: "shp-7",
      to: { city: "Lyon", zip: "69001" },
      parcels: [{ qty: 2 }, { qty: 1 }],
      carrier: "UPS",
      weight_grams: "18446744073709551615",
      label: Buffer.from([1, 2, 3, 255]).toString("base64"),
      counts: { boxes: 3 },
      insured: 12.5,
    };
    const payload = protobufWriter(SHIPMENT, []).write(value, like([0]));
    expect(payload[0]).toBe(0); // a lone 0: the first message
    expect(protobufReader(SHIPMENT, []).read(payload)).toEqual({ typeName: "com.example.shipping.Shipment", json: value });
    // Decoded by protobufjs directly from the message bytes.
    const root = protobuf.parse(SHIPMENT, { keepCase: true }).root;
    const decoded = root.lookupType("com.example.shipping.Shipment").decode(payload.subarray(1)) as unknown as { to: { city: string }; carrier: number };
    expect(decoded.to.city).toBe("Lyon");
    expect(decoded.carrier).toBe(2);
  });

  it("writes a nested message type under the index path the original value had", () => {
    const path = zigZag([3, 0, 1, 0]); // Shipment → Parcel → Seal
    const payload = protobufWriter(SHIPMENT, []).write({ code: "-9007199254740993" }, Buffer.concat([path, Buffer.from([0x08, 0x01])]));
    expect(payload.subarray(0, path.length)).toEqual(path);
    expect(protobufReader(SHIPMENT, []).read(payload)).toEqual({ typeName: "com.example.shipping.Shipment.Parcel.Seal", json: { code: "-9007199254740993" } });
  });

  it("names the field that does not fit", () => {
    const writer = protobufWriter(SHIPMENT, []);
    const misfit = (value: unknown) => {
      try {
        writer.write(value, like([0]));
      } catch (error) {
        return (error as Error).message;
      }
      return "written";
    };
    expect(misfit({ parcels: [{ qty: 1 }, { qty: "two" }] })).toBe('parcels[1].qty: expected a whole number from -2147483648 to 2147483647 (int32), got "two"');
    expect(misfit({ to: { city: "Lyon", street: "Rue" } })).toBe('to.street: expected no such field: Address has city, zip, got "Rue"');
    expect(misfit({ carrier: "FEDEX" })).toBe('carrier: expected one of CARRIER_UNSPECIFIED, DHL, UPS, got "FEDEX"');
    expect(misfit({ weight_grams: "-1" })).toMatch(/^weight_grams: expected a whole number from 0 to 18446744073709551615 \(uint64/);
    expect(misfit({ label: "%%" })).toBe('label: expected bytes in base64, got "%%"');
    expect(misfit({ counts: { boxes: 1.5 } })).toMatch(/^counts\.boxes: expected a whole number/);
    expect(misfit({ insured: "much" })).toBe('insured: expected a number, got "much"');
    expect(misfit([1])).toBe("value: expected an object (message com.example.shipping.Shipment), got [1]");
  });

  it("keeps a oneof to one member: the reader shows the one set, and an edit that sets two is refused", () => {
    const proto = 'syntax = "proto3"; message Payment { string id = 1; oneof method { string card = 2; string iban = 3; } optional int32 tip = 4; }';
    const type = protobuf.parse(proto, { keepCase: true }).root.lookupType("Payment");
    const original = Buffer.concat([Buffer.from([0]), type.encode(type.fromObject({ id: "p-1", iban: "DE02" })).finish()]);
    const { json } = protobufReader(proto, []).read(original);
    expect(json).toEqual({ id: "p-1", iban: "DE02" });
    const writer = protobufWriter(proto, []);
    expect(protobufReader(proto, []).read(writer.write({ id: "p-1", card: "4242", tip: 0 }, original)).json).toEqual({ id: "p-1", card: "4242", tip: 0 });
    expect(() => writer.write({ id: "p-1", iban: "DE02", card: "4242" }, original)).toThrow(/^method: multiple values$/);
  });
});
