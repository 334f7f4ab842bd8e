import { Prisma } from "@prisma/client";
import { statesAfterEach } from "../../../lib/entity-state.ts";
import { maskJson } from "../../../lib/mask.ts";
import type { EntityState } from "../../../lib/api-schemas/entities.ts";
import { maskRulesOf, runQuery, select, sourceNameSql, type Queryable } from "./shared.ts";

/** Events folded at most: an entity with more is folded from its first ones, and says so in basedOn's length. */
export const MAX_STATE_EVENTS = 10_000;

/**
 * An entity's state at a time: its events' JSON values up to `at` (timeline order), each applied
 * as a JSON Merge Patch (lib/entity-state.ts), masked like every value shown (EVENTSCOPE_MASK_FIELDS),
 * without the fields of EVENTSCOPE_STATE_IGNORE. `basedOn`: the events whose values changed it or
 * could have (every JSON object value). Index: events_entity_keys_idx (GIN).
 */
export async function getEntityState(db: Queryable, entityKey: string, at: Date): Promise<EntityState> {
  const mask = maskRulesOf(db);
  return runQuery(`reading the state of ${entityKey}`, async () => {
    const rows = await select<{ source: string; topic: string; partition: number; offset: string; timestamp: Date; event_type: string | null; value: unknown }>(
      db,
      Prisma.sql`SELECT ${sourceNameSql(Prisma.sql`e.source_id`)} AS source, e.channel AS topic, e.partition, e.position::text AS "offset",
          e."timestamp", e.event_type, e.value_json AS value
        FROM events e
        WHERE e.entity_keys @> ARRAY[${entityKey}::text] AND e."timestamp" <= ${at}
          AND e.value_kind = 'json' AND jsonb_typeof(e.value_json) = 'object'
        ORDER BY e."timestamp", e.channel, e.partition, e.position, e.source_id
        LIMIT ${MAX_STATE_EVENTS}::int`,
    );
    const states = statesAfterEach(rows.map((row) => maskJson(row.value, mask)), db.stateIgnore ?? []);
    return {
      entityKey,
      at: at.toISOString(),
      state: states.at(-1) ?? {},
      basedOn: rows.map((row) => ({
        source: row.source,
        topic: row.topic,
        partition: row.partition,
        offset: row.offset,
        timestamp: row.timestamp.toISOString(),
        eventType: row.event_type,
      })),
    };
  });
}
