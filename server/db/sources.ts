import type pg from "pg";
import { parseRabbitQueueId } from "../../lib/api-schemas/groups.ts";
import { ValidationError } from "../../lib/errors.ts";
import { DEFAULT_SOURCE_NAME, SOURCE_NAME_PATTERN } from "../sources-file.ts";
import { toDatabaseError } from "./errors.ts";

/**
 * Sources: one Kafka cluster (later one RabbitMQ, Redis or NATS server) each. Rows name their
 * source by its small id (sources.id); the API and pages by its name. This module owns both
 * directions: ensureSource() for writers, and resolveSourceOf() for the `?source=` parameter of
 * every route that names a topic, group or event.
 */

export type SourceKind = "kafka" | "rabbitmq" | "redis" | "nats";

export interface SourceRow {
  id: number;
  name: string;
  kind: string;
}

/** What every row of a source carries, and what the collector's options hold per source. */
export interface SourceRef {
  id: number;
  name: string;
}

// The name rule and the default source's name belong to the sources' configuration
// (server/sources-file.ts); id 1 is the default source's since migration 20261207090000_source_identity.
export { DEFAULT_SOURCE_NAME, SOURCE_NAME_PATTERN };

/**
 * The source called `name`, created when it does not exist yet. Race-safe: collectors starting at
 * once insert with ON CONFLICT DO NOTHING and whoever loses reads the winner's row. A source that
 * exists with another kind is an error (a name means one server).
 */
export async function ensureSource(db: { pool: pg.Pool }, source: { name: string; kind: SourceKind }): Promise<SourceRow> {
  if (!SOURCE_NAME_PATTERN.test(source.name)) {
    throw new ValidationError(`source name ${JSON.stringify(source.name)}: use lowercase letters, digits and dashes, 1-40`, {
      field: "source",
    });
  }
  let row: SourceRow | undefined;
  try {
    // The NOT EXISTS keeps the usual case (the source is there) from using up a sequence value.
    const inserted = await db.pool.query<SourceRow>(
      `INSERT INTO sources (name, kind) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM sources WHERE name = $1)
       ON CONFLICT (name) DO NOTHING RETURNING id, name, kind`,
      [source.name, source.kind],
    );
    row = inserted.rows[0];
    if (!row) {
      const found = await db.pool.query<SourceRow>("SELECT id, name, kind FROM sources WHERE name = $1", [source.name]);
      row = found.rows[0];
    }
  } catch (error) {
    throw toDatabaseError(error, `registering source ${source.name}`);
  }
  if (!row) throw toDatabaseError(new Error(`source ${source.name} neither inserted nor found`), "registering a source");
  if (row.kind !== source.kind) {
    throw new ValidationError(`source ${source.name} is a ${row.kind} source, not ${source.kind}`, { field: "source" });
  }
  return row;
}

/** Every source, by id. */
export async function listSources(db: { pool: pg.Pool }): Promise<SourceRow[]> {
  try {
    const { rows } = await db.pool.query<SourceRow>("SELECT id, name, kind FROM sources ORDER BY id");
    return rows;
  } catch (error) {
    throw toDatabaseError(error, "listing sources");
  }
}

/** What a route names: a topic (also a DLQ's), a consumer group. */
export type NamedThing = "topic" | "group" | "queue";

/** The statement that finds the sources having a thing, and its parameters. */
const THING_SQL: Record<NamedThing, (name: string) => [string, unknown[]]> = {
  // Topics the admin poller saw, and channels events were stored from (a topic deleted since, or
  // one collected before the first admin poll).
  topic: (name) => [
    `SELECT source_id FROM topics WHERE name = $1
     UNION SELECT DISTINCT source_id FROM producers WHERE topic = $1
     UNION SELECT DISTINCT source_id FROM dead_letters WHERE channel = $1`,
    [name],
  ],
  group: (name) => [
    `SELECT source_id FROM consumer_groups WHERE group_id = $1
     UNION SELECT DISTINCT source_id FROM committed_offsets WHERE group_id = $1`,
    [name],
  ],
  // A RabbitMQ queue by its id (lib/api-schemas/groups.ts rabbitQueueId: vhost and name).
  queue: (name) => {
    const ref = parseRabbitQueueId(name);
    return [`SELECT source_id FROM rabbitmq_queues WHERE vhost = $1 AND name = $2`, [ref?.vhost ?? "", ref?.queue ?? ""]];
  },
};

/**
 * The one rule for `?source=` on routes that name a topic, group or queue (documented in
 * server/db/README.md):
 * - `sourceName` given: that source's id; an unknown name is a ValidationError (422) that lists
 *   the known sources, whatever the route (a source is configuration, not data a route looks up).
 * - not given: the only source that has the thing; when several have it, a ValidationError (422)
 *   naming them; when none has it, null (the route answers as it does for an unknown thing).
 */
export async function resolveSourceOf(
  db: { pool: pg.Pool },
  thing: NamedThing,
  name: string,
  sourceName: string | undefined | null,
): Promise<SourceRow | null> {
  if (sourceName !== undefined && sourceName !== null && sourceName !== "") return resolveSourceName(db, sourceName);
  const sources = await listSources(db);
  if (sources.length === 1) return sources[0]!;
  let ids: number[];
  try {
    const [sql, params] = THING_SQL[thing](name);
    const { rows } = await db.pool.query<{ source_id: number }>(sql, params);
    ids = rows.map((row) => row.source_id);
  } catch (error) {
    throw toDatabaseError(error, `finding the sources of ${thing} ${name}`);
  }
  const having = sources.filter((source) => ids.includes(source.id));
  if (having.length > 1) {
    throw new ValidationError(
      `${thing} ${JSON.stringify(name)} exists on several sources (${having.map((source) => source.name).join(", ")}): ` +
        "say which with ?source=<name>",
      { field: "source" },
    );
  }
  return having[0] ?? null;
}

/** Checks a `?source=` name without looking anything up: the source, or a 422 naming the known ones. */
export async function resolveSourceName(db: { pool: pg.Pool }, sourceName: string): Promise<SourceRow> {
  const sources = await listSources(db);
  const found = sources.find((source) => source.name === sourceName);
  if (!found) {
    throw new ValidationError(
      `unknown source ${JSON.stringify(sourceName)}: the sources are ${sources.map((source) => source.name).join(", ") || "none yet"}`,
      { field: "source" },
    );
  }
  return found;
}
