import type { Edge, Node } from "@xyflow/react";
import type { FlowEdge, FlowGraph, GroupNode, ProducerNode, TopicNode } from "@/lib/api-schemas/graph";
import { NODE_SIZE, type FlowNodeKind, type LayoutEdge, type LayoutNode, type NodePosition } from "@/lib/graph-layout";
import { type Box, EDGE_LABEL_SIZE, LABEL_PRIORITY, placeEdgeLabels } from "@/lib/graph-legibility";

/** The flow graph (server/db's getFlowGraph) as React Flow nodes and edges. */

export type ProducerNodeData = { kind: "producer"; producer: ProducerNode; label: string };
/** `sourceTag`: the node's source, shown when the graph draws several sources side by side. */
export type TopicNodeData = { kind: "topic"; topic: TopicNode; sourceTag: string | null };
export type GroupNodeData = { kind: "group"; group: GroupNode; service: string | null; sourceTag: string | null };
export type FlowNodeData = ProducerNodeData | TopicNodeData | GroupNodeData;

export type ProducerFlowNode = Node<ProducerNodeData, "producer">;
export type TopicFlowNode = Node<TopicNodeData, "topic">;
/** "consumer", not "group": React Flow has a built-in "group" node type with styles of its own. */
export type GroupFlowNode = Node<GroupNodeData, "consumer">;
export type FlowNode = ProducerFlowNode | TopicFlowNode | GroupFlowNode;

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

export function layoutInput(graph: FlowGraph): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  const node = (id: string, kind: FlowNodeKind): LayoutNode => ({ id, kind, ...NODE_SIZE[kind] });
  return {
    nodes: [
      ...graph.producers.map((p) => node(p.id, "producer")),
      ...graph.topics.map((t) => node(t.id, "topic")),
      ...graph.groups.map((g) => node(g.id, "group")),
    ],
    edges: graph.edges.map((e) => ({ source: e.source, target: e.target })),
  };
}

/** Identifies the node set: the layout is recomputed only when it changes. */
export function nodeSetKey(graph: FlowGraph): string {
  return [...graph.producers.map((p) => p.id), ...graph.topics.map((t) => t.id), ...graph.groups.map((g) => g.id)].sort().join("\n");
}

export function nodeAriaLabel(id: string): string {
  const colon = id.indexOf(":");
  const kind = id.slice(0, colon);
  const name = id.slice(colon + 1);
  if (kind === "producer") return name.startsWith("?") ? `Producer unknown, of ${name.slice(1)}` : `Producer ${name}`;
  return `${kind === "topic" ? "Topic" : "Group"} ${name}`;
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
  ];
}

/** Where each edge's label goes, by edge id: consumers' labels (lags) get the first pick. */
export function placeLabels(graph: FlowGraph, positions: ReadonlyMap<string, NodePosition>): Map<string, Box | null> {
  const boxes = new Map<string, Box>();
  const add = (id: string, kind: FlowNodeKind) => {
    const at = positions.get(id);
    if (at) boxes.set(id, { ...at, ...NODE_SIZE[kind] });
  };
  graph.producers.forEach((p) => add(p.id, "producer"));
  graph.topics.forEach((t) => add(t.id, "topic"));
  graph.groups.forEach((g) => add(g.id, "group"));
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
