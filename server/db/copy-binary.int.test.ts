import crypto from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CopyValueError, encodeCopyBinary, JsonBytes, type CopyType, type CopyValue } from "./copy-binary.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await db?.drop();
});

const TYPES: CopyType[] = ["int2", "int4", "int8", "text", "bytea", "jsonb", "timestamptz", "text[]"];
let tableCounter = 0;

/** COPYs the rows into a fresh table of TYPES and reads them back as PostgreSQL's text forms. */
async function roundTrip(rows: CopyValue[][]): Promise<Record<string, unknown>[]> {
  const table = `copy_binary_${++tableCounter}`;
  await db.pool.query(
    `CREATE TABLE ${table} (n serial, s int2, i int4, l int8, t text, b bytea, j jsonb, ts timestamptz, a text[])`,
  );
  const client = await db.pool.connect();
  try {
    const chunks = encodeCopyBinary(rows, TYPES, (row, column) => row[column]!);
    await pipeline(
      Readable.from(chunks),
      client.query(copyFrom(`COPY ${table} (s, i, l, t, b, j, ts, a) FROM STDIN WITH (FORMAT binary)`)),
    );
  } finally {
    client.release();
  }
  const { rows: stored } = await db.pool.query<Record<string, unknown>>(
    `SELECT s, i, l::text AS l, t, b, j::text AS j, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS ts, a
     FROM ${table} ORDER BY n`,
  );
  return stored;
}

const nulls: CopyValue[] = [null, null, null, null, null, null, null, null];

