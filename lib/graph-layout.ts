import dagre, { type Graph } from "@dagrejs/dagre";

/**
 * Layered left-to-right layout of the flow graph: producers in the first column, topics (and
 * RabbitMQ exchanges) in the second, consumer groups (and RabbitMQ queues) in the third, RabbitMQ
 * consumers in a fourth, drawn only when there are some. Pure and deterministic (same input, same positions),
 * so the overview can lay out on the server or in the browser and re-lay out only when the set
 * of nodes changes.
 *
 * The column of each node is fixed by its kind. Inside a column, nodes are ordered to minimise
 * edge crossings (barycenter ordering over a few down and up sweeps, each followed by swaps of
 * neighbours that remove crossings; the best order seen is kept), then placed as near as their
 * order allows to the middle of their neighbours, so that edges run as straight as they can.
 * Edge labels are then placed along their edges where they overlap nothing (placeEdgeLabels).
 */

export type FlowNodeKind = "producer" | "topic" | "group" | "exchange" | "queue" | "consumer";

export interface LayoutNode {
  id: string;
  kind: FlowNodeKind;
  /** Size of the rendered node, px. */
  width: number;
  height: number;
}

export interface LayoutEdge {
  source: string;
  target: string;
}

export interface LayoutOptions {
  /** Vertical gap between nodes of a column, px. */
  nodeSep?: number;
  /** Horizontal gap between columns, px. */
  rankSep?: number;
}

/** Top-left corner of a node, px (React Flow's `position`). */
export interface NodePosition {
  x: number;
  y: number;
}

export interface GraphLayout {
  positions: Map<string, NodePosition>;
  width: number;
  height: number;
}

export const COLUMN_OF: Record<FlowNodeKind, number> = { producer: 0, topic: 1, exchange: 1, group: 2, queue: 2, consumer: 3 };

/** The sizes the overview renders its nodes at (components/graph), shared so layout and drawing agree. */
export const NODE_SIZE: Record<FlowNodeKind, { width: number; height: number }> = {
  producer: { width: 190, height: 48 },
  topic: { width: 210, height: 64 },
  exchange: { width: 210, height: 64 },
  group: { width: 230, height: 72 },
  queue: { width: 230, height: 72 },
  consumer: { width: 190, height: 56 },
};

/**
 * dagre doubles every edge's length to leave room for edge labels (a dummy rank between two
 * ranks), so column c is rank 2c; its own nesting root goes before the first column.
 */
const RANKS_PER_COLUMN = 2;
const NESTING_ROOT_RANK = -RANKS_PER_COLUMN;

/**
 * The former layout (dagre's ordering and spacing, labels at each edge's middle): kept so that the
 * benchmark (bench/graph-legibility.ts) measures the layout against it in the same run.
 */
