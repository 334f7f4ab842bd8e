import { channelOfExchange, OWN_QUEUE_PREFIX } from "../../../lib/rabbitmq-names.ts";
import { deadLetterTargetOf } from "../../../lib/dead-letter-conventions.ts";
import { isCollectedTopic, type TopicFilter } from "../topic-filter.ts";
import type { ManagementBinding, ManagementExchange, ManagementPolicy, ManagementQueue } from "../../rabbitmq/management.ts";

export { channelOfExchange, OWN_QUEUE_PREFIX };

/**
 * Collection mode `bindings` (README.md, "RabbitMQ"), as a pure function of what the management
 * API lists: which exchanges of a vhost are collected, the stream queue of Eventscope's own that
 * each gets, the events channel its messages are stored under, and the bindings that make the
 * stream receive every message the exchange routes.
 */

export type CollectedExchangeType = "topic" | "fanout" | "headers" | "direct";

export interface StreamBinding {
  routingKey: string;
  arguments: Record<string, unknown>;
}

export interface CollectedExchange {
  vhost: string;
  exchange: string;
  type: CollectedExchangeType;
  /** The stream queue: `eventscope.<source>.<exchange>`, or `eventscope.<source>.<vhost>.<exchange>` outside vhost "/". */
  queue: string;
  /** events.channel: the exchange's name, or `<vhost>/<exchange>` outside vhost "/". */
  channel: string;
  /** The exchange `bindings` are on: the exchange itself, or, for the default exchange, the firehose's (relay.ts). */
  boundExchange: string;
  /** What binds the stream (or the relay queue) to the exchange so that it receives every message the exchange routes. */
  bindings: StreamBinding[];
  /**
   * For an exchange that dead-letters (a queue's `x-dead-letter-exchange`, or a policy's
   * `dead-letter-exchange`): the classic queue of Eventscope's own that is bound instead of the
   * stream, and whose messages the collector relays into the stream. RabbitMQ 3.10 routes no
   * dead-lettered message into a stream queue (checked by the tests), but does into a classic one.
   * null for other exchanges: their stream is bound directly.
   */
  relayQueue: string | null;
  /** The relay queue receives firehose copies of the messages (the default exchange's), not the messages themselves. */
  relaysTraceCopies: boolean;
  /**
   * Bindings of Eventscope's own queues (the stream, the relay queue) from this exchange that the
   * plan no longer wants: a direct exchange's key that no other queue binds any more, or the
   * stream's bindings once the exchange dead-letters. The refresh removes them, so that the
   * stream does not go on storing what nobody else receives.
   */
  staleBindings: (StreamBinding & { queue: string })[];
}

export interface SkippedExchange {
  vhost: string;
  exchange: string;
  /** Why it is not collected, for the log. */
  reason: string;
}

export interface ExchangeFilter {
  include: RegExp | undefined;
  exclude: RegExp | undefined;
}

/** A queue of the user's that the source lists (queue poller, health): not Eventscope's own, and let through by `queues.include` / `queues.exclude`. */
export function isListedQueue(name: string, filter: TopicFilter): boolean {
  return !name.startsWith(OWN_QUEUE_PREFIX) && isCollectedTopic(name, filter);
}

/** Whether `exchanges.include` / `exchanges.exclude` let an exchange's name through. */
export function passesExchangeFilter(name: string, filter: ExchangeFilter): boolean {
  return (!filter.include || filter.include.test(name)) && !filter.exclude?.test(name);
}

/** `eventscope.<source>.<exchange>` (vhost "/") or `eventscope.<source>.<vhost>.<exchange>`. */
export function streamQueueName(source: string, vhost: string, exchange: string): string {
  return vhost === "/" ? `${OWN_QUEUE_PREFIX}${source}.${exchange}` : `${OWN_QUEUE_PREFIX}${source}.${vhost}.${exchange}`;
}

/**
 * The relay queue of a dead-letter exchange. `:` cannot be in a source's name, so no stream queue's
 * name (`eventscope.<source>.…`) is ever a relay's.
 */
export function relayQueueName(source: string, vhost: string, exchange: string): string {
  return vhost === "/" ? `${OWN_QUEUE_PREFIX}${source}:relay.${exchange}` : `${OWN_QUEUE_PREFIX}${source}:relay.${vhost}.${exchange}`;
}

/**
 * The exchanges of the vhost that receive dead letters: those a queue dead-letters into
 * (deadLetterTargetOf), and those any policy for queues names, whether or not a queue matches it
 * yet. The listing shows a queue's policy only once the management plugin has its first statistics
 * (about 5 s after the queue is declared or the policy set), and a dead letter routed into a stream
 * meanwhile would be lost to Eventscope; the policy itself is known at once. The default exchange
 * is left out: nothing can be bound to it.
 */
