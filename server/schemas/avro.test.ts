import avro from "avsc";
import { describe, expect, it } from "vitest";
import { avroReader, avroWriter } from "./avro.ts";

const PAYMENT = JSON.stringify({
  type: "record",
  name: "PaymentFailed",
  namespace: "com.example.payments",
  fields: [
    { name: "paymentId", type: { type: "string", logicalType: "uuid" } },
    { name: "amount", type: { type: "bytes", logicalType: "decimal", precision: 9, scale: 2 } },
    { name: "fee", type: ["null", { type: "fixed", name: "Fee", size: 2, logicalType: "decimal", precision: 5, scale: 3 }], default: null },
    { name: "bookedOn", type: { type: "int", logicalType: "date" } },
    { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "atMicros", type: { type: "long", logicalType: "timestamp-micros" } },
    { name: "status", type: { type: "enum", name: "Status", symbols: ["DECLINED", "TIMED_OUT"] } },
    { name: "attempts", type: "int" },
    { name: "signature", type: "bytes" },
    { name: "lines", type: { type: "array", items: { type: "record", name: "Line", fields: [{ name: "sku", type: "string" }, { name: "qty", type: "int" }] } } },
    { name: "tags", type: { type: "map", values: "string" } },
    { name: "note", type: ["null", "string"], default: null },
    {
      name: "method",
      type: [
        "null",
        { type: "record", name: "Card", fields: [{ name: "last4", type: "string" }] },
        { type: "record", name: "Iban", fields: [{ name: "iban", type: "string" }] },
      ],
      default: null,
    },
  ],
});

const VALUE = {
  paymentId: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
  amount: "-1234.50",
  fee: "0.125",
  bookedOn: "2026-12-05",
  at: "2026-12-05T14:03:07.250Z",
  atMicros: "1969-12-31T23:59:59.998800Z",
  status: "TIMED_OUT",
  attempts: 3,
  signature: Buffer.from([0, 1, 2, 250]).toString("base64"),
  lines: [{ sku: "sku-1", qty: 2 }],
  tags: { region: "eu" },
  note: "retry later",
  method: { "com.example.payments.Iban": { iban: "DE02100100100006820101" } },
};

