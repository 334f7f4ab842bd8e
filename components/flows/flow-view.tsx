"use client";

import "@xyflow/react/dist/style.css";
import { Background, Controls, ReactFlow, type EdgeMouseHandler, type NodeMouseHandler } from "@xyflow/react";
import { type KeyboardEvent as ReactKeyboardEvent, useCallback, useMemo, useState } from "react";
import type { EntityOutcome, Flow } from "@/lib/api-schemas/flows";
import { ENTITY_OUTCOME_LABELS } from "@/components/timeline/entity-flows";
import { formatCount } from "@/lib/format-number";
import { DeliveryTables } from "./delivery-tables";
import { FlowEntitiesList } from "./flow-entities";
import { formatPercentiles, formatShare, roleLabel, stepName, stepShortName } from "./format";
import { edgeTypes } from "./share-edge";
import { nodeTypes } from "./step-node";
import {
  drawnEdges,
  flowPageHref,
  MINOR_SHARE,
  layoutFlow,
  selectionKey,
  structureKey,
  toShareEdges,
  toStepNodes,
  type FlowSelection,
  type ShareFlowEdge,
  type StepFlowNode,
} from "./to-flow";
import styles from "./flows.module.css";

/** The outcomes in the order the figures show them, with their counts. */
const OUTCOMES: readonly [EntityOutcome, (flow: Flow) => number][] = [
  ["completed", (flow) => flow.outcomes.completed],
  ["compensated", (flow) => flow.outcomes.compensated],
  ["dead-lettered", (flow) => flow.outcomes.deadLettered],
  ["stuck", (flow) => flow.outcomes.stuck],
  ["in-flight", (flow) => flow.outcomes.inFlight],
];

/** The canvas is as tall as the pathway, within these bounds, px. */
const MIN_CANVAS_HEIGHT = 260;
const MAX_CANVAS_HEIGHT = 620;

/**
 * One entity kind's pathway over a window: its figures, the steps left to right (React Flow) with
 * the transitions between them, and the same as two tables (readable without the drawing, and
 * from the keyboard). Clicking a step or a transition lists the entities behind it; the selection
 * lives in the URL (`?step=`, `?from=&to=`), so a link opens the same list. A refresh of the page
 * (new figures) keeps the layout unless the steps or transitions change.
 */
