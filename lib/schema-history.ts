import type { JsonType } from "./json-shape.ts";
import { diffSchemaFields, DEFAULT_COMPATIBILITY, parentOf } from "./schema-diff.ts";
import { schemaFields, type SchemaField, type SchemaType } from "./schema-fields.ts";
import type { JsonShapeChange, RegistryVersion, SchemaHistory } from "./api-schemas/schema-history.ts";

/**
 * Builds an event type's schema history (lib/api-schemas/schema-history.ts) from what ingest
 * counted: the registry schemas its events carried, and the field paths and JSON types of its
 * plain JSON values. Pure: the query layer reads the rows, this explains them.
 */

export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

export interface TypeSchemaRow {
  schemaId: number;
  count: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
  firstEvent: Position;
  /** The stored schema, when the collector fetched it. */
  schema: {
    schemaType: string;
    text: string;
    references: { name: string; schema: string }[];
    subject: string | null;
    version: number | null;
    compatibility: string | null;
  } | null;
}

export interface TypeFieldRow {
  path: string;
  jsonType: JsonType;
  count: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
  firstEvent: Position;
}

export interface RemovedField {
  path: string;
  /** When it was seen last. */
  lastSeenAt: Date;
  /** The last event that carried it. */
  lastEvent: Position;
  /** Events of the type seen after it without it (at least REMOVAL_EVIDENCE). */
  eventsWithout: number;
}

/** Events of the type without a field, after its last sighting, before it is called removed. */
export const REMOVAL_EVIDENCE = 20;

function isSchemaType(value: string): value is SchemaType {
  return value === "AVRO" || value === "PROTOBUF" || value === "JSON";
}

function eventsHref(eventType: string, schemaId: number): string {
  return `/events?${new URLSearchParams({ type: eventType, schemaId: String(schemaId) })}`;
}

