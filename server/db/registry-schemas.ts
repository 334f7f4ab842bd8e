import type pg from "pg";
import { toDatabaseError } from "./errors.ts";

/** A Schema Registry schema as the collector fetched it (server/schemas/registry-client.ts). */
export interface RegistrySchemaRow {
  id: number;
  schemaType: string;
  schema: string;
  references: { name: string; schema: string }[];
  subject: string | null;
  version: number | null;
  compatibility: string | null;
}

/**
 * Stores schemas the collector fetched, for the schema history. An id never changes meaning, so
 * the text stays; subject, version and compatibility level are refreshed (a later fetch may see a
 * level set since).
 */
export async function saveRegistrySchemas(
  db: { pool: pg.Pool },
  /** The source whose registry they come from: a schema id means something within one registry. */
  sourceId: number,
  schemas: readonly RegistrySchemaRow[],
): Promise<void> {
  if (schemas.length === 0) return;
  const sorted = [...schemas].sort((a, b) => a.id - b.id);
  try {
    await db.pool.query(
      `INSERT INTO registry_schemas AS r (source_id, id, schema_type, schema, "references", subject, version, compatibility)
       SELECT $8, * FROM unnest($1::int[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::int[], $7::text[])
       ON CONFLICT (source_id, id) DO UPDATE SET
         subject = coalesce(excluded.subject, r.subject),
         version = coalesce(excluded.version, r.version),
         compatibility = coalesce(excluded.compatibility, r.compatibility),
         fetched_at = now()`,
      [
        sorted.map((s) => s.id),
        sorted.map((s) => s.schemaType),
        sorted.map((s) => s.schema.replaceAll("\u0000", "")),
        sorted.map((s) => JSON.stringify(s.references)),
        sorted.map((s) => s.subject),
        sorted.map((s) => s.version),
        sorted.map((s) => s.compatibility),
        sourceId,
      ],
    );
  } catch (error) {
    throw toDatabaseError(error, `storing ${schemas.length} registry schemas`);
  }
}
