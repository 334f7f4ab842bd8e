import amqp from "amqplib";
import { redactSecrets, type Config, type RabbitMqSourceConfig } from "../../config.ts";
import { amqpConnectionUrl } from "../../rabbitmq/connection-url.ts";
import { highestStoredPositions, recordDefaultExchangeRoutes, type Database, type DatabaseError, type SourceRef } from "../../db/index.ts";
import { createManagementClient } from "../../rabbitmq/management.ts";
import type { ExtractOptions } from "../extract/index.ts";
import { EventWriter, oneLine, type WriteChunk } from "../event-writer.ts";
import { startFlowFolder } from "../flow-folder.ts";
import { startRetentionTimer } from "../retention-timer.ts";
import { newInstanceId, startHealthReporter } from "../health-reporter.ts";
import { settlesWithin } from "../time-limit.ts";
import { toEventRowFromAmqp } from "../to-event-row.ts";
import { DEFAULT_EXCHANGE } from "../../../lib/rabbitmq-names.ts";
import {
  deadLetterExchangesOf,
  passesExchangeFilter,
  planCollectedExchanges,
  queuesDeadLetteringUnseen,
  StreamBindingTimes,
  type CollectedExchange,
} from "./bindings-plan.ts";
import { startDeliveriesConsumer, type DeliveriesConsumer } from "./firehose-deliveries.ts";
import { amqpMessageOf, defaultExchangePlan, isRelayed, defaultExchangePublishOfCopy, relayPublishOf, type RoutedMessage } from "./relay.ts";

/**
 * The RabbitMQ source's collector, collection mode `bindings` (../README.md, "RabbitMQ"): each
 * collected exchange gets a stream queue of Eventscope's own, bound so that it receives every
 * message the exchange routes; each stream is read with amqplib from the position after the
 * highest one stored for its channel, its messages stored through the EventWriter
 * (toEventRowFromAmqp, then ingestEvents), and acknowledged once stored. A message stored but not
 * acknowledged when the collector stops or crashes is read again and ingest skips it: every
 * message is stored exactly once.
 *
 * Per vhost, one AMQP connection. The exchanges are listed through the management API at start
 * and every `refreshMs` (new exchanges, new routing keys of direct exchanges). When the connection
 * is lost (a broker restart), the collector reconnects with backoff (1 s … 30 s), says so once per
 * outage and once on recovery, declares again and resumes from the stored positions.
 */

/**
 * Retention of each stream queue: the stream is only a buffer between the broker and the database
 * (the collector normally stays seconds behind), so it must never fill the user's disk: a week at
 * most, and 1 GB at most, whichever is reached first (RabbitMQ drops whole segments beyond either).
 */
export const STREAM_MAX_AGE = "7D";
export const STREAM_MAX_LENGTH_BYTES = 1_000_000_000;
/** Segments of 100 MB (RabbitMQ's default is 500 MB, which would make the byte limit coarse). */
const STREAM_MAX_SEGMENT_SIZE_BYTES = 100_000_000;
/** A relay queue is drained as it fills; this only bounds it if the collector is down for long. */
const RELAY_MAX_LENGTH_BYTES = 1_000_000_000;

export interface RabbitMqCollectorOptions {
  db: Pick<Database, "pool" | "prisma">;
  source: SourceRef;
  log(line: string): void;
  /** Default: `<host>-<pid>-<random>`. */
  instanceId?: string;
  /** How often exchanges and bindings are listed again. Default 30 s. */
  refreshMs?: number;
  /** Unacknowledged messages per stream consumer (a stream consumer needs one). Default 1,000. */
  prefetch?: number;
  /** A stream's rows go to the writer at this many rows … Default 500. */
  flushRows?: number;
  /** … or this long after the first of them arrived. Default 100 ms. */
  flushMs?: number;
  /** Reconnection backoff: from this … Default 1 s. */
  reconnectMinMs?: number;
  /** … doubling up to this. Default 30 s. */
  reconnectMaxMs?: number;
  /** Default 5 s. */
  healthIntervalMs?: number;
  /** How long stop() may take. Default 10 s. */
  stopTimeoutMs?: number;
  /** Default: config.flows. */
  flows?: boolean;
  flowFoldMs?: number;
  pruneIntervalMs?: number;
}

export interface RabbitMqCollectorStats {
  instanceId: string;
  /** The streams being read, by channel. */
  channels: string[];
  storedRows: number;
  insertedRows: number;
  queuedRows: number;
  /** Connections made so far, over all vhosts (1 per vhost, plus reconnections). */
  connections: number;
  lastError: string | null;
  /** `deliveries: firehose`: delivery rows stored (new ones), and copies ignored (deliveries from Eventscope's own queues). */
  deliveries: { stored: number; ignored: number };
}

