import {
  latencyOf,
  parseStepId,
  windowStartHour,
  FLOW_WINDOWS,
  type FlowWindow,
  type Latency,
} from "../../../lib/flows.ts";
import type { Flow, FlowEdge, FlowEntities, FlowEntitiesQuery, FlowKinds, FlowStep } from "../../../lib/api-schemas/flows.ts";
import { checkLimit, decodeIdCursor, encodeIdCursor, runQuery, type Queryable } from "./shared.ts";

/**
 * Flows as the fold maintains them (server/db/flows.ts): a kind's pathway graph summed over the
 * window's hourly counters (flow_counts primary key: kind, hour, …), the entities behind a step or
 * an edge (flow_entities_kind_last_at_idx, and flow_entities_steps_idx for a step), and the kinds.
 */

/** Inbox rows counted at most, for `pending`: enough to say "many". */
const PENDING_COUNT_CAP = 100_000;

export async function listFlowKinds(db: Queryable): Promise<FlowKinds> {
  return runQuery("listing entity kinds", async () => {
    // Every entity has exactly one `end` counter: their sum over all hours is the kind's entities.
    const { rows } = await db.pool.query<{ kind: string; entities: string; last_at: Date | null }>(
      `SELECT c.kind, c.entities::text,
         (SELECT max(f.last_at) FROM flow_entities f WHERE f.kind = c.kind) AS last_at
       FROM (SELECT kind, sum(count) AS entities FROM flow_counts WHERE metric = 'end' GROUP BY kind) c
       WHERE c.entities > 0
       ORDER BY c.entities DESC, c.kind`,
    );
    return { kinds: rows.map((row) => ({ kind: row.kind, entities: Number(row.entities), lastAt: row.last_at?.toISOString() ?? null })) };
  });
}

/** A kind's pathway graph over the window; null when no entity of the kind is stored. */
export async function getFlow(db: Queryable, kind: string, options: { window: FlowWindow; now?: Date }): Promise<Flow | null> {
  const now = options.now ?? new Date();
  const from = windowStartHour(options.window, now.getTime());
  return runQuery(`reading the flow of ${kind}`, async () => {
    const { rows: known } = await db.pool.query<{ known: boolean; pending: string }>(
      `SELECT EXISTS (SELECT 1 FROM flow_entities WHERE kind = $1) AS known,
         (SELECT count(*) FROM (SELECT 1 FROM flow_inbox LIMIT ${PENDING_COUNT_CAP}) p)::text AS pending`,
      [kind],
    );
    if (!known[0]!.known) return null;
    const { rows } = await db.pool.query<{ metric: string; a: string; b: string; bucket: number; count: string }>(
      `SELECT metric, a, b, bucket, sum(count)::text AS count
       FROM flow_counts WHERE kind = $1 AND hour >= $2
       GROUP BY metric, a, b, bucket`,
      [kind, new Date(from)],
    );
    return buildFlow(kind, options.window, new Date(from), now, rows, Number(known[0]!.pending));
  });
}

function buildFlow(
  kind: string,
  window: FlowWindow,
  from: Date,
  to: Date,
  rows: readonly { metric: string; a: string; b: string; bucket: number; count: string }[],
  pending: number,
): Flow {
  const steps = new Map<string, { reach: number; starts: number; ends: number; incoming: Map<number, number> }>();
  const stepOf = (id: string) => {
    let step = steps.get(id);
    if (!step) steps.set(id, (step = { reach: 0, starts: 0, ends: 0, incoming: new Map() }));
    return step;
  };
  const edges = new Map<string, { from: string; to: string; entities: number; buckets: Map<number, number> }>();
  const endToEnd = new Map<number, number>();
  let entities = 0;
  const add = (into: Map<number, number>, bucket: number, count: number) => into.set(bucket, (into.get(bucket) ?? 0) + count);
  for (const row of rows) {
    const count = Number(row.count);
    if (count <= 0) continue;
    switch (row.metric) {
      case "reach":
        stepOf(row.a).reach += count;
        break;
      case "start":
        stepOf(row.a).starts += count;
        break;
      case "end":
        stepOf(row.a).ends += count;
        entities += count;
        break;
      case "edge": {
        const key = `${row.a}\u0000${row.b}`;
        let edge = edges.get(key);
        if (!edge) edges.set(key, (edge = { from: row.a, to: row.b, entities: 0, buckets: new Map() }));
        edge.entities += count;
        add(edge.buckets, row.bucket, count);
        add(stepOf(row.b).incoming, row.bucket, count);
        stepOf(row.a);
        break;
      }
      case "e2e":
        add(endToEnd, row.bucket, count);
        break;
    }
  }
  const stepList: FlowStep[] = [];
  for (const [id, step] of steps) {
    const parsed = parseStepId(id);
    if (parsed === null) continue;
    stepList.push({
      id,
      role: parsed.role,
      type: parsed.type,
      producer: parsed.producer,
      entities: step.reach,
      starts: step.starts,
      ends: step.ends,
      latency: latencyOf(step.incoming) as Latency | null,
    });
  }
  stepList.sort((a, b) => b.starts - a.starts || b.entities - a.entities || (a.id < b.id ? -1 : 1));
  const edgeList: FlowEdge[] = [...edges.values()]
    .map((edge) => {
      const reached = steps.get(edge.from)?.reach ?? 0;
      return {
        from: edge.from,
        to: edge.to,
        entities: edge.entities,
        // An edge counted in the window can come from a step reached before it: at most all of them.
        share: reached > 0 ? Math.min(1, edge.entities / reached) : 1,
        latency: latencyOf(edge.buckets),
      };
    })
    .sort((a, b) => b.entities - a.entities || (a.from + a.to < b.from + b.to ? -1 : 1));
  return {
    kind,
    window,
    from: from.toISOString(),
    to: to.toISOString(),
    entities,
    steps: stepList,
    edges: edgeList,
    endToEnd: latencyOf(endToEnd),
    pending,
  };
}

