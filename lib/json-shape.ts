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

/** `parent.key`, or `parent["odd key"]` when the key is not a plain identifier. */
export function childPath(parent: string, key: string): string {
  if (PLAIN_KEY.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** Each (path, type) of `value` once, in the order first met. */
export function jsonShape(value: JsonValue): { path: string; type: JsonType }[] {
  const seen = new Set<string>();
  const out: { path: string; type: JsonType }[] = [];
  const add = (path: string, type: JsonType): boolean => {
    if (out.length >= MAX_PATHS) return false;
    const id = `${path}\u0000${type}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push({ path, type });
    }
    return true;
  };
  const walk = (node: JsonValue, path: string, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (Array.isArray(node)) {
      const items = `${path}[]`;
      for (let i = 0; i < node.length && i < MAX_ELEMENTS; i++) {
        const item = node[i]!;
        if (!add(items, jsonTypeOf(item))) return;
        walk(item, items, depth + 1);
      }
      return;
    }
    if (node === null || typeof node !== "object") return;
    const keys = Object.keys(node);
    if (keys.length > MAX_KEYS) return;
    for (const key of keys) {
      const child = node[key]!;
      const childAt = childPath(path, key);
      if (!add(childAt, jsonTypeOf(child))) return;
      if (depth < MAX_DEPTH) walk(child, childAt, depth + 1);
    }
  };
  add("", jsonTypeOf(value));
  walk(value, "", 0);
  return out;
}
