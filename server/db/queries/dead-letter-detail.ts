import { Prisma } from "@prisma/client";
import { ValidationError } from "../../../lib/errors.ts";
import type { StoredHeader } from "../../../lib/api-schemas/headers.ts";
import { maskHeaders, maskJsonText, maskReplayEdits, maskValueText } from "../../../lib/mask.ts";
import { groupShown, iso, maskedBinaryBase64, maskRulesOf, redactedSql, runQuery, select, sourceNameSql, type Queryable } from "./shared.ts";
import type { DeadLetterRow } from "./dead-letters.ts";
import type { DeadLetterDetail, ReplayOutcome, ReplayWithOutcome } from "../../../lib/api-schemas/dead-letters.ts";

/**
 * One dead letter with everything its page shows: error and stack trace, origin (and whether the
 * original event was collected), its record's key, headers and value, and its replays with what
 * became of each.
 */

interface DetailRow extends Omit<DeadLetterRow, "entity_keys"> {
  origin_collected: boolean;
  event_collected: boolean;
  error_cause: string | null;
  error_stack: string | null;
  replay_of_id: string | null;
  replay_of_sequence: number | null;
  key: string | null;
  key_bytes: Buffer | null;
  value_kind: "json" | "text" | "binary" | null;
  value_json_text: string | null;
  value_text: string | null;
  value_bytes: Buffer | null;
  schema_id: number | null;
  headers: unknown;
  flags: string[];
  entity_keys: string[];
}

interface ReplayRow {
  source: string;
  source_kind: string | null;
  routing_key: string | null;
  id: string;
  sequence: number;
  requested_by: string;
  requested_at: Date;
  target_topic: string;
  edits: unknown;
  status: ReplayOutcome;
  produced_partition: number | null;
  produced_offset: string | null;
  missing_partition: number | null;
  error: string | null;
  groups: { groupId: string; committedOffset: string; past: boolean }[] | null;
  failed_again: ReplayWithOutcome["failedAgainAs"] | null;
  deliveries_observed: boolean | null;
  delivered_to: string[] | null;
}

/**
 * The replays of some dead letters with their outcome, computed from what the collector stores:
 * committed_offsets (committed_offsets_topic_partition_idx) for consumed, dead_letters.replay_id
 * (dead_letters_replay_id_idx) for failed again. The collector's own group, which reads every topic
 * and is no consumer of a replay, does not count (groupShown).
 */
