import type pg from "pg";
import type { RabbitMqSourceConfig } from "../../config.ts";
import type { RabbitNode } from "../../rabbitmq/node.ts";

/** For the RabbitMQ collector's tests: a source on a test node, and what it stored. */

/** A `rabbitmq` source on `node` (guest), collecting the exchanges named `<prefix>.…` of vhost "/". */
export function rabbitSourceOf(node: RabbitNode, name: string, prefix: string): RabbitMqSourceConfig {
  return {
    name,
    kind: "rabbitmq",
    amqpUrl: `amqp://127.0.0.1:${node.amqpPort}`,
    managementUrl: node.managementUrl,
    username: "guest",
    password: "guest",
    vhosts: ["/"],
    exchangesInclude: new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.`),
    exchangesExclude: undefined,
    queuesInclude: undefined,
    queuesExclude: undefined,
    collect: "bindings",
    deliveries: "off",
    unroutable: "collect",
    entityFields: ["orderId"],
  };
}

export interface StoredAmqpRow {
  channel: string;
  position: string;
  key: string | null;
  event_type: string | null;
  producer: string | null;
  trace_id: string | null;
  entity_keys: string[];
  flags: string[];
  headers: { key: string; value: string | null; encoding?: string }[];
  value_text: string | null;
  value_json: unknown;
  value_bytes: Buffer | null;
}

/** Every event stored for the source, by channel and position. */
export async function storedRowsOf(db: { pool: pg.Pool }, sourceId: number): Promise<StoredAmqpRow[]> {
  const { rows } = await db.pool.query<StoredAmqpRow>(
    `SELECT channel, position::text AS position, key, event_type, producer, trace_id, entity_keys, flags, headers, value_text, value_json, value_bytes
     FROM events e WHERE source_id = $1 ORDER BY channel, e.position`,
    [sourceId],
  );
  return rows;
}

/** A stored row's header value (the last of that key), as text. */
export function headerOf(row: StoredAmqpRow, key: string): string | undefined {
  return row.headers.filter((header) => header.key === key).at(-1)?.value ?? undefined;
}

/** The `seq` header of each stored row of `channel`, in position order: what the tests publish. */
export function sequenceOf(rows: readonly StoredAmqpRow[], channel: string): number[] {
  return rows.filter((row) => row.channel === channel).map((row) => Number(headerOf(row, "seq")));
}
