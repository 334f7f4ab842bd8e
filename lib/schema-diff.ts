import type { SchemaField, SchemaType } from "./schema-fields.ts";

/**
 * Field-level changes between two consecutive schemas of an event type, each judged compatible or
 * breaking under the subject's compatibility level, the way the registry's levels are defined:
 *
 * - BACKWARD: consumers on the new schema read events written with the old one;
 * - FORWARD: consumers still on the old schema read events written with the new one;
 * - FULL: both; NONE: nothing is checked. A *_TRANSITIVE level is judged like its plain level
 *   here, between each version and the one before it.
 *
 * This is a per-field reading of those rules (a field added without a default, a type that cannot
 * be promoted, a removed field the old readers need), not the registry's own checker: it explains
 * what changed and why it breaks.
 */

export type ChangeKind = "added" | "removed" | "type-changed" | "made-optional" | "made-required";

export interface FieldChange {
  path: string;
  kind: ChangeKind;
  /** The field's type before (null when added). */
  before: string | null;
  /** The field's type after (null when removed). */
  after: string | null;
  compatible: boolean;
  /** Why, in one sentence. */
  reason: string;
}

/** What the registry's own default is, and what is assumed when it reports no level. */
export const DEFAULT_COMPATIBILITY = "BACKWARD";

/** Avro's schema resolution: a writer's type the reader's type can read (promotion). */
const AVRO_PROMOTIONS: Record<string, readonly string[]> = {
  int: ["long", "float", "double"],
  long: ["float", "double"],
  float: ["double"],
  string: ["bytes"],
  bytes: ["string"],
};

