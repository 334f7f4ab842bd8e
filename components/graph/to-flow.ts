import type { Edge, Node } from "@xyflow/react";
import type { ExchangeNode, FlowEdge, FlowGraph, GroupNode, ProducerNode, QueueNode, RabbitConsumerNode, TopicNode } from "@/lib/api-schemas/graph";
import { NODE_SIZE, type FlowNodeKind, type LayoutEdge, type LayoutNode, type NodePosition } from "@/lib/graph-layout";
import { type Box, EDGE_LABEL_SIZE, LABEL_PRIORITY, placeEdgeLabels } from "@/lib/graph-legibility";

/** The flow graph (server/db's getFlowGraph) as React Flow nodes and edges. */

export type ProducerNodeData = { kind: "producer"; producer: ProducerNode; label: string };
/** `sourceTag`: the node's source, shown when the graph draws several sources side by side. */
export type TopicNodeData = { kind: "topic"; topic: TopicNode; sourceTag: string | null };
export type GroupNodeData = { kind: "group"; group: GroupNode; service: string | null; sourceTag: string | null };
export type ExchangeNodeData = { kind: "exchange"; exchange: ExchangeNode; sourceTag: string | null };
export type QueueNodeData = { kind: "queue"; queue: QueueNode; sourceTag: string | null };
export type RabbitConsumerNodeData = { kind: "rabbit-consumer"; consumer: RabbitConsumerNode; sourceTag: string | null };
export type FlowNodeData = ProducerNodeData | TopicNodeData | GroupNodeData | ExchangeNodeData | QueueNodeData | RabbitConsumerNodeData;

export type ProducerFlowNode = Node<ProducerNodeData, "producer">;
export type TopicFlowNode = Node<TopicNodeData, "topic">;
/** "consumer", not "group": React Flow has a built-in "group" node type with styles of its own. */
export type GroupFlowNode = Node<GroupNodeData, "consumer">;
export type ExchangeFlowNode = Node<ExchangeNodeData, "exchange">;
export type QueueFlowNode = Node<QueueNodeData, "queue">;
export type RabbitConsumerFlowNode = Node<RabbitConsumerNodeData, "rabbit-consumer">;
export type FlowNode = ProducerFlowNode | TopicFlowNode | GroupFlowNode | ExchangeFlowNode | QueueFlowNode | RabbitConsumerFlowNode;

/**
 * `labelAt`: where the label goes (lib/graph-legibility placeEdgeLabels), null when it has no room
 * and shows only while the edge is hovered or one of its nodes is selected (`showLabel`).
 */
export type RateEdgeData = { edge: FlowEdge; labelAt: Box | null; showLabel: boolean };
export type RateFlowEdge = Edge<RateEdgeData, "rate">;

export function producerLabel(node: ProducerNode): string {
  return node.producer === "" ? `unknown producer of ${node.id.slice("producer:?".length)}` : node.producer;
}

/**
 * The service behind a group: the demo's groups (and many real ones) are named after their
 * service, or their members' client id is. Known when that name also produces events.
 */
export function serviceOfGroup(group: GroupNode, producerNames: ReadonlySet<string>): string | null {
  if (producerNames.has(group.groupId)) return group.groupId;
  return group.clientIds.find((id) => producerNames.has(id)) ?? group.clientIds[0] ?? null;
}

/** Every node of the graph with its layout kind, column by column. */
export function graphNodes(graph: FlowGraph): { id: string; kind: FlowNodeKind }[] {
  return [
    ...graph.producers.map((p) => ({ id: p.id, kind: "producer" as const })),
    ...graph.topics.map((t) => ({ id: t.id, kind: "topic" as const })),
    ...graph.exchanges.map((e) => ({ id: e.id, kind: "exchange" as const })),
    ...graph.groups.map((g) => ({ id: g.id, kind: "group" as const })),
    ...graph.queues.map((q) => ({ id: q.id, kind: "queue" as const })),
    ...graph.consumers.map((c) => ({ id: c.id, kind: "consumer" as const })),
  ];
}

export function layoutInput(graph: FlowGraph): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  return {
    nodes: graphNodes(graph).map(({ id, kind }) => ({ id, kind, ...NODE_SIZE[kind] })),
    edges: graph.edges.map((e) => ({ source: e.source, target: e.target })),
  };
}