export function deadLetterExchangesOf(queues: readonly ManagementQueue[], policies: readonly ManagementPolicy[] = []): Set<string> {
  const found = new Set<string>();
  for (const queue of queues) {
    const target = deadLetterTargetOf(queue);
    if (target && target.exchange !== "") found.add(target.exchange);
  }
  for (const policy of policies) {
    const exchange = policy.definition?.["dead-letter-exchange"];
    if ((policy["apply-to"] === "queues" || policy["apply-to"] === "all") && typeof exchange === "string" && exchange !== "") found.add(exchange);
  }
  return found;
}

/**
 * The user's queues that dead-letter through the default exchange (`x-dead-letter-exchange: ""`,
 * the routing key naming the dead-letter queue): nothing can be bound to that exchange, and the
 * firehose copies no dead-lettering, so their dead letters cannot be collected. Sorted.
 */
export function queuesDeadLetteringUnseen(queues: readonly ManagementQueue[], filter: TopicFilter): string[] {
  return queues
    .filter((queue) => isListedQueue(queue.name, filter) && deadLetterTargetOf(queue)?.exchange === "")
    .map((queue) => queue.name)
    .sort();
}

/**
 * The exchanges of one vhost to collect, and those passed over with a reason. Not collected: the
 * default exchange "" and `amq.*` (RabbitMQ's own; a publish to the default exchange cannot be
 * bound to), those the filter leaves out (silently: the user asked), and types whose routing
 * cannot be matched by one binding (a plugin's x-consistent-hash, x-delayed-message, …).
 *
 * A direct exchange routes by exact key, so its stream is bound once per distinct routing key of
 * the exchange's bindings to other destinations (queues and exchanges that are not Eventscope's);
 * the caller refreshes the plan periodically so that new keys are picked up.
 */
export function planCollectedExchanges(
  source: string,
  vhost: string,
  exchanges: readonly ManagementExchange[],
  bindings: readonly ManagementBinding[],
  /** The exchanges that queues dead-letter into (deadLetterExchangesOf). */
  deadLetterExchanges: ReadonlySet<string>,
  filter: ExchangeFilter,
): { collected: CollectedExchange[]; skipped: SkippedExchange[] } {
  const collected: CollectedExchange[] = [];
  const skipped: SkippedExchange[] = [];
  for (const exchange of exchanges) {
    const name = exchange.name;
    if (name === "" || name.startsWith("amq.")) continue;
    if (!passesExchangeFilter(name, filter)) continue;
    const streamBindings = bindingsFor(exchange, bindings);
    if (streamBindings === null) {
      skipped.push({ vhost, exchange: name, reason: `exchange type ${exchange.type} cannot be bound to so as to receive every message it routes (collected types: topic, fanout, headers, direct)` });
      continue;
    }
    const queue = streamQueueName(source, vhost, name);
    const relayQueue = relayQueueName(source, vhost, name);
    const bound = deadLetterExchanges.has(name) ? relayQueue : queue;
    const wanted = new Set(streamBindings.map(bindingKey));
    collected.push({
      vhost,
      exchange: name,
      type: exchange.type as CollectedExchangeType,
      queue,
      channel: channelOfExchange(vhost, name),
      boundExchange: name,
      bindings: streamBindings,
      relayQueue: bound === relayQueue ? relayQueue : null,
      relaysTraceCopies: false,
      staleBindings: bindings
        .filter((b) => b.source === name && b.destination_type === "queue" && (b.destination === queue || b.destination === relayQueue))
        .filter((b) => b.destination !== bound || !wanted.has(bindingKey({ routingKey: b.routing_key, arguments: b.arguments ?? {} })))
        .map((b) => ({ queue: b.destination, routingKey: b.routing_key, arguments: b.arguments ?? {} })),
    });
  }
  return { collected, skipped };
}

function bindingsFor(exchange: ManagementExchange, bindings: readonly ManagementBinding[]): StreamBinding[] | null {
  switch (exchange.type) {
    case "topic":
      return [{ routingKey: "#", arguments: {} }];
    case "fanout":
      return [{ routingKey: "", arguments: {} }];
    case "headers":
      // No header to match, all of them required: every message matches (checked on RabbitMQ 3.10).
      return [{ routingKey: "", arguments: { "x-match": "all" } }];
    case "direct": {
      const keys = new Set<string>();
      for (const binding of bindings) {
        if (binding.source !== exchange.name) continue;
        if (binding.destination_type === "queue" && binding.destination.startsWith(OWN_QUEUE_PREFIX)) continue;
        keys.add(binding.routing_key);
      }
      return [...keys].sort().map((routingKey) => ({ routingKey, arguments: {} }));
    }
    default:
      return null;
  }
}

/** A binding's identity within its exchange and queue: routing key and arguments (in key order). */
function bindingKey(binding: StreamBinding): string {
  const args = Object.keys(binding.arguments)
    .sort()
    .map((key) => [key, binding.arguments[key]]);
  return JSON.stringify([binding.routingKey, args]);
}
