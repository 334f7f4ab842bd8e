import { Prisma } from "@prisma/client";
import {
  QUEUE_TIME_LAG_UNKNOWN,
  parseRabbitQueueId,
  rabbitQueueId,
  type ConsumerGroupListItem,
  type RabbitQueueConsumer,
  type RabbitQueueView,
} from "../../../lib/api-schemas/groups.ts";
import type { ConsumingQueue } from "../../../lib/api-schemas/who-consumes.ts";
import { HEALTH_WINDOW_MS, STREAM_LAG_UNKNOWN } from "../../../lib/lag-health.ts";
import { resolveSourceOf } from "../sources.ts";
import { runQuery, select, sourceNameSql, storedHealth, type Queryable, type StoredHealthColumns } from "./shared.ts";

/**
 * RabbitMQ queues where the consumers page lists consumers: each live queue as a list item beside
 * the Kafka groups (kind rabbitmq-queue, id rabbitQueueId), and one queue with its consumers,
 * bindings, arguments, rates and lag over time. What the queue poller stored
 * (server/db/rabbitmq-state.ts). Indexes: rabbitmq_queues, rabbitmq_consumers and
 * rabbitmq_bindings primary keys (source_id, vhost, queue, …); rabbitmq_queue_samples primary key
 * (source_id, vhost, queue, sampled_at) for the history.
 */

/** The latest sample's time lag, with why it is unknown when it is. */
export function timeLagOf(type: string, lag: string | null, sampleTimeLag: string | null): { timeLagMs: number | null; timeLagUnknownReason: string | null } {
  if (type === "stream") return { timeLagMs: null, timeLagUnknownReason: STREAM_LAG_UNKNOWN };
  if (lag === "0") return { timeLagMs: 0, timeLagUnknownReason: null };
  if (sampleTimeLag !== null) return { timeLagMs: Number(sampleTimeLag), timeLagUnknownReason: null };
  return { timeLagMs: null, timeLagUnknownReason: lag === null ? null : QUEUE_TIME_LAG_UNKNOWN };
}

/** The latest sample of queue `q` (rabbitmq_queue_samples primary key): `latest.time_lag_ms`. */
export const latestSampleSql = Prisma.sql`
  LEFT JOIN LATERAL (
    SELECT s.time_lag_ms::text AS time_lag_ms FROM rabbitmq_queue_samples s
    WHERE s.source_id = q.source_id AND s.vhost = q.vhost AND s.queue = q.name
    ORDER BY s.sampled_at DESC LIMIT 1
  ) latest ON true`;

/** Every live queue as a row of the consumers list (unsorted: listConsumerGroups sorts). */
export async function listRabbitQueueItems(db: Queryable): Promise<ConsumerGroupListItem[]> {
  const rows = await select<{
    source: string;
    vhost: string;
    name: string;
    type: string;
    state: string | null;
    ready: string | null;
    unacked: string | null;
    lag: string | null;
    consumers: number | null;
    exchanges: string[] | null;
    time_lag_ms: string | null;
  } & StoredHealthColumns>(
    db,
    Prisma.sql`
      SELECT ${sourceNameSql(Prisma.sql`q.source_id`)} AS source, q.vhost, q.name, q.type, q.state,
        q.messages_ready::text AS ready, q.messages_unacknowledged::text AS unacked,
        (q.messages_ready + q.messages_unacknowledged)::text AS lag, q.consumers,
        (SELECT array_agg(DISTINCT b.exchange ORDER BY b.exchange) FROM rabbitmq_bindings b
          WHERE b.source_id = q.source_id AND b.vhost = q.vhost AND b.queue = q.name) AS exchanges,
        latest.time_lag_ms, q.health_status, q.health_reason, q.health_at
      FROM rabbitmq_queues q ${latestSampleSql}
      WHERE q.deleted_at IS NULL`,
  );
  return rows.map((row) => {
    const { timeLagMs, timeLagUnknownReason } = timeLagOf(row.type, row.lag, row.time_lag_ms);
    return {
      kind: "rabbitmq-queue",
      source: row.source,
      groupId: rabbitQueueId(row.vhost, row.name),
      state: row.state ?? "unknown",
      protocol: null,
      members: row.consumers ?? 0,
      topics: row.exchanges ?? [],
      partitions: 0,
      // A stream's count is its length (STREAM_LAG_UNKNOWN): no lag to add up or sort by.
      totalLag: row.type === "stream" ? null : row.lag,
      unknownLagPartitions: 0,
      timeLagMs,
      health: storedHealth(row),
      queue: { vhost: row.vhost, name: row.name, type: row.type, ready: row.ready, unacknowledged: row.unacked, timeLagUnknownReason },
    };
  });
}