export function FlowView({ flow, initialSelection }: { flow: Flow; initialSelection: FlowSelection | null }) {
  const [selection, setSelection] = useState<FlowSelection | null>(initialSelection);
  const selected = selectionKey(selection);

  const [allEdges, setAllEdges] = useState(false);
  const drawn = useMemo(() => drawnEdges(flow, allEdges), [flow, allEdges]);
  const structure = structureKey(flow, drawn);
  const [laidOut, setLaidOut] = useState(() => ({ key: structure, layout: layoutFlow(flow, drawn) }));
  let layout = laidOut.layout;
  if (laidOut.key !== structure) {
    // React's "adjust state while rendering" pattern: no extra render with a stale layout.
    layout = layoutFlow(flow, drawn);
    setLaidOut({ key: structure, layout });
  }
  const nodes = useMemo(() => toStepNodes(flow, layout.positions, selected), [flow, layout, selected]);
  const edges = useMemo(() => toShareEdges(flow, drawn, selected), [flow, drawn, selected]);
  const hiddenEdges = flow.edges.length - drawnEdges(flow, false).length;
  const stepsById = useMemo(() => new Map(flow.steps.map((s) => [s.id, s])), [flow.steps]);

  const select = useCallback(
    (next: FlowSelection | null) => {
      setSelection(next);
      // Not router.replace: that would render the server page again and read the flow again.
      window.history.replaceState(window.history.state, "", flowPageHref(flow.kind, flow.window, next));
    },
    [flow.kind, flow.window],
  );
  const onNodeClick: NodeMouseHandler<StepFlowNode> = useCallback((_event, node) => select({ step: node.data.step.id }), [select]);
  const onEdgeClick: EdgeMouseHandler<ShareFlowEdge> = useCallback(
    (_event, edge) => edge.data && select({ from: edge.data.edge.from, to: edge.data.edge.to }),
    [select],
  );
  // From the keyboard: Tab reaches each step (React Flow pans to it), Enter or Space lists its entities.
  const onCanvasKeyDown = useCallback(
    (event: ReactKeyboardEvent<HTMLDivElement>) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      const target = event.target instanceof HTMLElement ? event.target : null;
      const nodeId = target?.classList.contains("react-flow__node") ? target.dataset.id : undefined;
      const step = nodes.find((n) => n.id === nodeId)?.data.step;
      if (step === undefined) return;
      event.preventDefault();
      select({ step: step.id });
    },
    [select, nodes],
  );

  const nameOf = (id: string) => {
    const step = stepsById.get(id);
    return step ? stepName(step) : "a step no longer in the window";
  };
  const selectionTitle =
    selection === null
      ? null
      : "outcome" in selection
        ? `Entities ${ENTITY_OUTCOME_LABELS[selection.outcome]}`
        : "step" in selection
          ? `Entities at ${nameOf(selection.step)}`
          : `Entities from ${nameOf(selection.from)} to ${nameOf(selection.to)}`;
  const canvasHeight = Math.min(MAX_CANVAS_HEIGHT, Math.max(MIN_CANVAS_HEIGHT, layout.height + 160));

  return (
    <div className={styles.flow}>
      <section aria-label="Figures" className={styles.figures}>
      <dl>
        <div>
          <dt>Entities</dt>
          <dd>{formatCount(flow.entities)}</dd>
        </div>
        <div>
          <dt>End to end</dt>
          <dd>{formatPercentiles(flow.endToEnd, ["p50", "p95", "p99"], "not measured yet")}</dd>
        </div>
        <div>
          <dt>Outcomes</dt>
          <dd className={styles.outcomes}>
            {OUTCOMES.map(([outcome, count]) => (
              <button
                key={outcome}
                type="button"
                className={styles.linkButton}
                data-outcome={outcome}
                aria-pressed={selected === `outcome:${outcome}`}
                aria-label={`Entities ${ENTITY_OUTCOME_LABELS[outcome]}: ${formatCount(count(flow))}`}
                onClick={() => select({ outcome })}
              >
                {formatCount(count(flow))} {ENTITY_OUTCOME_LABELS[outcome]}
              </button>
            ))}
          </dd>
        </div>
        <div>
          <dt>Steps</dt>
          <dd>
            {flow.steps.length} steps · {flow.edges.length} transitions
          </dd>
        </div>
      </dl>
        {flow.pending > 0 && (
          <p className={styles.pending} role="status">
            {formatCount(flow.pending)} {flow.pending === 1 ? "step" : "steps"} stored but not yet counted (of every kind): the collector
            counts them within seconds, or a while longer when it catches up.
          </p>
        )}
      </section>

      {flow.steps.length === 0 ? (
        <p className={styles.empty}>No entity of this kind had a step in this window. A longer window may show some.</p>
      ) : (
        <div className={`graph-canvas ${styles.canvas}`} style={{ height: canvasHeight }} data-testid="pathway" onKeyDown={onCanvasKeyDown}>
          <ReactFlow<StepFlowNode, ShareFlowEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            edgeTypes={edgeTypes}
            onNodeClick={onNodeClick}
            onEdgeClick={onEdgeClick}
            onPaneClick={() => select(null)}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable
            fitView
            fitViewOptions={{ maxZoom: 1.1, padding: 0.1 }}
            minZoom={0.1}
            maxZoom={2}
          >
            <Background gap={24} size={1} />
            <Controls showInteractive={false} />
          </ReactFlow>
        </div>
      )}

      {hiddenEdges > 0 && (
        <label className={styles.muted}>
          <input type="checkbox" checked={allEdges} onChange={(event) => setAllEdges(event.target.checked)} /> Draw the{" "}
          {hiddenEdges} {hiddenEdges === 1 ? "transition" : "transitions"} taken by under {formatShare(MINOR_SHARE)} of their step&apos;s entities (all are
          in the table below)
        </label>
      )}

      {selection !== null && selectionTitle !== null && (
        <FlowEntitiesList key={selected} kind={flow.kind} window={flow.window} selection={selection} title={selectionTitle} />
      )}

      <DeliveryTables delivery={flow.delivery} />

      {flow.outcomeHours.length > 0 && (
        <table className={styles.table}>
          <caption>Outcomes by hour of the entities&apos; last step (open: stuck or in flight now)</caption>
          <thead>
            <tr>
              <th scope="col">Hour (UTC)</th>
              <th scope="col" className={styles.num}>
                Completed
              </th>
              <th scope="col" className={styles.num}>
                Compensated
              </th>
              <th scope="col" className={styles.num}>
                Dead-lettered
              </th>
              <th scope="col" className={styles.num}>
                Open
              </th>
            </tr>
          </thead>
          <tbody>
            {flow.outcomeHours.slice(-24).map((hour) => (
              <tr key={hour.hour}>
                <th scope="row">{hour.hour.slice(0, 13).replace("T", " ")}:00</th>
                <td className={styles.num}>{formatCount(hour.completed)}</td>
                <td className={styles.num}>{formatCount(hour.compensated)}</td>
                <td className={styles.num}>{formatCount(hour.deadLettered)}</td>
                <td className={styles.num}>{formatCount(hour.open)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {flow.steps.length > 0 && (
        <div className={styles.tables}>
          <table className={styles.table}>
            <caption>Steps</caption>
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Role</th>
                <th scope="col">Producer</th>
                <th scope="col" className={styles.num}>
                  Entities
                </th>
                <th scope="col" className={styles.num}>
                  Started
                </th>
                <th scope="col" className={styles.num}>
                  Ended
                </th>
                <th scope="col">From the step before</th>
              </tr>
            </thead>
            <tbody>
              {flow.steps.map((step) => (
                <tr key={step.id} className={step.id === selected ? styles.selectedRow : undefined}>
                  <th scope="row">
                    <button
                      type="button"
                      className={styles.linkButton}
                      aria-pressed={step.id === selected}
                      aria-label={`Entities at ${stepName(step)}`}
                      onClick={() => select({ step: step.id })}
                    >
                      {step.type}
                    </button>
                  </th>
                  <td>{roleLabel(step.role)}</td>
                  <td>{step.producer ?? "unknown producer"}</td>
                  <td className={styles.num}>{formatCount(step.entities)}</td>
                  <td className={styles.num}>{formatCount(step.starts)}</td>
                  <td className={styles.num}>{formatCount(step.ends)}</td>
                  <td>{formatPercentiles(step.latency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {flow.edges.length > 0 && (
            <table className={styles.table}>
              <caption>Transitions</caption>
              <thead>
                <tr>
                  <th scope="col">From → to</th>
                  <th scope="col" className={styles.num}>
                    Entities
                  </th>
                  <th scope="col" className={styles.num}>
                    Share
                  </th>
                  <th scope="col">Latency</th>
                </tr>
              </thead>
              <tbody>
                {flow.edges.map((edge) => {
                  const id = selectionKey({ from: edge.from, to: edge.to });
                  const [from, to] = [stepsById.get(edge.from), stepsById.get(edge.to)];
                  return (
                    <tr key={id} className={id === selected ? styles.selectedRow : undefined}>
                      <th scope="row">
                        <button
                          type="button"
                          className={styles.linkButton}
                          aria-pressed={id === selected}
                          aria-label={`Entities from ${nameOf(edge.from)} to ${nameOf(edge.to)}`}
                          onClick={() => select({ from: edge.from, to: edge.to })}
                        >
                          {from ? stepShortName(from) : "?"} → {to ? stepShortName(to) : "?"}
                        </button>
                      </th>
                      <td className={styles.num}>{formatCount(edge.entities)}</td>
                      <td className={styles.num}>{formatShare(edge.share)}</td>
                      <td>{formatPercentiles(edge.latency)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}
