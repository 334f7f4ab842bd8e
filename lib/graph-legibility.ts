/**
 * How legible a laid-out flow graph is: how many of its edges cross and how many of its edge
 * labels overlap (another label, or a node). Pure; measures what the overview draws.
 *
 * Geometry (px, React Flow's): a node is a box from its top-left corner; an edge leaves its source
 * at the middle of the right side and enters its target at the middle of the left side, as a cubic
 * Bézier curve with horizontal tangents (React Flow's bezier edge, control points half the
 * horizontal distance away). A label is a box centred on a point of its edge.
 */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface MeasuredEdge {
  source: string;
  target: string;
  /** Where the label is drawn (its centre and size); null when the edge shows no label. */
  label: Box | null;
}

export interface Legibility {
  /** Pairs of edges, not sharing a node, whose curves cross. */
  crossings: number;
  /** Pairs of labels whose boxes overlap. */
  overlappingLabels: number;
  /** Labels that overlap a node's box. */
  labelsOverNodes: number;
  /** Edges drawn without a visible label (shown on hover and in the node's panel instead). */
  hiddenLabels: number;
}

/** Where the edge from `source` to `target` starts and ends. */
export function edgeEnds(source: Box, target: Box): [Point, Point] {
  return [
    { x: source.x + source.width, y: source.y + source.height / 2 },
    { x: target.x, y: target.y + target.height / 2 },
  ];
}

/** React Flow's control distance for a right-to-left bezier edge (getBezierPath, curvature 0.25). */
function controlOffset(distance: number): number {
  return distance >= 0 ? 0.5 * distance : 0.25 * 25 * Math.sqrt(-distance);
}

/** The point at `t` (0 … 1) of the edge's curve. */
export function pointOnEdge(start: Point, end: Point, t: number): Point {
  const offset = controlOffset(end.x - start.x);
  const c1 = { x: start.x + offset, y: start.y };
  const c2 = { x: end.x - offset, y: end.y };
  const u = 1 - t;
  const [a, b, c, d] = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t];
  return { x: a * start.x + b * c1.x + c * c2.x + d * end.x, y: a * start.y + b * c1.y + c * c2.y + d * end.y };
}

/** Segments of the curve: 16 are within a fraction of a pixel of it at the overview's sizes. */
const SEGMENTS = 16;

function polyline(start: Point, end: Point): Point[] {
  return Array.from({ length: SEGMENTS + 1 }, (_, i) => pointOnEdge(start, end, i / SEGMENTS));
}

/** The curve's height at `x`, on its polyline (the curve is monotone in x: one height per x). */
function heightAt(points: readonly Point[], x: number): number {
  for (let i = 0; i < points.length - 1; i++) {
    const [p, q] = [points[i]!, points[i + 1]!];
    if (x >= p.x && x <= q.x) return q.x === p.x ? p.y : p.y + ((x - p.x) / (q.x - p.x)) * (q.y - p.y);
  }
  return x < points[0]!.x ? points[0]!.y : points.at(-1)!.y;
}

function boundsOf(points: readonly Point[]): Box {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x, y] = [Math.min(...xs), Math.min(...ys)];
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** Whether two boxes overlap by more than a hair (boxes that only touch do not). */
export function boxesOverlap(a: Box, b: Box, tolerance = 0.5): boolean {
  return a.x + a.width - tolerance > b.x && b.x + b.width - tolerance > a.x && a.y + a.height - tolerance > b.y && b.y + b.height - tolerance > a.y;
}

/** The box of a label of the given size centred on a point. */
export function labelBoxAt(centre: Point, size: { width: number; height: number }): Box {
  return { x: centre.x - size.width / 2, y: centre.y - size.height / 2, width: size.width, height: size.height };
}

/**
 * Counts crossings and overlaps of a layout. `nodes` maps each node id to its box; edges whose
 * ends are not both known, and edges within one column (a topic to its dead-letter topic, drawn as
 * a loop), are left out of the crossing count.
 */
