"use client";

import Link from "next/link";
import { schemaHistoryHref } from "@/lib/api-schemas/schema-history";
import { useEffect, useState } from "react";
import {
  type ExchangeNode,
  type FlowEdge,
  type FlowGraph,
  type GraphNodeId,
  type GroupDetail,
  type QueueNode,
  type RabbitConsumerNode,
  splitNodeId,
  type TopicDetail,
} from "@/lib/api-schemas/graph";
import { eventHref, sourceQuery } from "@/lib/api-schemas/events";
import { groupHref, type StoredGroupHealth } from "@/lib/api-schemas/groups";
import { whoConsumesHref } from "@/lib/api-schemas/who-consumes";
import { formatDuration } from "@/lib/format-duration";
import { formatCount } from "@/lib/format-number";
import { formatRate } from "./format";

type Detail = { kind: "topic"; detail: TopicDetail } | { kind: "group"; detail: GroupDetail };
type LoadState = { id: string; detail: Detail | null; error: string | null };

async function fetchDetail(id: GraphNodeId, signal: AbortSignal): Promise<Detail | null> {
  const { kind, name, source } = splitNodeId(id);
  // A producer's and RabbitMQ's nodes are told in full by the graph itself.
  if (kind !== "topic" && kind !== "group") return null;
  const path = kind === "topic" ? `/api/graph/topics/${encodeURIComponent(name)}` : `/api/graph/groups/${encodeURIComponent(name)}`;
  const url = `${path}${sourceQuery(source)}`;
  const response = await fetch(url, { signal, cache: "no-store" });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { message?: string } | null;
    throw new Error(body?.message ?? `the server answered ${response.status}`);
  }
  return kind === "topic" ? { kind, detail: (await response.json()) as TopicDetail } : { kind, detail: (await response.json()) as GroupDetail };
}

/**
 * The side panel of the selected node. Fetches the node's details when the selection changes and
 * again whenever the graph was refreshed (`refreshedAt`), keeping what it showed while loading.
 */
export function NodePanel({ id, graph, refreshedAt, onClose }: { id: GraphNodeId; graph: FlowGraph; refreshedAt: string; onClose: () => void }) {
  const [state, setState] = useState<LoadState>({ id, detail: null, error: null });

  useEffect(() => {
    const controller = new AbortController();
    fetchDetail(id, controller.signal).then(
      (detail) => setState({ id, detail, error: null }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState((previous) => ({ id, detail: previous.id === id ? previous.detail : null, error: error instanceof Error ? error.message : String(error) }));
      },
    );
    return () => controller.abort();
  }, [id, refreshedAt]);

  const { kind, name } = splitNodeId(id);
  const current = state.id === id ? state : { id, detail: null, error: null };
  const fetched = kind === "topic" || kind === "group";
  const exchange = kind === "exchange" ? graph.exchanges.find((e) => e.id === id) : undefined;
  const queue = kind === "queue" ? graph.queues.find((q) => q.id === id) : undefined;
  const consumer = kind === "consumer" ? graph.consumers.find((c) => c.id === id) : undefined;
  return (
    <aside className="graph-panel" aria-label={`Details of ${kind} ${name}`}>
      <div className="graph-panel-head">
        <div>
          <div className="graph-panel-kind">{PANEL_KIND[kind]}</div>
          <h2 className="graph-panel-title">{kind === "producer" && name.startsWith("?") ? `unknown producer of ${name.slice(1)}` : name}</h2>
        </div>
        <button type="button" className="graph-panel-close" onClick={onClose} aria-label="Close details">
          ×
        </button>
      </div>
      {current.error && <p className="graph-panel-error">Could not load the details: {current.error}</p>}
      {kind === "producer" && <ProducerPanel id={id} name={name} graph={graph} />}
      {current.detail?.kind === "topic" && <TopicPanel detail={current.detail.detail} graph={graph} />}
      {current.detail?.kind === "group" && <GroupPanel detail={current.detail.detail} />}
      {exchange && <ExchangePanel exchange={exchange} graph={graph} />}
      {queue && <QueuePanel queue={queue} graph={graph} />}
      {consumer && <RabbitConsumerPanel consumer={consumer} graph={graph} />}
      {fetched && !current.detail && !current.error && <p className="graph-panel-muted">Loading…</p>}
    </aside>
  );
}

