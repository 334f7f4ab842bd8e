import { Prisma } from "@prisma/client";
import type { ExchangeNode, FlowEdge, QueueNode, RabbitConsumerNode } from "../../../lib/api-schemas/graph.ts";
import { graphNodeId } from "../../../lib/api-schemas/graph.ts";
import { rabbitQueueId } from "../../../lib/api-schemas/groups.ts";
import { channelOfExchange, DEFAULT_EXCHANGE } from "../../../lib/rabbitmq-names.ts";
import { latestSampleSql, timeLagOf } from "./rabbitmq-queues.ts";
import { select, storedHealth, type Queryable, type StoredHealthColumns } from "./shared.ts";

/**
 * The RabbitMQ part of the overview's flow graph: exchanges → queues (through their bindings, with
 * routing keys) → consumers, and queues → their dead-letter exchanges, from what the queue poller
 * stored (rabbitmq_exchanges, rabbitmq_queues, rabbitmq_bindings, rabbitmq_consumers: a few rows per
 * queue) and the latest lag sample of each queue (its primary key). Publishers → exchanges are drawn
 * by getFlowGraph from the producers table, as Kafka's producers are: `targets` says where.
 *
 * Eventscope's own queues (`eventscope.*`: the collector's streams and relays), their bindings and
 * their consumers (the collector's) are not in these tables: the queue poller leaves them out, as
 * the collector's Kafka group is left out.
 */

export interface RabbitFlow {
  exchanges: ExchangeNode[];
  queues: QueueNode[];
  consumers: RabbitConsumerNode[];
  /** routes, consumes and dead-letters edges. */
  edges: FlowEdge[];
  /**
   * The exchange node publishers' edges go to, by (source id, channel) key (`<source id>\u0000<channel>`),
   * with its publish rate. Not dead-letter exchanges: what reaches one was dead-lettered by RabbitMQ
   * (its events keep the original publisher), and is drawn as coming from the queues that dead-letter
   * into it.
   */
  targets: Map<string, { id: string; messagesPerSecond: number | null }>;
}

export interface RabbitFlowInput {
  /** The rabbitmq sources: id → name. */
  sources: ReadonlyMap<number, string>;
  /** The producers table's rows (every source's; those of rabbitmq sources name exchanges' channels). */
  producers: readonly { source_id: number; topic: string; event_type: string }[];
  /** Dead letters by (source id, channel) key: RabbitMQ's are stored under their dead-letter exchange's channel. */
  deadLetters: ReadonlyMap<string, { total: number; new: number }>;
}

const round = (value: number) => Math.round(value * 100) / 100;
const finite = (value: number | null) => (value !== null && Number.isFinite(value) ? round(value) : null);
const key = (sourceId: number, name: string) => `${sourceId}\u0000${name}`;
/** An exchange's key: its source and the channel its events are stored under. */
const exchangeKey = (sourceId: number, vhost: string, exchange: string) => key(sourceId, channelOfExchange(vhost, exchange));