/**
 * The channel a RabbitMQ source's events are stored under for an exchange: its name on vhost "/",
 * `<vhost>/<exchange>` on another (server/db/README.md). As SQL over rabbitmq_bindings' columns, so
 * a channel is matched exactly, whatever slashes vhost and exchange names hold.
 */
const channelSqlOf = (vhost: Prisma.Sql, exchange: Prisma.Sql) => Prisma.sql`CASE WHEN ${vhost} = '/' THEN ${exchange} ELSE ${vhost} || '/' || ${exchange} END`;
const exchangeChannelSql = channelSqlOf(Prisma.raw("b.vhost"), Prisma.raw("b.exchange"));

/**
 * The RabbitMQ channels (exchanges) that queues consumed by a service read from, directly or through
 * exchange-to-exchange bindings: consumers whose connection's client-provided name is `service`.
 * For "who consumes" a service.
 */
export async function readChannelsConsumedBy(
  db: Queryable,
  service: string,
  sourceId: number | undefined,
): Promise<{ source_id: number; topic: string }[]> {
  // The exchanges bound to those queues, and the exchanges that route into them (exchange-to-exchange bindings, any depth).
  return select<{ source_id: number; topic: string }>(db, Prisma.sql`
    WITH RECURSIVE fed(source_id, vhost, exchange, path) AS (
      SELECT DISTINCT b.source_id, b.vhost, b.exchange, ARRAY[b.exchange]
      FROM rabbitmq_consumers c
      JOIN rabbitmq_bindings b ON b.source_id = c.source_id AND b.vhost = c.vhost AND b.queue = c.queue
      WHERE c.connection_name = ${service}::text ${sourceId === undefined ? Prisma.empty : Prisma.sql`AND c.source_id = ${sourceId}::smallint`}
      UNION ALL
      SELECT f.source_id, f.vhost, e.from_exchange, f.path || e.from_exchange
      FROM fed f JOIN rabbitmq_exchange_bindings e ON e.source_id = f.source_id AND e.vhost = f.vhost AND e.to_exchange = f.exchange
      WHERE NOT e.from_exchange = ANY(f.path)
    )
    SELECT DISTINCT source_id, ${channelSqlOf(Prisma.raw("vhost"), Prisma.raw("exchange"))} AS topic FROM fed`);
}

/**
 * The live queues bound to each channel (source id, exchange channel), directly or through exchanges
 * it routes on into (exchange-to-exchange bindings), with their routing keys, consumers, lag and
 * health; keyed `<source id>\u0000<channel>`. Indexes: rabbitmq_bindings (source_id, vhost,
 * exchange), rabbitmq_exchange_bindings and rabbitmq_queues and rabbitmq_consumers primary keys.
 */