export interface RunningRabbitMqCollector {
  readonly instanceId: string;
  stats(): RabbitMqCollectorStats;
  /** Records an admin poll in the health row (the RabbitMQ source's poller, when there is one). */
  noteAdminPoll(at: Date): void;
  /** Stops consuming, stores what was received, acknowledges it, closes: within stopTimeoutMs. */
  stop(): Promise<void>;
}

/** One stream being read, on a channel of its own (its prefetch and acknowledgements are its own). */
interface StreamConsumer {
  plan: CollectedExchange;
  channel: amqp.Channel;
  consumerTag: string | null;
  closed: boolean;
  /** The highest position queued for storing (or stored at start); later deliveries only. */
  lastPosition: bigint | null;
  pending: { rows: WriteChunk<ChunkTag>["rows"]; bytes: number; last: amqp.ConsumeMessage | null };
  flushTimer: NodeJS.Timeout | null;
}

/** A relay queue being drained into its stream (relay.ts), on a confirm channel of its own. */
interface Relay {
  channel: amqp.ConfirmChannel;
  consumerTag: string;
  /** Resolves once every message received so far is acknowledged (or given back). */
  settled(): Promise<void>;
}

interface ChunkTag {
  consumer: StreamConsumer;
  /** The chunk's last delivery: acknowledged, with every one before it, once the chunk is stored. */
  last: amqp.ConsumeMessage;
}

/** A vhost's connection and what reads through it. */
interface VhostLink {
  vhost: string;
  connection: amqp.ChannelModel;
  closed: boolean;
  consumers: Map<string, StreamConsumer>;
  /** Relay queues being drained into their streams, by relay queue name. */
  relays: Map<string, Relay>;
  /** The firehose deliveries consumer (`deliveries: firehose`), once started. */
  deliveries: DeliveriesConsumer | null;
}

/** `deliveries`: storing firehose deliveries failed (apart from the events' writer, which recovers on its own). */
type ErrorSource = "broker" | "management" | "database" | "deliveries";

