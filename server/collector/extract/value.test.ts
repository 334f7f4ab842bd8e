import { describe, expect, it } from "vitest";
import { decodeKey, decodeValue, MAX_JSON_DEPTH } from "./value.ts";

const MiB = 1024 * 1024;

describe("decodeKey", () => {
  it("keeps a UTF-8 key as text", () => {
    expect(decodeKey(Buffer.from("ord-1"))).toEqual({ key: { kind: "text", text: "ord-1" }, flags: [] });
  });

  it("keeps a non-UTF-8 key as its bytes and flags it", () => {
    const bytes = Buffer.from([0xff, 0xfe]);
    expect(decodeKey(bytes)).toEqual({ key: { kind: "bytes", bytes }, flags: ["key-binary"] });
  });

  it("treats a key holding NUL as bytes: PostgreSQL text cannot store it", () => {
    const bytes = Buffer.from([0x00, 0x00, 0x00, 0x2a]); // an int32 key, as Java's IntegerSerializer writes it
    expect(decodeKey(bytes)).toEqual({ key: { kind: "bytes", bytes }, flags: ["key-binary"] });
  });

  it("has no key for a null key, and an empty text for an empty one", () => {
    expect(decodeKey(null)).toEqual({ key: null, flags: [] });
    expect(decodeKey(Buffer.alloc(0))).toEqual({ key: { kind: "text", text: "" }, flags: [] });
  });
});

