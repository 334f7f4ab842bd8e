import type pg from "pg";
import { evaluateQueueHealth, HEALTH_WINDOW_MS, type QueueHealth } from "../../lib/lag-health.ts";
import { deadLetterTargetOf } from "../../lib/dead-letter-conventions.ts";
import { toDatabaseError } from "./errors.ts";

/**
 * What the RabbitMQ queue poller writes every few seconds, per source and vhost: the queues with
 * their counts and rates, their bindings, their consumers, the exchanges with their publish rates
 * and the bindings between them, one lag sample per queue, and each
 * queue's health over the window (lib/lag-health.ts evaluateQueueHealth). One transaction per
 * vhost, array parameters (unnest): a vhost of hundreds of queues costs a handful of statements.
 *
 * A snapshot is the whole vhost (after the source's queue filters): a queue that is missing was
 * deleted (deleted_at), and the bindings and consumers missing from it are gone.
 */

export interface RabbitQueueSnapshot {
  name: string;
  /** classic, quorum or stream. */
  type: string;
  durable: boolean;
  autoDelete: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
  /** The user policy that applies to it and the definition its policies add up to; absent: none. */
  policy?: string | null;
  policyDefinition?: Record<string, unknown> | null;
  state: string | null;
  /** null when the broker did not report them (a queue that is starting). */
  messagesReady: number | null;
  messagesUnacknowledged: number | null;
  consumers: number | null;
  publishRate: number | null;
  deliverRate: number | null;
  ackRate: number | null;
  /** Acks + deliveries without ack since the queue started; null without stats. */
  processedTotal: number | null;
  /** The head message's timestamp property (the oldest not yet acked), when it has one. */
  headMessageAt: Date | null;
}

export interface RabbitBindingSnapshot {
  exchange: string;
  queue: string;
  routingKey: string;
  propertiesKey: string;
  arguments: Record<string, unknown>;
}

export interface RabbitConsumerSnapshot {
  queue: string;
  channel: string;
  consumerTag: string;
  connection: string;
  connectionName: string | null;
  peerHost: string | null;
  user: string | null;
  ackRequired: boolean;
  prefetchCount: number;
  active: boolean;
  exclusive: boolean;
}

/** An exchange-to-exchange binding: what `from` routes with the key goes on into `to`. */
export interface RabbitExchangeBindingSnapshot {
  from: string;
  to: string;
  routingKey: string;
  propertiesKey: string;
  arguments: Record<string, unknown>;
}

/** An exchange (not the default exchange ""), with the rate messages are published into it. */
export interface RabbitExchangeSnapshot {
  name: string;
  /** direct, topic, fanout, headers, or a plugin's type. */
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  /** Messages/s, as the management plugin averages them; null without stats (nothing published yet). */
  publishInRate: number | null;
}

export interface RabbitVhostSnapshot {
  vhost: string;
  queues: readonly RabbitQueueSnapshot[];
  bindings: readonly RabbitBindingSnapshot[];
  consumers: readonly RabbitConsumerSnapshot[];
  /** The vhost's exchanges; absent: not listed this time, the stored ones are kept. */
  exchanges?: readonly RabbitExchangeSnapshot[];
  /** Its exchange-to-exchange bindings, listed with the exchanges (absent: the stored ones are kept). */
  exchangeBindings?: readonly RabbitExchangeBindingSnapshot[];
}

export interface SyncRabbitVhostOptions {
  /** The poll's time; default now. */
  at?: Date;
  /** The window health is judged over; default HEALTH_WINDOW_MS (the Kafka groups' window). */
  healthWindowMs?: number;
}

/**
 * Time lag of a queue at `at`: 0 when nothing waits, now − the head message's timestamp when it
 * has one, else null (unknown: the messages carry no timestamp property). RabbitMQ 3.10's head is
 * the oldest message not yet acked: a classic queue whose only messages are unacknowledged still
 * reports it (checked), so the time lag covers the same messages as the lag.
 */
