import { Prisma } from "@prisma/client";
import type { MaskRules } from "../../../lib/mask.ts";
import type { DeadLetterReference, EventSummary, GroupConsumption, QueueConsumption } from "../../../lib/api-schemas/events.ts";
import { REPLAY_ID_HEADER } from "../../../lib/dead-letter-conventions.ts";
import { groupShown, redactedSql, type Queryable } from "./shared.ts";

/**
 * Per-event consumption status for every group subscribed to the event's topic, and the dead
 * letters that reference an event: what the entity timeline, the trace and the event page show.
 *
 * "Subscribed" means the group has a committed_offsets row on the event's partition. The admin
 * poller writes one for every partition of every topic a group commits on or is assigned
 * (-1 where nothing is committed), so an assigned group without commits is listed too.
 */

/**
 * Two columns for a page of events named `page` (topic, partition, offset): the subscribed
 * groups' offsets (committed_offsets_topic_partition_idx) with their members' client ids
 * (group_members primary key), and the dead letters that reference
 * each event (dead_letters origin index), as JSON, so a page and its statuses are one statement.
 * Apply to an already limited page (a MATERIALIZED CTE): they run once per row. int8s go as text,
 * JSON numbers would round them.
 */
export function consumptionColumns(db: Queryable, mask: MaskRules): Prisma.Sql {
  return Prisma.sql`
  (SELECT coalesce(json_agg(json_build_object('groupId', c.group_id, 'state', g.state,
            'committed', c.committed_offset::text, 'end', p.end_offset::text,
            'clientIds', (SELECT coalesce(json_agg(DISTINCT gm.client_id ORDER BY gm.client_id), '[]'::json)
                          FROM group_members gm WHERE gm.source_id = c.source_id AND gm.group_id = c.group_id)) ORDER BY c.group_id), '[]'::json)
   FROM committed_offsets c
   JOIN consumer_groups g ON g.source_id = c.source_id AND g.group_id = c.group_id AND g.deleted_at IS NULL
     AND ${groupShown(db, Prisma.sql`g.group_id`)}
   LEFT JOIN partitions p ON p.source_id = c.source_id AND p.topic = c.topic AND p.partition = c.partition
   WHERE c.source_id = page.source_id AND c.topic = page.topic AND c.partition = page.partition) AS consumption_json,
  (SELECT coalesce(json_agg(json_build_object('id', d.id::text, 'topic', d.channel, 'partition', d.partition,
            'offset', d.position::text, 'timestamp', d."timestamp", 'status', d.status, 'errorClass', d.error_class,
            'errorMessage', left(${redactedSql(Prisma.sql`d.error_message`, mask, "d")}, 500), 'originGroup', d.origin_group, 'producer', d.producer)
            ORDER BY d."timestamp", d.id), '[]'::json)
   FROM dead_letters d
   WHERE d.origin_topic = page.topic AND d.origin_partition = page.partition AND d.origin_offset = page."offset"
     AND d.source_id = page.source_id)
   AS dead_lettered_json,
  ${queueDeliveriesColumn()}`;
}

/**
 * A RabbitMQ event's deliveries per queue (rabbitmq_deliveries, from the firehose): those of its
 * message, by (source, channel, delivery fingerprint) (rabbitmq_deliveries_source_id_channel_fingerprint_idx),
 * seen no earlier than a minute before the event's time (clocks differ), or, for a replay (which
 * has no fingerprint), those carrying its x-replay-id (rabbitmq_deliveries_replay_id_idx). Two
 * messages without an id and with the same routing key and body on one exchange cannot be told
 * apart: their deliveries count for both. `observed`: the source's latest collector stores
 * deliveries. NULL for other kinds of source.
 */
function queueDeliveriesColumn(): Prisma.Sql {
  return Prisma.sql`
  (SELECT json_build_object(
     'observed', coalesce((SELECT ci.deliveries FROM collector_instances ci WHERE ci.source_id = page.source_id ORDER BY ci.updated_at DESC LIMIT 1), false),
     'queues', (SELECT coalesce(json_agg(json_build_object('queue', q.queue, 'deliveries', q.deliveries, 'redeliveries', q.redeliveries, 'lastAt', q.last_at) ORDER BY q.queue), '[]'::json)
                FROM (SELECT d.queue, count(*)::int AS deliveries, (count(*) FILTER (WHERE d.redelivered))::int AS redeliveries, max(d.seen_at) AS last_at
                      FROM rabbitmq_deliveries d
                      WHERE d.source_id = page.source_id
                        AND ((page.delivery_fingerprint IS NOT NULL AND d.channel = page.topic AND d.fingerprint = page.delivery_fingerprint
                              AND d.seen_at >= page."timestamp" - interval '1 minute')
                          OR d.replay_id = (SELECT h->>'value' FROM jsonb_array_elements(page.headers) h WHERE h->>'key' = ${REPLAY_ID_HEADER} LIMIT 1))
                      GROUP BY d.queue) q))
   FROM sources s WHERE s.id = page.source_id AND s.kind = 'rabbitmq') AS queue_deliveries_json`;
}

export interface ConsumptionJson {
  consumption_json: { groupId: string; state: string; committed: string; end: string | null; clientIds: string[] }[];
  dead_lettered_json: (Omit<DeadLetterReference, "timestamp"> & { timestamp: string })[];
  queue_deliveries_json: { observed: boolean; queues: { queue: string; deliveries: number; redeliveries: number; lastAt: string }[] } | null;
}

/**
 * A dead letter is attributed to a group when its convention names the group (Spring's
 * original-consumer-group header), or else when the service that wrote it identifies itself with
 * the group's id (producer header / ce_source equal to the group id). Otherwise it is listed on
 * the event but claimed by no group: nothing says which one failed.
 */
function attributedTo(deadLetter: DeadLetterReference, groupId: string): boolean {
  return deadLetter.originGroup !== null ? deadLetter.originGroup === groupId : deadLetter.producer === groupId;
}

export function toConsumption(
  event: Pick<EventSummary, "offset">,
  row: ConsumptionJson,
): { consumption: GroupConsumption[]; deadLetteredAs: DeadLetterReference[]; queueConsumption: QueueConsumption } {
  const offset = BigInt(event.offset);
  // json_build_object writes timestamptz as ISO 8601 with an offset; normalise to …Z like the rest.
  const deadLetteredAs = row.dead_lettered_json.map((d) => ({ ...d, timestamp: new Date(d.timestamp).toISOString() }));
  const consumption = row.consumption_json.map((c): GroupConsumption => {
    const committed = BigInt(c.committed);
    const end = c.end === null ? null : BigInt(c.end);
    const known = committed >= 0n;
    const lag = known && end !== null ? (end > committed ? end - committed : 0n).toString() : null;
    const status = deadLetteredAs.some((d) => attributedTo(d, c.groupId))
      ? "dead-lettered"
      : known && committed > offset
        ? "consumed"
        : "behind";
    return { groupId: c.groupId, state: c.state, status, committedOffset: known ? c.committed : null, lag, clientIds: c.clientIds };
  });
  const queues = row.queue_deliveries_json;
  const queueConsumption =
    queues === null ? null : { observed: queues.observed, queues: queues.queues.map((q) => ({ ...q, lastAt: new Date(q.lastAt).toISOString() })) };
  return { consumption, deadLetteredAs, queueConsumption };
}