describe("decodeValue", () => {
  it("parses a JSON object and keeps the raw bytes for replay", () => {
    const raw = Buffer.from('{"orderId":"ord-1","total":42.5}');
    expect(decodeValue(raw, "application/json", MiB)).toEqual({
      value: { kind: "json", json: { orderId: "ord-1", total: 42.5 }, raw, byteLength: raw.length },
      flags: [],
    });
  });

  it("parses JSON arrays and scalars without a content-type", () => {
    expect(decodeValue(Buffer.from("[1,2]"), null, MiB).value).toMatchObject({ kind: "json", json: [1, 2] });
    expect(decodeValue(Buffer.from('"shipped"'), null, MiB).value).toMatchObject({ kind: "json", json: "shipped" });
    expect(decodeValue(Buffer.from(" 17 "), null, MiB).value).toMatchObject({ kind: "json", json: 17 });
    expect(decodeValue(Buffer.from("true"), null, MiB).value).toMatchObject({ kind: "json", json: true });
    expect(decodeValue(Buffer.from("null"), null, MiB).value).toMatchObject({ kind: "json", json: null });
  });

  it("parses JSON that starts with a byte-order mark", () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    expect(decodeValue(raw, null, MiB).value).toMatchObject({ kind: "json", json: { a: 1 } });
  });

  it("keeps plain text as bytes with its text, without a flag", () => {
    const raw = Buffer.from("order ord-1 shipped");
    expect(decodeValue(raw, null, MiB)).toEqual({
      value: { kind: "bytes", raw, text: "order ord-1 shipped", truncated: false, byteLength: raw.length },
      flags: [],
    });
  });

  it("flags a value that starts like JSON but does not parse", () => {
    const result = decodeValue(Buffer.from('{"orderId": "ord-1",'), null, MiB);
    expect(result.value).toMatchObject({ kind: "bytes", text: '{"orderId": "ord-1",' });
    expect(result.flags).toEqual(["value-not-json"]);
  });

  it("flags a value whose content-type says JSON but is not", () => {
    expect(decodeValue(Buffer.from("hello"), "application/json; charset=utf-8", MiB).flags).toEqual(["value-not-json"]);
    expect(decodeValue(Buffer.from([0x00, 0x01, 0xff]), "application/vnd.order+json", MiB).flags).toEqual([
      "value-not-json",
    ]);
  });

  it("does not flag binary values that never claimed to be JSON (Avro, Protobuf)", () => {
    const avro = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x6f, 0x72, 0x64, 0xff]);
    const result = decodeValue(avro, "application/avro", MiB);
    expect(result).toEqual({
      value: { kind: "bytes", raw: avro, text: null, truncated: false, byteLength: avro.length },
      flags: [],
    });
  });

  it("stores a null value as a tombstone", () => {
    expect(decodeValue(null, null, MiB)).toEqual({ value: { kind: "tombstone" }, flags: ["tombstone"] });
  });

  it("keeps an empty value as empty bytes, not a tombstone", () => {
    expect(decodeValue(Buffer.alloc(0), null, MiB)).toMatchObject({
      value: { kind: "bytes", text: "", byteLength: 0 },
      flags: [],
    });
  });

  it("cuts a 2 MB JSON value to a 1 MB cap, as bytes and unparsed, and keeps the true size", () => {
    const big = Buffer.from(JSON.stringify({ orderId: "ord-1", blob: "x".repeat(2 * 1000 * 1000) }));
    const result = decodeValue(big, "application/json", MiB);
    expect(result.flags).toEqual(["value-truncated"]);
    expect(result.value.kind).toBe("bytes");
    if (result.value.kind !== "bytes") return;
    expect(result.value.truncated).toBe(true);
    expect(result.value.raw.length).toBe(MiB);
    expect(result.value.byteLength).toBe(big.length);
    expect(result.value.raw.equals(big.subarray(0, MiB))).toBe(true);
    expect(result.value.text?.startsWith('{"orderId":"ord-1"')).toBe(true);
  });

  it("keeps the text of a truncated value up to its last whole character", () => {
    // "é" is two bytes: a cap of 4 splits the second one.
    const result = decodeValue(Buffer.from("aéé"), null, 4);
    expect(result.value).toMatchObject({ kind: "bytes", text: "aé", truncated: true, byteLength: 5 });
    if (result.value.kind === "bytes") expect(result.value.raw).toEqual(Buffer.from("aéé").subarray(0, 4));
  });

  it("leaves a value exactly at the cap whole", () => {
    const raw = Buffer.from('{"a":1}');
    expect(decodeValue(raw, null, raw.length).value).toMatchObject({ kind: "json", json: { a: 1 } });
  });

  it("keeps a bare integer beyond 2^53 as text rather than rounding it", () => {
    const raw = Buffer.from("12345678901234567890");
    expect(decodeValue(raw, null, MiB)).toEqual({
      value: { kind: "bytes", raw, text: "12345678901234567890", truncated: false, byteLength: raw.length },
      flags: [],
    });
  });

  it("stores JSON that jsonb would reject as bytes and says why", () => {
    for (const text of ['{"note":"a\\u0000b"}', '{"note":"\\ud800"}', '{"\\u0000":1}']) {
      const result = decodeValue(Buffer.from(text), null, MiB);
      expect(result.value).toMatchObject({ kind: "bytes", text });
      expect(result.flags).toEqual(["value-json-unstorable"]);
    }
  });

  it("stores JSON nested too deep to serialise as bytes, and accepts the deepest it allows", () => {
    const nested = (depth: number) => Buffer.from(`${"[".repeat(depth)}1${"]".repeat(depth)}`);
    const tooDeep = decodeValue(nested(MAX_JSON_DEPTH + 1), null, MiB);
    expect(tooDeep.value.kind).toBe("bytes");
    expect(tooDeep.flags).toEqual(["value-json-unstorable"]);
    expect(decodeValue(nested(MAX_JSON_DEPTH), null, MiB).value.kind).toBe("json");
    expect(decodeValue(nested(100_000), null, MiB).flags).toEqual(["value-json-unstorable"]);
  });

  it("parses JSON with escaped characters that jsonb accepts, including surrogate pairs", () => {
    const result = decodeValue(Buffer.from('{"emoji":"\\ud83d\\ude00","tab":"\\u0009"}'), null, MiB);
    expect(result.value).toMatchObject({ kind: "json", json: { emoji: "😀", tab: "\t" } });
  });
});
