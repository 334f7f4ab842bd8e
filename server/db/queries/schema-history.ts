import { Prisma } from "@prisma/client";
import { NotFoundError, ValidationError } from "../../../lib/errors.ts";
import type { JsonType } from "../../../lib/json-shape.ts";
import { buildSchemaHistory, REMOVAL_EVIDENCE, type RemovedField, type TypeFieldRow, type TypeSchemaRow } from "../../../lib/schema-history.ts";
import type { SchemaHistory } from "../../../lib/api-schemas/schema-history.ts";
import { runQuery, select, type Queryable } from "./shared.ts";

/** Field rows read per type at most (each path once per JSON type it was seen with). */
const MAX_FIELD_ROWS = 5_000;
/** Fields checked for removal per request at most (each costs one bounded index read). */
const MAX_REMOVAL_CHECKS = 50;

/**
 * An event type's schema history (lib/schema-history.ts explains the rows): producers for the
 * type's totals (producers_event_type_idx), event_type_schemas with registry_schemas by their
 * primary keys, event_type_fields by its primary key's prefix; a field that stopped appearing is
 * called removed only after REMOVAL_EVIDENCE events of the type without it, counted through
 * events_event_type_timestamp_idx with a LIMIT.
 */
export async function getSchemaHistory(db: Queryable, eventType: string): Promise<SchemaHistory> {
  if (eventType.trim() === "") throw new ValidationError("say which event type", { field: "type" });
  return runQuery(`reading the schema history of ${eventType}`, async () => {
    const [totals, schemaRows, fieldRows] = await Promise.all([
      select<{ count: string | null; first_seen_at: Date | null; last_seen_at: Date | null }>(db, Prisma.sql`
        SELECT sum(count)::text AS count, min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at
        FROM producers WHERE event_type = ${eventType}::text`),
      select<{
        schema_id: number;
        count: string;
        first_seen_at: Date;
        last_seen_at: Date;
        first_topic: string;
        first_partition: number;
        first_offset: string;
        schema_type: string | null;
        schema: string | null;
        references: { name: string; schema: string }[] | null;
        subject: string | null;
        version: number | null;
        compatibility: string | null;
      }>(db, Prisma.sql`
        SELECT t.schema_id, t.count::text AS count, t.first_seen_at, t.last_seen_at, t.first_topic, t.first_partition,
          t.first_offset::text AS first_offset, r.schema_type, r.schema, r."references", r.subject, r.version, r.compatibility
        FROM event_type_schemas t LEFT JOIN registry_schemas r ON r.source_id = t.source_id AND r.id = t.schema_id
        WHERE t.event_type = ${eventType}::text`),
      select<{
        path: string;
        json_type: JsonType;
        count: string;
        first_seen_at: Date;
        last_seen_at: Date;
        first_topic: string;
        first_partition: number;
        first_offset: string;
      }>(db, Prisma.sql`
        SELECT path, json_type, count::text AS count, first_seen_at, last_seen_at, first_topic, first_partition, first_offset::text AS first_offset
        FROM event_type_fields WHERE event_type = ${eventType}::text
        ORDER BY path, json_type LIMIT ${MAX_FIELD_ROWS}`),
    ]);
    const eventCount = Number(totals[0]?.count ?? 0);
    if (eventCount === 0 && schemaRows.length === 0 && fieldRows.length === 0) {
      throw new NotFoundError(`no events of type ${JSON.stringify(eventType)} were collected`);
    }
    const schemas: TypeSchemaRow[] = schemaRows.map((row) => ({
      schemaId: row.schema_id,
      count: Number(row.count),
      firstSeenAt: row.first_seen_at,
      lastSeenAt: row.last_seen_at,
      firstEvent: { topic: row.first_topic, partition: row.first_partition, offset: row.first_offset },
      schema:
        row.schema === null || row.schema_type === null
          ? null
          : {
              schemaType: row.schema_type,
              text: row.schema,
              references: Array.isArray(row.references) ? row.references : [],
              subject: row.subject,
              version: row.version,
              compatibility: row.compatibility,
            },
    }));
    const fields: TypeFieldRow[] = fieldRows.map((row) => ({
      path: row.path,
      jsonType: row.json_type,
      count: Number(row.count),
      firstSeenAt: row.first_seen_at,
      lastSeenAt: row.last_seen_at,
      firstEvent: { topic: row.first_topic, partition: row.first_partition, offset: row.first_offset },
    }));
    return buildSchemaHistory({
      eventType,
      eventCount,
      firstSeenAt: totals[0]?.first_seen_at ?? null,
      lastSeenAt: totals[0]?.last_seen_at ?? null,
      schemas,
      fields,
      removed: await findRemovedFields(db, eventType, fields),
    });
  });
}

/**
 * Fields last seen before the type's latest plain JSON event, with REMOVAL_EVIDENCE plain JSON
 * events of the type after that: the field is no longer sent.
 */
async function findRemovedFields(db: Queryable, eventType: string, fields: readonly TypeFieldRow[]): Promise<RemovedField[]> {
  const latest = Math.max(...fields.filter((row) => row.path === "").map((row) => row.lastSeenAt.getTime()));
  if (!Number.isFinite(latest)) return [];
  const lastSeen = new Map<string, TypeFieldRow>();
  for (const row of fields) {
    if (row.path === "") continue;
    const known = lastSeen.get(row.path);
    if (!known || row.lastSeenAt > known.lastSeenAt) lastSeen.set(row.path, row);
  }
  const candidates = [...lastSeen.values()]
    .filter((row) => row.lastSeenAt.getTime() < latest)
    .sort((a, b) => a.lastSeenAt.getTime() - b.lastSeenAt.getTime())
    .slice(0, MAX_REMOVAL_CHECKS);
  const removed: RemovedField[] = [];
  for (const row of candidates) {
    const [after] = await select<{ n: number; topic: string | null; partition: number | null; offset: string | null }>(db, Prisma.sql`
      SELECT (SELECT count(*)::int FROM (
                SELECT 1 FROM events
                WHERE event_type = ${eventType}::text AND "timestamp" > ${row.lastSeenAt} AND schema_id IS NULL AND value_kind = 'json'
                LIMIT ${REMOVAL_EVIDENCE}) later) AS n,
             last.topic, last.partition, last.position::text AS "offset"
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (
        SELECT channel AS topic, partition, position FROM events
        WHERE event_type = ${eventType}::text AND "timestamp" = ${row.lastSeenAt}
        ORDER BY channel, partition, position DESC LIMIT 1) last ON true`);
    if (!after || after.n < REMOVAL_EVIDENCE) continue;
    removed.push({
      path: row.path,
      lastSeenAt: row.lastSeenAt,
      lastEvent:
        after.topic !== null && after.partition !== null && after.offset !== null
          ? { topic: after.topic, partition: after.partition, offset: after.offset }
          : row.firstEvent,
      eventsWithout: after.n,
    });
  }
  return removed;
}
