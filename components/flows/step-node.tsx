"use client";

import { Handle, Position, type NodeProps, type NodeTypes } from "@xyflow/react";
import { memo } from "react";
import { formatCount } from "@/lib/format-number";
import { formatPercentiles, ROLE_LABELS, stepMark, stepRole } from "./format";
import type { StepFlowNode } from "./to-flow";
import styles from "./flows.module.css";

/**
 * A step of a pathway: its role (a retry, dead letter or replay is badged and edged in its own
 * colour; a failure or compensation by its type's name is edged like the timeline marks it), its
 * type and producer, the entities that reached it, and the time from the step before.
 */
export const StepNodeView = memo(function StepNodeView({ data, selected }: NodeProps<StepFlowNode>) {
  const { step } = data;
  const mark = stepMark(step);
  const role = stepRole(step.role);
  return (
    <div
      className={`graph-node ${styles.stepNode}${selected ? " graph-node-selected" : ""}`}
      data-role={role}
      data-outcome={mark.outcome}
      title={mark.reason ?? undefined}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} className="graph-handle" />
      <Handle type="source" position={Position.Right} isConnectable={false} className="graph-handle" />
      <div className="graph-node-kind">
        {role === "event" ? (
          <span>{mark.outcome === "normal" ? "step" : mark.outcome}</span>
        ) : (
          <span className={styles.roleBadge} data-role={role}>
            {ROLE_LABELS[role]}
          </span>
        )}
        <span className="graph-node-rate" title="entities that reached this step in the window">
          {formatCount(step.entities)} {step.entities === 1 ? "entity" : "entities"}
        </span>
      </div>
      <div className="graph-node-title" title={step.type}>
        {step.type}
      </div>
      <div className="graph-node-meta" title={step.producer ?? "unknown producer"}>
        {step.producer ?? "unknown producer"}
      </div>
      <div className={`graph-node-meta ${styles.latency}`} title="time from the step before (p50 · p95 · p99)">
        {formatPercentiles(step.latency, ["p50", "p95", "p99"], step.starts > 0 ? "first step" : "–")}
      </div>
    </div>
  );
});

/** A module constant: React Flow re-mounts every node when nodeTypes changes identity. */
export const nodeTypes: NodeTypes = { step: StepNodeView };
