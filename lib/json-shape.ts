import type { JsonValue } from "./json-value.ts";

/**
 * The shape of a JSON value: each field path with the JSON type found there. Paths are dotted
 * (`customer.id`); an array's elements share one path (`items[].sku`); a key that is not a plain
 * identifier is quoted (`headers["content-type"]`). The value itself is the path "" (so its
 * entries count the values). Ingest records
 * the shapes of each event type's plain JSON values, and the schema history diffs them.
 *
 * Bounded, whatever the value: objects deeper than MAX_DEPTH, and the keys of an object with more
 * than MAX_KEYS of them (a map keyed by ids, not a record), are recorded as `object` without
 * their fields; at most MAX_ELEMENTS elements of an array are looked at; at most MAX_PATHS entries.
 */

export type JsonType = "string" | "number" | "boolean" | "null" | "object" | "array";

export const JSON_SHAPE_LIMITS = { MAX_DEPTH: 8, MAX_KEYS: 64, MAX_ELEMENTS: 16, MAX_PATHS: 256 } as const;
const { MAX_DEPTH, MAX_KEYS, MAX_ELEMENTS, MAX_PATHS } = JSON_SHAPE_LIMITS;

export function jsonTypeOf(value: JsonValue): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    default:
      return "object";
  }
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;
/** Keys repeat from value to value: whether each is plain is remembered (a bounded cache). */
const plainKeys = new Map<string, boolean>();

function isPlainKey(key: string): boolean {
  let plain = plainKeys.get(key);
  if (plain === undefined) {
    plain = PLAIN_KEY.test(key);
    if (plainKeys.size >= 10_000) plainKeys.clear();
    plainKeys.set(key, plain);
  }
  return plain;
}

/** `parent.key`, or `parent["odd key"]` when the key is not a plain identifier. */
export function childPath(parent: string, key: string): string {
  if (isPlainKey(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** Each (path, type) of `value` once, in the order first met. */
export function jsonShape(value: JsonValue): { path: string; type: JsonType }[] {
  return jsonShapeEntries(value).map((entry) => {
    const tab = entry.lastIndexOf("\t");
    return { path: entry.slice(0, tab), type: entry.slice(tab + 1) as JsonType };
  });
}

/**
 * The same as `path\ttype` strings (a key's tab is escaped in its quoted form): what ingest
 * records, without an object per entry. Only array elements can repeat a (path, type).
 */
export function jsonShapeEntries(value: JsonValue): string[] {
  const out: string[] = [];
  let seen: Set<string> | null = null;
  const add = (path: string, type: JsonType, inArray: boolean): boolean => {
    if (out.length >= MAX_PATHS) return false;
    const entry = `${path}\t${type}`;
    if (inArray) {
      seen ??= new Set(out);
      if (seen.has(entry)) return true;
      seen.add(entry);
    } else if (seen) {
      seen.add(entry);
    }
    out.push(entry);
    return true;
  };
  const walk = (node: JsonValue, path: string, depth: number, inArray: boolean): void => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(node)) {
      const items = `${path}[]`;
      for (let i = 0; i < node.length && i < MAX_ELEMENTS; i++) {
        const item = node[i]!;
        if (!add(items, jsonTypeOf(item), true)) return;
        walk(item, items, depth + 1, true);
      }
      return;
    }
    if (node === null || typeof node !== "object") return;
    const keys = Object.keys(node);
    if (keys.length > MAX_KEYS) return;
    for (const key of keys) {
      const child = node[key]!;
      const childAt = childPath(path, key);
      if (!add(childAt, jsonTypeOf(child), inArray)) return;
      if (depth < MAX_DEPTH) walk(child, childAt, depth + 1, inArray);
    }
  };
  add("", jsonTypeOf(value), false);
  walk(value, "", 0, false);
  return out;
}

/**
 * Whether `a` and `b` have the same structure as far as jsonShapeEntries looks at it (the same
 * keys in the same order, the same JSON types, arrays up to MAX_ELEMENTS, nesting up to
 * MAX_DEPTH): if so, they have the same shape. Much cheaper than building the shape: no strings
 * are built (values of one event type mostly share a structure, so ingest compares each value with
 * the type's previous one).
 */
export function sameJsonStructure(a: JsonValue, b: JsonValue, depth = 0): boolean {
  if (a === null || b === null) return a === b;
  const type = typeof a;
  if (type !== typeof b) return false;
  if (type !== "object") return true;
  const array = Array.isArray(a);
  if (array !== Array.isArray(b)) return false;
  if (depth > MAX_DEPTH) return true;
  if (array) {
    const left = a as JsonValue[];
    const right = b as JsonValue[];
    const n = Math.min(left.length, MAX_ELEMENTS);
    if (n !== Math.min(right.length, MAX_ELEMENTS)) return false;
    for (let i = 0; i < n; i++) if (!sameJsonStructure(left[i]!, right[i]!, depth + 1)) return false;
    return true;
  }
  const left = a as { [key: string]: JsonValue };
  const right = b as { [key: string]: JsonValue };
  const keys = Object.keys(left);
  const otherKeys = Object.keys(right);
  if (keys.length > MAX_KEYS || otherKeys.length > MAX_KEYS) return keys.length > MAX_KEYS && otherKeys.length > MAX_KEYS;
  if (keys.length !== otherKeys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== otherKeys[i] || !sameJsonStructure(left[key]!, right[key]!, depth + 1)) return false;
  }
  return true;
}