export async function listReplayOutcomes(db: Queryable, deadLetterIds: readonly string[]): Promise<Map<string, ReplayWithOutcome[]>> {
  const result = new Map<string, ReplayWithOutcome[]>();
  if (deadLetterIds.length === 0) return result;
  const mask = maskRulesOf(db);
  const rows = await runQuery("reading replays", () =>
    select<ReplayRow & { dead_letter_id: string }>(
      db,
      Prisma.sql`
        SELECT r.dead_letter_id::text AS dead_letter_id, ${sourceNameSql(Prisma.sql`rd.source_id`)} AS source,
          (SELECT s.kind FROM sources s WHERE s.id = rd.source_id) AS source_kind, r.routing_key, r.id::text AS id, r.sequence, r.requested_by, r.requested_at,
          r.target_topic, r.edits, r.status::text AS status, r.produced_partition, r.produced_offset::text AS produced_offset,
          r.missing_partition, r.error,
          (SELECT json_agg(json_build_object('groupId', c.group_id, 'committedOffset', c.committed_offset::text,
                  'past', c.committed_offset > r.produced_offset) ORDER BY c.group_id)
           FROM committed_offsets c JOIN consumer_groups g ON g.source_id = c.source_id AND g.group_id = c.group_id AND g.deleted_at IS NULL
           WHERE c.source_id = rd.source_id AND c.topic = r.target_topic AND c.partition = r.produced_partition
             AND ${groupShown(db, Prisma.sql`c.group_id`)}
          ) AS groups,
          (SELECT json_agg(json_build_object('id', d.id::text, 'topic', d.channel, 'partition', d.partition,
                  'offset', d.position::text, 'errorMessage', left(${redactedSql(Prisma.sql`d.error_message`, mask, "d")}, 500))
                  ORDER BY d.id)
           FROM dead_letters d
           WHERE d.replay_id = r.id::text) AS failed_again,
          -- RabbitMQ: whether the source's latest collector stores deliveries, and the queues that delivered this replay.
          (SELECT ci.deliveries FROM collector_instances ci WHERE ci.source_id = rd.source_id ORDER BY ci.updated_at DESC LIMIT 1) AS deliveries_observed,
          (SELECT array_agg(DISTINCT rq.queue ORDER BY rq.queue) FROM rabbitmq_deliveries rq
           WHERE rq.replay_id = r.id::text AND rq.source_id = rd.source_id) AS delivered_to
        FROM replays r JOIN dead_letters rd ON rd.id = r.dead_letter_id
        WHERE r.dead_letter_id = ANY(${[...deadLetterIds]}::bigint[])
        ORDER BY r.dead_letter_id, r.sequence`,
    ),
  );
  for (const row of rows) {
    // RabbitMQ keeps no consumer offsets: no group can say it consumed a replay there; with
    // deliveries from the firehose, a queue can say it delivered it.
    const consumption = row.source_kind !== "rabbitmq" ? "tracked" : row.deliveries_observed ? "deliveries" : "unknown";
    const groups = consumption === "tracked" ? (row.groups ?? []) : [];
    const deliveredTo = consumption === "deliveries" ? (row.delivered_to ?? []) : [];
    const failedAgain = row.failed_again ?? [];
    let outcome: ReplayOutcome = row.status;
    if (row.status === "sent" || row.status === "consumed" || row.status === "failed_again") {
      if (failedAgain.length > 0) outcome = "failed_again";
      else if (groups.length > 0 && groups.every((g) => g.past)) outcome = "consumed";
      else if (deliveredTo.length > 0) outcome = "delivered";
      else outcome = "sent";
    }
    const list = result.get(row.dead_letter_id) ?? [];
    list.push({
      id: row.id,
      source: row.source,
      sequence: row.sequence,
      requestedBy: row.requested_by,
      requestedAt: row.requested_at.toISOString(),
      targetTopic: row.target_topic,
      edits: maskReplayEdits(row.edits, mask),
      outcome,
      producedPartition: row.produced_partition,
      producedOffset: row.produced_offset,
      missingPartition: row.missing_partition,
      routingKey: row.routing_key,
      consumption,
      deliveredTo,
      error: row.error,
      groups,
      failedAgainAs: failedAgain,
    });
    result.set(row.dead_letter_id, list);
  }
  return result;
}

