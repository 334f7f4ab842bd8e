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
  /** The routing keys of `bindings` that the listing shows bound already (before this collector started, or by an earlier refresh). */
  alreadyBound: string[];
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
      alreadyBound: bindings
        .filter((b) => b.source === name && b.destination_type === "queue" && b.destination === bound && wanted.has(bindingKey({ routingKey: b.routing_key, arguments: b.arguments ?? {} })))
        .map((b) => b.routing_key),
    });
  }
  return { collected: sourcesFirst(collected, bindings), skipped };
}

/**
 * The collected exchanges with each exchange before those it is bound into (exchange-to-exchange
 * bindings; in a cycle, the listing's order), so that at a first start an exchange's stream is
 * bound before the streams of the exchanges it routes into (StreamBindingTimes).
 */
function sourcesFirst(collected: CollectedExchange[], bindings: readonly ManagementBinding[]): CollectedExchange[] {
  const names = new Set(collected.map((c) => c.exchange));
  const feeders = new Map<string, Set<string>>();
  for (const b of bindings) {
    if (b.destination_type !== "exchange" || b.source === b.destination || !names.has(b.source) || !names.has(b.destination)) continue;
    feeders.set(b.destination, (feeders.get(b.destination) ?? new Set()).add(b.source));
  }
  const ordered: CollectedExchange[] = [];
  const placed = new Set<string>();
  let rest = collected;
  while (rest.length > 0) {
    const ready = rest.filter((c) => [...(feeders.get(c.exchange) ?? [])].every((f) => placed.has(f)));
    // A cycle: the first left goes next.
    const next = ready.length > 0 ? ready : [rest[0]!];
    for (const c of next) {
      ordered.push(c);
      placed.add(c.exchange);
    }
    rest = rest.filter((c) => !placed.has(c.exchange));
  }
  return ordered;
}

/**
 * Exchange-to-exchange bindings: a message published to exchange A and routed on into exchange B
 * reaches A's stream and B's, and B's delivery names A as its exchange. It is stored once, from A's
 * stream, when A's stream was surely bound before B's: then whatever reached B's stream through A
 * is in A's too. When that is not sure (A was first bound after B, a direct exchange's key later
 * than B's binding), B's copy is stored as well: twice rather than never. Bindings the listing
 * showed already count as bound from the start, so after a restart B's copies are skipped.
 */
export class StreamBindingTimes {
  /** Per vhost, exchange and binding (a direct exchange's routing key, else "*"): when its binding began and when it was done. */
  private readonly times = new Map<string, { started: number; done: number }>();
  private readonly types = new Map<string, CollectedExchangeType>();

  private static key(vhost: string, exchange: string, routingKey: string): string {
    return `${vhost}\u0000${exchange}\u0000${routingKey}`;
  }

  private bindingOf(type: CollectedExchangeType, routingKey: string): string {
    return type === "direct" ? routingKey : "*";
  }

  /** The plan's bindings were declared between `started` and `done` (ms): a binding seen for the first time gets these times, or 0 when the listing showed it already. */
  declared(plan: CollectedExchange, started: number, done: number): void {
    if (plan.relaysTraceCopies) return;
    this.types.set(`${plan.vhost}\u0000${plan.exchange}`, plan.type);
    for (const binding of plan.bindings) {
      const key = StreamBindingTimes.key(plan.vhost, plan.exchange, this.bindingOf(plan.type, binding.routingKey));
      if (this.times.has(key)) continue;
      this.times.set(key, plan.alreadyBound.includes(binding.routingKey) ? { started: 0, done: 0 } : { started, done });
    }
    for (const stale of plan.staleBindings) this.times.delete(StreamBindingTimes.key(plan.vhost, plan.exchange, this.bindingOf(plan.type, stale.routingKey)));
  }

  /** Whether a message that `plan`'s stream delivered, published to `origin` with `routingKeys`, is in origin's stream too (and is stored from there). */
  storedFromOrigin(plan: CollectedExchange, origin: string, routingKeys: readonly string[]): boolean {
    if (plan.relaysTraceCopies || origin === plan.exchange || origin === "") return false;
    const originType = this.types.get(`${plan.vhost}\u0000${origin}`);
    if (originType === undefined) return false;
    const originDone = this.earliest(plan.vhost, origin, originType, routingKeys, "done");
    const ownStarted = this.earliest(plan.vhost, plan.exchange, plan.type, routingKeys, "started");
    return originDone !== undefined && ownStarted !== undefined && originDone <= ownStarted;
  }

  private earliest(vhost: string, exchange: string, type: CollectedExchangeType, routingKeys: readonly string[], which: "started" | "done"): number | undefined {
    let found: number | undefined;
    for (const routingKey of type === "direct" ? routingKeys : ["*"]) {
      const time = this.times.get(StreamBindingTimes.key(vhost, exchange, routingKey))?.[which];
      if (time !== undefined && (found === undefined || time < found)) found = time;
    }
    return found;
  }
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
