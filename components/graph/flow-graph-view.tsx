"use client";

import "@xyflow/react/dist/style.css";
import { Background, Controls, MiniMap, ReactFlow, type NodeMouseHandler } from "@xyflow/react";
import { type KeyboardEvent as ReactKeyboardEvent, useCallback, useEffect, useMemo, useState } from "react";
import { type FlowGraph, type GraphNodeId, graphNodeIdSchema, overviewHref } from "@/lib/api-schemas/graph";
import { layoutFlowGraph } from "@/lib/graph-layout";
import { formatDuration } from "@/lib/format-duration";
import { nodeTypes } from "./flow-nodes";
import { NodePanel } from "./node-panel";
import { edgeTypes } from "./rate-edge";
import { layoutInput, nodeSetKey, placeLabels, toFlowEdges, toFlowNodes, type FlowNode } from "./to-flow";

const POLL_MS = 5_000;

function computeLayout(graph: FlowGraph) {
  const input = layoutInput(graph);
  return layoutFlowGraph(input.nodes, input.edges);
}

/** The minimap's colours are CSS (app/globals.css, .graph-minimap-*), so that they follow the theme. */
const minimapClass = (node: FlowNode) => `graph-minimap-${node.type ?? "node"}`;

/**
 * The live flow graph. Polls /api/graph every few seconds and updates node data in place: the
 * layout is recomputed only when the set of nodes changes, and the viewport (pan/zoom) and the
 * selection are the user's, never reset by a refresh. The selected node lives in the URL
 * (`?node=topic:orders`) so a link opens the same panel.
 */
