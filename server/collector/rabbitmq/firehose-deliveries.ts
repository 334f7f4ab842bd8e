import { createHash } from "node:crypto";
import type amqp from "amqplib";
import { REPLAY_ID_HEADER } from "../../../lib/dead-letter-conventions.ts";
import { fingerprintOfEventRow, insertRabbitDeliveries, type Database, type RabbitDeliveryRow } from "../../db/index.ts";
import type { AmqpMessage, ExtractOptions } from "../extract/index.ts";
import { oneLine } from "../event-writer.ts";
import { toEventRowFromAmqp } from "../to-event-row.ts";
import { channelOfExchange, OWN_QUEUE_PREFIX } from "./bindings-plan.ts";

/**
 * Deliveries from RabbitMQ's firehose, for a source with `deliveries: firehose`
 * (../README.md, "RabbitMQ"): per vhost, a classic queue of Eventscope's own bound to the topic
 * exchange `amq.rabbitmq.trace` with `deliver.#` receives a copy of every delivery (which queue, the
 * message, redelivered or not); the collector stores one rabbitmq_deliveries row per copy and
 * acknowledges the copies once the rows are committed. Publish copies are not bound: bindings mode
 * already stores each publish exactly once, from offsets.
 *
 * Classic, not a stream nor a quorum queue: on RabbitMQ 3.10 a stream bound to the trace exchange
 * receives nothing, and a quorum queue lost copies under load (server/rabbitmq/README.md).
 * Eventscope never turns tracing on: the user does (`rabbitmqctl trace_on -p <vhost>`).
 */

export const TRACE_EXCHANGE = "amq.rabbitmq.trace";
export const DELIVER_BINDING = "deliver.#";
const DELIVER_PREFIX = "deliver.";

/** A collector that is down leaves copies waiting: at most this many bytes (the oldest go first), never the user's disk. */
export const DELIVERIES_MAX_LENGTH_BYTES = 1_000_000_000;

/**
 * `eventscope.<source>:deliveries` (vhost "/") or `eventscope.<source>:deliveries.<vhost>`. `:`
 * cannot be in a source's name, so it never collides with a stream named after an exchange.
 */
export function deliveriesQueueName(source: string, vhost: string): string {
  return vhost === "/" ? `${OWN_QUEUE_PREFIX}${source}:deliveries` : `${OWN_QUEUE_PREFIX}${source}:deliveries.${vhost}`;
}

/** What one `deliver.<queue>` copy says; null for a copy that is not a delivery. */
export interface DeliveryCopy {
  queue: string;
  /** The message as it was published, as extraction reads it (the copy's body and `properties` header). */
  message: AmqpMessage;
  redelivered: boolean;
  /** RabbitMQ's name of the consuming connection. */
  connection: string | null;
  replayId: string | null;
}

/** The firehose copy's `properties` table (AMQP field names) → amqplib's property names. */
const PROPERTY_NAMES: Record<string, string> = {
  content_type: "contentType",
  content_encoding: "contentEncoding",
  headers: "headers",
  delivery_mode: "deliveryMode",
  priority: "priority",
  correlation_id: "correlationId",
  reply_to: "replyTo",
  expiration: "expiration",
  message_id: "messageId",
  timestamp: "timestamp",
  type: "type",
  user_id: "userId",
  app_id: "appId",
};

/** Reads a firehose copy (server/rabbitmq/README.md, "The firehose"). Pure and total. */
export function readDeliveryCopy(routingKey: string, headers: Record<string, unknown> | undefined, body: Buffer): DeliveryCopy | null {
  if (!routingKey.startsWith(DELIVER_PREFIX) || headers === undefined) return null;
  const message = messageOfTraceCopy(headers, body);
  const applicationHeaders = message.properties.headers as unknown;
  const replayId =
    applicationHeaders !== null && typeof applicationHeaders === "object" ? textOf((applicationHeaders as Record<string, unknown>)[REPLAY_ID_HEADER]) : null;
  return {
    queue: routingKey.slice(DELIVER_PREFIX.length),
    message,
    redelivered: headers.redelivered === 1 || headers.redelivered === true,
    connection: textOf(headers.connection),
    replayId,
  };
}

/**
 * The message a firehose copy (of a publish or a delivery) is about, as extraction reads it: its
 * exchange and routing keys, its properties (the copy's `properties` table under amqplib's names)
 * and the copy's body, which is the message's.
 */
export function messageOfTraceCopy(headers: Record<string, unknown>, body: Buffer): AmqpMessage {
  const raw = headers.properties;
  const properties: Record<string, unknown> = {};
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      // A timestamp inside a table comes as { "!": "timestamp", value: seconds }; as a property, a number.
      const plain = value !== null && typeof value === "object" && (value as { "!"?: unknown })["!"] === "timestamp" ? (value as { value: unknown }).value : value;
      properties[PROPERTY_NAMES[name] ?? name] = plain;
    }
  }
  const routingKeys = Array.isArray(headers.routing_keys) ? headers.routing_keys.map((key) => textOf(key) ?? "") : [];
  return {
    exchange: textOf(headers.exchange_name) ?? "",
    routingKeys,
    properties: properties as AmqpMessage["properties"],
    body,
    connectionName: null,
    queue: null,
    redelivered: null,
  };
}