const PANEL_KIND: Record<ReturnType<typeof splitNodeId>["kind"], string> = {
  producer: "producer",
  topic: "topic",
  group: "consumer group",
  exchange: "RabbitMQ exchange",
  queue: "RabbitMQ queue",
  consumer: "RabbitMQ consumer",
};

/** A node's name from its id, as the panels' tables show it (`exchange:email` → email). */
function nameOf(id: string): string {
  return id.slice(id.indexOf(":") + 1);
}

/** The edges of a kind that leave (`from`) or reach (`to`) a node. */
function edgesOf(graph: FlowGraph, id: string, kind: FlowEdge["kind"], end: "from" | "to"): FlowEdge[] {
  return graph.edges.filter((e) => e.kind === kind && (end === "from" ? e.source === id : e.target === id));
}

/** Routing keys in full, "" shown as such (a fanout's or a headers exchange's binding). */
function routingKeysText(keys: readonly string[] | undefined): string {
  return (keys ?? []).map((k) => (k === "" ? '""' : k)).join(", ");
}

/**
 * A node's edges of one kind as a table: the node at the other `end`, the routing keys (`keys`,
 * bindings), the rate, the lag (`lag`, consumers).
 */
function EdgeTable(props: { edges: readonly FlowEdge[]; end: "source" | "target"; header: string; empty: string; keys?: boolean; lag?: boolean }) {
  const { edges, end, header, empty, keys = false, lag = false } = props;
  if (edges.length === 0) return <p className="graph-panel-muted">{empty}</p>;
  return (
    <table className="graph-table">
      <thead>
        <tr>
          <th>{header}</th>
          {keys && <th>routing keys</th>}
          <th>rate</th>
          {lag && <th>lag</th>}
        </tr>
      </thead>
      <tbody>
        {edges.map((e) => (
          <tr key={e.id}>
            <td>{nameOf(e[end])}</td>
            {keys && <td>{routingKeysText(e.routingKeys)}</td>}
            <td>{formatRate(e.messagesPerSecond, e.estimated)}</td>
            {lag && <td>{formatCount(e.lag ?? null)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ExchangePanel({ exchange, graph }: { exchange: ExchangeNode; graph: FlowGraph }) {
  const publishers = edgesOf(graph, exchange.id, "produces", "to");
  // Routes into queues (bindings) and on into other exchanges (exchange-to-exchange bindings).
  const routes = edgesOf(graph, exchange.id, "routes", "from");
  const toQueues = routes.filter((e) => splitNodeId(e.target).kind !== "exchange");
  const onward = routes.filter((e) => splitNodeId(e.target).kind === "exchange");
  const fedBy = edgesOf(graph, exchange.id, "routes", "to");
  const deadLetteredBy = edgesOf(graph, exchange.id, "dead-letters", "to");
  return (
    <>
      <dl className="graph-facts">
        <dt>type</dt>
        <dd>{exchange.type ?? "not listed yet"}</dd>
        <dt>vhost</dt>
        <dd>{exchange.vhost}</dd>
        <dt>source</dt>
        <dd>{exchange.source}</dd>
        <dt>rate</dt>
        <dd>{formatRate(exchange.messagesPerSecond)} published in</dd>
      </dl>
      {deadLetteredBy.length > 0 && (
        <p>
          Dead-letter exchange of {deadLetteredBy.map((e) => nameOf(e.source)).join(", ")}.
        </p>
      )}
      <h3>Event types</h3>
      <EventTypeChips types={exchange.eventTypes} />
      <h3>Publishers</h3>
      <p>{publishers.length === 0 ? "none seen" : publishers.map((e) => `${nameOf(e.source)} (${formatRate(e.messagesPerSecond, e.estimated)})`).join(", ")}</p>
      <h3>Bound queues</h3>
      <EdgeTable edges={toQueues} end="target" header="queue" keys empty="no queue is bound to it" />
      {(onward.length > 0 || fedBy.length > 0) && (
        <>
          <h3>Exchange-to-exchange bindings</h3>
          {fedBy.length > 0 && <EdgeTable edges={fedBy} end="source" header="routes into it" keys empty="" />}
          {onward.length > 0 && <EdgeTable edges={onward} end="target" header="it routes on into" keys empty="" />}
        </>
      )}
      <p>
        <Link href={`/events?${new URLSearchParams({ topic: exchange.channel })}${sourceQuery(exchange.source, "&")}`}>Events of {exchange.channel} →</Link>
      </p>
      <p>
        <Link href={whoConsumesHref({ topic: exchange.channel })}>Who consumes {exchange.channel} →</Link>
      </p>
    </>
  );
}

function QueuePanel({ queue, graph }: { queue: QueueNode; graph: FlowGraph }) {
  const bound = edgesOf(graph, queue.id, "routes", "to");
  const consumers = edgesOf(graph, queue.id, "consumes", "from");
  const deadLettersTo = edgesOf(graph, queue.id, "dead-letters", "from");
  return (
    <>
      <dl className="graph-facts">
        <dt>type</dt>
        <dd>{queue.type}</dd>
        <HealthFact health={queue.health} />
        <dt>lag</dt>
        <dd>
          {queue.lag === null ? "unknown" : formatCount(queue.lag)}
          {queue.ready !== null && queue.unacknowledged !== null ? ` (${formatCount(queue.ready)} ready, ${formatCount(queue.unacknowledged)} unacked)` : ""}
        </dd>
        <dt>behind</dt>
        <dd>{queue.timeLagMs !== null ? formatDuration(queue.timeLagMs) : queue.timeLagUnknownReason ?? "unknown"}</dd>
        <dt>consumers</dt>
        <dd>{queue.consumers}</dd>
        {queue.deadLetters && <DeadLettersFact counts={queue.deadLetters} />}
        {deadLettersTo.length > 0 && (
          <>
            <dt>dead-letters to</dt>
            <dd>{deadLettersTo.map((e) => nameOf(e.target)).join(", ")}</dd>
          </>
        )}
      </dl>
      <h3>Bound from</h3>
      <EdgeTable edges={bound} end="source" header="exchange" keys empty="no exchange in the graph routes to it" />
      <h3>Consumed by</h3>
      <EdgeTable edges={consumers} end="target" header="service" empty="no consumers" />
      <p>
        <Link href={groupHref(queue.queueId, { source: queue.source })}>Queue {queue.name}: consumers, lag over time →</Link>
      </p>
    </>
  );
}

function RabbitConsumerPanel({ consumer, graph }: { consumer: RabbitConsumerNode; graph: FlowGraph }) {
  const queues = edgesOf(graph, consumer.id, "consumes", "to");
  return (
    <>
      <dl className="graph-facts">
        <dt>connection</dt>
        <dd>{consumer.named ? "client-provided name" : "RabbitMQ's name (the client gave none)"}</dd>
        <dt>consumers</dt>
        {consumer.consumers === 0 ? (
          <dd>none attached now: the queues below were last consumed under this name</dd>
        ) : (
          <>
            <dd>
              {consumer.consumers} on {consumer.channels} {consumer.channels === 1 ? "channel" : "channels"}
            </dd>
            <dt>prefetch</dt>
            <dd>{consumer.prefetch.map((p) => (p === 0 ? "unlimited" : String(p))).join(", ")}</dd>
            <dt>acks</dt>
            <dd>{consumer.autoAck ? "some consumers acknowledge automatically" : "manual"}</dd>
          </>
        )}
      </dl>
      <h3>Consumes</h3>
      <EdgeTable edges={queues} end="source" header="queue" lag empty="no queue" />
      {consumer.named && (
        <p>
          <Link href={whoConsumesHref({ service: consumer.name })}>What {consumer.name} consumes →</Link>
        </p>
      )}
    </>
  );
}

function ProducerPanel({ id, name, graph }: { id: string; name: string; graph: FlowGraph }) {
  const edges = graph.edges.filter((e) => e.source === id);
  const producer = graph.producers.find((p) => p.id === id);
  return (
    <>
      {producer && <p className="graph-panel-muted">last event {new Date(producer.lastSeenAt).toLocaleString()}</p>}
      <h3>Produces to</h3>
      <table className="graph-table">
        <thead>
          <tr>
            <th>topic or exchange</th>
            <th>rate</th>
          </tr>
        </thead>
        <tbody>
          {edges.map((e) => (
            <tr key={e.id}>
              <td>
                {e.target.startsWith("exchange") ? "exchange " : ""}
                {nameOf(e.target)}
              </td>
              <td>{formatRate(e.messagesPerSecond, e.estimated)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!name.startsWith("?") && (
        <p>
          <Link href={whoConsumesHref({ service: name })}>What {name} produces and consumes →</Link>
        </p>
      )}
    </>
  );
}

function TopicPanel({ detail, graph }: { detail: TopicDetail; graph: FlowGraph }) {
  const node = graph.topics.find((t) => t.topic === detail.topic);
  const producers = [...new Set(detail.producers.map((p) => p.producer))];
  return (
    <>
      <dl className="graph-facts">
        <dt>kind</dt>
        <dd>
          {detail.kind}
          {detail.of ? ` of ${detail.of}` : ""}
        </dd>
        <dt>rate</dt>
        <dd>{formatRate(node?.messagesPerSecond ?? null)} over the last minute</dd>
        <dt>messages</dt>
        <dd>{formatCount(node?.messages ?? null)}</dd>
        {node?.deadLetters && <DeadLettersFact counts={node.deadLetters} />}
      </dl>
      <h3>Event types</h3>
      <EventTypeChips types={detail.eventTypes} />
      <h3>Producers</h3>
      <p>{producers.length === 0 ? "none seen" : producers.map((p) => (p === "" ? "unknown producer" : p)).join(", ")}</p>
      <h3>Consumer groups</h3>
      {detail.consumers.length === 0 ? (
        <p className="graph-panel-muted">no group has committed offsets on this topic</p>
      ) : (
        <table className="graph-table">
          <thead>
            <tr>
              <th>group</th>
              <th>members</th>
              <th>lag</th>
            </tr>
          </thead>
          <tbody>
            {detail.consumers.map((g) => (
              <tr key={g.groupId}>
                <td>{g.groupId}</td>
                <td>{g.members.length}</td>
                <td>{formatCount(g.offsetLag)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Partitions</h3>
      <table className="graph-table">
        <thead>
          <tr>
            <th>#</th>
            <th>start</th>
            <th>end offset</th>
          </tr>
        </thead>
        <tbody>
          {detail.partitions.map((p) => (
            <tr key={p.partition}>
              <td>{p.partition}</td>
              <td>{formatCount(p.startOffset)}</td>
              <td>{formatCount(p.endOffset)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {detail.undecodable.length > 0 && (
        <>
          <h3>Could not be decoded</h3>
          <p className="graph-panel-muted">
            Each range was fetched again, then stored as one row flagged batch-undecodable and skipped.
          </p>
          <table className="graph-table">
            <thead>
              <tr>
                <th>#</th>
                <th>offsets</th>
                <th>error</th>
              </tr>
            </thead>
            <tbody>
              {detail.undecodable.map((u) => (
                <tr key={`${u.partition}/${u.fromOffset}`}>
                  <td>{u.partition}</td>
                  <td>
                    <Link href={eventHref({ source: detail.source, topic: detail.topic, partition: u.partition, offset: u.fromOffset })}>
                      {u.fromOffset === u.toOffset ? u.fromOffset : `${u.fromOffset}..${u.toOffset}`}
                    </Link>
                  </td>
                  <td>
                    {u.codec}: {u.error}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <p>
        <Link href={whoConsumesHref({ topic: detail.topic })}>Who consumes {detail.topic} →</Link>
      </p>
    </>
  );
}

/** A DLQ topic's or queue's dead letters, and how many are new. */
function DeadLettersFact({ counts }: { counts: { total: number; new: number } }) {
  return (
    <>
      <dt>dead letters</dt>
      <dd>
        {formatCount(counts.total)} ({formatCount(counts.new)} new)
      </dd>
    </>
  );
}

/** The event types seen on a topic or an exchange: who consumes each, and its schema history. */
function EventTypeChips({ types }: { types: readonly string[] }) {
  if (types.length === 0) return <p className="graph-panel-muted">none recognised</p>;
  return (
    <ul className="graph-chips">
      {types.map((type) => (
        <li key={type}>
          <Link href={whoConsumesHref({ type })}>{type}</Link>{" "}
          <Link href={schemaHistoryHref(type)} aria-label={`Schema history of ${type}`} title={`Schema history of ${type}`}>
            (schema)
          </Link>
        </li>
      ))}
    </ul>
  );
}

/** A group's or a queue's health as the poller last judged it: its verdict and why. */
function HealthFact({ health }: { health: StoredGroupHealth | null }) {
  return (
    <>
      <dt>health</dt>
      <dd>
        <span className={`graph-health graph-health-badge-${(health?.status ?? "unknown").toLowerCase()}`}>{health?.status ?? "—"}</span>{" "}
        {health?.reason ?? "not judged yet"}
      </dd>
    </>
  );
}

function GroupPanel({ detail }: { detail: GroupDetail }) {
  return (
    <>
      <dl className="graph-facts">
        <dt>state</dt>
        <dd>{detail.state}</dd>
        <HealthFact health={detail.health} />
        <dt>total lag</dt>
        <dd>{formatCount(detail.totalLag)}</dd>
      </dl>
      <h3>Members</h3>
      {detail.members.length === 0 ? (
        <p className="graph-panel-muted">no live members</p>
      ) : (
        <table className="graph-table">
          <thead>
            <tr>
              <th>client id</th>
              <th>host</th>
              <th>assigned</th>
            </tr>
          </thead>
          <tbody>
            {detail.members.map((m) => (
              <tr key={m.memberId}>
                <td title={m.memberId}>{m.clientId}</td>
                <td>{m.clientHost}</td>
                <td>{m.assignments.map((a) => `${a.topic} [${a.partitions.join(", ")}]`).join("; ") || "nothing"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Lag per partition</h3>
      <table className="graph-table">
        <thead>
          <tr>
            <th>topic</th>
            <th>#</th>
            <th>committed</th>
            <th>end</th>
            <th>lag</th>
            <th>behind</th>
          </tr>
        </thead>
        <tbody>
          {detail.partitions.map((p) => (
            <tr key={`${p.topic}/${p.partition}`}>
              <td>{p.topic}</td>
              <td>{p.partition}</td>
              <td>{p.committedOffset === null ? "none" : formatCount(p.committedOffset)}</td>
              <td>{formatCount(p.endOffset)}</td>
              <td>{formatCount(p.offsetLag)}</td>
              <td>{p.timeLagMs === null ? "?" : formatDuration(p.timeLagMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <Link href={whoConsumesHref({ service: detail.groupId })}>Topics of {detail.groupId} →</Link>
      </p>
    </>
  );
}
