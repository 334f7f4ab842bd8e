/**
 * An entity's state, folded from its events' values: each JSON object value is applied to the
 * state so far as a JSON Merge Patch (RFC 7386): a member with a value sets it (objects merge
 * member by member), a member with null removes it. Values that are not JSON objects (arrays,
 * text, bytes) do not change the state (as a patch, they would replace it whole). Fields named in
 * EVENTSCOPE_STATE_IGNORE (names at any depth, or dotted paths from the root) are left out.
 * Pure; the same rule for the API (`GET /api/entities/<key>?at=`) and the timeline.
 */

export type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 7386 MergePatch(target, patch), without changing either. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = mergePatch(result[name], value);
  }
  return result;
}

/** A value without the ignored fields: plain names at any depth, dotted paths from the root. */
export function withoutIgnored(value: unknown, ignore: readonly string[]): unknown {
  if (ignore.length === 0) return value;
  const names = new Set(ignore.filter((field) => !field.includes(".")));
  const paths = ignore.filter((field) => field.includes(".")).map((field) => field.split("."));
  const strip = (node: unknown, path: readonly string[]): unknown => {
    if (Array.isArray(node)) return node.map((item) => strip(item, path));
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    for (const [name, child] of Object.entries(node)) {
      const at = [...path, name];
      if (names.has(name) || paths.some((p) => p.length === at.length && p.every((segment, i) => segment === at[i]))) continue;
      out[name] = strip(child, at);
    }
    return out;
  };
  return strip(value, []);
}

/** The state after each value in turn (objects only patch; see the file's comment). */
export function statesAfterEach(values: readonly unknown[], ignore: readonly string[] = []): JsonObject[] {
  const states: JsonObject[] = [];
  let state: JsonObject = {};
  for (const value of values) {
    if (isObject(value)) state = mergePatch(state, withoutIgnored(value, ignore)) as JsonObject;
    states.push(state);
  }
  return states;
}

export interface FieldChange {
  /** Dotted path of the field (array items are whole values). */
  path: string;
  change: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

/** Field-level differences from one state to the next, in path order. */
export function diffStates(before: unknown, after: unknown): FieldChange[] {
  const changes: FieldChange[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (isObject(a) && isObject(b)) {
      const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
      for (const name of names) {
        const at = path === "" ? name : `${path}.${name}`;
        if (!(name in b)) changes.push({ path: at, change: "removed", before: a[name] });
        else if (!(name in a)) changes.push({ path: at, change: "added", after: b[name] });
        else walk(a[name], b[name], at);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) changes.push({ path, change: "changed", before: a, after: b });
  };
  walk(before, after, "");
  return changes;
}
