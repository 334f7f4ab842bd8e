import Link from "next/link";
import { type ConsumingGroup, type ConsumingQueue, type TopicConsumers, type WhoConsumesAnswer, whoConsumesHref } from "@/lib/api-schemas/who-consumes";
import { groupHref } from "@/lib/api-schemas/groups";
import { overviewHref } from "@/lib/api-schemas/graph";
import { formatDuration } from "@/lib/format-duration";
import { formatCount } from "@/lib/format-number";

/** The answer to "who consumes X": its topics, the groups reading them with members and lag, its producers. */

export function describeQuery(query: WhoConsumesAnswer["query"]): { kind: string; value: string } {
  if ("type" in query) return { kind: "event type", value: query.type };
  if ("topic" in query) return { kind: "topic", value: query.topic };
  return { kind: "service", value: query.service };
}

const MATCHED: Record<TopicConsumers["matchedBy"][number], string> = {
  type: "carries it",
  topic: "the topic",
  "produced-by-service": "it produces to",
  "consumed-by-service": "it consumes",
};

export function WhoConsumesAnswerView({ answer }: { answer: WhoConsumesAnswer }) {
  const { kind, value } = describeQuery(answer.query);
  const type = "type" in answer.query ? answer.query.type : null;
  return (
    <>
      <section className="wc-summary" aria-label="Summary">
        <div>
          <h2>Topics</h2>
          <ul className="wc-list" aria-label="Topics">
            {answer.topics.map((t) => (
              <li key={t.topic}>
                <Link href={overviewHref(`topic:${t.topic}`)}>{t.topic}</Link>
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h2>Consumer groups</h2>
          {answer.groups.length === 0 ? (
            <p className="wc-muted">No group has committed offsets on {answer.topics.length === 1 ? "this topic" : "these topics"}.</p>
          ) : (
            <ul className="wc-list" aria-label="Consumer groups">
              {answer.groups.map((g) => (
                <li key={g}>
                  <Link href={overviewHref(`group:${g}`)}>{g}</Link>
                </li>
              ))}
            </ul>
          )}
        </div>
        {answer.queues.length > 0 ? (
          <div>
            <h2>RabbitMQ queues</h2>
            <ul className="wc-list" aria-label="RabbitMQ queues">
              {answer.topics
                .flatMap((t) => t.queues)
                .filter((q, i, all) => all.findIndex((o) => o.id === q.id && o.source === q.source) === i)
                .map((q) => (
                  <li key={`${q.source}/${q.id}`}>
                    <Link href={groupHref(q.id, { source: q.source })}>{q.vhost === "/" ? q.name : `${q.vhost}/${q.name}`}</Link>
                  </li>
                ))}
            </ul>
          </div>
        ) : null}
        <div>
          <h2>{type ? `Produced by` : "Producers"}</h2>
          {answer.producers.length === 0 ? (
            <p className="wc-muted">no known producer (events without a ce_source or producer header)</p>
          ) : (
            <ul className="wc-list" aria-label="Producers">
              {answer.producers.map((p) => (
                <li key={p}>
                  <Link href={whoConsumesHref({ service: p })}>{p}</Link>
                </li>
              ))}
            </ul>
          )}
        </div>
      </section>
      {answer.topics.map((t) => (
        <TopicSection key={t.topic} topic={t} type={type} kind={kind} value={value} />
      ))}
    </>
  );
}

function TopicSection({ topic, type, kind, value }: { topic: TopicConsumers; type: string | null; kind: string; value: string }) {
  const producers = type ? topic.producers.filter((p) => p.eventType === type) : topic.producers;
  return (
    <section className="wc-topic" aria-label={`Topic ${topic.topic}`}>
      <h2 className="wc-topic-title">
        <Link href={overviewHref(`topic:${topic.topic}`)}>{topic.topic}</Link>
        {topic.kind && topic.kind !== "normal" && <span className="wc-badge">{topic.kind.toUpperCase()}</span>}
        <span className="wc-muted wc-why">
          {topic.matchedBy.map((m) => MATCHED[m]).join(", ")}
          {topic.matchedBy.includes("type") || topic.matchedBy.includes("topic") ? "" : ` (${kind} ${value})`}
          {topic.of ? ` · for ${topic.of}` : ""}
        </span>
      </h2>
      <p className="wc-types">
        Event types:{" "}
        {topic.eventTypes.length === 0
          ? "none recognised"
          : topic.eventTypes.map((t, i) => (
              <span key={t}>
                {i > 0 && ", "}
                <Link href={whoConsumesHref({ type: t })}>{t}</Link>
              </span>
            ))}
      </p>
      {topic.queues.length > 0 ? (
        <>
          <h3>Queues bound to the exchange {topic.topic}</h3>
          <table className="wc-table" aria-label={`Queues bound to ${topic.topic}`}>
            <thead>
              <tr>
                <th>queue</th>
                <th>routing keys</th>
                <th>consumers (connection · prefetch · ack)</th>
                <th>lag</th>
                <th>behind</th>
                <th>health</th>
              </tr>
            </thead>
            <tbody>
              {topic.queues.map((q) => (
                <QueueRow key={q.id} queue={q} />
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {topic.queues.length > 0 && topic.groups.length === 0 ? null : <h3>Consumer groups reading {topic.topic}</h3>}
      {topic.queues.length > 0 && topic.groups.length === 0 ? null : topic.groups.length === 0 ? (
        <p className="wc-muted">None: no consumer group has committed offsets on this topic.</p>
      ) : (
        <table className="wc-table">
          <thead>
            <tr>
              <th>group</th>
              <th>state</th>
              <th>live members (client id · host · partitions)</th>
              <th>lag</th>
              <th>behind</th>
            </tr>
          </thead>
          <tbody>
            {topic.groups.map((g) => (
              <GroupRow key={g.groupId} group={g} />
            ))}
          </tbody>
        </table>
      )}
      <h3>{type ? `Producers of ${type} on ${topic.topic}` : `Producers on ${topic.topic}`}</h3>
      {producers.length === 0 ? (
        <p className="wc-muted">none seen</p>
      ) : (
        <table className="wc-table">
          <thead>
            <tr>
              <th>producer</th>
              <th>event type</th>
              <th>events</th>
              <th>last seen</th>
            </tr>
          </thead>
          <tbody>
            {producers.map((p) => (
              <tr key={`${p.producer}\u0000${p.eventType}`}>
                <td>{p.producer === "" ? <span className="wc-muted">unknown producer</span> : p.producer}</td>
                <td>{p.eventType === "" ? <span className="wc-muted">untyped</span> : p.eventType}</td>
                <td className="wc-num">{formatCount(p.count)}</td>
                <td>{new Date(p.lastSeenAt).toISOString().replace("T", " ").slice(0, 19)} UTC</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function GroupRow({ group }: { group: ConsumingGroup }) {
  return (
    <tr>
      <td>
        <Link href={overviewHref(`group:${group.groupId}`)}>{group.groupId}</Link>
      </td>
      <td>{group.state}</td>
      <td>
        {group.members.length === 0 ? (
          <span className="wc-muted">no live members</span>
        ) : (
          <ul className="wc-members">
            {group.members.map((m) => (
              <li key={m.memberId} title={m.memberId}>
                {m.clientId} · {m.clientHost} · {m.partitions.length === 0 ? "no partition of this topic" : `partitions ${m.partitions.join(", ")}`}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td className="wc-num">
        {formatCount(group.offsetLag)}
        {group.unknownLagPartitions > 0 && <span className="wc-muted"> ({group.unknownLagPartitions} partitions unknown)</span>}
      </td>
      <td>{group.maxTimeLagMs === null ? "?" : formatDuration(group.maxTimeLagMs)}</td>
    </tr>
  );
}

function QueueRow({ queue }: { queue: ConsumingQueue }) {
  return (
    <tr>
      <td>
        <Link href={groupHref(queue.id, { source: queue.source })}>{queue.name}</Link>
        {queue.vhost === "/" ? null : <span className="wc-muted"> (vhost {queue.vhost})</span>}
      </td>
      <td>{queue.routingKeys.map((k) => (k === "" ? "(empty)" : k)).join(", ")}</td>
      <td>
        {queue.consumers.length === 0 ? (
          <span className="wc-muted">no consumers</span>
        ) : (
          <ul className="wc-members">
            {queue.consumers.map((c) => (
              <li key={`${c.channel}/${c.consumerTag}`} title={c.connection}>
                {c.connectionName ?? "unnamed connection"} · prefetch {c.prefetchCount === 0 ? "unlimited" : c.prefetchCount} ·{" "}
                {c.ackRequired ? "manual ack" : "auto-ack"}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td className="wc-num">{formatCount(queue.lag)}</td>
      <td>{queue.timeLagMs === null ? <span title={queue.timeLagUnknownReason ?? undefined}>?</span> : formatDuration(queue.timeLagMs)}</td>
      <td>{queue.health ? `${queue.health.status}: ${queue.health.reason}` : "not judged yet"}</td>
    </tr>
  );
}
