import { Position, type Edge, type Node, type NodeHandle } from "@xyflow/react";
import { flowHref, type Flow, type FlowEdge, type FlowStep, type EntityOutcome } from "@/lib/api-schemas/flows";
import type { FlowWindow, StepRole } from "@/lib/flows";
import { STEP_NODE_SIZE, layoutPathway } from "@/lib/flow-layout";
import type { GraphLayout, NodePosition } from "@/lib/graph-layout";
import { formatShare, stepName, stepRole, stepShortName } from "./format";

/** A kind's pathway (lib/api-schemas/flows.ts Flow) as React Flow nodes and edges. */

export type StepNodeData = { step: FlowStep };
export type StepFlowNode = Node<StepNodeData, "step">;
/** `loop`: a step that follows itself (a retry that repeats). */
export type ShareEdgeData = { edge: FlowEdge; targetRole: StepRole; loop: boolean };
export type ShareFlowEdge = Edge<ShareEdgeData, "share">;

/** What is selected: a step, or a transition (an edge), whose entities are listed. */
/** What the entities list shows: those that reached a step, went along a transition, or fared one way. */
export type FlowSelection = { step: string } | { from: string; to: string } | { outcome: EntityOutcome };

/**
 * A step's id in the drawing: step ids separate their parts with a control character, which does
 * not belong in the DOM's ids and attributes (React Flow puts node and edge ids there).
 */
export function stepNodeId(step: string): string {
  return encodeURIComponent(step);
}

export function edgeId(from: string, to: string): string {
  return `${stepNodeId(from)}->${stepNodeId(to)}`;
}

export function selectionKey(selection: FlowSelection | null): string | null {
  if (selection === null) return null;
  if ("outcome" in selection) return `outcome:${selection.outcome}`;
  return "step" in selection ? selection.step : edgeId(selection.from, selection.to);
}

/** Transitions taken by fewer of their step's entities than this are drawn only on demand (the table lists them all). */
export const MINOR_SHARE = 0.05;

/**
 * The transitions drawn: every one when `all`, else those that carry at least MINOR_SHARE of their
 * step's entities, and the busiest way into each step, so that every step stays joined to the
 * pathway. A real system's pathway has dozens of rare transitions that would hide the common ones.
 */
export function drawnEdges(flow: Flow, all: boolean): FlowEdge[] {
  if (all) return flow.edges;
  const busiestInto = new Map<string, FlowEdge>();
  for (const edge of flow.edges) {
    if (edge.from === edge.to) continue;
    const best = busiestInto.get(edge.to);
    if (!best || edge.entities > best.entities) busiestInto.set(edge.to, edge);
  }
  return flow.edges.filter((edge) => edge.share >= MINOR_SHARE || busiestInto.get(edge.to) === edge);
}

/** The layout is recomputed only when the steps or the drawn transitions change, not their figures. */
export function structureKey(flow: Flow, edges: readonly FlowEdge[]): string {
  return [...flow.steps.map((s) => s.id).sort(), "", ...edges.map((e) => edgeId(e.from, e.to)).sort()].join("\n");
}

export function layoutFlow(flow: Flow, edges: readonly FlowEdge[]): GraphLayout {
  // The most common start first: the walk that decides the columns begins there.
  const roots = flow.steps.filter((s) => s.starts > 0).sort((a, b) => b.starts - a.starts || (a.id < b.id ? -1 : 1)).map((s) => s.id);
  return layoutPathway(
    flow.steps.map((s) => ({ id: s.id, ...STEP_NODE_SIZE })),
    edges.map((e) => ({ source: e.from, target: e.to })),
    { roots },
  );
}

/** A step's two handles: transitions come in on the left, in the middle, and leave on the right. */
const STEP_HANDLES: NodeHandle[] = [
  { type: "target", position: Position.Left, x: 0, y: STEP_NODE_SIZE.height / 2, width: 1, height: 1 },
  { type: "source", position: Position.Right, x: STEP_NODE_SIZE.width, y: STEP_NODE_SIZE.height / 2, width: 1, height: 1 },
];

export function toStepNodes(flow: Flow, positions: ReadonlyMap<string, NodePosition>, selected: string | null): StepFlowNode[] {
  return flow.steps.map((step) => ({
    id: stepNodeId(step.id),
    type: "step",
    position: positions.get(step.id) ?? { x: 0, y: 0 },
    initialWidth: STEP_NODE_SIZE.width,
    initialHeight: STEP_NODE_SIZE.height,
    data: { step },
    selected: step.id === selected,
    // Known before React Flow measures the node (and where nothing is measured): edges are drawn from the first render.
    handles: STEP_HANDLES,
    ariaRole: "button" as const,
    ariaLabel: `Step ${stepName(step)}`,
    draggable: false,
    connectable: false,
  }));
}

export function toShareEdges(flow: Flow, edges: readonly FlowEdge[], selected: string | null): ShareFlowEdge[] {
  const byId = new Map(flow.steps.map((s) => [s.id, s]));
  return edges.map((edge) => {
    const id = edgeId(edge.from, edge.to);
    const [from, to] = [byId.get(edge.from), byId.get(edge.to)];
    const targetRole = to ? stepRole(to.role) : "event";
    return {
      id,
      source: stepNodeId(edge.from),
      target: stepNodeId(edge.to),
      ariaLabel: `Transition ${from ? stepShortName(from) : "?"} → ${to ? stepShortName(to) : "?"}: ${formatShare(edge.share)}`,
      type: "share",
      data: { edge, targetRole, loop: edge.from === edge.to },
      selected: id === selected,
      focusable: false,
      className: `graph-edge flows-edge flows-edge-${targetRole}${id === selected ? " graph-edge-active" : ""}`,
      // Wider for a larger share: where most entities go stands out.
      style: { strokeWidth: 1 + Math.round(Math.min(1, Math.max(0, edge.share)) * 4) },
    };
  });
}

/** The flow page's URL with a selection (`?step=` or `?from=&to=`), so a link opens the same list. */
export function flowPageHref(kind: string, window: FlowWindow, selection: FlowSelection | null): string {
  const base = flowHref(kind, window);
  if (selection === null) return base;
  const params = new URLSearchParams(
    "outcome" in selection ? { outcome: selection.outcome } : "step" in selection ? { step: selection.step } : { from: selection.from, to: selection.to },
  );
  return `${base}${base.includes("?") ? "&" : "?"}${params.toString()}`;
}
