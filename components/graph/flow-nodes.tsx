"use client";

import { Handle, Position, type NodeProps, type NodeTypes } from "@xyflow/react";
import { memo } from "react";
import { formatDuration } from "@/lib/format-duration";
import { formatCount } from "@/lib/format-number";
import { formatRate } from "./format";
import type { ExchangeFlowNode, GroupFlowNode, ProducerFlowNode, QueueFlowNode, RabbitConsumerFlowNode, TopicFlowNode } from "./to-flow";

/** The overview's custom nodes. Sizes come from NODE_SIZE (lib/graph-layout) through the CSS. */

function Handles({ input = true, output = true }: { input?: boolean; output?: boolean }) {
  return (
    <>
      {input && <Handle type="target" position={Position.Left} isConnectable={false} className="graph-handle" />}
      {output && <Handle type="source" position={Position.Right} isConnectable={false} className="graph-handle" />}
    </>
  );
}

export const ProducerNodeView = memo(function ProducerNodeView({ data, selected }: NodeProps<ProducerFlowNode>) {
  return (
    <div className={`graph-node graph-node-producer${selected ? " graph-node-selected" : ""}`}>
      <Handles input={false} />
      <div className="graph-node-kind">producer</div>
      <div className="graph-node-title" title={data.label}>
        {data.label}
      </div>
    </div>
  );
});

/** The cluster a topic or group is on, when the graph draws several. */
function SourceTag({ source }: { source: string }) {
  return (
    <span className="graph-badge graph-badge-source" title={`on source ${source}`}>
      {source}
    </span>
  );
}

export const TopicNodeView = memo(function TopicNodeView({ data, selected }: NodeProps<TopicFlowNode>) {
  const t = data.topic;
  return (
    <div className={`graph-node graph-node-topic graph-node-topic-${t.kind}${selected ? " graph-node-selected" : ""}`}>
      <Handles />
      <div className="graph-node-kind">
        topic{t.kind !== "normal" && <span className={`graph-badge graph-badge-${t.kind}`}>{t.kind.toUpperCase()}</span>}
        {data.sourceTag && <SourceTag source={data.sourceTag} />}
        <span className="graph-node-rate">{formatRate(t.messagesPerSecond)}</span>
      </div>
      <div className="graph-node-title" title={t.topic}>
        {t.topic}
      </div>
      <div className="graph-node-meta">
        {t.deadLetters ? (
          <span className="graph-dlq-count">
            {formatCount(t.deadLetters.total)} dead letters{t.deadLetters.new > 0 ? ` (${formatCount(t.deadLetters.new)} new)` : ""}
          </span>
        ) : (
          <span>
            {formatCount(t.messages)} msgs · {t.partitions} part.
          </span>
        )}
      </div>
    </div>
  );
});

export const GroupNodeView = memo(function GroupNodeView({ data, selected }: NodeProps<GroupFlowNode>) {
  const g = data.group;
  const status = g.health?.status ?? null;
  return (
    <div className={`graph-node graph-node-group graph-health-${(status ?? "unknown").toLowerCase()}${selected ? " graph-node-selected" : ""}`}>
      <Handles output={false} />
      <div className="graph-node-kind">
        {data.service === g.groupId ? "group · service" : "group"}
        {data.sourceTag && <SourceTag source={data.sourceTag} />}
        {data.service && data.service !== g.groupId && (
          <span className="graph-node-service" title={`of ${data.service}`}>
            of {data.service}
          </span>
        )}
        <span className={`graph-health graph-health-badge-${(status ?? "unknown").toLowerCase()}`} title={g.health?.reason ?? "not judged yet"}>
          {status ?? "—"}
        </span>
      </div>
      <div className="graph-node-title" title={g.groupId}>
        {g.groupId}
      </div>
      <div className="graph-node-meta" title={groupMeta(g)}>
        {groupMeta(g)}
      </div>
    </div>
  );
});

/** A group's figures in one line: its node shows as much as fits, the tooltip all of it. */
function groupMeta(g: GroupFlowNode["data"]["group"]): string {
  const behind = g.maxTimeLagMs !== null && g.maxTimeLagMs > 0 ? ` · ${formatDuration(g.maxTimeLagMs)} behind` : "";
  return `lag ${formatCount(g.totalLag)}${behind} · ${g.members} ${g.members === 1 ? "member" : "members"} · ${g.state}`;
}

