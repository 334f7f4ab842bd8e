"use client";

import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps, type EdgeTypes } from "@xyflow/react";
import { memo } from "react";
import { formatPercentiles, formatShare } from "./format";
import type { ShareFlowEdge } from "./to-flow";
import styles from "./flows.module.css";

/** How far a self-loop rises above its step, px. */
const LOOP_RISE = 70;

/**
 * A transition between two steps, labelled with the share of the first step's entities that went
 * this way and its p50 / p95. A step that follows itself (a retry that repeats) is a loop over it.
 */
export const ShareEdge = memo(function ShareEdge(props: EdgeProps<ShareFlowEdge>) {
  const edge = props.data?.edge;
  let path: string;
  let labelX: number;
  let labelY: number;
  if (props.data?.loop) {
    const { sourceX, sourceY, targetX, targetY } = props;
    const top = Math.min(sourceY, targetY) - LOOP_RISE;
    path = `M ${sourceX} ${sourceY} C ${sourceX + 50} ${top}, ${targetX - 50} ${top}, ${targetX} ${targetY}`;
    labelX = (sourceX + targetX) / 2;
    labelY = top + LOOP_RISE * 0.2;
  } else {
    [path, labelX, labelY] = getBezierPath(props);
  }
  return (
    <>
      <BaseEdge id={props.id} path={path} markerEnd={props.markerEnd} style={props.style} interactionWidth={16} />
      {edge && (
        <EdgeLabelRenderer>
          <div
            className={`graph-edge-label ${styles.edgeLabel}${props.selected ? ` ${styles.edgeLabelSelected}` : ""}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            data-testid="flow-edge-label"
          >
            <strong>{formatShare(edge.share)}</strong> {formatPercentiles(edge.latency, ["p50", "p95"], "")}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
});

export const edgeTypes: EdgeTypes = { share: ShareEdge };
