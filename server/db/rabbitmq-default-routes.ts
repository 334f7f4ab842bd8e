import type pg from "pg";
import { toDatabaseError } from "./errors.ts";

/**
 * The queues that publishes to RabbitMQ's default exchange were addressed to (their routing keys),
 * per source and vhost, as the collector stores those publishes under the channel `amq.default`
 * (`deliveries: firehose`): the overview graph draws amq.default → queue from these few rows
 * instead of reading events. Written through `pg`; a queue seen again moves its `last_seen_at`.
 */
export async function recordDefaultExchangeRoutes(
  db: { pool: pg.Pool },
  sourceId: number,
  vhost: string,
  queues: readonly string[],
  seenAt: Date,
): Promise<void> {
  // PostgreSQL text holds no NUL: such a name is left out (it is drawn nowhere).
  const names = [...new Set(queues)].filter((queue) => !queue.includes("\u0000"));
  if (names.length === 0) return;
  try {
    await db.pool.query(
      `INSERT INTO rabbitmq_default_routes (source_id, vhost, queue, last_seen_at)
       SELECT $1, $2, q, $4 FROM unnest($3::text[]) AS q
       ON CONFLICT (source_id, vhost, queue) DO UPDATE SET last_seen_at = GREATEST(rabbitmq_default_routes.last_seen_at, EXCLUDED.last_seen_at)`,
      [sourceId, vhost, names, seenAt],
    );
  } catch (error) {
    throw toDatabaseError(error, "storing the default exchange's routes");
  }
}
