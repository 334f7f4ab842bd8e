import type { ExtractionFlag } from "./flags.ts";
import type { JsonValue } from "./types.ts";

/** "value": from EVENTSCOPE_ENTITY_FIELDS in the JSON payload; "key": the message key's text. */
export type EntitySource = "value" | "key";

export interface EntityExtraction {
  /** Deduplicated, in the order of the configured fields, each field's matches in document order. */
  keys: string[];
  /**
   * Each key's entity kind, position for position: the configured field that found it first, as
   * configured; for a message key, null here (the caller names it `key:<topic>`, lib/flows.ts).
   */
  kinds: (string | null)[];
  source: EntitySource | null;
  flags: ExtractionFlag[];
}

/**
 * Entity keys of a message: every configured field found in the payload, else the key's text.
 * A plain name matches that property at any depth; a dotted path is followed from the root and
 * fans out over arrays ("items.sku" reads every item's sku; a numeric segment indexes an array).
 * Strings and numbers count (numbers as their decimal text); empty strings, booleans, objects and
 * integers beyond 2^53 (already rounded by JSON parsing, so they would name the wrong entity) do not.
 */
export function extractEntityKeys(
  payload: JsonValue | undefined,
  keyText: string | null,
  fields: readonly string[],
): EntityExtraction {
  const flags: ExtractionFlag[] = [];
  // key → the field that found it first (Map keeps insertion order).
  const found = new Map<string, string>();
  if (payload !== undefined && payload !== null && typeof payload === "object") {
    const { selectors, names, labels } = compileFields(fields);
    const byName = names.size > 0 ? collectByName(payload, names) : null;
    // Configured order decides which key comes first; a field's own matches keep document order.
    for (let s = 0; s < selectors.length; s++) {
      const selector = selectors[s]!;
      const values = typeof selector === "string" ? byName?.get(selector) : followPath(payload, selector);
      if (values === undefined) continue;
      for (const value of values) {
        const key = entityKeyOf(value);
        if (key === IMPRECISE) flags.push("entity-id-imprecise");
        else if (key !== null && !found.has(key)) found.set(key, labels[s]!);
      }
    }
  }
  if (found.size > 0) return { keys: [...found.keys()], kinds: [...found.values()], source: "value", flags };
  if (keyText !== null && keyText !== "") return { keys: [keyText], kinds: [null], source: "key", flags };
  return { keys: [], kinds: [], source: null, flags };
}

/** A plain name (matched at any depth) or a dotted path's segments. */
type Selector = string | readonly string[];

interface CompiledFields {
  selectors: readonly Selector[];
  /** Each selector's field as configured (trimmed): the entity kind it names. */
  labels: readonly string[];
  names: ReadonlySet<string>;
}

// The configured list is the same array for every message: parse it once.
const compiled = new WeakMap<readonly string[], CompiledFields>();

function compileFields(fields: readonly string[]): CompiledFields {
  const cached = compiled.get(fields);
  if (cached !== undefined) return cached;
  const selectors: Selector[] = [];
  const labels: string[] = [];
  const names = new Set<string>();
  for (const raw of fields) {
    const field = raw.trim();
    if (field === "") continue;
    labels.push(field);
    if (field.includes(".")) selectors.push(field.split("."));
    else {
      selectors.push(field);
      names.add(field);
    }
  }
  const result = { selectors, names, labels };
  compiled.set(fields, result);
  return result;
}

const IMPRECISE = Symbol("integer beyond 2^53");

function entityKeyOf(value: JsonValue): string | null | typeof IMPRECISE {
  if (typeof value === "string") return value === "" ? null : value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) return IMPRECISE;
    return String(value);
  }
  return null;
}

/**
 * Values of properties with one of the names, anywhere in the document, in document order.
 * Iterative: a payload nested thousands deep (JSON.parse accepts it) must not overflow the stack.
 */
function collectByName(root: JsonValue, names: ReadonlySet<string>): Map<string, JsonValue[]> {
  const matches = new Map<string, JsonValue[]>();
  // Two parallel stacks (a node, and the property name it sits under or null) rather than pairs:
  // this walk runs for every message and allocation dominates its cost.
  const nodes: JsonValue[] = [root];
  const under: Array<string | null> = [null];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const name = under.pop()!;
    if (name !== null && names.has(name)) {
      const list = matches.get(name);
      if (list === undefined) matches.set(name, [node]);
      else list.push(node);
    }
    if (node === null || typeof node !== "object") continue;
    // Pushed in reverse so that popping visits children in document order.
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        const item = node[i]!;
        if (item !== null && typeof item === "object") {
          nodes.push(item);
          under.push(null);
        }
      }
    } else {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const item = node[key]!;
        // Scalars only matter when their name matches: skip pushing the rest.
        if ((item !== null && typeof item === "object") || names.has(key)) {
          nodes.push(item);
          under.push(key);
        }
      }
    }
  }
  return matches;
}

function followPath(root: JsonValue, segments: readonly string[]): JsonValue[] {
  let current: JsonValue[] = [root];
  for (const segment of segments) {
    const index = /^\d+$/.test(segment) ? Number(segment) : null;
    const next: JsonValue[] = [];
    for (const node of current) {
      if (node === null || typeof node !== "object") continue;
      if (!Array.isArray(node)) {
        if (Object.hasOwn(node, segment)) next.push(node[segment]!);
      } else if (index !== null) {
        const item = node[index];
        if (item !== undefined) next.push(item);
      } else {
        // Fan out one level: "items.sku" reads the sku of every item.
        for (const item of node) {
          if (item !== null && typeof item === "object" && !Array.isArray(item) && Object.hasOwn(item, segment)) {
            next.push(item[segment]!);
          }
        }
      }
    }
    current = next;
  }
  return current;
}