export const ExchangeNodeView = memo(function ExchangeNodeView({ data, selected }: NodeProps<ExchangeFlowNode>) {
  const e = data.exchange;
  return (
    <div className={`graph-node graph-node-exchange${e.deadLetterExchange ? " graph-node-exchange-dlx" : ""}${selected ? " graph-node-selected" : ""}`}>
      <Handles />
      <div className="graph-node-kind">
        exchange{e.type && <span className="graph-badge graph-badge-exchange-type">{e.type}</span>}
        {e.deadLetterExchange && <span className="graph-badge graph-badge-dlq">DLX</span>}
        {data.sourceTag && <SourceTag source={data.sourceTag} />}
        <span className="graph-node-rate">{formatRate(e.messagesPerSecond)}</span>
      </div>
      <div className="graph-node-title" title={e.channel}>
        {e.channel}
      </div>
      <div className="graph-node-meta" title={e.eventTypes.join(", ")}>
        {e.eventTypes.length === 0 ? "no events collected" : e.eventTypes.join(", ")}
      </div>
    </div>
  );
});

export const QueueNodeView = memo(function QueueNodeView({ data, selected }: NodeProps<QueueFlowNode>) {
  const q = data.queue;
  const status = q.health?.status ?? null;
  const dlq = q.deadLetters !== null;
  return (
    <div
      className={`graph-node graph-node-queue graph-health-${(status ?? "unknown").toLowerCase()}${dlq ? " graph-node-queue-dlq" : ""}${selected ? " graph-node-selected" : ""}`}
    >
      <Handles />
      <div className="graph-node-kind">
        <span className="graph-node-kind-text" title={`${q.type} queue`}>{`queue · ${q.type}`}</span>
        {dlq && <span className="graph-badge graph-badge-dlq">DLQ</span>}
        {data.sourceTag && <SourceTag source={data.sourceTag} />}
        <span className={`graph-health graph-health-badge-${(status ?? "unknown").toLowerCase()}`} title={q.health?.reason ?? "not judged yet"}>
          {status ?? "—"}
        </span>
      </div>
      <div className="graph-node-title" title={q.name}>
        {q.name}
      </div>
      <div className="graph-node-meta" title={queueMeta(q)}>
        {dlq ? (
          <span className="graph-dlq-count">
            {formatCount(q.deadLetters!.total)} dead letters{q.deadLetters!.new > 0 ? ` (${formatCount(q.deadLetters!.new)} new)` : ""}
          </span>
        ) : (
          queueMeta(q)
        )}
      </div>
    </div>
  );
});

/** A queue's figures in one line: lag (ready + unacked), how far behind, consumers. */
export function queueMeta(q: QueueFlowNode["data"]["queue"]): string {
  const lag = q.lag === null ? (q.type === "stream" ? "stream" : "lag ?") : `lag ${formatCount(q.lag)}`;
  const behind = q.timeLagMs !== null ? (q.timeLagMs > 0 ? ` · ${formatDuration(q.timeLagMs)} behind` : "") : q.timeLagUnknownReason && q.type !== "stream" ? " · no timestamps" : "";
  return `${lag}${behind} · ${q.consumers} ${q.consumers === 1 ? "consumer" : "consumers"}`;
}

export const RabbitConsumerNodeView = memo(function RabbitConsumerNodeView({ data, selected }: NodeProps<RabbitConsumerFlowNode>) {
  const c = data.consumer;
  return (
    <div className={`graph-node graph-node-rabbit-consumer${selected ? " graph-node-selected" : ""}`}>
      <Handles output={false} />
      <div className="graph-node-kind">
        consumer
        {data.sourceTag && <SourceTag source={data.sourceTag} />}
      </div>
      <div className="graph-node-title" title={c.name}>
        {c.name}
      </div>
      <div className="graph-node-meta" title={consumerMeta(c)}>
        {consumerMeta(c)}
      </div>
    </div>
  );
});

/** A consumer service's figures: prefetch (0 is unlimited) and channels; none attached when it left. */
export function consumerMeta(c: RabbitConsumerFlowNode["data"]["consumer"]): string {
  if (c.consumers === 0) return "not attached (consumed before)";
  const prefetch = c.prefetch.map((p) => (p === 0 ? "∞" : String(p))).join("/");
  return `prefetch ${prefetch} · ${c.channels} ${c.channels === 1 ? "channel" : "channels"}${c.autoAck ? " · auto-ack" : ""}`;
}

/** A module constant: React Flow re-mounts every node when nodeTypes changes identity. */
export const nodeTypes: NodeTypes = {
  producer: ProducerNodeView,
  topic: TopicNodeView,
  consumer: GroupNodeView,
  exchange: ExchangeNodeView,
  queue: QueueNodeView,
  "rabbit-consumer": RabbitConsumerNodeView,
};
