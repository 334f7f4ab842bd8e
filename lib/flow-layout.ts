import { compareIds, type GraphLayout, type LayoutEdge, orderColumns, placeColumns, push } from "./graph-layout.ts";

/**
 * Left-to-right layout of a kind's pathway graph (lib/flows.ts): each step in the column of its
 * shortest way from the start steps (pathwayColumns), so the common way reads left to right and
 * loops (a retry that repeats, a replay back to an earlier step) point back. Inside a column, steps
 * are ordered and placed as the overview's columns are (lib/graph-layout.ts orderColumns,
 * placeInOrder), by the transitions from one column to the next; the others are drawn over them.
 * Pure and deterministic.
 */

export interface PathwayNode {
  id: string;
  /** Size of the rendered node, px. */
  width: number;
  height: number;
}

export interface PathwayLayoutOptions {
  /** Where the pathway starts (the flow's start steps); steps nothing leads to are starts too. */
  roots?: readonly string[];
  /** Vertical gap between steps of a column, px. */
  nodeSep?: number;
  /** Horizontal gap between columns, px: room for a transition's label. */
  rankSep?: number;
}

/** The size a step node is drawn at (components/flows), shared so layout and drawing agree. */
export const STEP_NODE_SIZE = { width: 230, height: 92 } as const;

const NODE_GAP = 24;
const COLUMN_GAP = 150;

/**
 * Column of each step: the fewest transitions from a start step (`roots` first, then the steps
 * nothing leads to, then any step not reached yet, in id order). The fewest, not the most: a real
 * pathway loops (retries, replays, notifications that go back and forth), and a step's longest way
 * in runs through every loop before it, which spreads the common way over many columns.
 */
export function pathwayColumns(ids: readonly string[], edges: readonly LayoutEdge[], roots: readonly string[] = []): Map<string, number> {
  const known = new Set(ids);
  const out = new Map<string, string[]>();
  const incoming = new Set<string>();
  const seen = new Set<string>();
  for (const edge of edges) {
    const key = edgeKey(edge.source, edge.target);
    if (!known.has(edge.source) || !known.has(edge.target) || edge.source === edge.target || seen.has(key)) continue;
    seen.add(key);
    push(out, edge.source, edge.target);
    incoming.add(edge.target);
  }
  for (const list of out.values()) list.sort(compareIds);
  const sorted = [...ids].sort(compareIds);
  const column = new Map<string, number>();
  const walk = (starts: readonly string[]) => {
    const queue = starts.filter((id) => known.has(id) && !column.has(id));
    for (const id of queue) column.set(id, 0);
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      for (const target of out.get(id) ?? []) {
        if (column.has(target)) continue;
        column.set(target, column.get(id)! + 1);
        queue.push(target);
      }
    }
  };
  walk([...roots, ...sorted.filter((id) => !incoming.has(id))]);
  // Steps only a loop leads to: each loop from its first step by id.
  for (const id of sorted) if (!column.has(id)) walk([id]);
  return column;
}

export function edgeKey(source: string, target: string): string {
  return `${source}\u0000${target}`;
}

export function layoutPathway(nodes: readonly PathwayNode[], edges: readonly LayoutEdge[], options: PathwayLayoutOptions = {}): GraphLayout {
  if (nodes.length === 0) return { positions: new Map(), width: 0, height: 0 };
  const nodeGap = options.nodeSep ?? NODE_GAP;
  const columnGap = options.rankSep ?? COLUMN_GAP;
  const byId = new Map<string, PathwayNode>();
  for (const node of nodes) {
    if (byId.has(node.id)) throw new Error(`duplicate node id ${node.id}`);
    byId.set(node.id, node);
  }
  const ids = [...byId.keys()].sort(compareIds);
  const columnOf = pathwayColumns(ids, edges, options.roots);
  const columnCount = Math.max(...columnOf.values()) + 1;
  const columns: string[][] = Array.from({ length: columnCount }, () => []);
  for (const id of ids) columns[columnOf.get(id)!]!.push(id);

  // Only transitions from one column to the next order and place steps; longer ones and loops are drawn over them.
  const before = new Map<string, string[]>();
  const after = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const edge of edges) {
    const [from, to] = [columnOf.get(edge.source), columnOf.get(edge.target)];
    const key = edgeKey(edge.source, edge.target);
    if (from === undefined || to === undefined || to !== from + 1 || seen.has(key)) continue;
    seen.add(key);
    push(after, edge.source, edge.target);
    push(before, edge.target, edge.source);
  }
  const order = orderColumns(columns, before, after);
  // Across and back: each column follows the one placed just before it.
  const sweep = [...order.keys(), ...[...order.keys()].reverse().slice(1)];
  return placeColumns(order, byId, before, after, { columnGap, nodeGap, sweep: () => sweep });
}