export async function readQueuesBoundTo(
  db: Queryable,
  channels: readonly { sourceId: number; channel: string }[],
): Promise<Map<string, ConsumingQueue[]>> {
  const found = new Map<string, ConsumingQueue[]>();
  if (channels.length === 0) return found;
  const rows = await select<{
    source_id: number;
    source: string;
    channel: string;
    vhost: string;
    name: string;
    type: string;
    lag: string | null;
    routing_keys: string[];
    time_lag_ms: string | null;
  } & StoredHealthColumns>(
    db,
    Prisma.sql`
      SELECT q.source_id, ${sourceNameSql(Prisma.sql`q.source_id`)} AS source, b.channel, q.vhost, q.name, q.type,
        (q.messages_ready + q.messages_unacknowledged)::text AS lag, array_agg(DISTINCT b.routing_key ORDER BY b.routing_key) AS routing_keys,
        latest.time_lag_ms, q.health_status, q.health_reason, q.health_at
      FROM (
        -- The channel's exchange, and the exchanges it routes on into (exchange-to-exchange bindings, any depth).
        WITH RECURSIVE w(source_id, channel) AS (
          SELECT * FROM unnest(${channels.map((c) => c.sourceId)}::smallint[], ${channels.map((c) => c.channel)}::text[])
        ), reached(source_id, channel, vhost, exchange, path) AS (
          SELECT w.source_id, w.channel, e.vhost, e.to_exchange, ARRAY[e.from_exchange, e.to_exchange]
          FROM w JOIN rabbitmq_exchange_bindings e ON e.source_id = w.source_id
            AND ${channelSqlOf(Prisma.raw("e.vhost"), Prisma.raw("e.from_exchange"))} = w.channel
          UNION ALL
          SELECT r.source_id, r.channel, e.vhost, e.to_exchange, r.path || e.to_exchange
          FROM reached r JOIN rabbitmq_exchange_bindings e ON e.source_id = r.source_id AND e.vhost = r.vhost AND e.from_exchange = r.exchange
          WHERE NOT e.to_exchange = ANY(r.path)
        )
        SELECT w.source_id, w.channel, b.vhost, b.queue, b.routing_key
        FROM w JOIN rabbitmq_bindings b ON b.source_id = w.source_id AND ${exchangeChannelSql} = w.channel
        UNION
        SELECT r.source_id, r.channel, b.vhost, b.queue, b.routing_key
        FROM reached r JOIN rabbitmq_bindings b ON b.source_id = r.source_id AND b.vhost = r.vhost AND b.exchange = r.exchange
      ) AS b
      JOIN rabbitmq_queues q ON q.source_id = b.source_id AND q.vhost = b.vhost AND q.name = b.queue AND q.deleted_at IS NULL
      ${latestSampleSql}
      GROUP BY q.source_id, b.channel, q.vhost, q.name, q.type, q.messages_ready, q.messages_unacknowledged, latest.time_lag_ms,
        q.health_status, q.health_reason, q.health_at
      ORDER BY q.vhost, q.name`,
  );
  // A queue bound to several of the channels (or reached through several exchanges) is read once.
  const queues = new Map(rows.map((r) => [`${r.source_id}\u0000${r.vhost}\u0000${r.name}`, { sourceId: r.source_id, vhost: r.vhost, queue: r.name }]));
  const consumers = await readConsumers(db, [...queues.values()]);
  for (const row of rows) {
    const key = `${row.source_id}\u0000${row.channel}`;
    found.set(key, [
      ...(found.get(key) ?? []),
      {
        source: row.source,
        id: rabbitQueueId(row.vhost, row.name),
        vhost: row.vhost,
        name: row.name,
        type: row.type,
        routingKeys: row.routing_keys,
        consumers: consumers.get(`${row.source_id}\u0000${row.vhost}\u0000${row.name}`) ?? [],
        lag: row.type === "stream" ? null : row.lag,
        ...timeLagOf(row.type, row.lag, row.time_lag_ms),
        health: storedHealth(row),
      },
    ]);
  }
  return found;
}