/** A delivery copy → its row: the fingerprint is ingest's own (fingerprintOfEventRow) over the same row ingest would build. */
export function deliveryRowOf(
  sourceId: number,
  vhost: string,
  copy: DeliveryCopy,
  options: ExtractOptions,
  seenAt: Date,
  copyHeaders: Record<string, unknown>,
  maybeStored: boolean,
): RabbitDeliveryRow {
  const channel = channelOfExchange(vhost, copy.message.exchange);
  const row = toEventRowFromAmqp(sourceId, channel, 0, copy.message, options);
  return {
    sourceId,
    vhost,
    queue: copy.queue,
    exchange: copy.message.exchange,
    routingKey: copy.message.routingKeys[0] ?? "",
    channel,
    fingerprint: fingerprintOfEventRow(row),
    redelivered: copy.redelivered,
    replayId: copy.replayId,
    connection: copy.connection,
    seenAt,
    copyHash: copyHashOf(copyHeaders, copy.message.body),
    maybeStored,
  };
}

/** 16 bytes of SHA-256 over the copy's headers (as amqplib decodes them) and body. */
export function copyHashOf(headers: Record<string, unknown>, body: Buffer): Buffer {
  const text = JSON.stringify(headers, (_key, value: unknown) => (typeof value === "bigint" ? `${value}n` : value));
  return createHash("sha256").update(text).update("\u0000").update(body).digest().subarray(0, 16);
}

function textOf(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return null;
}

export interface DeliveriesConsumerOptions {
  db: Pick<Database, "pool">;
  sourceId: number;
  sourceName: string;
  vhost: string;
  extractOptions: ExtractOptions;
  log(line: string): void;
  prefetch: number;
  flushRows: number;
  flushMs: number;
  /** Called after each batch is stored (for health: the last store). */
  onStored(count: number): void;
  /** A database failure (null once a batch is stored again). */
  onDatabaseError(message: string | null): void;
}

export interface DeliveriesConsumer {
  readonly queue: string;
  readonly closed: boolean;
  stats(): { stored: number; ignored: number };
  /** Stops consuming, stores what was received and acknowledges it (within `timeoutMs`), closes the channel. */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * Declares the vhost's deliveries queue, binds it to the trace exchange and consumes it: copies are
 * stored in batches (flushRows or flushMs), acknowledged (multiple) after their rows are committed;
 * while the database fails, the batch is tried again with backoff and nothing is acknowledged, so
 * deliveries stop at the prefetch. Copies of deliveries from Eventscope's own queues are
 * acknowledged without a row.
 */
export async function startDeliveriesConsumer(connection: amqp.ChannelModel, options: DeliveriesConsumerOptions): Promise<DeliveriesConsumer> {
  const queue = deliveriesQueueName(options.sourceName, options.vhost);
  const channel = await connection.createChannel();
  let closed = false;
  channel.on("error", () => {});
  channel.on("close", () => {
    closed = true;
    if (timer) clearTimeout(timer);
  });
  await channel.assertQueue(queue, {
    durable: true,
    arguments: { "x-queue-type": "classic", "x-max-length-bytes": { "!": "long", value: DELIVERIES_MAX_LENGTH_BYTES } },
  });
  await channel.bindQueue(queue, TRACE_EXCHANGE, DELIVER_BINDING);
  await channel.prefetch(options.prefetch);

  let pending: { rows: RabbitDeliveryRow[]; last: amqp.ConsumeMessage | null } = { rows: [], last: null };
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  let stored = 0;
  let ignored = 0;
  let stopping = false;

  const store = async (rows: RabbitDeliveryRow[], last: amqp.ConsumeMessage) => {
    for (let attempt = 0; ; attempt++) {
      if (closed) return; // unacknowledged copies go back to the queue, flagged redelivered: stored once all the same
      try {
        stored += await insertRabbitDeliveries(options.db, rows);
        options.onDatabaseError(null);
        options.onStored(rows.length);
        break;
      } catch (error) {
        const message = oneLine((error as Error).message);
        if (attempt === 0) options.log(`${queue}: storing deliveries failed (tried again with backoff; nothing is acknowledged meanwhile): ${message}`);
        options.onDatabaseError(message);
        if (stopping) return;
        // The failure may have come after the commit (a connection lost while it answered): the
        // next attempt skips what is stored.
        rows = rows.map((row) => ({ ...row, maybeStored: true }));
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5))));
      }
    }
    if (!closed) channel.ack(last, true);
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const { rows, last } = pending;
    pending = { rows: [], last: null };
    if (last === null) return;
    if (rows.length === 0) {
      // Only ignored copies: acknowledged once what came before them is stored.
      writing = writing.then(() => {
        if (!closed) channel.ack(last, true);
      });
      return;
    }
    writing = writing.then(() => store(rows, last));
  };

  const { consumerTag } = await channel.consume(
    queue,
    (message) => {
      if (message === null) {
        options.log(`${queue}: the broker cancelled the consumer (queue deleted?); declared again at the next refresh`);
        closed = true;
        void channel.close().catch(() => {});
        return;
      }
      const headers = message.properties.headers as Record<string, unknown> | undefined;
      const copy = readDeliveryCopy(message.fields.routingKey, headers, message.content);
      pending.last = message;
      if (copy === null || copy.queue.startsWith(OWN_QUEUE_PREFIX)) {
        ignored += 1;
      } else {
        pending.rows.push(deliveryRowOf(options.sourceId, options.vhost, copy, options.extractOptions, new Date(), headers ?? {}, message.fields.redelivered));
      }
      if (pending.rows.length >= options.flushRows) flush();
      else timer ??= setTimeout(flush, options.flushMs);
    },
    { noAck: false },
  );

  return {
    queue,
    get closed() {
      return closed;
    },
    stats: () => ({ stored, ignored }),
    async stop(timeoutMs) {
      if (closed) return;
      await channel.cancel(consumerTag).catch(() => {});
      flush();
      const done = writing.then(() => true);
      const inTime = await Promise.race([done, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())]);
      stopping = true;
      if (!inTime) options.log(`${queue}: stopped before every delivery was stored; the rest is read again at the next start`);
      await channel.close().catch(() => {});
    },
  };
}
