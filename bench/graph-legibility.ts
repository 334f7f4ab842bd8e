import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type FlowNodeKind, layoutFlowGraph, layoutFlowGraphDagre, NODE_SIZE, type GraphLayout } from "../lib/graph-layout.ts";
import {
  type Box,
  EDGE_LABEL_SIZE,
  edgeEnds,
  LABEL_PRIORITY,
  labelBoxAt,
  type Legibility,
  measureLegibility,
  placeEdgeLabels,
  pointOnEdge,
} from "../lib/graph-legibility.ts";
import { SYNTHETIC_GROUPS } from "../server/db/synthetic-data.ts";

/**
 * How legible the overview's graph is, before (dagre's layout, every label at its edge's middle)
 * and after (lib/graph-layout.ts's ordering and placement, labels placed by placeEdgeLabels), for
 * the demo's graph and the web benchmark's 207-topic, 111-group cluster: edge crossings and
 * overlapping labels (lib/graph-legibility.ts). Pure computation, a second or so.
 *
 *   npm run bench -- graph          alone (the web benchmark runs it too)
 */

type EdgeKind = keyof typeof EDGE_LABEL_SIZE;
export interface GraphShape {
  nodes: { id: string; kind: FlowNodeKind }[];
  edges: { id: string; source: string; target: string; kind: EdgeKind }[];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The demo's graph as GET /api/graph returned it (bench/fixtures/demo-graph.json). */
export function demoGraph(): GraphShape {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "bench", "fixtures", "demo-graph.json"), "utf8")) as GraphShape;
}

/**
 * The web benchmark's cluster: the synthetic saga (server/db/synthetic-data.ts: 7 topics, 11 groups
 * without Eventscope's own) and the 200 topics and 100 groups bench/web.ts adds (topic t written by
 * zz-service-(t mod 50); group g reads topics (7g + 31k) mod 200 for k = 0 … g mod 4), the same
 * rules as its SQL.
 */
export function syntheticCluster(): GraphShape {
  const nodes = new Map<string, FlowNodeKind>();
  const edges: GraphShape["edges"] = [];
  const edge = (source: string, target: string, kind: EdgeKind) => {
    nodes.set(source, kind === "produces" ? "producer" : "topic");
    nodes.set(target, kind === "consumes" ? "group" : "topic");
    edges.push({ id: `${kind}:${source}->${target}`, source, target, kind });
  };
  const sagaProducers: [string, string][] = [
    ["orders", "order-service"],
    ["inventory", "inventory-service"],
    ["payments", "payment-service"],
    ["shipments", "shipping-service"],
    ["notifications", "notification-service"],
    ["page-views", "web-frontend"],
    ["payments-dlq", "shipping-service"],
  ];
  for (const [topic, producer] of sagaProducers) edge(`producer:${producer}`, `topic:${topic}`, "produces");
  edge("topic:payments", "topic:payments-dlq", "dead-letters");
  for (const group of SYNTHETIC_GROUPS.filter((g) => g.groupId !== "eventscope-collector")) {
    for (const topic of group.topics) edge(`topic:${topic}`, `group:${group.groupId}`, "consumes");
  }
  const pad = (n: number, width: number) => String(n).padStart(width, "0");
  for (let t = 0; t < 200; t++) edge(`producer:zz-service-${pad(t % 50, 2)}`, `topic:zz-topic-${pad(t, 3)}`, "produces");
  for (let g = 0; g < 100; g++) {
    const read = new Set(Array.from({ length: (g % 4) + 1 }, (_, k) => (g * 7 + k * 31) % 200));
    for (const t of read) edge(`topic:zz-topic-${pad(t, 3)}`, `group:zz-group-${pad(g, 3)}`, "consumes");
  }
  return { nodes: [...nodes].map(([id, kind]) => ({ id, kind })), edges };
}

function boxes(shape: GraphShape, layout: GraphLayout): Map<string, Box> {
  return new Map(shape.nodes.map((n) => [n.id, { ...layout.positions.get(n.id)!, ...NODE_SIZE[n.kind] }]));
}

/** Before: the former layout, each label at its edge's middle (as React Flow puts it). */
export function measureBefore(shape: GraphShape): Legibility {
  const layout = layoutFlowGraphDagre(shape.nodes.map((n) => ({ id: n.id, kind: n.kind, ...NODE_SIZE[n.kind] })), shape.edges);
  const nodeBoxes = boxes(shape, layout);
  return measureLegibility(
    nodeBoxes,
    shape.edges.map((e) => {
      const [source, target] = [nodeBoxes.get(e.source)!, nodeBoxes.get(e.target)!];
      return { ...e, label: labelBoxAt(pointOnEdge(...edgeEnds(source, target), 0.5), EDGE_LABEL_SIZE[e.kind]) };
    }),
  );
}

/** After: the overview's layout and label placement. */
export function measureAfter(shape: GraphShape): Legibility {
  const layout = layoutFlowGraph(shape.nodes.map((n) => ({ id: n.id, kind: n.kind, ...NODE_SIZE[n.kind] })), shape.edges);
  const nodeBoxes = boxes(shape, layout);
  const ordered = [...shape.edges].sort((a, b) => LABEL_PRIORITY[a.kind] - LABEL_PRIORITY[b.kind] || (a.id < b.id ? -1 : 1));
  const labels = placeEdgeLabels(nodeBoxes, ordered.map((e) => ({ ...e, size: EDGE_LABEL_SIZE[e.kind] })));
  return measureLegibility(nodeBoxes, shape.edges.map((e) => ({ ...e, label: labels.get(e.id) ?? null })));
}

export interface GraphLegibilityFigures {
  graphs: { name: string; nodes: number; edges: number; before: Legibility; after: Legibility; afterMs: number }[];
}

export async function runGraphLegibilityBenchmark(): Promise<GraphLegibilityFigures> {
  const graphs: GraphLegibilityFigures["graphs"] = [];
  for (const [name, shape] of [
    ["demo", demoGraph()],
    ["207 topics, 111 groups", syntheticCluster()],
  ] as const) {
    const before = measureBefore(shape);
    const started = performance.now();
    const after = measureAfter(shape);
    const afterMs = Math.round((performance.now() - started) * 10) / 10;
    graphs.push({ name, nodes: shape.nodes.length, edges: shape.edges.length, before, after, afterMs });
    const line = (what: string, l: Legibility) =>
      `${what} crossings ${String(l.crossings).padStart(5)}  overlapping labels ${String(l.overlappingLabels).padStart(5)}  labels over nodes ${String(l.labelsOverNodes).padStart(4)}  hidden labels ${String(l.hiddenLabels).padStart(4)}`;
    process.stdout.write(`graph: ${name} (${shape.nodes.length} nodes, ${shape.edges.length} edges)\n`);
    process.stdout.write(`graph:   ${line("before", before)}\n`);
    process.stdout.write(`graph:   ${line("after ", after)}  (layout + labels ${afterMs} ms)\n`);
  }
  return { graphs };
}
