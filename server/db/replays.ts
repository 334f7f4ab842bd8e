import crypto from "node:crypto";
import { Prisma } from "@prisma/client";
import { NotFoundError, ValidationError } from "../../lib/errors.ts";
import { toDatabaseError } from "./errors.ts";
import type { StoredHeader } from "../../lib/api-schemas/headers.ts";
import { checkOffset, runQuery, select, sourceNameSql, type Queryable } from "./queries/shared.ts";

/**
 * The write side of replays: the stored bytes of a dead letter, the guard (claiming a replay
 * row BEFORE anything is produced), and the statuses a replay and a dead letter go through.
 */

/** A dead letter's record as it was on the wire, rebuilt from what ingest stored. */
export interface ReplaySource {
  id: string;
  /** The source (by name) of the dead letter, its origin and so the replay's target. */
  source: string;
  /** sources.id of the same. */
  sourceId: number;
  /** sources.kind of the same (kafka, rabbitmq): how a replay is sent. */
  sourceKind: string;
  topic: string;
  partition: number;
  offset: string;
  status: "new" | "replayed" | "resolved" | "discarded";
  originTopic: string | null;
  /** The partition of the original topic it came from, when its headers say. */
  originPartition: number | null;
  originTopicHint: string | null;
  /** The group (Kafka) or queue (RabbitMQ: where it first died) that failed to process it, when known. */
  originGroup: string | null;
  key: Buffer | null;
  /** null: a tombstone. */
  value: Buffer | null;
  /** Record order, repeated keys kept. */
  headers: { key: string; value: Buffer | null }[];
  /**
   * A value in the Schema Registry wire format, as the collector decoded it: its schema id and the
   * decoded JSON (text); `value` holds the wire bytes. null for any other value.
   */
  decoded: { schemaId: number; json: string } | null;
  /**
   * Why the stored form is not the record byte for byte, when it is not (e.g. a value cut at
   * EVENTSCOPE_MAX_VALUE_BYTES); a replay refuses such a dead letter.
   */
  notExact: string | null;
}

interface SourceRow {
  id: string;
  source_id: number;
  source: string;
  source_kind: string | null;
  topic: string;
  partition: number;
  offset: string;
  status: ReplaySource["status"];
  origin_topic: string | null;
  origin_group: string | null;
  origin_partition: number | null;
  origin_topic_hint: string | null;
  key: string | null;
  key_bytes: Buffer | null;
  value_kind: "json" | "text" | "binary" | null;
  value_json_text: string | null;
  value_text: string | null;
  value_bytes: Buffer | null;
  schema_id: number | null;
  headers: unknown;
  flags: string[] | null;
}

function checkId(id: string): string {
  if (!/^\d{1,18}$/.test(id)) throw new ValidationError("a dead letter id is a positive whole number", { field: "id" });
  return id;
}

/** The dead letter `id` with its record's key, value and headers as bytes; NotFoundError when unknown. */
export async function loadReplaySource(db: Queryable, id: string): Promise<ReplaySource> {
  checkId(id);
  const rows = await runQuery(`reading dead letter ${id}`, () =>
    select<SourceRow>(
      db,
      Prisma.sql`
        SELECT d.id::text AS id, d.source_id, ${sourceNameSql(Prisma.sql`d.source_id`)} AS source,
          (SELECT s.kind FROM sources s WHERE s.id = d.source_id) AS source_kind, d.channel AS topic, d.partition,
          d.position::text AS "offset", d.status, d.origin_topic, d.origin_group,
          d.origin_partition, d.origin_topic_hint, d.key, d.key_bytes, d.value_kind, d.value_json::text AS value_json_text,
          d.value_text, d.value_bytes, d.headers, d.flags, d.schema_id
        FROM dead_letters d
        WHERE d.id = ${id}::bigint`,
    ),
  );
  const row = rows[0];
  if (!row) throw new NotFoundError(`no dead letter ${id}`);
  const flags = row.flags ?? [];
  let notExact: string | null = null;
  if (flags.includes("value-truncated")) {
    notExact = "its value was cut when collected (larger than EVENTSCOPE_MAX_VALUE_BYTES)";
  } else if (flags.includes("store-degraded")) {
    notExact = "it was stored in a degraded form";
  }
  let value: Buffer | null = null;
  if (row.value_kind === "json") {
    // Ingest keeps a dead letter's JSON as received in value_bytes: jsonb normalises spacing and key order.
    if (row.value_bytes) value = row.value_bytes;
    else {
      value = Buffer.from(row.value_json_text ?? "null", "utf8");
      notExact ??= "its JSON value was stored without its original bytes";
    }
  } else if (row.value_kind === "text") value = Buffer.from(row.value_text ?? "", "utf8");
  else if (row.value_kind === "binary") value = row.value_bytes ?? Buffer.alloc(0);
  const stored = Array.isArray(row.headers) ? (row.headers as StoredHeader[]) : [];
  const schemaId = row.value_kind === "json" ? row.schema_id : null;
  return {
    id: row.id,
    source: row.source,
    sourceId: row.source_id,
    sourceKind: row.source_kind ?? "kafka",
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    status: row.status,
    originTopic: row.origin_topic,
    originPartition: row.origin_partition,
    originTopicHint: row.origin_topic_hint,
    originGroup: row.origin_group,
    // The bytes when they were kept (a binary key, or a Schema Registry key beside its decoded text).
    key: row.key_bytes ?? (row.key !== null ? Buffer.from(row.key, "utf8") : null),
    value,
    headers: stored.map((h) => ({
      key: h.key,
      value: h.value === null ? null : Buffer.from(h.value, h.encoding === "base64" ? "base64" : "utf8"),
    })),
    decoded: schemaId !== null ? { schemaId, json: row.value_json_text ?? "null" } : null,
    notExact,
  };
}