export function FlowGraphView({ initialGraph, initialSelected }: { initialGraph: FlowGraph; initialSelected: GraphNodeId | null }) {
  const [graph, setGraph] = useState(initialGraph);
  const [selected, setSelected] = useState<GraphNodeId | null>(initialSelected);
  const [refreshError, setRefreshError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const response = await fetch(initialGraph.source ? `/api/graph?source=${encodeURIComponent(initialGraph.source)}` : "/api/graph", {
          cache: "no-store",
        });
        if (!response.ok) {
          const body = (await response.json().catch(() => null)) as { message?: string } | null;
          throw new Error(body?.message ?? `the server answered ${response.status}`);
        }
        const next = (await response.json()) as FlowGraph;
        if (!stopped) {
          setGraph(next);
          setRefreshError(null);
        }
      } catch (error) {
        if (!stopped) setRefreshError(error instanceof Error ? error.message : String(error));
      } finally {
        if (!stopped) timer = setTimeout(poll, POLL_MS);
      }
    };
    timer = setTimeout(poll, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [initialGraph.source]);

  // Layout only when the node set changes; a new rate or lag moves nothing.
  const setKey = nodeSetKey(graph);
  const [laidOut, setLaidOut] = useState(() => ({ key: setKey, layout: computeLayout(graph) }));
  let layout = laidOut.layout;
  if (laidOut.key !== setKey) {
    // React's "adjust state while rendering" pattern: no extra render with a stale layout.
    layout = computeLayout(graph);
    setLaidOut({ key: setKey, layout });
  }

  // Selecting a node changes only it and its edges: the other objects keep their identity, so
  // React Flow and the memoized nodes re-render just those (hundreds of nodes in a large cluster).
  const baseNodes = useMemo(() => toFlowNodes(graph, layout.positions, null), [graph, layout]);
  // Labels are placed again when the edges or the layout change, not when a rate does.
  const edgeSetKey = graph.edges.map((e) => e.id).join("\n");
  const labels = useMemo(
    () => placeLabels(graph, layout.positions),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the edge set and the layout decide the placement, not the live figures
    [edgeSetKey, layout],
  );
  const baseEdges = useMemo(() => toFlowEdges(graph, null, labels), [graph, labels]);
  const [hovered, setHovered] = useState<string | null>(null);
  const nodes = useMemo(
    () => (selected === null ? baseNodes : baseNodes.map((n) => (n.id === selected ? { ...n, selected: true } : n))),
    [baseNodes, selected],
  );
  const edges = useMemo(
    () =>
      selected === null && hovered === null
        ? baseEdges
        : baseEdges.map((e) => {
            const active = selected !== null && (e.source === selected || e.target === selected);
            if (!active && e.id !== hovered) return e;
            return { ...e, className: active ? `${e.className ?? ""} graph-edge-active` : e.className, data: { ...e.data!, showLabel: true } };
          }),
    [baseEdges, selected, hovered],
  );
  const onEdgeMouseEnter = useCallback((_event: unknown, edge: { id: string }) => setHovered(edge.id), []);
  const onEdgeMouseLeave = useCallback(() => setHovered(null), []);

  const select = useCallback((id: GraphNodeId | null) => {
    setSelected(id);
    // Not router.replace: that would re-render the server page and refetch the graph.
    window.history.replaceState(window.history.state, "", overviewHref(id ?? undefined, initialGraph.source));
  }, [initialGraph.source]);

  const onNodeClick: NodeMouseHandler<FlowNode> = useCallback(
    (_event, node) => {
      const parsed = graphNodeIdSchema.safeParse(node.id);
      if (parsed.success) select(parsed.data);
    },
    [select],
  );
  const onPaneClick = useCallback(() => select(null), [select]);
  // From the keyboard: Tab reaches each node (React Flow pans to it), Enter or Space opens its panel.
  const onCanvasKeyDown = useCallback(
    (event: ReactKeyboardEvent<HTMLDivElement>) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      const target = event.target instanceof HTMLElement ? event.target : null;
      const id = target?.classList.contains("react-flow__node") ? target.dataset.id : undefined;
      const parsed = graphNodeIdSchema.safeParse(id);
      if (!parsed.success) return;
      event.preventDefault();
      select(parsed.data);
    },
    [select],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") select(null);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [select]);

  const selectedKnown = selected !== null && nodes.some((n) => n.id === selected);
  const fitViewOptions = useMemo(
    () => (initialSelected ? { nodes: [{ id: initialSelected }], maxZoom: 1.2, padding: 0.5 } : { maxZoom: 1.2, padding: 0.05 }),
    [initialSelected],
  );

  return (
    <div className="graph-root">
      <div className="graph-toolbar">
        <span>
          {graph.producers.length} producers · {graph.topics.length} topics · {graph.groups.length} consumer groups
          {graph.exchanges.length + graph.queues.length > 0 && ` · ${graph.exchanges.length} exchanges · ${graph.queues.length} queues`} · rates over
          the last {formatDuration(graph.windowMs)}
        </span>
        {graph.sources.length > 1 && (
          <label className="graph-toolbar-source">
            Source{" "}
            <select
              value={graph.source ?? ""}
              onChange={(event) => window.location.assign(overviewHref(undefined, event.target.value || null))}
            >
              <option value="">all ({graph.sources.length})</option>
              {graph.sources.map((source) => (
                <option key={source} value={source}>
                  {source}
                </option>
              ))}
            </select>
          </label>
        )}
        <span className="graph-toolbar-status" role="status">
          {refreshError ? `could not refresh: ${refreshError}` : `updated ${new Date(graph.generatedAt).toLocaleTimeString()}`}
        </span>
      </div>
      <div className="graph-body">
        <div className="graph-canvas" data-testid="flow-graph" onKeyDown={onCanvasKeyDown}>
          <ReactFlow<FlowNode>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            edgeTypes={edgeTypes}
            onNodeClick={onNodeClick}
            onPaneClick={onPaneClick}
            onEdgeMouseEnter={onEdgeMouseEnter}
            onEdgeMouseLeave={onEdgeMouseLeave}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable
            onlyRenderVisibleElements
            fitView
            fitViewOptions={fitViewOptions}
            minZoom={0.05}
            maxZoom={2}
          >
            <Background gap={24} size={1} />
            <Controls showInteractive={false} />
            <MiniMap<FlowNode> pannable zoomable nodeClassName={minimapClass} />
          </ReactFlow>
        </div>
        {selected && selectedKnown && <NodePanel id={selected} graph={graph} refreshedAt={graph.generatedAt} onClose={() => select(null)} />}
        {selected && !selectedKnown && (
          <aside className="graph-panel" aria-label="Selected node">
            <p>
              <strong>{selected}</strong> is not in the graph (any more). Pick another node.
            </p>
          </aside>
        )}
      </div>
    </div>
  );
}