export function queueTimeLagMs(queue: Pick<RabbitQueueSnapshot, "messagesReady" | "messagesUnacknowledged" | "headMessageAt">, at: Date): number | null {
  if ((queue.messagesReady ?? 0) + (queue.messagesUnacknowledged ?? 0) === 0) return 0;
  return queue.headMessageAt ? Math.max(0, at.getTime() - queue.headMessageAt.getTime()) : null;
}

/** One column of a vhost's rows: its name, its PostgreSQL type, and each row's value. */
type VhostColumn = readonly [name: string, type: string, values: readonly unknown[]];

/** Replaces the vhost's rows of `table` (keyed by source_id and vhost) with these: one DELETE, one INSERT of unnest()ed arrays. */
async function replaceVhostRows(client: pg.PoolClient, table: string, sourceId: number, vhost: string, columns: readonly VhostColumn[]): Promise<void> {
  await client.query(`DELETE FROM ${table} WHERE source_id = $1 AND vhost = $2`, [sourceId, vhost]);
  await client.query(
    `INSERT INTO ${table} (source_id, vhost, ${columns.map(([name]) => name).join(", ")})
     SELECT $1::smallint, $2::text, u.* FROM unnest(${columns.map(([, type], i) => `$${i + 3}::${type}[]`).join(", ")}) AS u
     ON CONFLICT DO NOTHING`,
    [sourceId, vhost, ...columns.map(([, , values]) => values)],
  );
}