export interface ClaimReplayInput {
  deadLetterId: string;
  requestedBy: string;
  targetTopic: string;
  edits: Record<string, unknown> | null;
  /** Replay although it was replayed before (the user saw who and when). */
  again: boolean;
  /**
   * With `again`: how many replays the user saw. If another replay happened since, the claim is
   * refused, so two "replay again" clicks still make one message.
   */
  seen?: number;
}

export interface PreviousReplay {
  id: string;
  sequence: number;
  requestedBy: string;
  requestedAt: string;
  targetTopic: string;
  status: string;
}

export type ClaimResult =
  | { claimed: true; replayId: string; sequence: number }
  | { claimed: false; previous: PreviousReplay[] };

async function previousReplays(db: Queryable, deadLetterId: string): Promise<PreviousReplay[]> {
  const rows = await select<{ id: string; sequence: number; requested_by: string; requested_at: Date; target_topic: string; status: string }>(
    db,
    Prisma.sql`SELECT id::text AS id, sequence, requested_by, requested_at, target_topic, status::text AS status
      FROM replays WHERE dead_letter_id = ${deadLetterId}::bigint ORDER BY sequence`,
  );
  return rows.map((r) => ({
    id: r.id,
    sequence: r.sequence,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at.toISOString(),
    targetTopic: r.target_topic,
    status: r.status,
  }));
}

/**
 * The guard. In one transaction: lock the dead letter's row, count its replays, refuse when it
 * was replayed and `again` is not set (or replays happened since the user looked), else insert
 * the replays row with the next sequence and mark the dead letter replayed. The row lock
 * serialises concurrent requests; the unique (dead_letter_id, sequence) is the backstop — a
 * second insert of the same sequence fails and counts as refused. Whoever claims produces; nobody
 * else does.
 */