/** A dead letter and its replays; null when there is no such dead letter. Index: primary keys. */
export async function getDeadLetter(db: Queryable, id: string): Promise<DeadLetterDetail | null> {
  if (!/^\d{1,18}$/.test(id)) throw new ValidationError("a dead letter id is a positive whole number", { field: "id" });
  const mask = maskRulesOf(db);
  const rows = await runQuery(`reading dead letter ${id}`, () =>
    select<DetailRow>(
      db,
      Prisma.sql`
        SELECT d.id::text AS id, ${sourceNameSql(Prisma.sql`d.source_id`)} AS source, d.channel AS topic, d.partition,
          d.position::text AS "offset", d."timestamp", d.recognized_by, d.convention,
          d.origin_topic, d.origin_partition, d.origin_offset::text AS origin_offset, d.origin_timestamp, d.origin_group,
          d.origin_topic_hint,
          EXISTS (SELECT 1 FROM events o WHERE o.source_id = d.source_id AND o.channel = d.origin_topic
                  AND o.partition = d.origin_partition AND o.position = d.origin_offset) AS origin_collected,
          d.error_class, ${redactedSql(Prisma.sql`d.error_message`, mask, "d")} AS error_message,
          ${redactedSql(Prisma.sql`d.error_cause`, mask, "d")} AS error_cause,
          ${redactedSql(Prisma.sql`d.error_stack`, mask, "d")} AS error_stack, d.attempts, d.status, d.status_changed_at,
          d.replay_id, src.dead_letter_id::text AS replay_of_id, src.sequence AS replay_of_sequence,
          d.key, d.key_bytes, d.value_kind::text AS value_kind, d.value_json::text AS value_json_text, d.value_text,
          d.value_bytes, d.schema_id, d.headers, coalesce(d.flags, '{}') AS flags, coalesce(d.entity_keys, '{}') AS entity_keys, d.event_type, d.producer,
          EXISTS (SELECT 1 FROM events e WHERE e.source_id = d.source_id AND e.channel = d.channel AND e.partition = d.partition
                  AND e.position = d.position)
            AS event_collected
        FROM dead_letters d
        LEFT JOIN replays src ON d.replay_id ~ '^[0-9a-fA-F-]{36}$' AND src.id = d.replay_id::uuid
        WHERE d.id = ${id}::bigint`,
    ),
  );
  const row = rows[0];
  if (!row) return null;
  let value: DeadLetterDetail["value"] = null;
  let masked = false;
  const valueSchemaId = row.value_kind === "json" ? row.schema_id : null;
  if (row.value_kind === "json") {
    // A Schema Registry value is shown decoded (its wire bytes are not text); plain JSON as received.
    const text = row.value_bytes && valueSchemaId === null ? row.value_bytes.toString("utf8") : (row.value_json_text ?? "");
    const shown = maskJsonText(text, mask);
    masked = shown !== text;
    value = { kind: "json", text: shown };
  } else if (row.value_kind === "text") {
    const text = row.value_text ?? "";
    const shown = maskValueText(text, mask);
    masked = shown !== text;
    value = { kind: "text", text: shown };
  }
  else if (row.value_kind === "binary") {
    const bytes = row.value_bytes ?? Buffer.alloc(0);
    const base64 = maskedBinaryBase64(bytes, mask);
    masked = base64 !== bytes.toString("base64");
    value = { kind: "binary", base64 };
  }
  const storedHeaders = Array.isArray(row.headers) ? (row.headers as StoredHeader[]) : [];
  const shownHeaders = [...maskHeaders(storedHeaders, mask)];
  masked ||= shownHeaders.some((h, i) => h !== storedHeaders[i]);
  const replays = await listReplayOutcomes(db, [row.id]);
  return {
    id: row.id,
    source: row.source,
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    timestamp: row.timestamp.toISOString(),
    recognizedBy: row.recognized_by,
    convention: row.convention,
    originTopic: row.origin_topic,
    originPartition: row.origin_partition,
    originOffset: row.origin_offset,
    originTimestamp: iso(row.origin_timestamp),
    originGroup: row.origin_group,
    originTopicHint: row.origin_topic_hint,
    originCollected: row.origin_collected,
    eventCollected: row.event_collected,
    errorClass: row.error_class,
    errorMessage: row.error_message,
    errorCause: row.error_cause,
    errorStack: row.error_stack,
    attempts: row.attempts,
    status: row.status,
    statusChangedAt: iso(row.status_changed_at),
    replayId: row.replay_id,
    replayOf: row.replay_of_id !== null ? { deadLetterId: row.replay_of_id, sequence: row.replay_of_sequence ?? 0 } : null,
    key: row.key,
    keyBase64: row.key_bytes ? row.key_bytes.toString("base64") : null,
    headers: shownHeaders,
    value,
    valueSchemaId,
    flags: row.flags,
    entityKeys: row.entity_keys,
    eventType: row.event_type,
    producer: row.producer,
    masked,
    replays: replays.get(row.id) ?? [],
  };
}
