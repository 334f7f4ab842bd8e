import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import { TIMELINE_JOINS, timelineColumns, toTimelineEvent, withConsumption, type TimelineRow } from "./entity-timeline.ts";
import type { EventDetail, EventValue } from "../../../lib/api-schemas/events.ts";
import { checkOffset, maskedBinaryBase64, maskRulesOf, runQuery, select, type Queryable } from "./shared.ts";
import { maskJson, maskValueText } from "../../../lib/mask.ts";
import { resolveSourceName } from "../sources.ts";

interface DetailRow extends TimelineRow {
  value_json: unknown;
  value_text: string | null;
  value_bytes: Buffer | null;
  ingested_at: Date;
  schema_id: number | null;
  schema_subject: string | null;
  schema_version: number | null;
}

/**
 * One event with everything known about it: headers, whole value, its dead-letter row when it is
 * one, the dead letters that reference it, and its consumption status per subscribed group.
 * null when no such event is stored. Index: the primary key. Masked (EVENTSCOPE_MASK_FIELDS) unless
 * read through withoutMasking(db), as replay does.
 */
export async function getEvent(
  db: Queryable,
  topic: string,
  partition: number,
  offset: string | bigint,
  /**
   * The source's name (`?source=`). Without it, the event on whichever source has it; when several
   * sources have an event at this topic, partition and offset, a ValidationError names them.
   */
  options: { source?: string } = {},
): Promise<EventDetail | null> {
  if (!Number.isInteger(partition) || partition < 0 || partition > 2_147_483_647) {
    throw new ValidationError("partition must be a non-negative 32-bit integer", { field: "partition" });
  }
  const at = checkOffset(offset);
  const source = options.source ? await resolveSourceName(db, options.source) : null;
  return runQuery(`reading event ${topic}/${partition}/${at}`, async () => {
    const mask = maskRulesOf(db);
    const ofSource = source ? Prisma.sql`e.source_id = ${source.id}::smallint AND` : Prisma.empty;
    const rows = await select<DetailRow>(
      db,
      withConsumption(
        db,
        Prisma.sql`
          SELECT ${timelineColumns(mask)}, e.value_json, e.value_text, e.value_bytes, e.ingested_at, e.schema_id,
            (SELECT r.subject FROM registry_schemas r WHERE r.source_id = e.source_id AND r.id = e.schema_id) AS schema_subject,
            (SELECT r.version FROM registry_schemas r WHERE r.source_id = e.source_id AND r.id = e.schema_id) AS schema_version
          FROM events e ${TIMELINE_JOINS}
          WHERE ${ofSource} e.channel = ${topic}::text AND e.partition = ${partition}::int AND e.position = ${at}::bigint`,
        mask,
        Prisma.empty,
      ),
    );
    if (rows.length > 1) {
      throw new ValidationError(
        `event ${topic}/${partition}/${at} exists on several sources (${rows.map((r) => r.source).sort().join(", ")}): ` +
          "say which with ?source=<name>",
        { field: "source" },
      );
    }
    const row = rows[0];
    if (!row) return null;
    const event = toTimelineEvent(row, mask);
    const bytes = row.value_bytes ? row.value_bytes.toString("base64") : null;
    // The exact bytes of a JSON value are withheld when masking changed the value.
    const json = row.value_kind === "json" ? maskJson(row.value_json, mask) : undefined;
    const exactBytesShown = json === row.value_json;
    let value: EventValue;
    if (row.value_kind === "json") value = { kind: "json", json };
    else if (row.value_kind === "text") value = { kind: "text", text: maskValueText(row.value_text ?? "", mask) };
    else if (row.value_kind === "binary") value = { kind: "binary", base64: maskedBinaryBase64(row.value_bytes ?? Buffer.alloc(0), mask) };
    else value = { kind: "tombstone" };
    return {
      ...event,
      value,
      valueBytesBase64: row.value_kind === "json" && exactBytesShown ? bytes : null,
      ingestedAt: row.ingested_at.toISOString(),
      schemaId: row.schema_id,
      schemaSubject: row.schema_subject,
      schemaVersion: row.schema_version,
    };
  });
}
