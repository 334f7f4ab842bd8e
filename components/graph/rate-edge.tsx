"use client";

import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps, type EdgeTypes } from "@xyflow/react";
import { memo } from "react";
import { formatCount } from "@/lib/format-number";
import { formatRate } from "./format";
import type { RateFlowEdge } from "./to-flow";

/** An edge labelled with its messages/s over the window, and for a consumer its lag on the topic. */
export const RateEdge = memo(function RateEdge(props: EdgeProps<RateFlowEdge>) {
  const [path, labelX, labelY] = getBezierPath(props);
  const edge = props.data?.edge;
  const parts: string[] = [];
  if (edge?.messagesPerSecond !== null && edge?.messagesPerSecond !== undefined) parts.push(formatRate(edge.messagesPerSecond, edge.estimated));
  if (edge?.kind === "consumes" && edge.lag !== undefined) parts.push(`lag ${formatCount(edge.lag)}`);
  const label = parts.join(" · ");
  return (
    <>
      <BaseEdge id={props.id} path={path} markerEnd={props.markerEnd} style={props.style} />
      {label && (
        <EdgeLabelRenderer>
          <div
            className={`graph-edge-label graph-edge-label-${edge?.kind ?? "produces"}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {label}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
});

export const edgeTypes: EdgeTypes = { rate: RateEdge };