const ENTITIES_CURSOR = "flow-entities";
const DEFAULT_ENTITIES = 50;

/**
 * Entities of a kind whose last step falls in the window, newest first: all of them, those that
 * reached `step`, or those that went `from` → `to` straight. null for an unknown kind.
 */
export async function listFlowEntities(db: Queryable, kind: string, query: FlowEntitiesQuery, options: { now?: Date } = {}): Promise<FlowEntities | null> {
  const limit = checkLimit(query.limit, DEFAULT_ENTITIES, 500);
  const now = options.now ?? new Date();
  const since = new Date(now.getTime() - FLOW_WINDOWS[query.window]);
  const after = query.cursor !== undefined ? decodeIdCursor(ENTITIES_CURSOR, query.cursor, /^[\s\S]{1,1000}$/) : null;
  return runQuery(`listing the entities of ${kind}`, async () => {
    // Paths hold step numbers (flow_steps), looked up here and passed to the listing as values:
    // the planner then weighs the steps by their statistics, and walks the time index for a step
    // most entities reached (looked up inside the listing, a step was a value unknown when
    // planning, and an edge every order took went through the GIN index: 280 ms at 1M orders).
    const named = [query.step, ...(query.from !== undefined && query.to !== undefined ? [query.from, query.to] : [])].filter(
      (step): step is string => step !== undefined,
    );
    const { rows: known } = await db.pool.query<{ known: boolean; numbers: Record<string, number> }>(
      `SELECT EXISTS (SELECT 1 FROM flow_entities WHERE kind = $1) AS known,
         (SELECT coalesce(json_object_agg(step, id), '{}') FROM flow_steps WHERE step = ANY($2::text[])) AS numbers`,
      [kind, named],
    );
    if (!known[0]!.known) return null;
    const numbers = new Map(Object.entries(known[0]!.numbers));
    // A step no event has had: no entity reached it.
    if (named.some((step) => !numbers.has(step))) return { kind, entities: [], nextCursor: null };
    const params: unknown[] = [kind, since];
    const where = ["kind = $1", "last_at >= $2"];
    const stepNumber = (step: string) => {
      params.push(numbers.get(step)!);
      return `$${params.length}::int`;
    };
    if (query.step !== undefined) where.push(`steps @> ARRAY[${stepNumber(query.step)}]`);
    if (query.from !== undefined && query.to !== undefined) {
      const from = stepNumber(query.from);
      const to = stepNumber(query.to);
      where.push(
        `steps @> ARRAY[${from}, ${to}]`,
        `EXISTS (SELECT 1 FROM generate_subscripts(steps, 1) i WHERE steps[i] = ${from} AND steps[i + 1] = ${to})`,
      );
    }
    if (after !== null) {
      params.push(new Date(after.timestampMs), after.id);
      where.push(`(last_at, entity_key) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(limit + 1);
    const { rows } = await db.pool.query<{ entity_key: string; first_at: Date; last_at: Date; steps: number; last_step: string }>(
      `SELECT f.entity_key, f.first_at, f.last_at, cardinality(f.steps) AS steps, (SELECT step FROM flow_steps WHERE id = f.last_step) AS last_step
       FROM flow_entities f WHERE ${where.join(" AND ")}
       ORDER BY f.last_at DESC, f.entity_key DESC
       LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      kind,
      entities: page.map((row) => {
        const step = parseStepId(row.last_step) ?? { role: "event" as const, type: row.last_step, producer: null };
        return {
          entityKey: row.entity_key,
          firstAt: row.first_at.toISOString(),
          lastAt: row.last_at.toISOString(),
          steps: row.steps,
          lastStep: { id: row.last_step, ...step },
        };
      }),
      nextCursor: rows.length > limit && last ? encodeIdCursor(ENTITIES_CURSOR, last.last_at.getTime(), last.entity_key) : null,
    };
  });
}
