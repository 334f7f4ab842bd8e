import type { RabbitMqSourceConfig } from "../../sources-file.ts";
import { syncRabbitVhost, type Database, type RabbitVhostSnapshot, type SourceRef } from "../../db/index.ts";
import {
  createManagementClient,
  type ManagementBinding,
  type ManagementClient,
  type ManagementConnection,
  type ManagementConsumer,
  type ManagementExchange,
  type ManagementQueue,
} from "../../rabbitmq/management.ts";
import { startPollLoop } from "../poll-loop.ts";
import { isListedQueue } from "./bindings-plan.ts";

/**
 * The RabbitMQ queue poller: every EVENTSCOPE_POLL_MS, per collected vhost, a read-only look through
 * the management HTTP API at the queues (after the source's queuesInclude / queuesExclude; never
 * Eventscope's own `eventscope.*` queues), their bindings, their consumers with the connections
 * they came on, the exchanges with their types and publish rates (for the overview graph), stored by server/db
 * (rabbitmq-state.ts) with one lag sample per queue and each queue's health.
 *
 * Read-only: GETs only. One poller per source across collector instances (the source's advisory
 * lock, as the Kafka admin poller takes it). A failed poll is logged and retried at the next tick;
 * nothing here throws into the process.
 */

export interface RabbitQueuePollerOptions {
  source: SourceRef;
  config: RabbitMqSourceConfig;
  db: Database;
  log: (line: string) => void;
  /** Default: EVENTSCOPE_POLL_MS's default, 5 s (the CLI passes the configured value). */
  pollMs?: number;
  /** The window health is judged over; default the Kafka groups' (lib/lag-health.ts HEALTH_WINDOW_MS). */
  healthWindowMs?: number;
  /** Called after each successful poll. */
  onPoll?: (result: RabbitQueuePollResult) => void;
  /** For tests: the management client to use. */
  management?: ManagementClient;
}

export interface RabbitQueuePollResult {
  at: Date;
  vhosts: number;
  queues: number;
  durationMs: number;
}

const DEFAULT_POLL_MS = 5_000;

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** A connection's client-provided name: 3.10 reports it as user_provided_name and in the client properties. */
function clientProvidedName(connection: ManagementConnection | undefined): string | null {
  const name = connection?.user_provided_name ?? connection?.client_properties?.connection_name;
  return typeof name === "string" && name !== "" ? name : null;
}