export async function readRabbitFlow(db: Queryable, input: RabbitFlowInput): Promise<RabbitFlow> {
  const empty: RabbitFlow = { exchanges: [], queues: [], consumers: [], edges: [], targets: new Map() };
  if (input.sources.size === 0) return empty;
  const ids = [...input.sources.keys()];
  const [exchangeRows, queueRows, bindingRows, consumerRows, defaultRouteRows, exchangeBindingRows] = await Promise.all([
    select<{ source_id: number; vhost: string; name: string; type: string; publish_in_rate: number | null }>(db, Prisma.sql`
      SELECT source_id, vhost, name, type, publish_in_rate FROM rabbitmq_exchanges WHERE source_id = ANY(${ids}::smallint[])`),
    select<
      {
        source_id: number;
        vhost: string;
        name: string;
        type: string;
        dlx: string | null;
        ready: string | null;
        unacked: string | null;
        lag: string | null;
        consumers: number | null;
        publish_rate: number | null;
        deliver_rate: number | null;
        ack_rate: number | null;
        time_lag_ms: string | null;
        consumer_names: string[] | null;
      } & StoredHealthColumns
    >(db, Prisma.sql`
      SELECT q.source_id, q.vhost, q.name, q.type, q.dead_letter_exchange AS dlx,
        q.messages_ready::text AS ready, q.messages_unacknowledged::text AS unacked,
        (q.messages_ready + q.messages_unacknowledged)::text AS lag, q.consumers, q.publish_rate, q.deliver_rate, q.ack_rate,
        q.health_status, q.health_reason, q.health_at, latest.time_lag_ms, q.consumer_names
      FROM rabbitmq_queues q ${latestSampleSql}
      WHERE q.source_id = ANY(${ids}::smallint[]) AND q.deleted_at IS NULL
      ORDER BY q.vhost, q.name, q.source_id`),
    select<{ source_id: number; vhost: string; exchange: string; queue: string; routing_key: string }>(db, Prisma.sql`
      SELECT source_id, vhost, exchange, queue, routing_key FROM rabbitmq_bindings WHERE source_id = ANY(${ids}::smallint[])`),
    select<{
      source_id: number;
      vhost: string;
      queue: string;
      channel: string;
      connection: string;
      connection_name: string | null;
      prefetch_count: number;
      ack_required: boolean;
    }>(db, Prisma.sql`
      SELECT source_id, vhost, queue, channel, connection, connection_name, prefetch_count, ack_required FROM rabbitmq_consumers
      WHERE source_id = ANY(${ids}::smallint[])`),
    select<{ source_id: number; vhost: string; queue: string }>(db, Prisma.sql`
      SELECT source_id, vhost, queue FROM rabbitmq_default_routes WHERE source_id = ANY(${ids}::smallint[])`),
    select<{ source_id: number; vhost: string; from_exchange: string; to_exchange: string; routing_key: string }>(db, Prisma.sql`
      SELECT source_id, vhost, from_exchange, to_exchange, routing_key FROM rabbitmq_exchange_bindings
      WHERE source_id = ANY(${ids}::smallint[]) ORDER BY source_id, vhost, from_exchange, to_exchange, routing_key`),
  ]);
  const nameOf = (sourceId: number) => input.sources.get(sourceId) ?? String(sourceId);
  const queueKey = (sourceId: number, vhost: string, name: string) => `${sourceId}\u0000${vhost}\u0000${name}`;

  // --- which exchanges are drawn: those messages were collected from (the producers table), those
  // bound to a drawn queue, and drawn queues' dead-letter exchanges. RabbitMQ's own amq.* only when
  // something flows through them; the default exchange "" as `amq.default` (a direct exchange the
  // listing leaves out) when its publishes were collected (`deliveries: firehose`).
  const exchangeRow = new Map(exchangeRows.map((e) => [exchangeKey(e.source_id, e.vhost, e.name), e]));
  const vhostsOf = new Map<number, Set<string>>();
  for (const row of [...exchangeRows, ...queueRows]) vhostsOf.set(row.source_id, (vhostsOf.get(row.source_id) ?? new Set()).add(row.vhost));
  /** A channel's vhost and exchange: `<vhost>/<exchange>` when the prefix is one of the source's vhosts. */
  const exchangeOfChannel = (sourceId: number, channel: string) => {
    const known = exchangeRow.get(key(sourceId, channel));
    if (known) return { vhost: known.vhost, exchange: known.name };
    const slash = channel.indexOf("/");
    const vhost = slash > 0 ? channel.slice(0, slash) : null;
    return vhost !== null && vhost !== "/" && vhostsOf.get(sourceId)?.has(vhost) ? { vhost, exchange: channel.slice(slash + 1) } : { vhost: "/", exchange: channel };
  };

  const drawn = new Map<string, { sourceId: number; vhost: string; exchange: string; types: Set<string>; published: boolean; bound: boolean; dlx: boolean }>();
  const note = (sourceId: number, vhost: string, exchange: string, how: "published" | "bound" | "dlx", type?: string) => {
    if (exchange === "") return;
    const k = exchangeKey(sourceId, vhost, exchange);
    const entry = drawn.get(k) ?? { sourceId, vhost, exchange, types: new Set<string>(), published: false, bound: false, dlx: false };
    entry[how] = true;
    if (type) entry.types.add(type);
    drawn.set(k, entry);
  };
  // An exchange messages were collected from but that its vhost's latest listing lacks was deleted
  // (the producers table remembers it): left out, as a deleted topic is.
  const listedVhosts = new Set(exchangeRows.map((e) => key(e.source_id, e.vhost)));
  for (const p of input.producers) {
    if (!input.sources.has(p.source_id)) continue;
    const { vhost, exchange } = exchangeOfChannel(p.source_id, p.topic);
    if (listedVhosts.has(key(p.source_id, vhost)) && !exchangeRow.has(key(p.source_id, p.topic)) && exchange !== DEFAULT_EXCHANGE) continue;
    note(p.source_id, vhost, exchange, "published", p.event_type || undefined);
  }
  const queueRowByKey = new Map(queueRows.map((q) => [queueKey(q.source_id, q.vhost, q.name), q]));
  const bindings = bindingRows.filter((b) => queueRowByKey.has(queueKey(b.source_id, b.vhost, b.queue)));
  for (const b of bindings) note(b.source_id, b.vhost, b.exchange, "bound");
  for (const q of queueRows) if (q.dlx) note(q.source_id, q.vhost, q.dlx, "dlx");
  // Exchanges bound to or from a drawn exchange (exchange-to-exchange bindings) are part of its flow.
  for (let size = -1; size !== drawn.size; ) {
    size = drawn.size;
    for (const b of exchangeBindingRows) {
      const [from, to] = [drawn.has(exchangeKey(b.source_id, b.vhost, b.from_exchange)), drawn.has(exchangeKey(b.source_id, b.vhost, b.to_exchange))];
      if (from !== to) note(b.source_id, b.vhost, from ? b.to_exchange : b.from_exchange, "bound");
    }
  }
  const rateOf = (k: string) => finite(exchangeRow.get(k)?.publish_in_rate ?? null);
  for (const [k, entry] of drawn) {
    const somethingFlows = entry.published || entry.dlx || (entry.bound && (rateOf(k) ?? 0) > 0);
    if (entry.exchange.startsWith("amq.") && !somethingFlows) drawn.delete(k);
  }

  // --- node ids: names on several sources say their source.
  const shared = (names: { sourceId: number; name: string }[]) => {
    const seen = new Map<string, Set<number>>();
    for (const { sourceId, name } of names) seen.set(name, (seen.get(name) ?? new Set()).add(sourceId));
    return new Set([...seen].filter(([, s]) => s.size > 1).map(([name]) => name));
  };
  const sharedExchanges = shared([...drawn.entries()].map(([k, e]) => ({ sourceId: e.sourceId, name: k.slice(k.indexOf("\u0000") + 1) })));
  const exchangeId = (sourceId: number, channel: string) => graphNodeId("exchange", channel, nameOf(sourceId), sharedExchanges.has(channel));
  const queueName = (vhost: string, name: string) => channelOfExchange(vhost, name);
  const sharedQueues = shared(queueRows.map((q) => ({ sourceId: q.source_id, name: queueName(q.vhost, q.name) })));
  const queueId = (sourceId: number, vhost: string, name: string) =>
    graphNodeId("queue", queueName(vhost, name), nameOf(sourceId), sharedQueues.has(queueName(vhost, name)));
  const consumerName = (c: (typeof consumerRows)[number]) => c.connection_name ?? c.connection;
  // A queue none consumes now keeps the names of those that did (consumer_names): still drawn, not attached.
  const remembered = queueRows.flatMap((q) =>
    (q.consumers ?? 0) > 0 || consumerRows.some((c) => c.source_id === q.source_id && c.vhost === q.vhost && c.queue === q.name)
      ? []
      : (q.consumer_names ?? []).map((name) => ({ q, name })),
  );
  const sharedConsumers = shared([
    ...consumerRows.map((c) => ({ sourceId: c.source_id, name: consumerName(c) })),
    ...remembered.map(({ q, name }) => ({ sourceId: q.source_id, name })),
  ]);
  const consumerId = (sourceId: number, name: string) => graphNodeId("consumer", name, nameOf(sourceId), sharedConsumers.has(name));

  // --- dead-letter exchanges and the queues bound to them (DLQs, flagged like Kafka's DLQ topics).
  // How many drawn queues dead-letter into each dead-letter exchange.
  const dlxUsers = new Map<string, number>();
  for (const q of queueRows) {
    if (!q.dlx) continue;
    const k = exchangeKey(q.source_id, q.vhost, q.dlx);
    dlxUsers.set(k, (dlxUsers.get(k) ?? 0) + 1);
  }
  const dlxKeys = new Set(dlxUsers.keys());
  const dlqExchanges = new Map<string, Set<string>>();
  for (const b of bindings) {
    const k = exchangeKey(b.source_id, b.vhost, b.exchange);
    if (dlxKeys.has(k)) {
      const qk = queueKey(b.source_id, b.vhost, b.queue);
      dlqExchanges.set(qk, (dlqExchanges.get(qk) ?? new Set()).add(k));
    }
  }

  const exchanges: ExchangeNode[] = [...drawn.entries()]
    .map(([k, e]): ExchangeNode => {
      const channel = channelOfExchange(e.vhost, e.exchange);
      return {
        id: exchangeId(e.sourceId, channel),
        source: nameOf(e.sourceId),
        vhost: e.vhost,
        exchange: e.exchange,
        channel,
        type: exchangeRow.get(k)?.type ?? (e.exchange === DEFAULT_EXCHANGE ? "direct" : null),
        messagesPerSecond: rateOf(k),
        eventTypes: [...e.types].sort(),
        deadLetterExchange: dlxKeys.has(k),
      };
    })
    .sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : a.source < b.source ? -1 : 1));
  const exchangeNodes = new Map(
    [...drawn.entries()].map(([k, e]) => [k, { id: exchangeId(e.sourceId, channelOfExchange(e.vhost, e.exchange)), messagesPerSecond: rateOf(k) }]),
  );
  const targets = new Map([...exchangeNodes].filter(([k]) => !dlxKeys.has(k)));

  const queues: QueueNode[] = queueRows.map((q) => {
    const dlxs = [...(dlqExchanges.get(queueKey(q.source_id, q.vhost, q.name)) ?? [])];
    const counts = dlxs.map((k) => input.deadLetters.get(k) ?? { total: 0, new: 0 });
    return {
      id: queueId(q.source_id, q.vhost, q.name),
      source: nameOf(q.source_id),
      vhost: q.vhost,
      name: q.name,
      queueId: rabbitQueueId(q.vhost, q.name),
      type: q.type,
      ready: q.ready,
      unacknowledged: q.unacked,
      lag: q.type === "stream" ? null : q.lag,
      consumers: q.consumers ?? 0,
      ...timeLagOf(q.type, q.lag, q.time_lag_ms),
      health: storedHealth(q),
      deadLetters: dlxs.length === 0 ? null : counts.reduce((sum, c) => ({ total: sum.total + c.total, new: sum.new + c.new }), { total: 0, new: 0 }),
    };
  });

  const edges: FlowEdge[] = [];

  // --- exchanges → queues: one edge per pair, with every routing key of its bindings. The rate is
  // the queue's publish rate; a queue bound from several exchanges shares it among them by their
  // publish rates (evenly when unknown): estimated.
  const routes = new Map<string, { exchange: string; queue: (typeof queueRows)[number]; keys: Set<string> }>();
  for (const b of bindings) {
    const k = exchangeKey(b.source_id, b.vhost, b.exchange);
    if (!drawn.has(k)) continue;
    const q = queueRowByKey.get(queueKey(b.source_id, b.vhost, b.queue))!;
    const pair = `${k}\u0000${b.vhost}\u0000${b.queue}`;
    const route = routes.get(pair) ?? { exchange: k, queue: q, keys: new Set<string>() };
    route.keys.add(b.routing_key);
    routes.set(pair, route);
  }
  // The default exchange routes to the queue its routing key names: the queues its publishes were
  // addressed to (rabbitmq_default_routes) that exist.
  for (const r of defaultRouteRows) {
    const k = exchangeKey(r.source_id, r.vhost, "");
    const q = queueRowByKey.get(queueKey(r.source_id, r.vhost, r.queue));
    if (!drawn.has(k) || !q) continue;
    routes.set(`${k}\u0000${r.vhost}\u0000${r.queue}`, { exchange: k, queue: q, keys: new Set([r.queue]) });
  }
  const routesOfQueue = new Map<string, string[]>();
  for (const route of routes.values()) {
    const qk = queueKey(route.queue.source_id, route.queue.vhost, route.queue.name);
    routesOfQueue.set(qk, [...(routesOfQueue.get(qk) ?? []), route.exchange]);
  }
  for (const route of routes.values()) {
    const q = route.queue;
    const from = exchangeNodes.get(route.exchange)!.id;
    const to = queueId(q.source_id, q.vhost, q.name);
    const siblings = routesOfQueue.get(queueKey(q.source_id, q.vhost, q.name)) ?? [];
    const queueRate = finite(q.publish_rate);
    let messagesPerSecond = queueRate;
    if (queueRate !== null && siblings.length > 1) {
      const rates = siblings.map((k) => rateOf(k) ?? 0);
      const total = rates.reduce((a, b) => a + b, 0);
      messagesPerSecond = round(total > 0 ? (queueRate * (rateOf(route.exchange) ?? 0)) / total : queueRate / siblings.length);
    }
    edges.push({
      id: `${from}->${to}`,
      source: from,
      target: to,
      kind: "routes",
      messagesPerSecond,
      estimated: siblings.length > 1,
      routingKeys: [...route.keys].sort(),
    });
  }

  // --- exchange → exchange (exchange-to-exchange bindings), with their routing keys. RabbitMQ counts
  // no rate per binding: none is drawn.
  const exchangeRoutes = new Map<string, { from: string; to: string; keys: Set<string> }>();
  for (const b of exchangeBindingRows) {
    const from = exchangeNodes.get(exchangeKey(b.source_id, b.vhost, b.from_exchange));
    const to = exchangeNodes.get(exchangeKey(b.source_id, b.vhost, b.to_exchange));
    if (!from || !to || from.id === to.id) continue;
    const pair = `${from.id}->${to.id}`;
    const route = exchangeRoutes.get(pair) ?? { from: from.id, to: to.id, keys: new Set<string>() };
    route.keys.add(b.routing_key);
    exchangeRoutes.set(pair, route);
  }
  for (const [id, route] of exchangeRoutes) {
    edges.push({ id, source: route.from, target: route.to, kind: "routes", messagesPerSecond: null, estimated: false, routingKeys: [...route.keys].sort() });
  }

  // --- queues → their dead-letter exchanges. The exchange's publish rate is the queue's dead-letter
  // rate only when no other drawn queue dead-letters into it.
  for (const q of queueRows) {
    if (!q.dlx) continue;
    const k = exchangeKey(q.source_id, q.vhost, q.dlx);
    const target = exchangeNodes.get(k);
    if (!target) continue;
    const from = queueId(q.source_id, q.vhost, q.name);
    edges.push({
      id: `${from}->${target.id}`,
      source: from,
      target: target.id,
      kind: "dead-letters",
      messagesPerSecond: dlxUsers.get(k) === 1 ? target.messagesPerSecond : null,
      estimated: false,
    });
  }

  // --- queues → consumers, one node per service (connection name). A queue's consumption rate (acks,
  // or deliveries when a consumer does not ack) is split among services by their share of its
  // consumers: estimated when it is shared.
  const consumerNodes = new Map<string, RabbitConsumerNode & { channelSet: Set<string>; prefetchSet: Set<number> }>();
  const newConsumerNode = (id: string, sourceId: number, name: string, named: boolean) => ({
    id,
    source: nameOf(sourceId),
    name,
    named,
    consumers: 0,
    channels: 0,
    prefetch: [],
    autoAck: false,
    channelSet: new Set<string>(),
    prefetchSet: new Set<number>(),
  });
  const perQueue = new Map<string, Map<string, typeof consumerRows>>();
  for (const c of consumerRows) {
    const qk = queueKey(c.source_id, c.vhost, c.queue);
    if (!queueRowByKey.has(qk)) continue;
    const name = consumerName(c);
    const id = consumerId(c.source_id, name);
    const node = consumerNodes.get(id) ?? newConsumerNode(id, c.source_id, name, c.connection_name !== null);
    node.consumers += 1;
    node.channelSet.add(c.channel);
    node.prefetchSet.add(c.prefetch_count);
    node.autoAck ||= !c.ack_required;
    consumerNodes.set(id, node);
    const byNode = perQueue.get(qk) ?? new Map<string, typeof consumerRows>();
    byNode.set(id, [...(byNode.get(id) ?? []), c]);
    perQueue.set(qk, byNode);
  }
  for (const [qk, byNode] of perQueue) {
    const q = queueRowByKey.get(qk)!;
    const all = [...byNode.values()].flat();
    const consumed = finite(all.every((c) => c.ack_required) ? (q.ack_rate ?? q.deliver_rate) : q.deliver_rate);
    const from = queueId(q.source_id, q.vhost, q.name);
    for (const [id, rows] of byNode) {
      edges.push({
        id: `${from}->${id}`,
        source: from,
        target: id,
        kind: "consumes",
        messagesPerSecond: consumed === null ? null : byNode.size === 1 ? consumed : round((consumed * rows.length) / all.length),
        estimated: byNode.size > 1,
        lag: q.type === "stream" ? null : q.lag,
      });
    }
  }
  for (const { q, name } of remembered) {
    if (!queueRowByKey.has(queueKey(q.source_id, q.vhost, q.name))) continue;
    const id = consumerId(q.source_id, name);
    if (!consumerNodes.has(id)) consumerNodes.set(id, newConsumerNode(id, q.source_id, name, true));
    const from = queueId(q.source_id, q.vhost, q.name);
    edges.push({ id: `${from}->${id}`, source: from, target: id, kind: "consumes", messagesPerSecond: 0, estimated: false, lag: q.type === "stream" ? null : q.lag });
  }
  const consumers: RabbitConsumerNode[] = [...consumerNodes.values()]
    .map(({ channelSet, prefetchSet, ...node }) => ({ ...node, channels: channelSet.size, prefetch: [...prefetchSet].sort((a, b) => a - b) }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  return { exchanges, queues, consumers, edges, targets };
}