/** The consumers of queues, keyed `<source id>\u0000<vhost>\u0000<queue>`, by connection name. */
async function readConsumers(
  db: Queryable,
  queues: readonly { sourceId: number; vhost: string; queue: string }[],
): Promise<Map<string, RabbitQueueConsumer[]>> {
  const rows = await select<{
    source_id: number;
    vhost: string;
    queue: string;
    consumer_tag: string;
    channel: string;
    connection: string;
    connection_name: string | null;
    peer_host: string | null;
    user: string | null;
    ack_required: boolean;
    prefetch_count: number;
    active: boolean;
    exclusive: boolean;
  }>(db, Prisma.sql`
    SELECT c.source_id, c.vhost, c.queue, consumer_tag, channel, connection, connection_name, peer_host, "user", ack_required,
      prefetch_count, active, exclusive
    FROM unnest(${queues.map((q) => q.sourceId)}::smallint[], ${queues.map((q) => q.vhost)}::text[], ${queues.map((q) => q.queue)}::text[])
      AS w(source_id, vhost, queue)
    JOIN rabbitmq_consumers c ON c.source_id = w.source_id AND c.vhost = w.vhost AND c.queue = w.queue
    ORDER BY connection_name NULLS LAST, channel, consumer_tag`);
  const byQueue = new Map<string, RabbitQueueConsumer[]>();
  for (const c of rows) {
    const key = `${c.source_id}\u0000${c.vhost}\u0000${c.queue}`;
    byQueue.set(key, [
      ...(byQueue.get(key) ?? []),
      {
        consumerTag: c.consumer_tag,
        channel: c.channel,
        connection: c.connection,
        connectionName: c.connection_name,
        peerHost: c.peer_host,
        user: c.user,
        ackRequired: c.ack_required,
        prefetchCount: c.prefetch_count,
        active: c.active,
        exclusive: c.exclusive,
      },
    ]);
  }
  return byQueue;
}

export interface GetRabbitQueueOptions {
  /** The queue's source by name (`?source=`): required when several sources have the queue. */
  source?: string;
  /** The history's range and bucket (lagRange of a LAG_WINDOWS window). */
  history: { from: Date; to: Date; bucketMs: number };
}

/**
 * The queue a group id names (`/groups/<id>` takes both): null when the id is not a queue id
 * (rabbitQueueId) or no source has that queue, so the caller looks for a Kafka group by that id.
 */
export async function findRabbitQueue(db: Queryable, id: string, options: GetRabbitQueueOptions): Promise<RabbitQueueView | null> {
  const ref = parseRabbitQueueId(id);
  return ref ? getRabbitQueue(db, ref.vhost, ref.queue, options) : null;
}

/**
 * One queue, or null when no source has a queue of that vhost and name (the caller then looks for
 * a Kafka group of that id). Deleted queues are shown, marked deleted.
 */
