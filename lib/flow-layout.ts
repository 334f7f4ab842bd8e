import { type GraphLayout, type LayoutEdge, type NodePosition, orderColumns, placeInOrder } from "./graph-layout.ts";

/**
 * Left-to-right layout of a kind's pathway graph (lib/flows.ts): each step in the column of its
 * longest path from the start steps, so every ordinary transition points rightwards. A pathway has
 * loops (a retry that repeats, a replay back to an earlier step): the transitions that close a
 * loop are found by a depth-first walk from the start steps and do not place anything; they are
 * drawn all the same. Inside a column, steps are ordered and placed as the overview's columns are
 * (lib/graph-layout.ts orderColumns, placeInOrder). Pure and deterministic.
 */

export interface PathwayNode {
  id: string;
  /** Size of the rendered node, px. */
  width: number;
  height: number;
}

export interface PathwayLayoutOptions {
  /** Where the walk starts, most important first (the flow's start steps); steps nothing leads to come next. */
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
const PLACEMENT_ROUNDS = 6;

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * The transitions that close a loop (lead back to a step on the walk's current path), self-loops
 * included. Walks from `roots` first, then from any step not reached yet, in id order.
 */
export function loopEdges(ids: readonly string[], edges: readonly LayoutEdge[], roots: readonly string[] = []): Set<string> {
  const known = new Set(ids);
  const out = new Map<string, string[]>();
  const incoming = new Set<string>();
  for (const edge of edges) {
    if (!known.has(edge.source) || !known.has(edge.target)) continue;
    push(out, edge.source, edge.target);
    if (edge.source !== edge.target) incoming.add(edge.target);
  }
  for (const list of out.values()) list.sort(compareIds);
  const sorted = [...ids].sort(compareIds);
  const starts = [...roots.filter((id) => known.has(id)), ...sorted.filter((id) => !incoming.has(id)), ...sorted];

  const loops = new Set<string>();
  const state = new Map<string, "open" | "done">();
  for (const start of starts) {
    if (state.has(start)) continue;
    // Iterative depth-first walk: a pathway can be long enough to overflow a recursive one.
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, "open");
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const targets = out.get(top.id) ?? [];
      if (top.next >= targets.length) {
        state.set(top.id, "done");
        stack.pop();
        continue;
      }
      const target = targets[top.next++]!;
      const seen = state.get(target);
      if (seen === "open") loops.add(edgeKey(top.id, target));
      else if (seen === undefined) {
        state.set(target, "open");
        stack.push({ id: target, next: 0 });
      }
    }
  }
  return loops;
}

export function edgeKey(source: string, target: string): string {
  return `${source}\u0000${target}`;
}

/** Column of each step: its longest path from a step nothing leads to, loops left out. */
export function pathwayColumns(ids: readonly string[], edges: readonly LayoutEdge[], roots: readonly string[] = []): Map<string, number> {
  const loops = loopEdges(ids, edges, roots);
  const known = new Set(ids);
  const out = new Map<string, string[]>();
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]));
  const seen = new Set<string>();
  for (const edge of edges) {
    const key = edgeKey(edge.source, edge.target);
    if (!known.has(edge.source) || !known.has(edge.target) || loops.has(key) || seen.has(key)) continue;
    seen.add(key);
    push(out, edge.source, edge.target);
    indegree.set(edge.target, indegree.get(edge.target)! + 1);
  }
  const column = new Map<string, number>(ids.map((id) => [id, 0]));
  const ready = [...ids].filter((id) => indegree.get(id) === 0).sort(compareIds);
  while (ready.length > 0) {
    const id = ready.shift()!;
    for (const target of out.get(id) ?? []) {
      column.set(target, Math.max(column.get(target)!, column.get(id)! + 1));
      const left = indegree.get(target)! - 1;
      indegree.set(target, left);
      if (left === 0) ready.push(target);
    }
  }
  return column;
}

export function layoutPathway(nodes: readonly PathwayNode[], edges: readonly LayoutEdge[], options: PathwayLayoutOptions = {}): GraphLayout {
  const positions = new Map<string, NodePosition>();
  if (nodes.length === 0) return { positions, width: 0, height: 0 };
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
  const sweep = [...order.keys(), ...[...order.keys()].reverse().slice(1)];
  for (let round = 0; round < PLACEMENT_ROUNDS; round++) {
    for (const c of sweep) {
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
