import { completeUtf8Prefix, decodeText, firstNonWhitespaceByte } from "./bytes.ts";
import { contentTypeSaysJson } from "./cloudevents.ts";
import type { ExtractionFlag } from "./flags.ts";
import type { JsonValue, WireFormatReader } from "./types.ts";

/** A key as stored: text when it is text (lossless: it encodes back to the same bytes), else bytes. */
export type ExtractedKey =
  /** `wire`: a key read from the Schema Registry wire format keeps its wire bytes (a replay sends them). */
  | { kind: "text"; text: string; wire?: Buffer }
  | { kind: "bytes"; bytes: Buffer }
  | null;

export function decodeKey(key: Buffer | null, wireFormat?: WireFormatReader): { key: ExtractedKey; flags: ExtractionFlag[] } {
  if (key === null) return { key: null, flags: [] };
  // A key in the Schema Registry wire format: its decoded reading, as text (a string key as itself).
  const wire = wireFormat?.read(key) ?? null;
  if (wire?.status === "decoded") {
    return { key: { kind: "text", text: typeof wire.json === "string" ? wire.json : JSON.stringify(wire.json), wire: key }, flags: [] };
  }
  const text = decodeText(key);
  if (text === null) return { key: { kind: "bytes", bytes: key }, flags: ["key-binary"] };
  return { key: { kind: "text", text }, flags: [] };
}

/**
 * A value as stored. `raw` is always kept (the whole value, or its first maxValueBytes bytes when
 * truncated) so a replay can send exactly what was received; `byteLength` is the size on the wire.
 */
export type ExtractedValue =
  | { kind: "tombstone" }
  | {
      kind: "json";
      json: JsonValue;
      raw: Buffer;
      byteLength: number;
      /** Decoded from the Schema Registry wire format: the schema id and its named type. `raw` is the wire bytes. */
      schema?: { id: number; typeName: string | null };
    }
  | {
      kind: "bytes";
      raw: Buffer;
      /** The bytes as text when they are UTF-8 (for a truncated value: up to its last whole character). */
      text: string | null;
      truncated: boolean;
      byteLength: number;
    };

export interface ValueDecoding {
  value: ExtractedValue;
  flags: ExtractionFlag[];
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * JSON when the value parses as JSON (objects, arrays or scalars), else bytes with their text.
 * A value over the cap is cut and never parsed: half a JSON document is not JSON.
 */
export function decodeValue(
  value: Buffer | null,
  contentType: string | null,
  maxValueBytes: number,
  wireFormat?: WireFormatReader,
): ValueDecoding {
  if (value === null) return { value: { kind: "tombstone" }, flags: ["tombstone"] };
  const byteLength = value.length;

  const wire = byteLength <= maxValueBytes ? (wireFormat?.read(value) ?? null) : null;
  if (wire?.status === "decoded") {
    return { value: { kind: "json", json: wire.json, raw: value, byteLength, schema: { id: wire.schemaId, typeName: wire.typeName } }, flags: [] };
  }
  if (wire?.status === "failed") {
    return { value: { kind: "bytes", raw: value, text: null, truncated: false, byteLength }, flags: [wire.flag] };
  }

  if (byteLength > maxValueBytes) {
    // A copy: a view would pin the whole fetch buffer in memory until the row is written.
    const raw = Buffer.from(value.subarray(0, Math.max(0, maxValueBytes)));
    return {
      value: { kind: "bytes", raw, text: decodeText(completeUtf8Prefix(raw)), truncated: true, byteLength },
      flags: ["value-truncated"],
    };
  }

  const text = decodeText(value);
  const asBytes: ExtractedValue = { kind: "bytes", raw: value, text, truncated: false, byteLength };
  const parsed = text === null ? NOT_JSON : parseJson(text);
  if (text === null || parsed === NOT_JSON) {
    // Only now worth asking whether JSON was promised: most values parse.
    const promisedJson = contentTypeSaysJson(contentType) || looksLikeJson(value);
    return { value: asBytes, flags: promisedJson ? ["value-not-json"] : [] };
  }
  if (parsed === IMPRECISE) return { value: asBytes, flags: [] };
  if (!isJsonbStorable(text, parsed)) return { value: asBytes, flags: ["value-json-unstorable"] };
  return { value: { kind: "json", json: parsed, raw: value, byteLength }, flags: [] };
}

function looksLikeJson(value: Buffer): boolean {
  const body = value.subarray(0, 3).equals(UTF8_BOM) ? value.subarray(3) : value;
  const first = firstNonWhitespaceByte(body);
  return first === OPEN_BRACE || first === OPEN_BRACKET;
}

const NOT_JSON = Symbol("not JSON");
const IMPRECISE = Symbol("JSON number beyond double precision");

/** Characters a JSON text can start with (after whitespace); anything else skips JSON.parse. */
const JSON_START = /^[\s\uFEFF]*[{["\-0-9tfn]/;

function parseJson(text: string): JsonValue | typeof NOT_JSON | typeof IMPRECISE {
  if (!JSON_START.test(text)) return NOT_JSON;
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as JsonValue;
  } catch {
    return NOT_JSON;
  }
  // A bare big number (an id sent as the whole value) would be silently rounded: keep its text.
  if (typeof parsed === "number" && (!Number.isFinite(parsed) || (Number.isInteger(parsed) && !Number.isSafeInteger(parsed)))) {
    return IMPRECISE;
  }
  return parsed;
}

/**
 * Deepest nesting stored as JSON. JSON.parse accepts any depth, but JSON.stringify (which writes
 * the row) and PostgreSQL's parser recurse and fail a few thousand levels down; real events nest
 * a few dozen levels at most.
 */
export const MAX_JSON_DEPTH = 512;

/**
 * Whether jsonb can hold the value: it rejects \u0000 and unpaired surrogates, and too deep a
 * document cannot be serialised. One such row would fail a whole batch insert. Valid UTF-8 can
 * only produce those characters through \u escapes, and a text shorter than the depth limit
 * cannot nest that deep, so most values skip the walk.
 */
function isJsonbStorable(text: string, parsed: JsonValue): boolean {
  const checkStrings = text.includes("\\u");
  if (!checkStrings && !mayNestDeeperThan(text, MAX_JSON_DEPTH)) return true;
  const pending: Array<[JsonValue, number]> = [[parsed, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node === "string") {
      if (checkStrings && !isStorableString(node)) return false;
    } else if (node !== null && typeof node === "object") {
      if (depth >= MAX_JSON_DEPTH) return false;
      if (Array.isArray(node)) {
        for (const item of node) pending.push([item, depth + 1]);
      } else {
        for (const [key, item] of Object.entries(node)) {
          if (checkStrings && !isStorableString(key)) return false;
          pending.push([item, depth + 1]);
        }
      }
    }
  }
  return true;
}

/**
 * Nesting depth is at most the number of opening brackets. Counting them with indexOf (native,
 * one call per bracket) is far cheaper than a walk or a loop over every character.
 */
function mayNestDeeperThan(text: string, depth: number): boolean {
  if (text.length <= depth) return false;
  let open = 0;
  for (const bracket of ["{", "["]) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) {
      if (++open > depth) return true;
    }
  }
  return false;
}

function isStorableString(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}