export function buildRegistryVersions(eventType: string, rows: readonly TypeSchemaRow[]): RegistryVersion[] {
  const ordered = [...rows].sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime() || a.schemaId - b.schemaId);
  let previous: { fields: SchemaField[]; schemaType: SchemaType } | null = null;
  return ordered.map((row, index) => {
    const schemaType = row.schema && isSchemaType(row.schema.schemaType) ? row.schema.schemaType : null;
    let fields: SchemaField[] | null = null;
    let fieldsError: string | null = null;
    if (!row.schema) fieldsError = "the schema's text was never fetched from the registry by the collector";
    else if (!schemaType) fieldsError = `schema type ${row.schema.schemaType} is not one Eventscope reads`;
    else {
      try {
        fields = schemaFields(schemaType, row.schema.text, row.schema.references);
      } catch (error) {
        fieldsError = `the schema could not be read: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const reported = row.schema?.compatibility ?? null;
    const level = reported ?? DEFAULT_COMPATIBILITY;
    const changes =
      index === 0 || !previous || !fields || !schemaType || previous.schemaType !== schemaType
        ? null
        : diffSchemaFields(schemaType, previous.fields, fields, level);
    if (fields && schemaType) previous = { fields, schemaType };
    return {
      schemaId: row.schemaId,
      subject: row.schema?.subject ?? null,
      version: row.schema?.version ?? null,
      schemaType,
      compatibility: { level, reported: reported !== null },
      count: row.count,
      firstSeenAt: row.firstSeenAt.toISOString(),
      lastSeenAt: row.lastSeenAt.toISOString(),
      firstEvent: row.firstEvent,
      eventsHref: eventsHref(eventType, row.schemaId),
      fields,
      fieldsError,
      changes,
      breaking: (changes ?? []).some((change) => !change.compatible),
    };
  });
}

/**
 * The moments the JSON shape changed: a path first seen after the type's first JSON event
 * (added), a JSON type first seen at a path that had another before (type changed), a path not
 * seen for REMOVAL_EVIDENCE events of the type since (removed). Judged from the consumers' side:
 * code written for the earlier shape ignores a new field, and breaks on a changed or missing one.
 */
export function buildJsonShapeChanges(rows: readonly TypeFieldRow[], removed: readonly RemovedField[]): JsonShapeChange[] {
  const root = rows.filter((row) => row.path === "");
  if (root.length === 0) return [];
  const typeFirst = Math.min(...root.map((row) => row.firstSeenAt.getTime()));
  const byPath = new Map<string, TypeFieldRow[]>();
  for (const row of rows) byPath.set(row.path, [...(byPath.get(row.path) ?? []), row]);
  const firstOfPath = (path: string) => Math.min(...(byPath.get(path) ?? []).map((row) => row.firstSeenAt.getTime()));

  const changes: JsonShapeChange[] = [];
  for (const [path, sightings] of byPath) {
    const sorted = [...sightings].sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime());
    const first = sorted[0]!;
    const appeared = first.firstSeenAt.getTime();
    if (path !== "" && appeared > typeFirst) {
      // A field inside a field that appeared with it is part of that addition.
      const parent = parentOf(path);
      const withParent = parent !== null && byPath.has(parent) && firstOfPath(parent) === appeared;
      if (!withParent) {
        changes.push({
          at: first.firstSeenAt.toISOString(),
          path,
          kind: "added",
          before: null,
          after: sorted.map((row) => row.jsonType).join(" | "),
          compatible: true,
          reason: "consumers written for the earlier shape ignore a field they do not know",
          event: first.firstEvent,
        });
      }
    }
    for (const later of sorted.slice(1)) {
      const at = later.firstSeenAt.getTime();
      if (at <= appeared) continue;
      const before = sorted.filter((row) => row.firstSeenAt.getTime() < at);
      const stillBefore = before.filter((row) => row.lastSeenAt.getTime() >= at);
      const was = before.map((row) => row.jsonType).join(" | ");
      changes.push({
        at: later.firstSeenAt.toISOString(),
        path: path === "" ? "(the value)" : path,
        kind: "type-changed",
        before: was,
        after: stillBefore.length === 0 ? later.jsonType : `${was} | ${later.jsonType}`,
        compatible: false,
        reason:
          later.jsonType === "null"
            ? `consumers written for the earlier shape expect a ${was} and now meet null`
            : `consumers written for the earlier shape expect a ${was} and now meet a ${later.jsonType}${stillBefore.length === 0 ? "" : " (both are sent now)"}`,
        event: later.firstEvent,
      });
    }
  }
  for (const gone of removed) {
    changes.push({
      at: gone.lastSeenAt.toISOString(),
      path: gone.path,
      kind: "removed",
      before: (byPath.get(gone.path) ?? []).map((row) => row.jsonType).join(" | ") || null,
      after: null,
      compatible: false,
      reason: `not seen in the ${gone.eventsWithout}${gone.eventsWithout >= REMOVAL_EVIDENCE ? "+" : ""} events since: consumers that read it find it missing`,
      event: gone.lastEvent,
    });
  }
  return changes.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.path < b.path ? -1 : 1));
}

export function buildSchemaHistory(input: {
  eventType: string;
  eventCount: number;
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
  schemas: readonly TypeSchemaRow[];
  fields: readonly TypeFieldRow[];
  removed: readonly RemovedField[];
}): SchemaHistory {
  const byPath = new Map<string, TypeFieldRow[]>();
  for (const row of input.fields) byPath.set(row.path, [...(byPath.get(row.path) ?? []), row]);
  const jsonEvents = (byPath.get("") ?? []).reduce((sum, row) => sum + row.count, 0);
  return {
    eventType: input.eventType,
    eventCount: input.eventCount,
    firstSeenAt: input.firstSeenAt?.toISOString() ?? null,
    lastSeenAt: input.lastSeenAt?.toISOString() ?? null,
    registry: buildRegistryVersions(input.eventType, input.schemas),
    json: {
      eventCount: jsonEvents,
      fields: [...byPath.entries()]
        .filter(([path]) => path !== "")
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([path, rows]) => ({
          path,
          count: rows.reduce((sum, row) => sum + row.count, 0),
          types: [...rows]
            .sort((a, b) => a.firstSeenAt.getTime() - b.firstSeenAt.getTime())
            .map((row) => ({
              type: row.jsonType,
              count: row.count,
              firstSeenAt: row.firstSeenAt.toISOString(),
              lastSeenAt: row.lastSeenAt.toISOString(),
              firstEvent: row.firstEvent,
            })),
        })),
      changes: buildJsonShapeChanges(input.fields, input.removed),
    },
  };
}