describe("encodeCopyBinary through a real COPY", () => {
  it("round-trips every column type, NULLs and the integer limits", async () => {
    const rows: CopyValue[][] = [
      [1, 2, 3, "plain", Buffer.from([0, 1, 2, 255]), '{"a":1}', new Date(Date.UTC(2026, 11, 5, 17, 30, 1, 234)), ["x", "y"]],
      nulls,
      [-32768, -2147483648, "-9223372036854775808", "", Buffer.alloc(0), "[]", "0001-01-01T00:00:00.000Z", []],
      [32767, 2147483647, "9223372036854775807", "tab\there\nnewline\\back", Buffer.from("\\x00"), "null", "9999-12-31T23:59:59.999Z", [""]],
      [0, 0, 2 ** 53 - 1, "x", Buffer.from("x"), '"s"', -1, ['"quoted"', "{brace}", "a,b", "back\\slash", "NULL", " spaced "]],
      [0, 0, -(2 ** 53) + 1, "x", Buffer.from("x"), "1", 0, ["x"]],
      [0, 0, 123_456_789_012_345_678n, "x", Buffer.from("x"), "true", Date.UTC(1999, 11, 31, 23, 59, 59, 999), ["x"]],
    ];
    expect(await roundTrip(rows)).toEqual([
      { s: 1, i: 2, l: "3", t: "plain", b: Buffer.from([0, 1, 2, 255]), j: '{"a": 1}', ts: "2026-12-05T17:30:01.234000", a: ["x", "y"] },
      { s: null, i: null, l: null, t: null, b: null, j: null, ts: null, a: null },
      { s: -32768, i: -2147483648, l: "-9223372036854775808", t: "", b: Buffer.alloc(0), j: "[]", ts: "0001-01-01T00:00:00.000000", a: [] },
      { s: 32767, i: 2147483647, l: "9223372036854775807", t: "tab\there\nnewline\\back", b: Buffer.from("\\x00"), j: "null", ts: "9999-12-31T23:59:59.999000", a: [""] },
      { s: 0, i: 0, l: String(2 ** 53 - 1), t: "x", b: Buffer.from("x"), j: '"s"', ts: "1969-12-31T23:59:59.999000", a: ['"quoted"', "{brace}", "a,b", "back\\slash", "NULL", " spaced "] },
      { s: 0, i: 0, l: String(-(2 ** 53) + 1), t: "x", b: Buffer.from("x"), j: "1", ts: "1970-01-01T00:00:00.000000", a: ["x"] },
      { s: 0, i: 0, l: "123456789012345678", t: "x", b: Buffer.from("x"), j: "true", ts: "1999-12-31T23:59:59.999000", a: ["x"] },
    ]);
  });

  it("keeps non-ASCII text exact in text, text[] and jsonb", async () => {
    const text = "Grüße, 東京, emoji 🚀, combining é, RTL שלום";
    const rows: CopyValue[][] = [
      [0, 0, 0, text, null, JSON.stringify({ text }), null, [text, "ü"]],
      [0, 0, 0, "x", null, new JsonBytes(Buffer.from(JSON.stringify({ text }), "utf8")), null, null],
    ];
    const stored = await roundTrip(rows);
    expect(stored[0]).toMatchObject({ t: text, j: JSON.stringify({ text }).replace(":", ": "), a: [text, "ü"] });
    expect(stored[1]).toMatchObject({ j: JSON.stringify({ text }).replace(":", ": ") });
  });

  it("takes JSON bytes as received: a byte-order mark left out, invalid UTF-8 as replacement characters", async () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":true}')]);
    const invalid = Buffer.concat([Buffer.from('{"bad":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const stored = await roundTrip([
      [0, 0, 0, null, null, new JsonBytes(withBom), null, null],
      [0, 0, 0, null, null, new JsonBytes(invalid), null, null],
    ]);
    expect(stored.map((row) => row.j)).toEqual(['{"bom": true}', '{"bad": "\uFFFD\uFFFD"}']);
    // The same value as a query parameter (the multi-row INSERT path) goes as text.
    const { rows } = await db.pool.query<{ j: string }>(`SELECT $1::jsonb::text AS j`, [new JsonBytes(withBom)]);
    expect(rows[0]!.j).toBe('{"bom": true}');
  });

  it("carries values of megabytes and batches larger than one chunk", async () => {
    const bigText = crypto.randomBytes(900 * 1024).toString("base64");
    const bigBytes = crypto.randomBytes(2 * 1024 * 1024);
    const bigJson = JSON.stringify({ blob: bigText });
    const many = Array.from({ length: 3_000 }, (_, i): CopyValue[] => [0, i, i, `row ${i} ${"ä".repeat(300)}`, null, null, null, null]);
    const rows: CopyValue[][] = [[0, 0, 0, bigText, bigBytes, bigJson, null, [bigText]], ...many];
    expect(encodeCopyBinary(rows, TYPES, (row, column) => row[column]!).length).toBeGreaterThan(2);
    const stored = await roundTrip(rows);
    expect(stored).toHaveLength(3_001);
    expect(stored[0]!.t).toBe(bigText);
    expect(stored[0]!.b).toEqual(bigBytes);
    expect(JSON.parse(stored[0]!.j as string)).toEqual({ blob: bigText });
    expect(stored[0]!.a).toEqual([bigText]);
    expect(stored.slice(1).map((row) => row.i)).toEqual(many.map((row) => row[1]));
    expect(stored[3_000]!.t).toBe(`row 2999 ${"ä".repeat(300)}`);
  });

  it("leaves text rules to PostgreSQL: a NUL in text is refused as a data error (class 22)", async () => {
    const refused = await roundTrip([[0, 0, 0, "nul\u0000inside", null, null, null, null]]).catch((error: unknown) => error);
    expect((refused as { code?: string }).code).toMatch(/^22/);
    const refusedJson = await roundTrip([[0, 0, 0, null, null, '{"a":"\\u0000"}', null, null]]).catch((error: unknown) => error);
    expect((refusedJson as { code?: string }).code).toMatch(/^22/);
  });

  it("refuses what the format cannot carry before anything is sent, with PostgreSQL's SQLSTATE", () => {
    const encode = (type: CopyType, value: CopyValue) => () => encodeCopyBinary([[value]], [type], (row) => row[0]!);
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(CopyValueError);
        return (error as CopyValueError).code;
      }
      return "no error";
    };
    expect(codeOf(encode("int8", "9223372036854775808"))).toBe("22003");
    expect(codeOf(encode("int8", "-9223372036854775809"))).toBe("22003");
    expect(codeOf(encode("int8", "12a"))).toBe("22P02");
    expect(codeOf(encode("int8", 2 ** 53))).toBe("22003");
    expect(codeOf(encode("int4", 2 ** 31))).toBe("22003");
    expect(codeOf(encode("int4", 1.5))).toBe("22003");
    expect(codeOf(encode("int2", -32769))).toBe("22003");
    expect(codeOf(encode("timestamptz", "not a time"))).toBe("22007");
    expect(() => encode("text", 1)()).toThrow(TypeError);
  });
});