export async function claimReplay(db: Queryable, input: ClaimReplayInput): Promise<ClaimResult> {
  checkId(input.deadLetterId);
  const client = await db.pool.connect().catch((error: unknown) => {
    throw toDatabaseError(error, "claiming a replay");
  });
  try {
    await client.query("BEGIN");
    const locked = await client.query(`SELECT id FROM dead_letters WHERE id = $1::bigint FOR UPDATE`, [input.deadLetterId]);
    if (locked.rowCount === 0) {
      await client.query("ROLLBACK");
      throw new NotFoundError(`no dead letter ${input.deadLetterId}`);
    }
    const count = await client.query<{ n: number }>(
      `SELECT coalesce(max(sequence), 0)::int AS n FROM replays WHERE dead_letter_id = $1::bigint`,
      [input.deadLetterId],
    );
    const done = count.rows[0]!.n;
    if (done > 0 && (!input.again || (input.seen !== undefined && input.seen !== done))) {
      await client.query("ROLLBACK");
      return { claimed: false, previous: await previousReplays(db, input.deadLetterId) };
    }
    const replayId = crypto.randomUUID();
    const sequence = done + 1;
    try {
      await client.query(
        `INSERT INTO replays (id, dead_letter_id, sequence, requested_by, target_topic, edits, status)
         VALUES ($1::uuid, $2::bigint, $3::int, $4::text, $5::text, $6::jsonb, 'pending')`,
        [replayId, input.deadLetterId, sequence, input.requestedBy, input.targetTopic, input.edits === null ? null : JSON.stringify(input.edits)],
      );
    } catch (error) {
      await client.query("ROLLBACK");
      if ((error as { code?: string }).code === "23505") {
        return { claimed: false, previous: await previousReplays(db, input.deadLetterId) };
      }
      throw error;
    }
    await client.query(
      `UPDATE dead_letters SET status = 'replayed', status_changed_at = now() WHERE id = $1::bigint`,
      [input.deadLetterId],
    );
    await client.query("COMMIT");
    return { claimed: true, replayId, sequence };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    if (error instanceof NotFoundError || error instanceof ValidationError) throw error;
    throw toDatabaseError(error, "claiming a replay");
  } finally {
    client.release();
  }
}

/**
 * After the produce: where the replayed message landed, and the original partition it could not
 * go to when the target topic has fewer partitions (null otherwise).
 */
export async function markReplaySent(
  db: Queryable,
  replayId: string,
  sent: { partition: number; offset: string | null; missingPartition: number | null; routingKey?: string | null },
): Promise<void> {
  // RabbitMQ has no offsets: a replay there records partition 0, no offset, and its routing key.
  if (sent.offset !== null) checkOffset(sent.offset);
  await runQuery("recording a sent replay", () =>
    select(
      db,
      Prisma.sql`UPDATE replays SET status = 'sent', produced_partition = ${sent.partition}::int,
        produced_offset = ${sent.offset}::bigint, missing_partition = ${sent.missingPartition}::int,
        routing_key = ${sent.routingKey ?? null}::text,
        updated_at = now() WHERE id = ${replayId}::uuid`,
    ),
  );
}

/** The produce failed: the replay is failed (its claim stays; "replay again" makes a new one). */
export async function markReplayFailed(db: Queryable, replayId: string, error: string): Promise<void> {
  await runQuery("recording a failed replay", () =>
    select(db, Prisma.sql`UPDATE replays SET status = 'failed', error = ${error}::text, updated_at = now() WHERE id = ${replayId}::uuid`),
  );
}

/** Resolve or discard: returns the status it had before; NotFoundError when unknown. */
export async function setDeadLetterStatus(
  db: Queryable,
  id: string,
  status: "resolved" | "discarded",
): Promise<{ previous: string }> {
  checkId(id);
  const rows = await runQuery(`setting dead letter ${id} ${status}`, () =>
    select<{ previous: string }>(
      db,
      Prisma.sql`
        UPDATE dead_letters d SET status = ${status}::dead_letter_status, status_changed_at = now()
        FROM (SELECT id, status FROM dead_letters WHERE id = ${id}::bigint FOR UPDATE) old
        WHERE d.id = old.id
        RETURNING old.status::text AS previous`,
    ),
  );
  if (!rows[0]) throw new NotFoundError(`no dead letter ${id}`);
  return rows[0];
}

/** For bulk replay: the dead letters of one group (original topic and error class), oldest first. */
export async function listDeadLetterIdsOfGroup(
  db: Queryable,
  group: { originTopic: string | null; errorClass: string | null; source?: string },
  limit: number,
): Promise<string[]> {
  const ofSource =
    group.source === undefined ? Prisma.empty : Prisma.sql`AND d.source_id = (SELECT s.id FROM sources s WHERE s.name = ${group.source}::text)`;
  const rows = await runQuery("listing a dead-letter group", () =>
    select<{ id: string }>(
      db,
      Prisma.sql`
        SELECT d.id::text AS id FROM dead_letters d
        WHERE coalesce(d.origin_topic, d.origin_topic_hint) IS NOT DISTINCT FROM ${group.originTopic}::text
          AND d.error_class IS NOT DISTINCT FROM ${group.errorClass}::text
          AND d.status IN ('new', 'replayed') ${ofSource}
        ORDER BY d."timestamp", d.id
        LIMIT ${limit}::int`,
    ),
  );
  return rows.map((r) => r.id);
}