/** `enum Name [A, B]` → its name and symbols. */
function enumParts(type: string): { name: string; symbols: string[] } | null {
  const match = /^enum (\S+) \[(.*)\](?: #\d+)?$/.exec(type);
  if (!match) return null;
  return { name: match[1]!, symbols: match[2]!.split(", ").filter((symbol) => symbol !== "") };
}

/** Whether data written as `writer` can be read as `reader`. */
function readable(schemaType: SchemaType, writer: string, reader: string): boolean {
  if (writer === reader) return true;
  const writerEnum = enumParts(writer);
  const readerEnum = enumParts(reader);
  if (writerEnum && readerEnum && writerEnum.name === readerEnum.name) {
    // Avro: a writer's symbol the reader lacks fails the read; Protobuf keeps unknown values.
    return schemaType === "PROTOBUF" || writerEnum.symbols.every((symbol) => readerEnum.symbols.includes(symbol));
  }
  if (schemaType === "AVRO") return (AVRO_PROMOTIONS[writer] ?? []).includes(reader);
  return false;
}

interface Judged {
  compatible: boolean;
  reason: string;
}

/** Whether consumers on the new schema read events written with the old one. */
function backward(schemaType: SchemaType, change: Omit<FieldChange, "compatible" | "reason">, before?: SchemaField, after?: SchemaField): Judged {
  switch (change.kind) {
    case "added":
      if (schemaType === "PROTOBUF") return { compatible: true, reason: "older events lack the field; Protobuf readers see its default" };
      if (schemaType === "AVRO" ? after!.hasDefault : after!.optional) {
        return { compatible: true, reason: "older events lack the field; readers on the new schema use its default" };
      }
      return { compatible: false, reason: "a new field without a default: readers on the new schema cannot read older events, which lack it" };
    case "removed":
      return { compatible: true, reason: "readers on the new schema skip the field in older events" };
    case "type-changed":
      return readable(schemaType, change.before!, change.after!)
        ? { compatible: true, reason: `readers on the new schema read an older ${change.before} as ${change.after}` }
        : { compatible: false, reason: `readers on the new schema cannot read an older ${change.before} as ${change.after}` };
    case "made-optional":
      return { compatible: true, reason: "readers on the new schema accept the values older events have" };
    case "made-required":
      return schemaType === "PROTOBUF" || (schemaType === "AVRO" && before!.hasDefault && after!.hasDefault)
        ? { compatible: true, reason: "readers on the new schema fill in a default where older events have none" }
        : { compatible: false, reason: "older events may lack the field (or hold null), which readers on the new schema refuse" };
  }
}

/** Whether consumers still on the old schema read events written with the new one. */
function forward(schemaType: SchemaType, change: Omit<FieldChange, "compatible" | "reason">, before?: SchemaField, _after?: SchemaField): Judged {
  switch (change.kind) {
    case "added":
      return { compatible: true, reason: "readers on the old schema skip the new field" };
    case "removed":
      if (schemaType === "PROTOBUF") return { compatible: true, reason: "readers on the old schema see the field's default" };
      if (schemaType === "AVRO" ? before!.hasDefault : before!.optional) {
        return { compatible: true, reason: "readers on the old schema use the field's default when newer events lack it" };
      }
      return { compatible: false, reason: "readers on the old schema need the field, and newer events lack it" };
    case "type-changed":
      return readable(schemaType, change.after!, change.before!)
        ? { compatible: true, reason: `readers on the old schema read a newer ${change.after} as ${change.before}` }
        : { compatible: false, reason: `readers on the old schema cannot read a newer ${change.after} as ${change.before}` };
    case "made-optional":
      return schemaType === "PROTOBUF"
        ? { compatible: true, reason: "Protobuf readers see the default for an absent field" }
        : { compatible: false, reason: "newer events may lack the field (or hold null), which readers on the old schema refuse" };
    case "made-required":
      return { compatible: true, reason: "readers on the old schema accept a value that is always there" };
  }
}

function judge(schemaType: SchemaType, level: string, change: Omit<FieldChange, "compatible" | "reason">, before?: SchemaField, after?: SchemaField): Judged {
  const plain = level.replace(/_TRANSITIVE$/, "");
  if (plain === "NONE") return { compatible: true, reason: "the subject's compatibility level is NONE: the registry checks nothing" };
  const back = backward(schemaType, change, before, after);
  const fore = forward(schemaType, change, before, after);
  if (plain === "FORWARD") return fore;
  if (plain === "FULL") {
    if (!back.compatible) return back;
    if (!fore.compatible) return fore;
    return { compatible: true, reason: `${back.reason}, and ${fore.reason}` };
  }
  return back;
}

/** The changes from `before` to `after`, in the order of the fields (new ones where they appear). */
export function diffSchemaFields(schemaType: SchemaType, before: readonly SchemaField[], after: readonly SchemaField[], level: string): FieldChange[] {
  const old = new Map(before.map((field) => [field.path, field]));
  const now = new Map(after.map((field) => [field.path, field]));
  const changes: FieldChange[] = [];
  const add = (change: Omit<FieldChange, "compatible" | "reason">, was?: SchemaField, is?: SchemaField) => {
    changes.push({ ...change, ...judge(schemaType, level, change, was, is) });
  };
  for (const field of after) {
    const was = old.get(field.path);
    if (!was) {
      // A new field's own fields came with it: the field says it all.
      if (!isInsideAdded(field.path, old, now)) add({ path: field.path, kind: "added", before: null, after: field.type }, undefined, field);
      continue;
    }
    if (was.type !== field.type) add({ path: field.path, kind: "type-changed", before: was.type, after: field.type }, was, field);
    if (was.optional && !field.optional) add({ path: field.path, kind: "made-required", before: was.type, after: field.type }, was, field);
    if (!was.optional && field.optional) add({ path: field.path, kind: "made-optional", before: was.type, after: field.type }, was, field);
  }
  for (const field of before) {
    if (!now.has(field.path) && !isInsideAdded(field.path, now, old)) {
      add({ path: field.path, kind: "removed", before: field.type, after: null }, field, undefined);
    }
  }
  return changes;
}

/** Whether a parent of `path` is itself new (absent from `other`, present in `own`). */
function isInsideAdded(path: string, other: ReadonlyMap<string, SchemaField>, own: ReadonlyMap<string, SchemaField>): boolean {
  for (let cut = parentOf(path); cut !== null; cut = parentOf(cut)) {
    if (own.has(cut) && !other.has(cut)) return true;
  }
  return false;
}

/** `a.b[].c` → `a.b[]` → `a.b` → `a` → null. */
export function parentOf(path: string): string | null {
  if (path.endsWith("[]") || path.endsWith("{}")) return path.slice(0, -2) || null;
  const dot = path.lastIndexOf(".");
  const bracket = path.lastIndexOf("[");
  const cut = Math.max(dot, bracket);
  return cut > 0 ? path.slice(0, cut) : null;
}