/** Identifies the node set: the layout is recomputed only when it changes. */
export function nodeSetKey(graph: FlowGraph): string {
  return graphNodes(graph)
    .map((n) => n.id)
    .sort()
    .join("\n");
}

const KIND_WORD: Record<string, string> = { topic: "Topic", group: "Group", exchange: "Exchange", queue: "Queue", consumer: "Consumer" };

export function nodeAriaLabel(id: string): string {
  const colon = id.indexOf(":");
  const kind = id.slice(0, colon).split("@")[0]!;
  const name = id.slice(colon + 1);
  if (kind === "producer") return name.startsWith("?") ? `Producer unknown, of ${name.slice(1)}` : `Producer ${name}`;
  return `${KIND_WORD[kind] ?? "Group"} ${name}`;
}

export function toFlowNodes(graph: FlowGraph, positions: ReadonlyMap<string, NodePosition>, selected: string | null): FlowNode[] {
  const producerNames = new Set(graph.producers.map((p) => p.producer).filter((p) => p !== ""));
  const tagged = graph.source === null && graph.sources.length > 1;
  // The laid-out size, until React Flow measures the node: the minimap draws nodes by the size
  // of the nodes given here (this view does not take React Flow's measurements back into them).
  const common = (id: string, kind: FlowNodeKind) => ({
    id,
    position: positions.get(id) ?? { x: 0, y: 0 },
    initialWidth: NODE_SIZE[kind].width,
    initialHeight: NODE_SIZE[kind].height,
    selected: id === selected,
    ariaRole: "button" as const,
    ariaLabel: nodeAriaLabel(id),
    draggable: false,
    connectable: false,
  });
  return [
    ...graph.producers.map((p): ProducerFlowNode => ({ ...common(p.id, "producer"), type: "producer", data: { kind: "producer", producer: p, label: producerLabel(p) } })),
    ...graph.topics.map((t): TopicFlowNode => ({ ...common(t.id, "topic"), type: "topic", data: { kind: "topic", topic: t, sourceTag: tagged ? t.source : null } })),
    ...graph.groups.map((g): GroupFlowNode => ({
      ...common(g.id, "group"),
      type: "consumer",
      data: { kind: "group", group: g, service: serviceOfGroup(g, producerNames), sourceTag: tagged ? g.source : null },
    })),
    ...graph.exchanges.map((e): ExchangeFlowNode => ({ ...common(e.id, "exchange"), type: "exchange", data: { kind: "exchange", exchange: e, sourceTag: tagged ? e.source : null } })),
    ...graph.queues.map((q): QueueFlowNode => ({ ...common(q.id, "queue"), type: "queue", data: { kind: "queue", queue: q, sourceTag: tagged ? q.source : null } })),
    ...graph.consumers.map((c): RabbitConsumerFlowNode => ({
      ...common(c.id, "consumer"),
      type: "rabbit-consumer",
      data: { kind: "rabbit-consumer", consumer: c, sourceTag: tagged ? c.source : null },
    })),
  ];
}

/** Where each edge's label goes, by edge id: consumers' labels (lags) get the first pick. */
export function placeLabels(graph: FlowGraph, positions: ReadonlyMap<string, NodePosition>): Map<string, Box | null> {
  const boxes = new Map<string, Box>();
  for (const { id, kind } of graphNodes(graph)) {
    const at = positions.get(id);
    if (at) boxes.set(id, { ...at, ...NODE_SIZE[kind] });
  }
  const ordered = [...graph.edges].sort((a, b) => LABEL_PRIORITY[a.kind] - LABEL_PRIORITY[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return placeEdgeLabels(boxes, ordered.map((e) => ({ id: e.id, source: e.source, target: e.target, size: EDGE_LABEL_SIZE[e.kind] })));
}

export function toFlowEdges(graph: FlowGraph, selected: string | null, labels: ReadonlyMap<string, Box | null> = new Map()): RateFlowEdge[] {
  return graph.edges.map((e) => ({
    id: e.id,
    source: e.source,
    target: e.target,
    type: "rate",
    data: { edge: e, labelAt: labels.get(e.id) ?? null, showLabel: selected !== null && (e.source === selected || e.target === selected) },
    selectable: false,
    focusable: false,
    className: `graph-edge graph-edge-${e.kind}${selected && (e.source === selected || e.target === selected) ? " graph-edge-active" : ""}`,
  }));
}
