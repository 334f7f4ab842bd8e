import { channelOfExchange, OWN_QUEUE_PREFIX } from "../../../lib/rabbitmq-names.ts";
import { deadLetterTargetOf } from "../../../lib/dead-letter-conventions.ts";
import { isCollectedTopic, type TopicFilter } from "../topic-filter.ts";
import type { ManagementBinding, ManagementExchange, ManagementPolicy, ManagementQueue } from "../../rabbitmq/management.ts";
import type { RabbitMqUnroutableMode } from "../../sources-file.ts";

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
  /** Those of `bindings` that the listing shows bound already (before this collector started, or by an earlier refresh). */
  alreadyBound: StreamBinding[];
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
  options: {
    /** The source's `unroutable`: `collect` binds each stream for everything, `leave` mirrors the user's bindings. */
    unroutable: RabbitMqUnroutableMode;
    /** The vhost's policies: one may give an exchange an alternate exchange. */
    policies?: readonly ManagementPolicy[];
  } = { unroutable: "collect" },
): { collected: CollectedExchange[]; skipped: SkippedExchange[] } {
  const collected: CollectedExchange[] = [];
  const skipped: SkippedExchange[] = [];
  for (const exchange of exchanges) {
    const name = exchange.name;
    if (name === "" || name.startsWith("amq.")) continue;
    if (!passesExchangeFilter(name, filter)) continue;
    // An alternate exchange receives what the exchange cannot route: a stream bound for everything
    // would leave it nothing.
    const wholly = !hasAlternateExchange(exchange, options.policies ?? []) && (options.unroutable === "collect" || deadLetterExchanges.has(name));
    const streamBindings = bindingsFor(exchange, bindings, wholly);
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
        .map((b) => ({ routingKey: b.routing_key, arguments: b.arguments ?? {} })),
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
 * is in A's too: the binding of A's stream that matches the message (its key, its topic pattern;
 * for a headers exchange, the latest of them) was done before B's stream had any binding. When that
 * is not sure (A was first bound after B, or A's matching binding is newer than B's), B's copy is
 * stored as well: twice rather than never. Bindings the listing showed already count as bound from
 * the start, so after a restart B's copies are skipped.
 */
export class StreamBindingTimes {
  /** Per vhost and exchange: its type, and each binding of its stream (bindingKey) with when it began and was done. */
  private readonly exchanges = new Map<string, { type: CollectedExchangeType; bindings: Map<string, { routingKey: string; started: number; done: number }> }>();

  /** The plan's bindings were declared between `started` and `done` (ms): a binding seen for the first time gets these times, or 0 when the listing showed it already. */
  declared(plan: CollectedExchange, started: number, done: number): void {
    if (plan.relaysTraceCopies) return;
    const key = `${plan.vhost}\u0000${plan.exchange}`;
    const entry = this.exchanges.get(key) ?? { type: plan.type, bindings: new Map() };
    this.exchanges.set(key, entry);
    for (const binding of plan.bindings) {
      const id = bindingKey(binding);
      if (entry.bindings.has(id)) continue;
      const old = plan.alreadyBound.some((bound) => bindingKey(bound) === id);
      entry.bindings.set(id, old ? { routingKey: binding.routingKey, started: 0, done: 0 } : { routingKey: binding.routingKey, started, done });
    }
    for (const stale of plan.staleBindings) entry.bindings.delete(bindingKey(stale));
  }

  /** Whether a message that `plan`'s stream delivered, published to `origin` with `routingKeys`, is in origin's stream too (and is stored from there). */
  storedFromOrigin(plan: CollectedExchange, origin: string, routingKeys: readonly string[]): boolean {
    if (plan.relaysTraceCopies || origin === plan.exchange || origin === "") return false;
    const from = this.exchanges.get(`${plan.vhost}\u0000${origin}`);
    const own = this.exchanges.get(`${plan.vhost}\u0000${plan.exchange}`);
    if (!from || !own || own.bindings.size === 0) return false;
    // When origin's stream began to receive this message: the earliest of its bindings that match
    // it (a direct key, a topic pattern), or, for a headers exchange whose match is not worked out
    // here, the latest of all. None: not in origin's stream.
    const times = [...from.bindings.values()];
    let originDone: number | undefined;
    if (from.type === "headers") originDone = times.length === 0 ? undefined : Math.max(...times.map((t) => t.done));
    else {
      const matching = times.filter((t) => from.type === "fanout" || routingKeys.some((key) => (from.type === "topic" ? topicMatches(t.routingKey, key) : t.routingKey === key)));
      originDone = matching.length === 0 ? undefined : Math.min(...matching.map((t) => t.done));
    }
    // When this stream began to receive anything: the earliest of its bindings.
    const ownStarted = Math.min(...[...own.bindings.values()].map((t) => t.started));
    return originDone !== undefined && originDone <= ownStarted;
  }
}

/** Whether a topic exchange's binding pattern matches a routing key: words split by ".", "*" one word, "#" zero or more. */
export function topicMatches(pattern: string, routingKey: string): boolean {
  // RabbitMQ reads "" as no words at all (so "*" does not match it, "#" does).
  const words = pattern === "" ? [] : pattern.split(".");
  const keyWords = routingKey === "" ? [] : routingKey.split(".");
  const match = (p: number, k: number): boolean => {
    if (p === words.length) return k === keyWords.length;
    if (words[p] === "#") {
      for (let skip = k; skip <= keyWords.length; skip++) if (match(p + 1, skip)) return true;
      return false;
    }
    return k < keyWords.length && (words[p] === "*" || words[p] === keyWords[k]) && match(p + 1, k + 1);
  };
  return match(0, 0);
}

/**
 * Whether an exchange has an alternate exchange: its `alternate-exchange` argument, or a policy for
 * exchanges whose pattern matches its name (RabbitMQ applies only the policy of highest priority;
 * any match counts here, which at worst mirrors an exchange that could have been bound wholly).
 */
export function hasAlternateExchange(exchange: ManagementExchange, policies: readonly ManagementPolicy[]): boolean {
  const named = (value: unknown) => typeof value === "string" && value !== "";
  if (named(exchange.arguments?.["alternate-exchange"])) return true;
  return policies.some((policy) => {
    if ((policy["apply-to"] !== "exchanges" && policy["apply-to"] !== "all") || !named(policy.definition?.["alternate-exchange"])) return false;
    try {
      return new RegExp(policy.pattern).test(exchange.name);
    } catch {
      // A pattern JavaScript cannot read: taken to match, the safe side.
      return true;
    }
  });
}

/**
 * What binds the stream. `wholly` (`unroutable: collect`, and dead-letter exchanges, whose dead
 * letters no queue is bound for would otherwise vanish unseen): every message the exchange gets.
 * Otherwise what the exchange routes to some destination of the user's and nothing more: the
 * user's own bindings, mirrored (a topic exchange's patterns, a headers exchange's arguments; a
 * fanout exchange once anything is bound to it); a message none of them matches stays unroutable,
 * as without Eventscope: returned to a publisher that set `mandatory`, passed to the exchange's
 * alternate exchange. A direct exchange is always mirrored, key by key: no pattern matches them all.
 */
function bindingsFor(exchange: ManagementExchange, bindings: readonly ManagementBinding[], wholly: boolean): StreamBinding[] | null {
  const others = bindings.filter(
    (binding) => binding.source === exchange.name && !(binding.destination_type === "queue" && binding.destination.startsWith(OWN_QUEUE_PREFIX)),
  );
  switch (exchange.type) {
    case "topic": {
      const keys = new Set(others.map((binding) => binding.routing_key));
      // "#" matches every key: it alone is enough.
      return wholly || keys.has("#") ? [{ routingKey: "#", arguments: {} }] : [...keys].sort().map((routingKey) => ({ routingKey, arguments: {} }));
    }
    case "fanout":
      return wholly || others.length > 0 ? [{ routingKey: "", arguments: {} }] : [];
    case "headers": {
      // No header to match, all of them required: every message matches (checked on RabbitMQ 3.10).
      if (wholly) return [{ routingKey: "", arguments: { "x-match": "all" } }];
      const mirrored = new Map<string, StreamBinding>();
      for (const binding of others) {
        const mirror = { routingKey: "", arguments: binding.arguments ?? {} };
        mirrored.set(bindingKey(mirror), mirror);
      }
      return [...mirrored.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, mirror]) => mirror);
    }
    case "direct":
      return [...new Set(others.map((binding) => binding.routing_key))].sort().map((routingKey) => ({ routingKey, arguments: {} }));
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