export async function getRabbitQueue(db: Queryable, vhost: string, name: string, options: GetRabbitQueueOptions): Promise<RabbitQueueView | null> {
  const source = await resolveSourceOf(db, "queue", rabbitQueueId(vhost, name), options.source);
  if (!source) return null;
  const { from, to, bucketMs } = options.history;
  return runQuery(`reading queue ${name} of vhost ${vhost}`, async () => {
    const where = Prisma.sql`source_id = ${source.id}::smallint AND vhost = ${vhost}::text`;
    const [queues, consumers, bindings, points] = await Promise.all([
      select<{
        type: string;
        durable: boolean;
        auto_delete: boolean;
        exclusive: boolean;
        arguments: Record<string, unknown>;
        dead_letter_exchange: string | null;
        dead_letter_routing_key: string | null;
        dead_letter_policy: string | null;
        state: string | null;
        ready: string | null;
        unacked: string | null;
        lag: string | null;
        publish_rate: number | null;
        deliver_rate: number | null;
        ack_rate: number | null;
        head_message_at: Date | null;
        first_seen_at: Date;
        updated_at: Date;
        deleted_at: Date | null;
        time_lag_ms: string | null;
      } & StoredHealthColumns>(db, Prisma.sql`
        SELECT q.type, q.durable, q.auto_delete, q.exclusive, q.arguments, q.dead_letter_exchange, q.dead_letter_routing_key,
          q.dead_letter_policy, q.state, q.messages_ready::text AS ready,
          q.messages_unacknowledged::text AS unacked, (q.messages_ready + q.messages_unacknowledged)::text AS lag,
          q.publish_rate, q.deliver_rate, q.ack_rate, q.head_message_at, q.first_seen_at, q.updated_at, q.deleted_at,
          q.health_status, q.health_reason, q.health_at, latest.time_lag_ms
        FROM rabbitmq_queues q ${latestSampleSql}
        WHERE q.source_id = ${source.id}::smallint AND q.vhost = ${vhost}::text AND q.name = ${name}::text`),
      readConsumers(db, [{ sourceId: source.id, vhost, queue: name }]),
      select<{ exchange: string; routing_key: string; arguments: Record<string, unknown> }>(db, Prisma.sql`
        SELECT exchange, routing_key, arguments FROM rabbitmq_bindings WHERE ${where} AND queue = ${name}::text
        ORDER BY exchange, routing_key, properties_key`),
      select<{ bucket: Date; lag: string; ready: string; unacked: string; time_lag_ms: string | null }>(db, Prisma.sql`
        SELECT to_timestamp(floor(extract(epoch FROM sampled_at) * 1000 / ${bucketMs}::int) * ${bucketMs}::int / 1000.0) AS bucket,
          max(messages_ready + messages_unacknowledged)::text AS lag, max(messages_ready)::text AS ready,
          max(messages_unacknowledged)::text AS unacked, max(time_lag_ms)::text AS time_lag_ms
        FROM rabbitmq_queue_samples
        WHERE ${where} AND queue = ${name}::text AND sampled_at >= ${from}::timestamptz AND sampled_at < ${to}::timestamptz
        GROUP BY 1 ORDER BY 1`),
    ]);
    const queue = queues[0];
    if (!queue) return null;
    return {
      kind: "rabbitmq-queue",
      source: source.name,
      id: rabbitQueueId(vhost, name),
      vhost,
      name,
      type: queue.type,
      durable: queue.durable,
      autoDelete: queue.auto_delete,
      exclusive: queue.exclusive,
      arguments: queue.arguments,
      deadLetterExchange: queue.dead_letter_exchange,
      deadLetterRoutingKey: queue.dead_letter_routing_key,
      deadLetterPolicy: queue.dead_letter_policy,
      state: queue.state,
      ready: queue.ready,
      unacknowledged: queue.unacked,
      lag: queue.type === "stream" ? null : queue.lag,
      ...timeLagOf(queue.type, queue.lag, queue.time_lag_ms),
      headMessageAt: queue.head_message_at?.toISOString() ?? null,
      rates: { publish: queue.publish_rate, deliver: queue.deliver_rate, ack: queue.ack_rate },
      firstSeenAt: queue.first_seen_at.toISOString(),
      updatedAt: queue.updated_at.toISOString(),
      deletedAt: queue.deleted_at?.toISOString() ?? null,
      health: storedHealth(queue),
      healthWindowMs: HEALTH_WINDOW_MS,
      consumers: consumers.get(`${source.id}\u0000${vhost}\u0000${name}`) ?? [],
      bindings: bindings.map((b) => ({ exchange: b.exchange, routingKey: b.routing_key, arguments: b.arguments })),
      history: {
        from: from.toISOString(),
        to: to.toISOString(),
        bucketMs,
        points: points.map((p) => ({
          at: p.bucket.toISOString(),
          lag: p.lag,
          ready: p.ready,
          unacknowledged: p.unacked,
          timeLagMs: p.time_lag_ms === null ? null : Number(p.time_lag_ms),
        })),
      },
    };
  });
}
