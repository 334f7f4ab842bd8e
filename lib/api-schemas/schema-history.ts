import { z } from "zod";

/**
 * The schema history of one event type: `GET /api/event-types/<type>/schemas` and the page
 * `/event-types/<type>`. Registry schemas the type's events carried (decoded from the Schema
 * Registry wire format), each with the field-level changes from the version before and their
 * compatibility; and, for its plain JSON events, the shape observed (field paths and JSON types)
 * with the moments it changed.
 */

export const eventPositionSchema = z.object({ topic: z.string(), partition: z.number(), offset: z.string() });

export const schemaFieldSchema = z.object({
  path: z.string(),
  type: z.string(),
  optional: z.boolean(),
  hasDefault: z.boolean(),
});

export const fieldChangeSchema = z.object({
  path: z.string(),
  kind: z.enum(["added", "removed", "type-changed", "made-optional", "made-required"]),
  before: z.string().nullable(),
  after: z.string().nullable(),
  compatible: z.boolean(),
  reason: z.string(),
});

export type FieldChangeView = z.infer<typeof fieldChangeSchema>;

export const registryVersionSchema = z.object({
  schemaId: z.number(),
  /** Subject and version as the registry listed them when the schema was fetched; null when it did not. */
  subject: z.string().nullable(),
  version: z.number().nullable(),
  schemaType: z.enum(["AVRO", "PROTOBUF", "JSON"]).nullable(),
  /** The level its changes are judged under: the registry's answer for the subject (or its global level), else BACKWARD. */
  compatibility: z.object({ level: z.string(), reported: z.boolean() }),
  count: z.number(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  firstEvent: eventPositionSchema,
  /** The events that carried it (the search, by type and schema id). */
  eventsHref: z.string(),
  /** null when the schema's text is not stored (never fetched by this collector) or not readable: `fieldsError` says which. */
  fields: z.array(schemaFieldSchema).nullable(),
  fieldsError: z.string().nullable(),
  /** The changes from the version before it (by first sighting); null for the first. */
  changes: z.array(fieldChangeSchema).nullable(),
  /** Whether any change from the version before breaks under the level. */
  breaking: z.boolean(),
});

export type RegistryVersion = z.infer<typeof registryVersionSchema>;

export const jsonTypeSightingSchema = z.object({
  type: z.enum(["string", "number", "boolean", "null", "object", "array"]),
  count: z.number(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  firstEvent: eventPositionSchema,
});

export const jsonFieldSchema = z.object({
  path: z.string(),
  types: z.array(jsonTypeSightingSchema),
  /** Events that carried the field, whatever its type. */
  count: z.number(),
});

export const jsonShapeChangeSchema = z.object({
  at: z.string(),
  path: z.string(),
  kind: z.enum(["added", "type-changed", "removed"]),
  before: z.string().nullable(),
  after: z.string().nullable(),
  compatible: z.boolean(),
  reason: z.string(),
  /** The first event that showed the change (for a removal: the last one that still had the field). */
  event: eventPositionSchema,
});

export type JsonShapeChange = z.infer<typeof jsonShapeChangeSchema>;

export const schemaHistorySchema = z.object({
  eventType: z.string(),
  /** Events of the type counted since collection began (every topic and producer). */
  eventCount: z.number(),
  firstSeenAt: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  registry: z.array(registryVersionSchema),
  json: z.object({
    /** Plain JSON events of the type whose shape was recorded. */
    eventCount: z.number(),
    fields: z.array(jsonFieldSchema),
    changes: z.array(jsonShapeChangeSchema),
  }),
});

export type SchemaHistory = z.infer<typeof schemaHistorySchema>;

/** An event type as a path segment names it. */
export const eventTypeParamSchema = z
  .string()
  .trim()
  .min(1, "the event type is empty")
  .max(300, "an event type has at most 300 characters");

export function schemaHistoryHref(eventType: string): string {
  return `/event-types/${encodeURIComponent(eventType)}`;
}

export function schemaHistoryApiHref(eventType: string): string {
  return `/api/event-types/${encodeURIComponent(eventType)}/schemas`;
}