export function measureLegibility(nodes: ReadonlyMap<string, Box>, edges: readonly MeasuredEdge[]): Legibility {
  const drawn = edges.flatMap((edge) => {
    const [source, target] = [nodes.get(edge.source), nodes.get(edge.target)];
    if (!source || !target || target.x <= source.x + source.width) return [];
    const points = polyline(...edgeEnds(source, target));
    return [{ edge, points, bounds: boundsOf(points) }];
  });

  let crossings = 0;
  for (let i = 0; i < drawn.length; i++) {
    for (let j = i + 1; j < drawn.length; j++) {
      const [a, b] = [drawn[i]!, drawn[j]!];
      if (a.edge.source === b.edge.source || a.edge.target === b.edge.target || a.edge.source === b.edge.target || a.edge.target === b.edge.source) continue;
      if (!boxesOverlap(a.bounds, b.bounds, 0)) continue;
      if (curvesCross(a.points, b.points)) crossings++;
    }
  }

  const labels = edges.flatMap((e) => (e.label ? [e.label] : []));
  let overlappingLabels = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) if (boxesOverlap(labels[i]!, labels[j]!)) overlappingLabels++;
  }
  const boxes = [...nodes.values()];
  const labelsOverNodes = labels.filter((label) => boxes.some((box) => boxesOverlap(label, box))).length;
  return { crossings, overlappingLabels, labelsOverNodes, hiddenLabels: edges.length - labels.length };
}

/**
 * Two left-to-right curves cross when their vertical order flips over the x range they share
 * (both are monotone in x). Curves that only touch, or share no x range, do not cross.
 */
function curvesCross(a: readonly Point[], b: readonly Point[]): boolean {
  const from = Math.max(a[0]!.x, b[0]!.x);
  const to = Math.min(a.at(-1)!.x, b.at(-1)!.x);
  if (to - from < 1) return false;
  const before = heightAt(a, from) - heightAt(b, from);
  const after = heightAt(a, to) - heightAt(b, to);
  return Math.sign(before) * Math.sign(after) < 0;
}

/** Where along its edge a label may go, best first: the middle, then further out either way. */
const LABEL_STOPS = [0.5, 0.42, 0.58, 0.34, 0.66, 0.46, 0.54, 0.38, 0.62, 0.3, 0.7, 0.26, 0.74];

export interface LabelRequest {
  id: string;
  source: string;
  target: string;
  /** The label's size, px (one per kind of edge, so that live figures never move a label). */
  size: { width: number; height: number };
}

/**
 * Places each edge's label at the first stop along its edge where it overlaps no node and no label
 * placed before it; a label with no such stop gets null (shown on hover and in the node's panel).
 * Labels are placed in the order given: the caller puts the ones that matter most first.
 */
export function placeEdgeLabels(nodes: ReadonlyMap<string, Box>, requests: readonly LabelRequest[]): Map<string, Box | null> {
  const placed = new Map<string, Box | null>();
  const taken: Box[] = [];
  const nodeBoxes = [...nodes.values()];
  for (const request of requests) {
    const [source, target] = [nodes.get(request.source), nodes.get(request.target)];
    let chosen: Box | null = null;
    if (source && target) {
      const [start, end] = edgeEnds(source, target);
      for (const t of LABEL_STOPS) {
        const box = labelBoxAt(pointOnEdge(start, end, t), request.size);
        if (nodeBoxes.some((node) => boxesOverlap(box, node)) || taken.some((other) => boxesOverlap(box, other))) continue;
        chosen = box;
        break;
      }
    }
    if (chosen) taken.push(chosen);
    placed.set(request.id, chosen);
  }
  return placed;
}

/**
 * The size each kind of edge label is laid out at, px: wide enough for its widest usual text at
 * the overview's 10 px ("12.3k/s" for a producer, "12.3k/s · lag 123.4k" for a consumer, an
 * exchange's routing keys cut to ROUTING_KEYS_LABEL_CHARS and "12.3k/s" for a binding), fixed so
 * that changing rates never move a label.
 */
export const EDGE_LABEL_SIZE: Record<"produces" | "routes" | "consumes" | "dead-letters", { width: number; height: number }> = {
  produces: { width: 52, height: 14 },
  routes: { width: 160, height: 14 },
  consumes: { width: 118, height: 14 },
  "dead-letters": { width: 52, height: 14 },
};

/** Characters of routing keys a binding's label shows (the rest is on hover and in the panel). */
export const ROUTING_KEYS_LABEL_CHARS = 18;

/** Label placement order: consumers' labels (lag) first, then producers', then bindings', then dead letters'. */
export const LABEL_PRIORITY: Record<keyof typeof EDGE_LABEL_SIZE, number> = { consumes: 0, produces: 1, routes: 2, "dead-letters": 3 };