describe("Avro writer", () => {
  it("writes what the reader shows back to the same bytes, every logical type included", () => {
    const bytes = avroWriter(PAYMENT).write(VALUE);
    expect(avroReader(PAYMENT).read(bytes)).toEqual(VALUE);
    // Read by avsc without Eventscope's logical types: the underlying values are Avro's own encoding.
    const plain = avro.Type.forSchema(JSON.parse(PAYMENT) as avro.Schema, { wrapUnions: "auto" }).fromBuffer(bytes) as Record<string, unknown>;
    expect(plain.amount).toEqual(Buffer.from([0xfe, 0x1d, 0xc6])); // -123450, the fewest bytes
    expect(plain.fee).toEqual(Buffer.from([0, 125])); // fixed: sign-extended to its size
    expect(plain.bookedOn).toBe(Date.UTC(2026, 11, 5) / 86_400_000);
    expect(plain.at).toBe(Date.UTC(2026, 11, 5, 14, 3, 7, 250));
    expect(plain.atMicros).toBe(-1200);
  });

  it("round-trips decimals at the edges: zero, a sign bit that needs one more byte, trailing zeros", () => {
    const schema = JSON.stringify({ type: "record", name: "R", fields: [{ name: "d", type: { type: "bytes", logicalType: "decimal", precision: 6, scale: 2 } }] });
    const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
    const writer = avroWriter(schema);
    const raw = (d: string) => (type.fromBuffer(writer.write({ d })) as { d: Buffer }).d;
    expect(raw("0")).toEqual(Buffer.from([0]));
    expect(raw("1.28")).toEqual(Buffer.from([0x00, 0x80])); // 128 needs a leading 0 byte to stay positive
    expect(raw("-1.28")).toEqual(Buffer.from([0x80]));
    expect(avroReader(schema).read(writer.write({ d: "12.500" }))).toEqual({ d: "12.50" });
    expect(avroReader(schema).read(writer.write({ d: 7.5 }))).toEqual({ d: "7.50" });
  });

  it("names the field that does not fit, and what it expected", () => {
    const writer = avroWriter(PAYMENT);
    const misfit = (patch: Record<string, unknown>) => {
      try {
        writer.write({ ...VALUE, ...patch });
      } catch (error) {
        return (error as Error).message;
      }
      return "written";
    };
    expect(misfit({ amount: "12.345" })).toBe('amount: expected a decimal of at most 9 digits with at most 2 digits after the point, got "12.345"');
    expect(misfit({ amount: "12345678.00" })).toMatch(/^amount: expected a decimal of at most 9 digits/);
    expect(misfit({ fee: "40.000" })).toBe('fee: expected a decimal of at most 5 digits with at most 3 digits after the point (2 bytes), got "40.000"');
    expect(misfit({ fee: "-32.768" })).toBe("written");
    expect(misfit({ bookedOn: "2026-02-30" })).toBe('bookedOn: expected a date (YYYY-MM-DD), got "2026-02-30"');
    expect(misfit({ at: "2026-12-05T14:03:07.2501Z" })).toMatch(/^at: expected a timestamp in ISO 8601 with a zone and at most millisecond precision/);
    expect(misfit({ atMicros: "yesterday" })).toMatch(/^atMicros: expected a timestamp/);
    expect(misfit({ paymentId: "not-a-uuid" })).toBe('paymentId: expected a UUID (8-4-4-4-12 hexadecimal digits), got "not-a-uuid"');
    expect(misfit({ status: "LOST" })).toBe('status: expected one of DECLINED, TIMED_OUT, got "LOST"');
    expect(misfit({ attempts: 2 ** 31 })).toBe("attempts: expected a whole number that fits in 32 bits, got 2147483648");
    expect(misfit({ attempts: "3" })).toBe('attempts: expected a whole number that fits in 32 bits, got "3"');
    expect(misfit({ signature: "not base64!" })).toBe('signature: expected bytes in base64, got "not base64!"');
    expect(misfit({ lines: [{ sku: "a", qty: 1 }, { sku: "b", qty: "two" }] })).toBe('lines[1].qty: expected a whole number that fits in 32 bits, got "two"');
    expect(misfit({ lines: [{ sku: "a" }] })).toBe("lines[0].qty: expected a value (the field is required and has no default), got nothing");
    expect(misfit({ tags: { region: 7 } })).toBe("tags.region: expected a string, got 7");
    expect(misfit({ note: 5 })).toBe("note: expected a string, got 5");
    expect(misfit({ method: { "com.example.payments.Card": { last4: 1234 } } })).toBe('method.com.example.payments.Card.last4: expected a string, got 1234');
    expect(misfit({ method: { Wire: {} } })).toMatch(/^method: expected \{"<branch>": value\} with one branch of null, com\.example\.payments\.Card, com\.example\.payments\.Iban/);
    expect(misfit({ amount_cents: 5 })).toMatch(/^amount_cents: expected no such field: com\.example\.payments\.PaymentFailed has paymentId, amount/);
  });

  it("fills a missing field from its default", () => {
    const { note: _note, method: _method, ...rest } = VALUE;
    expect(avroReader(PAYMENT).read(avroWriter(PAYMENT).write(rest))).toEqual({ ...VALUE, note: null, method: null });
  });
});

describe("Avro longs", () => {
  const SCHEMA = JSON.stringify({
    type: "record",
    name: "Ledger",
    fields: [
      { name: "small", type: "long" },
      { name: "big", type: "long" },
      { name: "maybe", type: ["null", "long"], default: null },
    ],
  });
  // Written by avsc with its own Long-as-bigint type, not by our reader's.
  const bigLong = avro.types.LongType.__with({
    fromBuffer: (b: Buffer) => b.readBigInt64LE(),
    toBuffer: (n: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(n);
      return b;
    },
    fromJSON: BigInt,
    toJSON: String,
    isValid: (n: unknown) => typeof n === "bigint",
    compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
  });
  const independent = avro.Type.forSchema(JSON.parse(SCHEMA) as avro.Schema, { registry: { long: bigLong }, wrapUnions: "auto" });

  it("reads every long exactly: a number where that is exact, else its decimal text", () => {
    const bytes = independent.toBuffer({ small: 42n, big: 9_007_199_254_740_993n, maybe: -9_223_372_036_854_775_808n });
    expect(avroReader(SCHEMA).read(bytes)).toEqual({ small: 42, big: "9007199254740993", maybe: "-9223372036854775808" });
  });

  it("writes them back, from numbers or text, and refuses what does not fit in 64 bits", () => {
    const written = avroWriter(SCHEMA).write({ small: 42, big: "9007199254740993", maybe: null });
    expect(independent.fromBuffer(written)).toMatchObject({ small: 42n, big: 9_007_199_254_740_993n, maybe: null });
    expect(() => avroWriter(SCHEMA).write({ small: 1, big: "9223372036854775808", maybe: null })).toThrow(/^big: expected a whole number that fits in 64 bits/);
    expect(() => avroWriter(SCHEMA).write({ small: 1.5, big: 1, maybe: null })).toThrow(/^small: /);
  });
});