/** The snapshot of one vhost from the management API's answers. */
export function toVhostSnapshot(
  vhost: string,
  config: Pick<RabbitMqSourceConfig, "queuesInclude" | "queuesExclude">,
  answers: {
    queues: ManagementQueue[];
    bindings: ManagementBinding[];
    consumers: ManagementConsumer[];
    connections: ManagementConnection[];
    exchanges?: ManagementExchange[];
  },
): RabbitVhostSnapshot {
  const filter = { include: config.queuesInclude, exclude: config.queuesExclude };
  // Eventscope's own queues (streams, relays) are not the user's: left out, as the Kafka
  // collector's own group is.
  const queues = answers.queues.filter((q) => isListedQueue(q.name, filter));
  const names = new Set(queues.map((q) => q.name));
  const connections = new Map(answers.connections.map((c) => [c.name, c]));
  return {
    vhost,
    // Every exchange but the default one (it has no name to draw, and nothing can be bound to it).
    ...(answers.exchanges
      ? {
          exchanges: answers.exchanges
            .filter((e) => e.name !== "")
            .map((e) => ({
              name: e.name,
              type: e.type,
              durable: e.durable,
              autoDelete: e.auto_delete,
              internal: e.internal,
              publishInRate: finite(e.message_stats?.publish_in_details?.rate),
            })),
        }
      : {}),
    queues: queues.map((q) => {
      const stats = q.message_stats ?? {};
      const processed =
        stats.ack === undefined && stats.deliver_no_ack === undefined && stats.get_no_ack === undefined
          ? null
          : (stats.ack ?? 0) + (stats.deliver_no_ack ?? 0) + (stats.get_no_ack ?? 0);
      const head = finite(q.head_message_timestamp);
      return {
        name: q.name,
        type: q.type ?? (typeof q.arguments["x-queue-type"] === "string" ? q.arguments["x-queue-type"] : "classic"),
        durable: q.durable,
        autoDelete: q.auto_delete,
        exclusive: q.exclusive ?? false,
        arguments: q.arguments ?? {},
        policy: q.policy ?? null,
        policyDefinition: q.effective_policy_definition ?? null,
        state: q.state ?? null,
        messagesReady: finite(q.messages_ready),
        messagesUnacknowledged: finite(q.messages_unacknowledged),
        consumers: finite(q.consumers),
        publishRate: finite(stats.publish_details?.rate),
        deliverRate: finite(stats.deliver_get_details?.rate),
        ackRate: finite(stats.ack_details?.rate),
        processedTotal: processed,
        // Seconds since the epoch (AMQP's timestamp property).
        headMessageAt: head === null ? null : new Date(head * 1000),
      };
    }),
    // The default exchange's implicit bindings (one per queue, routing key = the queue) say nothing.
    bindings: answers.bindings
      .filter((b) => b.destination_type === "queue" && b.source !== "" && names.has(b.destination))
      .map((b) => ({
        exchange: b.source,
        queue: b.destination,
        routingKey: b.routing_key,
        propertiesKey: b.properties_key ?? b.routing_key,
        arguments: b.arguments ?? {},
      })),
    // Exchange-to-exchange bindings (`exchange.bind`), listed with the exchanges.
    ...(answers.exchanges
      ? {
          exchangeBindings: answers.bindings
            .filter((b) => b.destination_type === "exchange" && b.source !== "")
            .map((b) => ({ from: b.source, to: b.destination, routingKey: b.routing_key, propertiesKey: b.properties_key ?? b.routing_key, arguments: b.arguments ?? {} })),
        }
      : {}),
    consumers: answers.consumers
      .filter((c) => names.has(c.queue.name))
      .map((c) => {
        const connection = connections.get(c.channel_details.connection_name);
        return {
          queue: c.queue.name,
          channel: c.channel_details.name,
          consumerTag: c.consumer_tag,
          connection: c.channel_details.connection_name,
          connectionName: clientProvidedName(connection),
          peerHost: c.channel_details.peer_host ?? connection?.peer_host ?? null,
          user: c.channel_details.user ?? connection?.user ?? null,
          ackRequired: c.ack_required,
          prefetchCount: c.prefetch_count,
          active: c.active ?? true,
          exclusive: c.exclusive ?? false,
        };
      }),
  };
}

/** One poll of every collected vhost; returns how many queues were stored. */
export async function pollRabbitQueuesOnce(
  management: ManagementClient,
  db: Database,
  sourceId: number,
  config: Pick<RabbitMqSourceConfig, "vhosts" | "queuesInclude" | "queuesExclude">,
  options: { at?: Date; healthWindowMs?: number } = {},
): Promise<{ vhosts: number; queues: number }> {
  const at = options.at ?? new Date();
  let queues = 0;
  for (const vhost of config.vhosts) {
    // Consumers before queues: a consumer that attaches between the two reads then shows in the
    // queue's count without a row, rather than a row on a queue that says it has no consumers.
    const [consumers, connections, bindings, exchanges] = await Promise.all([
      management.consumers(vhost),
      management.connections(vhost),
      management.bindings(vhost),
      management.exchanges(vhost),
    ]);
    const snapshot = toVhostSnapshot(vhost, config, { queues: await management.queues(vhost), bindings, consumers, connections, exchanges });
    await syncRabbitVhost(db, sourceId, snapshot, { at, healthWindowMs: options.healthWindowMs });
    queues += snapshot.queues.length;
  }
  return { vhosts: config.vhosts.length, queues };
}

/** Starts polling at once and then every pollMs; stop() ends it and releases the lock. */
export function startRabbitQueuePoller(opts: RabbitQueuePollerOptions): { stop(): Promise<void> } {
  const { config, db, log } = opts;
  const pollMs = opts.pollMs ?? DEFAULT_POLL_MS;
  const management =
    opts.management ??
    createManagementClient({ url: config.managementUrl, username: config.username, password: config.password, timeoutMs: Math.max(pollMs, 2_000) });

  return startPollLoop({
    name: "queue poller",
    pollMs,
    log,
    lock: { db, sourceId: opts.source.id, what: `the queues of ${management.url} (vhosts ${config.vhosts.join(", ")})` },
    tick: async (startedAt) => {
      const result = await pollRabbitQueuesOnce(management, db, opts.source.id, config, { at: startedAt, healthWindowMs: opts.healthWindowMs });
      opts.onPoll?.({ at: startedAt, ...result, durationMs: Date.now() - startedAt.getTime() });
    },
  });
}