export function layoutFlowGraphDagre(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], options: LayoutOptions = {}): GraphLayout {
  const positions = new Map<string, NodePosition>();
  if (nodes.length === 0) return { positions, width: 0, height: 0 };

  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({
    rankdir: "LR",
    nodesep: options.nodeSep ?? 16,
    ranksep: options.rankSep ?? 140,
    marginx: 0,
    marginy: 0,
    // Columns are fixed by kind. dagre adds one nesting root of its own without a rank: it
    // must sit before every column for its bookkeeping and is removed before positioning.
    ranker: (graph: Graph) => {
      for (const id of graph.nodes()) {
        const label = graph.node(id) as { rank?: number };
        if (label.rank === undefined) label.rank = NESTING_ROOT_RANK;
      }
    },
  });
  g.setDefaultEdgeLabel(() => ({}));

  // Sorted input: dagre's ordering heuristics depend on insertion order.
  const sortedNodes = [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const kindOf = new Map<string, FlowNodeKind>();
  for (const node of sortedNodes) {
    if (kindOf.has(node.id)) throw new Error(`duplicate node id ${node.id}`);
    kindOf.set(node.id, node.kind);
    g.setNode(node.id, { width: node.width, height: node.height, rank: COLUMN_OF[node.kind] * RANKS_PER_COLUMN });
  }
  // Only edges from one column to the next shape the layout; the others (a topic to its DLQ,
  // both topics) are drawn but do not move nodes.
  const layoutEdges = edges
    .filter((e) => {
      const from = kindOf.get(e.source);
      const to = kindOf.get(e.target);
      return from !== undefined && to !== undefined && COLUMN_OF[to] === COLUMN_OF[from] + 1;
    })
    .map((e) => [e.source, e.target] as const)
    .sort((a, b) => (a[0] + "\u0000" + a[1] < b[0] + "\u0000" + b[1] ? -1 : 1));
  for (const [source, target] of layoutEdges) g.setEdge(source, target);

  // The "optimal order" heuristic re-runs the crossing minimisation from several starting orders:
  // 3–4× the time (1 s for 300 nodes) for a small gain on graphs this regular.
  dagre.layout(g, { disableOptimalOrderHeuristic: true });

  let width = 0;
  let height = 0;
  for (const node of sortedNodes) {
    const placed = g.node(node.id) as { x: number; y: number };
    // dagre gives centres; React Flow wants top-left corners.
    const x = Math.round(placed.x - node.width / 2);
    const y = Math.round(placed.y - node.height / 2);
    positions.set(node.id, { x, y });
    width = Math.max(width, x + node.width);
    height = Math.max(height, y + node.height);
  }
  return { positions, width, height };
}

/** Horizontal gap between columns: room for an edge's label beside the nodes at both ends, px. */
export const COLUMN_GAP = 220;
const NODE_GAP = 16;
/** Barycenter sweeps (one down, one up each); the order rarely improves after a handful. */
const SWEEPS = 6;
/** Rounds of placing each column near its neighbours. */
const PLACEMENT_ROUNDS = 6;

/** The layout of the overview: columns by kind, orders by crossings, positions by neighbours. */
export function layoutFlowGraph(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], options: LayoutOptions = {}): GraphLayout {
  if (nodes.length === 0) return { positions: new Map(), width: 0, height: 0 };
  const nodeGap = options.nodeSep ?? NODE_GAP;
  const columnGap = options.rankSep ?? COLUMN_GAP;

  const byId = new Map<string, LayoutNode>();
  for (const node of nodes) {
    if (byId.has(node.id)) throw new Error(`duplicate node id ${node.id}`);
    byId.set(node.id, node);
  }
  // Sorted input: the result depends only on the graph, not on the order it came in. The fourth
  // column (RabbitMQ consumers) exists only when it has nodes: a Kafka-only graph has three.
  const columnCount = nodes.some((node) => COLUMN_OF[node.kind] === 3) ? 4 : 3;
  const columns: string[][] = Array.from({ length: columnCount }, () => []);
  for (const node of [...nodes].sort((a, b) => compareIds(a.id, b.id))) columns[COLUMN_OF[node.kind]]!.push(node.id);

  // Only edges from one column to the next shape the layout; the others (a topic to its DLQ,
  // both topics) are drawn but do not move nodes.
  const before = new Map<string, string[]>();
  const after = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const edge of edges) {
    const [from, to] = [byId.get(edge.source), byId.get(edge.target)];
    if (!from || !to || COLUMN_OF[to.kind] !== COLUMN_OF[from.kind] + 1) continue;
    const key = `${edge.source}\u0000${edge.target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    push(after, edge.source, edge.target);
    push(before, edge.target, edge.source);
  }

  const order = orderColumns(columns, before, after);

  // Each round goes across and back, so that the middle columns (pulled from both sides) move
  // twice as often as the outer ones, and each column follows the one placed just before it.
  const sweep = columnCount === 3 ? [0, 1, 2, 1, 0, 1, 2] : [0, 1, 2, 3, 2, 1, 0, 1, 2, 3];
  return placeColumns(order, byId, before, after, {
    columnGap,
    nodeGap,
    sweep: (round) => (round % 2 === 0 ? sweep : [...sweep].reverse()),
  });
}

/** Node ids in a stable order: layouts depend on the graph only, not on the order it came in. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Appends to the list under a key (neighbour maps). */
export function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Orders each column to reduce crossings between neighbouring columns: barycenter sweeps (a node
 * goes to the mean position of its neighbours in the column it is compared with; one without
 * neighbours there keeps its place), each followed by transposition (swapping neighbours while
 * that removes crossings). Returns the best order seen.
 */
export function orderColumns(columns: readonly string[][], before: ReadonlyMap<string, string[]>, after: ReadonlyMap<string, string[]>): string[][] {
  let order = columns.map((column) => [...column]);
  let best = order.map((column) => [...column]);
  let bestCrossings = countOrderCrossings(order, after);
  for (let sweep = 0; sweep < SWEEPS && bestCrossings > 0; sweep++) {
    for (let c = 1; c < order.length; c++) order[c] = byBarycenter(order[c]!, order[c - 1]!, before);
    for (let c = order.length - 2; c >= 0; c--) order[c] = byBarycenter(order[c]!, order[c + 1]!, after);
    transpose(order, before, after);
    const crossings = countOrderCrossings(order, after);
    if (crossings < bestCrossings) {
      bestCrossings = crossings;
      best = order.map((column) => [...column]);
    }
  }
  order = best;
  // Small columns (the demo's have 5 to 7 nodes) are then ordered exactly: each in turn gets the
  // permutation with the fewest crossings against its neighbours, until none improves.
  if (order.every((column) => column.length <= EXACT_COLUMN_MAX)) {
    for (let round = 0; round < 4; round++) {
      let improved = false;
      for (let c = 0; c < order.length; c++) {
        const current = countOrderCrossings(order, after);
        let bestColumn = order[c]!;
        let fewest = current;
        for (const permutation of permutations(order[c]!)) {
          const trial = order.map((column, i) => (i === c ? permutation : column));
          const crossings = countOrderCrossings(trial, after);
          if (crossings < fewest) {
            fewest = crossings;
            bestColumn = permutation;
          }
        }
        if (fewest < current) {
          order[c] = bestColumn;
          improved = true;
        }
      }
      if (!improved) break;
    }
  }
  return order;
}

/** Columns up to this size are ordered exactly (8! = 40,320 orders to try). */
const EXACT_COLUMN_MAX = 8;

/** Every order of `items` (Heap's algorithm), each a new array. */
function* permutations(items: readonly string[]): Generator<string[]> {
  const a = [...items];
  const c = new Array<number>(a.length).fill(0);
  yield [...a];
  let i = 1;
  while (i < a.length) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[j], a[i]] = [a[i]!, a[j]!];
      yield [...a];
      c[i]!++;
      i = 1;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

function byBarycenter(column: readonly string[], fixed: readonly string[], neighbours: ReadonlyMap<string, string[]>): string[] {
  const index = new Map(fixed.map((id, i) => [id, i]));
  const scale = fixed.length / Math.max(1, column.length);
  const keyed = column.map((id, i) => {
    const positions = (neighbours.get(id) ?? []).map((n) => index.get(n)).filter((p): p is number => p !== undefined);
    const barycenter = positions.length === 0 ? i * scale : positions.reduce((a, b) => a + b, 0) / positions.length;
    return { id, barycenter, i };
  });
  keyed.sort((a, b) => a.barycenter - b.barycenter || a.i - b.i);
  return keyed.map((k) => k.id);
}

/** Crossings between the edges of u and those of v when u is above v, against one fixed column. */
function pairCrossings(u: string, v: string, neighbours: ReadonlyMap<string, string[]>, index: ReadonlyMap<string, number>): number {
  let crossings = 0;
  for (const a of neighbours.get(u) ?? []) {
    for (const b of neighbours.get(v) ?? []) if (index.get(a)! > index.get(b)!) crossings++;
  }
  return crossings;
}

function transpose(order: string[][], before: ReadonlyMap<string, string[]>, after: ReadonlyMap<string, string[]>): void {
  for (let pass = 0; pass < 4; pass++) {
    let improved = false;
    for (let c = 0; c < order.length; c++) {
      const column = order[c]!;
      const left = c > 0 ? new Map(order[c - 1]!.map((id, i) => [id, i])) : null;
      const right = c < order.length - 1 ? new Map(order[c + 1]!.map((id, i) => [id, i])) : null;
      const cost = (u: string, v: string) => (left ? pairCrossings(u, v, before, left) : 0) + (right ? pairCrossings(u, v, after, right) : 0);
      for (let i = 0; i + 1 < column.length; i++) {
        const [u, v] = [column[i]!, column[i + 1]!];
        if (cost(v, u) < cost(u, v)) {
          column[i] = v;
          column[i + 1] = u;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
}

/** Crossings of a layered order: pairs of edges between the same two columns whose ends are in opposite orders. */
export function countOrderCrossings(order: readonly string[][], after: ReadonlyMap<string, string[]>): number {
  let crossings = 0;
  for (let c = 0; c + 1 < order.length; c++) {
    const index = new Map(order[c + 1]!.map((id, i) => [id, i]));
    const ends: [number, number][] = [];
    order[c]!.forEach((id, i) => {
      for (const target of after.get(id) ?? []) if (index.has(target)) ends.push([i, index.get(target)!]);
    });
    for (let i = 0; i < ends.length; i++) {
      for (let j = i + 1; j < ends.length; j++) {
        const [a, b] = [ends[i]!, ends[j]!];
        if ((a[0] - b[0]) * (a[1] - b[1]) < 0) crossings++;
      }
    }
  }
  return crossings;
}

/**
 * Tops (px) as close as possible (least squares) to `desired`, keeping the order and at least `gap`
 * between neighbours: pool-adjacent-violators on the tops shifted by what precedes each node.
 */
export function placeInOrder(desired: readonly number[], heights: readonly number[], gap: number): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const height of heights) {
    offsets.push(offset);
    offset += height + gap;
  }
  const blocks: { sum: number; count: number }[] = [];
  desired.forEach((d, i) => {
    blocks.push({ sum: d - offsets[i]!, count: 1 });
    while (blocks.length > 1 && blocks.at(-2)!.sum / blocks.at(-2)!.count > blocks.at(-1)!.sum / blocks.at(-1)!.count) {
      const last = blocks.pop()!;
      blocks.at(-1)!.sum += last.sum;
      blocks.at(-1)!.count += last.count;
    }
  });
  const tops: number[] = [];
  for (const block of blocks) for (let k = 0; k < block.count; k++) tops.push(block.sum / block.count + offsets[tops.length]!);
  return tops;
}

/**
 * Ordered columns of nodes placed: x per column (as wide as its widest node, then `columnGap`);
 * y stacked in order, then, PLACEMENT_ROUNDS times, each column in `sweep(round)` order pulled
 * towards its nodes' neighbours (the mean of their centres), order and gaps kept (placeInOrder).
 */
export function placeColumns(
  order: readonly (readonly string[])[],
  byId: ReadonlyMap<string, { width: number; height: number }>,
  before: ReadonlyMap<string, string[]>,
  after: ReadonlyMap<string, string[]>,
  options: { columnGap: number; nodeGap: number; sweep: (round: number) => readonly number[] },
): GraphLayout {
  const { columnGap, nodeGap } = options;
  const positions = new Map<string, NodePosition>();
  let x = 0;
  const columnX = order.map((column) => {
    const at = x;
    x += Math.max(0, ...column.map((id) => byId.get(id)!.width)) + columnGap;
    return at;
  });
  const top = new Map<string, number>();
  for (const column of order) {
    let y = 0;
    for (const id of column) {
      top.set(id, y);
      y += byId.get(id)!.height + nodeGap;
    }
  }
  const centre = (id: string) => top.get(id)! + byId.get(id)!.height / 2;
  for (let round = 0; round < PLACEMENT_ROUNDS; round++) {
    for (const c of options.sweep(round)) {
      const column = order[c]!;
      const desired = column.map((id) => {
        const neighbours = [...(before.get(id) ?? []), ...(after.get(id) ?? [])];
        const wanted = neighbours.length === 0 ? centre(id) : neighbours.reduce((sum, n) => sum + centre(n), 0) / neighbours.length;
        return wanted - byId.get(id)!.height / 2;
      });
      const placed = placeInOrder(desired, column.map((id) => byId.get(id)!.height), nodeGap);
      column.forEach((id, i) => top.set(id, placed[i]!));
    }
  }
  const minY = Math.min(...top.values());
  let width = 0;
  let height = 0;
  order.forEach((column, c) => {
    for (const id of column) {
      const node = byId.get(id)!;
      const position = { x: columnX[c]!, y: Math.round(top.get(id)! - minY) };
      positions.set(id, position);
      width = Math.max(width, position.x + node.width);
      height = Math.max(height, position.y + node.height);
    }
  });
  return { positions, width, height };
}
