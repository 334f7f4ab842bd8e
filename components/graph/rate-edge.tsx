"use client";

import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps, type EdgeTypes } from "@xyflow/react";
import { memo } from "react";
import { formatCount } from "@/lib/format-number";
import { ROUTING_KEYS_LABEL_CHARS } from "@/lib/graph-legibility";
import { formatRate, formatRoutingKeys } from "./format";
import type { RateFlowEdge } from "./to-flow";

/**
 * An edge labelled with its messages/s over the window, for a consumer its lag on the topic (or the
 * queue), for an exchange's binding to a queue its routing keys (all of them in the tooltip).
 * The label sits where the layout found room for it; an edge without room shows its label only
 * while it is hovered or one of its nodes is selected (the node's panel lists the same figures).
 */
export const RateEdge = memo(function RateEdge(props: EdgeProps<RateFlowEdge>) {
  const [path, middleX, middleY] = getBezierPath(props);
  const edge = props.data?.edge;
  const at = props.data?.labelAt ?? null;
  const shown = at !== null || props.data?.showLabel === true;
  const [labelX, labelY] = at ? [at.x + at.width / 2, at.y + at.height / 2] : [middleX, middleY];
  const parts: string[] = [];
  const keys = edge?.kind === "routes" ? formatRoutingKeys(edge.routingKeys ?? [], ROUTING_KEYS_LABEL_CHARS) : "";
  if (keys) parts.push(keys);
  if (edge?.messagesPerSecond !== null && edge?.messagesPerSecond !== undefined) parts.push(formatRate(edge.messagesPerSecond, edge.estimated));
  if (edge?.kind === "consumes" && edge.lag !== undefined) parts.push(`lag ${formatCount(edge.lag)}`);
  const label = parts.join(" · ");
  return (
    <>
      <BaseEdge id={props.id} path={path} markerEnd={props.markerEnd} style={props.style} />
      {label && shown && (
        <EdgeLabelRenderer>
          <div
            className={`graph-edge-label graph-edge-label-${edge?.kind ?? "produces"}${at ? "" : " graph-edge-label-on-demand"}`}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            title={edge?.routingKeys && edge.routingKeys.length > 0 ? `routing keys: ${edge.routingKeys.map((k) => (k === "" ? '""' : k)).join(", ")}` : undefined}
          >
            {label}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
});

export const edgeTypes: EdgeTypes = { rate: RateEdge };