/** Stores a vhost's snapshot and judges its queues; returns the verdicts by queue name. */
export async function syncRabbitVhost(
  db: { pool: pg.Pool },
  sourceId: number,
  snapshot: RabbitVhostSnapshot,
  options: SyncRabbitVhostOptions = {},
): Promise<Map<string, QueueHealth>> {
  const at = options.at ?? new Date();
  const windowMs = options.healthWindowMs ?? HEALTH_WINDOW_MS;
  const { vhost } = snapshot;
  const queues = [...snapshot.queues].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = queues.map((q) => q.name);
  const deadLetters = queues.map((q) => deadLetterTargetOf({ arguments: q.arguments, policy: q.policy, effective_policy_definition: q.policyDefinition }));
  let client: pg.PoolClient;
  try {
    client = await db.pool.connect();
  } catch (error) {
    throw toDatabaseError(error, `storing the queues of vhost ${vhost}`);
  }
  let broken = false;
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO rabbitmq_queues AS q (source_id, vhost, name, type, durable, auto_delete, exclusive, arguments, state,
         messages_ready, messages_unacknowledged, consumers, publish_rate, deliver_rate, ack_rate, head_message_at,
         dead_letter_exchange, dead_letter_routing_key, dead_letter_policy, first_seen_at, updated_at, deleted_at)
       SELECT $1::smallint, $2::text, u.*, $17::timestamptz, $17::timestamptz, NULL::timestamptz
       FROM unnest($3::text[], $4::text[], $5::boolean[], $6::boolean[], $7::boolean[], $8::jsonb[], $9::text[],
         $10::bigint[], $11::bigint[], $12::int[], $13::float8[], $14::float8[], $15::float8[], $16::timestamptz[],
         $18::text[], $19::text[], $20::text[]) AS u
       ON CONFLICT (source_id, vhost, name) DO UPDATE SET
         type = excluded.type, durable = excluded.durable, auto_delete = excluded.auto_delete, exclusive = excluded.exclusive,
         arguments = excluded.arguments, dead_letter_exchange = excluded.dead_letter_exchange,
         dead_letter_routing_key = excluded.dead_letter_routing_key, dead_letter_policy = excluded.dead_letter_policy,
         state = excluded.state, messages_ready = excluded.messages_ready,
         messages_unacknowledged = excluded.messages_unacknowledged, consumers = excluded.consumers,
         publish_rate = excluded.publish_rate, deliver_rate = excluded.deliver_rate, ack_rate = excluded.ack_rate,
         head_message_at = excluded.head_message_at, updated_at = excluded.updated_at, deleted_at = NULL,
         -- A queue recreated under the same name starts anew.
         first_seen_at = CASE WHEN q.deleted_at IS NULL THEN q.first_seen_at ELSE excluded.first_seen_at END`,
      [
        sourceId,
        vhost,
        names,
        queues.map((q) => q.type),
        queues.map((q) => q.durable),
        queues.map((q) => q.autoDelete),
        queues.map((q) => q.exclusive),
        queues.map((q) => JSON.stringify(q.arguments)),
        queues.map((q) => q.state),
        queues.map((q) => q.messagesReady),
        queues.map((q) => q.messagesUnacknowledged),
        queues.map((q) => q.consumers),
        queues.map((q) => q.publishRate),
        queues.map((q) => q.deliverRate),
        queues.map((q) => q.ackRate),
        queues.map((q) => q.headMessageAt),
        at,
        deadLetters.map((d) => d?.exchange ?? null),
        deadLetters.map((d) => d?.routingKey ?? null),
        // A policy that sets it without a name in the listing is still a policy: "".
        deadLetters.map((d) => (d?.setBy === "policy" ? (d.policy ?? "") : null)),
      ],
    );
    await client.query(
      `UPDATE rabbitmq_queues SET deleted_at = $3
       WHERE source_id = $1 AND vhost = $2 AND deleted_at IS NULL AND NOT (name = ANY($4::text[]))`,
      [sourceId, vhost, at, names],
    );

    // Bindings and consumers: the current set replaces the stored one.
    const bindings = snapshot.bindings.filter((b) => names.includes(b.queue));
    await replaceVhostRows(client, "rabbitmq_bindings", sourceId, vhost, [
      ["exchange", "text", bindings.map((b) => b.exchange)],
      ["queue", "text", bindings.map((b) => b.queue)],
      ["routing_key", "text", bindings.map((b) => b.routingKey)],
      ["properties_key", "text", bindings.map((b) => b.propertiesKey)],
      ["arguments", "jsonb", bindings.map((b) => JSON.stringify(b.arguments))],
    ]);
    const consumers = snapshot.consumers.filter((c) => names.includes(c.queue));
    await replaceVhostRows(client, "rabbitmq_consumers", sourceId, vhost, [
      ["queue", "text", consumers.map((c) => c.queue)],
      ["channel", "text", consumers.map((c) => c.channel)],
      ["consumer_tag", "text", consumers.map((c) => c.consumerTag)],
      ["connection", "text", consumers.map((c) => c.connection)],
      ["connection_name", "text", consumers.map((c) => c.connectionName)],
      ["peer_host", "text", consumers.map((c) => c.peerHost)],
      ['"user"', "text", consumers.map((c) => c.user)],
      ["ack_required", "boolean", consumers.map((c) => c.ackRequired)],
      ["prefetch_count", "int", consumers.map((c) => c.prefetchCount)],
      ["active", "boolean", consumers.map((c) => c.active)],
      ["exclusive", "boolean", consumers.map((c) => c.exclusive)],
    ]);

    // Who consumes each queue, by connection name, kept while none is attached (a consumer that died).
    await client.query(
      `UPDATE rabbitmq_queues q SET consumer_names = c.names
       FROM (
         SELECT queue, array_agg(DISTINCT connection_name ORDER BY connection_name) AS names
         FROM rabbitmq_consumers WHERE source_id = $1 AND vhost = $2 AND connection_name IS NOT NULL GROUP BY queue
       ) c
       WHERE q.source_id = $1 AND q.vhost = $2 AND q.name = c.queue AND q.consumer_names IS DISTINCT FROM c.names`,
      [sourceId, vhost],
    );

    if (snapshot.exchanges) {
      const exchanges = snapshot.exchanges.filter((e) => e.name !== "");
      await replaceVhostRows(client, "rabbitmq_exchanges", sourceId, vhost, [
        ["name", "text", exchanges.map((e) => e.name)],
        ["type", "text", exchanges.map((e) => e.type)],
        ["durable", "boolean", exchanges.map((e) => e.durable)],
        ["auto_delete", "boolean", exchanges.map((e) => e.autoDelete)],
        ["internal", "boolean", exchanges.map((e) => e.internal)],
        ["publish_in_rate", "float8", exchanges.map((e) => e.publishInRate)],
        ["updated_at", "timestamptz", exchanges.map(() => at)],
      ]);
    }

    if (snapshot.exchangeBindings) {
      const e2e = snapshot.exchangeBindings;
      await replaceVhostRows(client, "rabbitmq_exchange_bindings", sourceId, vhost, [
        ["from_exchange", "text", e2e.map((b) => b.from)],
        ["to_exchange", "text", e2e.map((b) => b.to)],
        ["routing_key", "text", e2e.map((b) => b.routingKey)],
        ["properties_key", "text", e2e.map((b) => b.propertiesKey)],
        ["arguments", "jsonb", e2e.map((b) => JSON.stringify(b.arguments))],
      ]);
    }

    // One sample per queue whose counts the broker reported.
    const sampled = queues.filter((q) => q.messagesReady !== null && q.messagesUnacknowledged !== null);
    await client.query(
      `INSERT INTO rabbitmq_queue_samples (source_id, vhost, queue, sampled_at, messages_ready, messages_unacknowledged, consumers,
         processed_total, time_lag_ms)
       SELECT $1::smallint, $2::text, u.queue, $3::timestamptz, u.ready, u.unacked, u.consumers, u.processed, u.time_lag
       FROM unnest($4::text[], $5::bigint[], $6::bigint[], $7::int[], $8::bigint[], $9::bigint[])
         AS u(queue, ready, unacked, consumers, processed, time_lag)
       ON CONFLICT DO NOTHING`,
      [
        sourceId,
        vhost,
        at,
        sampled.map((q) => q.name),
        sampled.map((q) => q.messagesReady),
        sampled.map((q) => q.messagesUnacknowledged),
        sampled.map((q) => q.consumers ?? 0),
        sampled.map((q) => q.processedTotal),
        sampled.map((q) => queueTimeLagMs(q, at)),
      ],
    );

    // Health over the window of samples, judged here once rather than on every page request.
    const window = await client.query<{
      queue: string;
      sampled_at: Date;
      messages_ready: string;
      messages_unacknowledged: string;
      consumers: number;
      processed_total: string | null;
    }>(
      `SELECT queue, sampled_at, messages_ready::text, messages_unacknowledged::text, consumers, processed_total::text
       FROM rabbitmq_queue_samples
       WHERE source_id = $1 AND vhost = $2 AND queue = ANY($3::text[]) AND sampled_at > $4 AND sampled_at <= $5`,
      [sourceId, vhost, names, new Date(at.getTime() - windowMs), at],
    );
    const byQueue = new Map<string, typeof window.rows>();
    for (const row of window.rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row]);
    const verdicts = new Map<string, QueueHealth>();
    const typeOf = new Map(queues.map((q) => [q.name, q.type]));
    for (const name of names) {
      const samples = (byQueue.get(name) ?? []).map((s) => ({
        at: s.sampled_at,
        ready: s.messages_ready,
        unacknowledged: s.messages_unacknowledged,
        consumers: s.consumers,
        processedTotal: s.processed_total,
      }));
      verdicts.set(name, evaluateQueueHealth(name, samples, { windowMs, type: typeOf.get(name) }));
    }
    await client.query(
      `UPDATE rabbitmq_queues q SET health_status = u.status, health_reason = u.reason, health_at = $3
       FROM unnest($4::text[], $5::text[], $6::text[]) AS u(name, status, reason)
       WHERE q.source_id = $1 AND q.vhost = $2 AND q.name = u.name`,
      [sourceId, vhost, at, names, names.map((n) => verdicts.get(n)!.status), names.map((n) => verdicts.get(n)!.reason)],
    );
    await client.query("COMMIT");
    return verdicts;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw toDatabaseError(error, `storing the queues of vhost ${vhost}`);
  } finally {
    client.release(broken);
  }
}