export function startRabbitMqCollector(config: Config, sourceConfig: RabbitMqSourceConfig, options: RabbitMqCollectorOptions): RunningRabbitMqCollector {
  const log = options.log;
  const instanceId = options.instanceId ?? newInstanceId();
  const refreshMs = options.refreshMs ?? 30_000;
  const prefetch = options.prefetch ?? 1_000;
  const flushRows = options.flushRows ?? 500;
  const flushMs = options.flushMs ?? 100;
  const reconnectMinMs = options.reconnectMinMs ?? 1_000;
  const reconnectMaxMs = options.reconnectMaxMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const extractOptions: ExtractOptions = {
    entityFields: sourceConfig.entityFields,
    dlqPatterns: config.dlqPatterns,
    maxValueBytes: config.maxValueBytes,
  };
  const management = createManagementClient({ url: sourceConfig.managementUrl, username: sourceConfig.username, password: sourceConfig.password });
  // Secrets never reach a log line or the health row, whatever an error quotes.
  const redact = (text: string) => {
    const redacted = redactSecrets(text, config);
    return sourceConfig.password === "" ? redacted : redacted.split(sourceConfig.password).join("***");
  };

  let stopped = false;
  let connections = 0;
  let lastPollAt: Date | null = null;
  let lastAdminPollAt: Date | null = null;
  /** Per vhost, the channels of its first listing: the only ones EVENTSCOPE_START=latest applies to. */
  const initialChannels = new Map<string, Set<string>>();
  const links = new Map<string, VhostLink>();
  const errors = new Map<ErrorSource, { message: string; at: Date }>();
  const setError = (source: ErrorSource, message: string | null) => {
    if (message === null) errors.delete(source);
    else errors.set(source, { message: redact(message), at: new Date() });
  };
  const latestError = () => [...errors.values()].sort((a, b) => b.at.getTime() - a.at.getTime())[0] ?? null;
  /** What the user should do though nothing is stopped (a vhost's tracing off, dead letters unseen): the health row's warnings. */
  const warnings = new Map<string, string>();
  /** When each stream's bindings began: which copies an exchange-to-exchange binding made are stored from elsewhere. */
  const bindingTimes = new StreamBindingTimes();
  let deliveriesStoredAt: Date | null = null;

  // --- sleeping that stop() cuts short ---------------------------------------------------------
  const wakers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });

  // --- the write path --------------------------------------------------------------------------
  const writer = new EventWriter<ChunkTag>({
    db: options.db,
    log,
    flows: options.flows ?? config.flows,
    onStored: (chunks) => {
      for (const { tag } of chunks) {
        if (tag.consumer.closed) continue; // Its channel is gone: the broker requeues nothing on a stream; it is read again from the stored position.
        try {
          tag.consumer.channel.ack(tag.last, true);
        } catch {
          // The channel closed meanwhile: nothing to acknowledge any more.
        }
      }
    },
    onAvailabilityChange: (available: boolean, error: DatabaseError | null) => {
      // Deliveries stop by themselves: nothing is acknowledged while nothing is stored, and each
      // consumer has at most `prefetch` unacknowledged messages.
      setError("database", available ? null : `database: ${error ? oneLine(error.message) : "unavailable"}`);
    },
  });

  const flush = (consumer: StreamConsumer) => {
    if (consumer.flushTimer) clearTimeout(consumer.flushTimer);
    consumer.flushTimer = null;
    const { rows, bytes, last } = consumer.pending;
    if (rows.length === 0 || last === null) return;
    consumer.pending = { rows: [], bytes: 0, last: null };
    try {
      writer.enqueue({
        rows,
        bytes,
        positions: [{ topic: consumer.plan.channel, partition: 0, next: (consumer.lastPosition ?? 0n) + 1n }],
        tag: { consumer, last },
      });
    } catch {
      // The writer stopped (a delivery that came in while stopping): not acknowledged, read again next time.
    }
  };

  const onDelivery = (consumer: StreamConsumer, message: amqp.ConsumeMessage) => {
    lastPollAt = new Date();
    const offset: unknown = message.properties.headers?.["x-stream-offset"];
    if (typeof offset !== "number" && typeof offset !== "bigint") {
      // Not a stream delivery (someone replaced our queue with another kind): nothing to key it on.
      log(`${consumer.plan.queue}: a delivery without x-stream-offset, not stored (is ${consumer.plan.queue} still a stream queue?)`);
      consumer.channel.ack(message);
      return;
    }
    const position = BigInt(offset);
    if (consumer.lastPosition !== null && position <= consumer.lastPosition) {
      // Before the requested offset (a stream may start at the chunk holding it): stored already.
      consumer.channel.ack(message);
      return;
    }
    consumer.lastPosition = position;
    if (consumer.plan.relaysTraceCopies && !isRelayed(message)) {
      // Published into the default exchange's stream by someone, not relayed from the firehose: a
      // publish to one of Eventscope's own queues, which is never stored.
      consumer.channel.ack(message);
      return;
    }
    const amqpMessage = amqpMessageOf(message);
    if (bindingTimes.storedFromOrigin(consumer.plan, amqpMessage.exchange, amqpMessage.routingKeys)) {
      // Routed here from another collected exchange (an exchange-to-exchange binding): stored from that one's stream.
      consumer.channel.ack(message);
      return;
    }
    const row = toEventRowFromAmqp(options.source.id, consumer.plan.channel, position, amqpMessage, extractOptions);
    if (consumer.plan.relaysTraceCopies) noteDefaultRoute(consumer.plan.vhost, amqpMessage.routingKeys[0] ?? "");
    consumer.pending.rows.push(row);
    consumer.pending.bytes += row.sizeBytes;
    consumer.pending.last = message;
    if (consumer.pending.rows.length >= flushRows) flush(consumer);
    else consumer.flushTimer ??= setTimeout(() => flush(consumer), flushMs);
  };

  // --- the default exchange's routes (the overview graph's amq.default → queue edges) ------------
  /** When each (vhost, queue) was last written, so that a busy queue costs one write a minute. */
  const routesWritten = new Map<string, number>();
  /** Per vhost, the queues seen since the last write. */
  const routesSeen = new Map<string, Set<string>>();
  const noteDefaultRoute = (vhost: string, queue: string) => {
    // Server-named queues (`amq.gen-…`) and direct reply-to (`amq.rabbitmq.reply-to.…`), an RPC's
    // replies, take a new name each time: no route to draw, and the table would grow without end.
    if (queue === "" || queue.startsWith("amq.") || Date.now() - (routesWritten.get(`${vhost}\u0000${queue}`) ?? -Infinity) < 60_000) return;
    routesSeen.set(vhost, (routesSeen.get(vhost) ?? new Set()).add(queue));
  };
  /** Writes the vhost's routes seen (at each refresh); on failure they are written at the next one. */
  const writeDefaultRoutes = async (vhost: string) => {
    const queues = [...(routesSeen.get(vhost) ?? [])];
    if (queues.length === 0) return;
    routesSeen.delete(vhost);
    try {
      await recordDefaultExchangeRoutes(options.db, options.source.id, vhost, queues, new Date());
      if (routesWritten.size > 10_000) routesWritten.clear(); // Bounded: at worst, a few more writes.
      for (const queue of queues) routesWritten.set(`${vhost}\u0000${queue}`, Date.now());
      reported.delete(`routes ${vhost}`);
    } catch (error) {
      for (const queue of queues) noteDefaultRoute(vhost, queue);
      reportOnce(`routes ${vhost}`, `vhost ${vhost}: storing the default exchange's routes failed (tried again at the next refresh): ${oneLine((error as Error).message)}`);
    }
  };

  // --- declaring and reading the streams -------------------------------------------------------
  /** What was logged about each exchange's problem, so that a refresh repeats nothing. */
  const reported = new Map<string, string>();
  const reportOnce = (key: string, line: string) => {
    if (reported.get(key) === line) return;
    reported.set(key, line);
    log(line);
  };

  /** Declares the stream queue and its bindings, on a channel of its own (a refused declaration closes its channel). */
  const declare = async (link: VhostLink, plan: CollectedExchange) => {
    const channel = await link.connection.createChannel();
    channel.on("error", () => {});
    try {
      await channel.assertQueue(plan.queue, {
        durable: true,
        arguments: {
          "x-queue-type": "stream",
          "x-max-age": STREAM_MAX_AGE,
          "x-max-length-bytes": { "!": "long", value: STREAM_MAX_LENGTH_BYTES },
          "x-stream-max-segment-size-bytes": { "!": "long", value: STREAM_MAX_SEGMENT_SIZE_BYTES },
        },
      });
      // What the plan no longer wants (a key nobody else binds now, "#" once the user's bindings are
      // mirrored) goes after what it wants is bound: a queue gets a message once however many of its
      // bindings match, so the change neither loses nor doubles a message.
      const unbindStale = async () => {
        for (const stale of plan.staleBindings) await channel.unbindQueue(stale.queue, plan.exchange, stale.routingKey, stale.arguments);
      };
      if (plan.relayQueue === null) {
        for (const binding of plan.bindings) await channel.bindQueue(plan.queue, plan.boundExchange, binding.routingKey, binding.arguments);
        await unbindStale();
        return;
      }
      await channel.assertQueue(plan.relayQueue, {
        durable: true,
        arguments: { "x-queue-type": "classic", "x-max-length-bytes": { "!": "long", value: RELAY_MAX_LENGTH_BYTES } },
      });
      for (const binding of plan.bindings) await channel.bindQueue(plan.relayQueue, plan.boundExchange, binding.routingKey, binding.arguments);
      await unbindStale();
      if (plan.relaysTraceCopies) return; // Its stream was never bound to anything.
      // An exchange that became a dead-letter exchange since its stream was bound: the stream's own
      // bindings go (idempotent: unbinding what is not bound is no error), else it would get every
      // message twice. (What arrived in between both ways is stored twice.)
      for (const binding of plan.bindings) await channel.unbindQueue(plan.queue, plan.boundExchange, binding.routingKey, binding.arguments);
    } finally {
      await channel.close().catch(() => {});
    }
  };

  const startConsumer = async (link: VhostLink, plan: CollectedExchange, storedPosition: bigint | undefined) => {
    const channel = await link.connection.createChannel();
    const consumer: StreamConsumer = {
      plan,
      channel,
      consumerTag: null,
      closed: false,
      lastPosition: storedPosition ?? null,
      pending: { rows: [], bytes: 0, last: null },
      flushTimer: null,
    };
    channel.on("error", () => {});
    channel.on("close", () => {
      consumer.closed = true;
      if (consumer.flushTimer) clearTimeout(consumer.flushTimer);
      if (link.consumers.get(plan.queue) === consumer) link.consumers.delete(plan.queue);
    });
    await channel.prefetch(prefetch);
    // After the highest stored position; none stored: the stream's first message (it was declared
    // by us, so it holds nothing older than Eventscope's interest), or, with EVENTSCOPE_START=latest
    // on the first listing, only what arrives from now on.
    const offset =
      storedPosition !== undefined
        ? { "!": "long", value: Number(storedPosition + 1n) }
        : config.start === "latest" && initialChannels.get(link.vhost)?.has(plan.channel)
          ? "next"
          : "first";
    const { consumerTag } = await channel.consume(
      plan.queue,
      (message) => {
        if (message === null) {
          // Cancelled by the broker (the queue was deleted): declared and read again at the next refresh.
          log(`${plan.queue}: the broker cancelled the consumer (queue deleted?); declaring it again at the next refresh`);
          consumer.closed = true;
          link.consumers.delete(plan.queue);
          void channel.close().catch(() => {});
          return;
        }
        onDelivery(consumer, message);
      },
      { noAck: false, arguments: { "x-stream-offset": offset } },
    );
    consumer.consumerTag = consumerTag;
    link.consumers.set(plan.queue, consumer);
  };

  /**
   * Drains a relay queue into its stream: each message is published into the stream (confirmed)
   * before it is acknowledged, so none is lost; one relayed when the collector crashed between the
   * confirm and the acknowledgement is in the stream twice (stored twice, at two positions). stop()
   * cancels the relay and waits for the confirms in flight, so a stop relays nothing twice. What the
   * relay receives that is not to be relayed (defaultExchangePublishOfCopy) is acknowledged in order.
   */
  const startRelay = async (link: VhostLink, plan: CollectedExchange, relayQueue: string) => {
    const channel = await link.connection.createConfirmChannel();
    channel.on("error", () => {});
    channel.on("close", () => {
      if (link.relays.get(relayQueue)?.channel === channel) link.relays.delete(relayQueue);
    });
    await channel.prefetch(prefetch);
    const routedOf = (message: amqp.ConsumeMessage): RoutedMessage | null =>
      plan.relaysTraceCopies
        ? defaultExchangePublishOfCopy(message.fields.routingKey, message.properties.headers as Record<string, unknown> | undefined, message.content)
        : { exchange: message.fields.exchange, routingKey: message.fields.routingKey, properties: message.properties as unknown as Record<string, unknown>, body: message.content };
    /** Settles in delivery order: a message not relayed is acknowledged after every confirm before it. */
    let settled: Promise<void> = Promise.resolve();
    const { consumerTag } = await channel.consume(
      relayQueue,
      (message) => {
        if (message === null) {
          link.relays.delete(relayQueue);
          void channel.close().catch(() => {});
          return;
        }
        const routed = routedOf(message);
        if (routed === null) {
          settled = settled.then(() => {
            try {
              channel.ack(message);
            } catch {
              // The channel closed: handed over again after reconnecting, and dropped again.
            }
          });
          return;
        }
        const { content, options } = relayPublishOf(routed);
        const confirmed = new Promise<boolean>((resolve) => {
          try {
            channel.publish("", plan.queue, content, options, (error) => resolve(!error));
          } catch {
            resolve(false); // The channel closed: the message stays in the relay queue, relayed after reconnecting.
          }
        });
        settled = settled.then(async () => {
          const ok = await confirmed;
          try {
            if (ok) channel.ack(message);
            else channel.nack(message, false, true);
          } catch {
            // The channel closed meanwhile: nothing to settle any more.
          }
        });
      },
      { noAck: false },
    );
    link.relays.set(relayQueue, { channel, consumerTag, settled: () => settled });
  };

  /** Lists the vhost's exchanges, declares and binds what is new, starts the consumers that are missing. */
  const refresh = async (link: VhostLink) => {
    let plans: CollectedExchange[];
    try {
      const [exchanges, bindings, queues, policies] = await Promise.all([
        management.exchanges(link.vhost),
        management.bindings(link.vhost),
        management.queues(link.vhost),
        // Without them a policy's dead-letter exchange is known once the queue listing shows it.
        management.policies(link.vhost).catch((error: unknown) => {
          reportOnce(`policies ${link.vhost}`, `vhost ${link.vhost}: listing policies failed (dead-letter exchanges set by policies are known once the queues show them): ${redact((error as Error).message)}`);
          return [];
        }),
      ]);
      const filter = { include: sourceConfig.exchangesInclude, exclude: sourceConfig.exchangesExclude };
      const plan = planCollectedExchanges(options.source.name, link.vhost, exchanges, bindings, deadLetterExchangesOf(queues, policies), filter, {
        unroutable: sourceConfig.unroutable,
        policies,
      });
      for (const skipped of plan.skipped) reportOnce(`skip ${skipped.vhost} ${skipped.exchange}`, `vhost ${skipped.vhost}: exchange ${skipped.exchange} not collected: ${skipped.reason}`);
      plans = plan.collected;
      // With tracing on, the firehose copies publishes to the default exchange, which nothing can be bound to.
      if (sourceConfig.deliveries === "firehose" && passesExchangeFilter(DEFAULT_EXCHANGE, filter)) {
        plans.push(defaultExchangePlan(options.source.name, link.vhost));
      }
      warnOfUnseenDeadLetters(link.vhost, queuesDeadLetteringUnseen(queues, { include: sourceConfig.queuesInclude, exclude: sourceConfig.queuesExclude }));
      if (!initialChannels.has(link.vhost)) initialChannels.set(link.vhost, new Set(plans.map((p) => p.channel)));
      if (errors.has("management")) log(`management API answers again (${management.url})`);
      setError("management", null);
    } catch (error) {
      const message = (error as Error).message;
      if (!errors.has("management")) log(`listing exchanges failed (tried again in ${Math.round(refreshMs / 1000)} s; collection goes on): ${redact(message)}`);
      setError("management", message);
      return;
    }
    lastPollAt = new Date();
    if (sourceConfig.deliveries === "firehose") await refreshDeliveries(link);
    await writeDefaultRoutes(link.vhost);
    const starting: CollectedExchange[] = [];
    for (const plan of plans) {
      if (link.closed || stopped) return;
      try {
        const started = Date.now();
        await declare(link, plan);
        bindingTimes.declared(plan, started, Date.now());
        reported.delete(`declare ${plan.queue}`);
      } catch (error) {
        if (link.closed) return;
        reportOnce(`declare ${plan.queue}`, `vhost ${link.vhost}: exchange ${plan.exchange} not collected: declaring ${plan.queue} failed: ${redact((error as Error).message)}`);
        continue;
      }
      if (!link.consumers.has(plan.queue)) starting.push(plan);
      if (plan.relayQueue !== null && !link.relays.has(plan.relayQueue)) {
        try {
          await startRelay(link, plan, plan.relayQueue);
          log(
            plan.relaysTraceCopies
              ? `relaying ${plan.relayQueue} into ${plan.queue} (the firehose's copies of publishes to the default exchange, ${plan.boundExchange} ${plan.bindings.map((b) => b.routingKey).join(" ")})`
              : `relaying ${plan.relayQueue} into ${plan.queue} (exchange ${plan.exchange} dead-letters, and RabbitMQ routes no dead letter into a stream)`,
          );
        } catch (error) {
          if (link.closed) return;
          reportOnce(`relay ${plan.relayQueue}`, `vhost ${link.vhost}: relaying ${plan.relayQueue} failed (tried again at the next refresh): ${redact((error as Error).message)}`);
        }
      }
    }
    if (starting.length === 0) return;
    let stored: Map<string, bigint>;
    try {
      stored = await highestStoredPositions(options.db, options.source.id, starting.map((plan) => plan.channel));
    } catch (error) {
      log(`reading the stored positions failed (streams started at the next refresh): ${oneLine((error as Error).message)}`);
      return;
    }
    for (const plan of starting) {
      if (link.closed || stopped) return;
      try {
        await startConsumer(link, plan, stored.get(plan.channel));
        log(`reading ${plan.queue} (exchange ${plan.exchange}, ${plan.type}) into channel ${plan.channel} from ${stored.has(plan.channel) ? `position ${stored.get(plan.channel)! + 1n}` : "its start"}`);
      } catch (error) {
        if (link.closed) return;
        reportOnce(`consume ${plan.queue}`, `vhost ${link.vhost}: reading ${plan.queue} failed (tried again at the next refresh): ${redact((error as Error).message)}`);
      }
    }
  };

  /** A health warning (logged when it changes) while some of the vhost's queues dead-letter where Eventscope cannot see. */
  const warnOfUnseenDeadLetters = (vhost: string, queues: string[]) => {
    const key = `${vhost}\u0000dead letters unseen`;
    if (queues.length === 0) {
      if (warnings.delete(key)) log(`vhost ${vhost}: no queue dead-letters through the default exchange any more`);
      return;
    }
    const shown = queues.length > 5 ? `${queues.slice(0, 5).join(", ")} and ${queues.length - 5} more` : queues.join(", ");
    const warning =
      `dead letters of ${queues.length === 1 ? "queue" : "queues"} ${shown} (vhost ${vhost}) are not collected: ` +
      `they dead-letter through the default exchange, which nothing can be bound to and the firehose does not copy; give them a named dead-letter exchange`;
    if (warnings.get(key) !== warning) log(warning);
    warnings.set(key, warning);
  };

  /**
   * `deliveries: firehose`: says (health warning, log once) whether the vhost's tracing is off,
   * which only the user may change, and keeps its deliveries consumer running either way (copies
   * arrive once tracing is turned on).
   */
  const refreshDeliveries = async (link: VhostLink) => {
    try {
      const { tracing } = await management.vhost(link.vhost);
      if (tracing) {
        if (warnings.delete(link.vhost)) log(`vhost ${link.vhost}: tracing is on; deliveries are seen`);
      } else {
        const warning = `deliveries are not seen: tracing is off on vhost ${link.vhost} (run rabbitmqctl trace_on -p ${link.vhost}; Eventscope never turns it on)`;
        if (!warnings.has(link.vhost)) log(warning);
        warnings.set(link.vhost, warning);
      }
    } catch (error) {
      reportOnce(`tracing ${link.vhost}`, `vhost ${link.vhost}: reading whether tracing is on failed (tried again at the next refresh): ${redact((error as Error).message)}`);
    }
    if (link.closed || stopped || (link.deliveries !== null && !link.deliveries.closed)) return;
    try {
      link.deliveries = await startDeliveriesConsumer(link.connection, {
        db: options.db,
        sourceId: options.source.id,
        sourceName: options.source.name,
        vhost: link.vhost,
        extractOptions,
        log,
        prefetch,
        flushRows,
        flushMs,
        onStored: () => (deliveriesStoredAt = new Date()),
        onDatabaseError: (message) => setError("deliveries", message === null ? null : `database (deliveries): ${message}`),
      });
      reported.delete(`deliveries ${link.vhost}`);
      log(`reading deliveries of vhost ${link.vhost} from ${link.deliveries.queue} (bound to amq.rabbitmq.trace, deliver.#)`);
    } catch (error) {
      if (link.closed) return;
      reportOnce(`deliveries ${link.vhost}`, `vhost ${link.vhost}: reading deliveries failed (tried again at the next refresh): ${redact((error as Error).message)}`);
    }
  };

  const connectionUrl = (vhost: string) => amqpConnectionUrl(sourceConfig, vhost);

  /** One vhost, for as long as the collector runs: connect, refresh, and after a loss, again. */
  const runVhost = async (vhost: string) => {
    let failures = 0;
    let outageSince: number | null = null;
    while (!stopped) {
      let link: VhostLink | null = null;
      try {
        const connection = await amqp.connect(connectionUrl(vhost), {
          clientProperties: { connection_name: `eventscope-collector ${options.source.name} ${instanceId}` },
        });
        connections += 1;
        const current: VhostLink = { vhost, connection, closed: false, consumers: new Map(), relays: new Map(), deliveries: null };
        link = current;
        const lost: { error: Error | null } = { error: null };
        connection.on("error", (error: Error) => (lost.error = error));
        connection.on("close", () => {
          current.closed = true;
          for (const wake of wakers) wake();
        });
        links.set(vhost, current);
        if (outageSince !== null) {
          log(`RabbitMQ vhost ${vhost} reachable again after ${((Date.now() - outageSince) / 1000).toFixed(1)} s: resuming from the stored positions`);
        }
        outageSince = null;
        failures = 0;
        setError("broker", null);
        // What the lost connection had queued is stored first, so that reading resumes after it.
        await writer.drain(5_000);
        while (!stopped && !current.closed) {
          await refresh(current);
          if (!stopped && !current.closed) await sleep(refreshMs);
        }
        if (current.closed && !stopped) throw lost.error ?? new Error("the connection was closed by the broker");
      } catch (error) {
        if (stopped) break;
        const message = redact((error as Error).message);
        if (link) closeLink(link);
        if (outageSince === null) {
          outageSince = Date.now();
          log(`RabbitMQ vhost ${vhost} unavailable (reconnecting with backoff, ${reconnectMinMs / 1000} s … ${reconnectMaxMs / 1000} s): ${message}`);
        }
        setError("broker", `RabbitMQ vhost ${vhost}: ${message}`);
        await sleep(Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(failures, 10)));
        failures += 1;
      }
    }
  };

  /** Marks a link's consumers closed (their rows queued are still stored; nothing of theirs is acknowledged). */
  const closeLink = (link: VhostLink) => {
    link.closed = true;
    for (const consumer of link.consumers.values()) {
      consumer.closed = true;
      flush(consumer);
    }
    link.consumers.clear();
    void link.connection.close().catch(() => {});
  };

  const vhostsRunning = sourceConfig.vhosts.map((vhost) =>
    runVhost(vhost).catch((error: unknown) => log(`vhost ${vhost}: collector loop failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)),
  );

  // --- health, retention, flows ----------------------------------------------------------------
  const health = startHealthReporter({
    db: options.db,
    log,
    identity: { instanceId, sourceId: options.source.id },
    intervalMs: options.healthIntervalMs,
    snapshot: () => {
      // The broker pushes deliveries: while every vhost's connection is up, the collector is reading
      // (an idle exchange delivers nothing, which is no sign of a stall).
      if (links.size === sourceConfig.vhosts.length && [...links.values()].every((link) => !link.closed)) lastPollAt = new Date();
      const error = latestError();
      return {
        lastPollAt,
        lastStoredAt: latestDate(writer.getStats().lastStoredAt, deliveriesStoredAt),
        lastAdminPollAt: lastAdminPollAt ?? undefined,
        ownLag: null,
        lastError: error?.message ?? null,
        lastErrorAt: error?.at ?? null,
        stalled: [],
        warnings: [...warnings.values()],
        deliveries: sourceConfig.deliveries === "firehose",
      };
    },
  });
  const retention = startRetentionTimer({ db: options.db, config, log, intervalMs: options.pruneIntervalMs });
  const flowFolder = (options.flows ?? config.flows)
    ? startFlowFolder({ db: options.db, log, intervalMs: options.flowFoldMs, compensations: config.compensations })
    : null;

  let stopping: Promise<void> | null = null;
  return {
    instanceId,
    noteAdminPoll(at) {
      lastAdminPollAt = at;
    },
    stats() {
      const writerStats = writer.getStats();
      return {
        instanceId,
        channels: [...links.values()].flatMap((link) => [...link.consumers.values()].map((consumer) => consumer.plan.channel)).sort(),
        storedRows: writerStats.storedRows,
        insertedRows: writerStats.insertedRows,
        queuedRows: writerStats.queuedRows,
        connections,
        lastError: latestError()?.message ?? null,
        deliveries: [...links.values()].reduce(
          (sum, link) => {
            const counts = link.deliveries?.stats() ?? { stored: 0, ignored: 0 };
            return { stored: sum.stored + counts.stored, ignored: sum.ignored + counts.ignored };
          },
          { stored: 0, ignored: 0 },
        ),
      };
    },
    stop() {
      return (stopping ??= (async () => {
        const deadline = Date.now() + stopTimeoutMs;
        const left = () => Math.max(0, deadline - Date.now());
        stopped = true;
        const healthStopped = health.stop();
        for (const wake of wakers) wake();
        const retentionStopped = retention.stop();
        const foldStopped = flowFolder?.stop();
        // Relays first, with the confirms in flight (what they republished is read from the streams
        // next time); then stop deliveries, store what was received and acknowledge it, close.
        const relays = [...links.values()].flatMap((link) => [...link.relays.values()]);
        await settlesWithin(
          Promise.all(relays.map((relay) => relay.channel.cancel(relay.consumerTag).then(() => relay.settled()).catch(() => {}))),
          Math.min(2_000, left()),
        );
        const consumers = [...links.values()].flatMap((link) => [...link.consumers.values()]);
        await settlesWithin(
          Promise.all(consumers.map((c) => (c.consumerTag && !c.closed ? c.channel.cancel(c.consumerTag).catch(() => {}) : undefined))),
          Math.min(2_000, left()),
        );
        for (const consumer of consumers) flush(consumer);
        const deliveries = [...links.values()].flatMap((link) => (link.deliveries ? [link.deliveries] : []));
        await Promise.all(deliveries.map((consumer) => consumer.stop(Math.max(0, left() - 2_000))));
        const drained = await writer.drain(Math.max(0, left() - 1_500));
        const dropped = await writer.stop();
        if (!drained && dropped > 0) log(`stopped with ${dropped} messages unstored and unacknowledged: they will be read again`);
        for (const link of links.values()) {
          link.closed = true;
          await settlesWithin(link.connection.close().catch(() => {}), Math.min(1_000, left()));
        }
        await settlesWithin(Promise.all(vhostsRunning), Math.min(1_000, left()));
        await settlesWithin(retentionStopped, left());
        await settlesWithin(foldStopped, left());
        await settlesWithin(healthStopped, left());
        await settlesWithin(health.writeNow(), left());
      })());
    },
  };
}

function latestDate(a: Date | null, b: Date | null): Date | null {
  return a === null ? b : b === null || a >= b ? a : b;
}
