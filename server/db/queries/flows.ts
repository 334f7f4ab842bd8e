import {
  DEFAULT_ENTITY_KIND,
  PATH_OUTCOMES,
  isOnceStep,
  latencyOf,
  parseStepId,
  windowStartHour,
  type FlowWindow,
  type Latency,
  type PathOutcome,
} from "../../../lib/flows.ts";
import type {
  EntityOutcome,
  Flow,
  FlowEdge,
  FlowEntities,
  FlowEntitiesQuery,
  FlowEntity,
  FlowKinds,
  FlowStep,
  EntityFlow,
} from "../../../lib/api-schemas/flows.ts";
import { Prisma } from "@prisma/client";
import { rabbitQueueId, type ConsumerKind } from "../../../lib/api-schemas/groups.ts";
import { checkLimit, decodeIdCursor, encodeIdCursor, groupShown, runQuery, select, sourceNameSql, type Queryable } from "./shared.ts";

/**
 * Flows as the fold maintains them (server/db/flows.ts): a kind's pathway graph summed over the
 * window's hourly counters (flow_counts primary key: kind, hour, …), outcomes, and the entities
 * behind a step, an edge or an outcome (flow_entities_kind_last_at_idx; flow_entities_steps_idx
 * for a step; flow_entities_open_idx, one range per step, for the stuck ones).
 *
 * Outcomes: the fold stores each path's (lib/flows.ts readPath: dead-lettered, compensated or
 * open); an open entity is completed when its last step is terminal (configured in
 * EVENTSCOPE_FLOW_TERMINAL_STEPS, or most entities that reach it end there), stuck when nothing
 * followed its last step for stuckAfterMs (EVENTSCOPE_STUCK_FACTOR × the p99 of the step that
 * usually comes next, at least MIN_STUCK_MS), else in flight.
 */

/** Inbox rows counted at most, for `pending`: enough to say "many". */
const PENDING_COUNT_CAP = 100_000;

/**
 * The least time without a next step before an entity counts as stuck: below it, a step may simply
 * not be folded yet (the fold runs every 2 s, every 20 s while the collector catches up).
 */
export const MIN_STUCK_MS = 30_000;

const DEFAULT_STUCK_FACTOR = 3;

/** Entities that came into a step from another, at least, before a step is said to always follow one. */
const ALWAYS_AFTER_EVIDENCE = 20;

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

interface CounterRow {
  metric: string;
  a: string;
  b: string;
  bucket: number;
  count: string;
}

/** A kind's pathway graph over the window; null when no entity of the kind is stored. */
export async function getFlow(db: Queryable, kind: string, options: { window: FlowWindow; now?: Date }): Promise<Flow | null> {
  const now = options.now ?? new Date();
  return runQuery(`reading the flow of ${kind}`, async () => {
    const { rows: known } = await db.pool.query<{ known: boolean; pending: string }>(
      `SELECT EXISTS (SELECT 1 FROM flow_entities WHERE kind = $1) AS known,
         (SELECT count(*) FROM (SELECT 1 FROM flow_inbox LIMIT ${PENDING_COUNT_CAP}) p)::text AS pending`,
      [kind],
    );
    if (!known[0]!.known) return null;
    const graph = await readGraph(db, kind, options.window, now);
    const stuck = await countStuck(db, kind, graph);
    // Per hour: the entities ending at each step (by outcome), and those of two steps or more by
    // their last transition, so that "completed" can depend on the way into the last step.
    const { rows: hours } = await db.pool.query<{ hour: Date; metric: "end" | "tail"; a: string; b: string; bucket: number; count: string }>(
      `SELECT hour, metric, a, b, bucket, sum(count)::text AS count FROM flow_counts
       WHERE kind = $1 AND hour >= $2 AND metric IN ('end', 'tail') GROUP BY hour, metric, a, b, bucket ORDER BY hour`,
      [kind, graph.from],
    );
    const byHour = new Map<number, { hour: string; completed: number; compensated: number; deadLettered: number; open: number }>();
    const outcomes = { completed: 0, compensated: 0, deadLettered: 0, stuck, inFlight: 0 };
    const hourOf = (date: Date) => {
      let hour = byHour.get(date.getTime());
      if (!hour) byHour.set(date.getTime(), (hour = { hour: date.toISOString(), completed: 0, compensated: 0, deadLettered: 0, open: 0 }));
      return hour;
    };
    for (const row of hours) {
      const count = Number(row.count);
      if (count <= 0) continue;
      const hour = hourOf(row.hour);
      if (row.metric === "end") {
        // Every entity once, by its last step and outcome; the open ones are completed below.
        if (row.b === "compensated") {
          hour.compensated += count;
          outcomes.compensated += count;
        } else if (row.b === "dead-lettered") {
          hour.deadLettered += count;
          outcomes.deadLettered += count;
        } else if (graph.completes(null, row.a)) {
          hour.completed += count;
          outcomes.completed += count;
        } else {
          hour.open += count;
          outcomes.inFlight += count;
        }
      } else if (PATH_OUTCOMES[row.bucket] === "open" && graph.completes(row.a, row.b) !== graph.completes(null, row.b)) {
        // An open entity that ended right after this transition: its way in decides, not its last step alone.
        const sign = graph.completes(row.a, row.b) ? 1 : -1;
        hour.completed += sign * count;
        outcomes.completed += sign * count;
        hour.open -= sign * count;
        outcomes.inFlight -= sign * count;
      }
    }
    outcomes.inFlight = Math.max(0, outcomes.inFlight - stuck);
    return {
      kind,
      window: options.window,
      from: graph.from.toISOString(),
      to: now.toISOString(),
      entities: graph.entities,
      steps: graph.steps,
      edges: graph.edges,
      endToEnd: graph.endToEnd,
      delivery: graph.delivery,
      outcomes,
      outcomeHours: [...byHour.values()],
      pending: Number(known[0]!.pending),
    };
  });
}

interface Graph {
  from: Date;
  now: Date;
  entities: number;
  steps: FlowStep[];
  edges: FlowEdge[];
  endToEnd: Latency | null;
  delivery: Flow["delivery"];
  /**
   * Whether an open entity that ended at `last`, right after `prev` (null: a single step), is
   * completed: `last` is a configured terminal step; or most entities that ended right after the
   * same transition did end there (more than half of those that took it); or, for a single step,
   * most entities that reach it end there.
   */
  completes(prev: string | null, last: string): boolean;
}

/** The window's counters summed into steps (with terminal, usual next step and stuck threshold) and edges. */
async function readGraph(db: Queryable, kind: string, window: FlowWindow, now: Date): Promise<Graph> {
  const from = new Date(windowStartHour(window, now.getTime()));
  const { rows } = await db.pool.query<CounterRow>(
    `SELECT metric, a, b, bucket, sum(count)::text AS count
     FROM flow_counts WHERE kind = $1 AND hour >= $2
     GROUP BY metric, a, b, bucket`,
    [kind, from],
  );
  const settings = db.flowSettings ?? { terminalSteps: [], stuckFactor: DEFAULT_STUCK_FACTOR };
  return { from, now, ...buildGraph(rows, settings) };
}

function buildGraph(rows: readonly CounterRow[], settings: { terminalSteps: readonly string[]; stuckFactor: number }): Omit<Graph, "from" | "now"> {
  const steps = new Map<string, { reach: number; starts: number; ends: number; repeats: number; incoming: Map<number, number> }>();
  const stepOf = (id: string) => {
    let step = steps.get(id);
    if (!step) steps.set(id, (step = { reach: 0, starts: 0, ends: 0, repeats: 0, incoming: new Map() }));
    return step;
  };
  const edges = new Map<string, { from: string; to: string; entities: number; buckets: Map<number, number> }>();
  /** Entities (every outcome) whose path ended with a transition. */
  const tails = new Map<string, number>();
  const endToEnd = new Map<number, number>();
  const duplicates = new Map<string, { topic: string; step: string; count: number }>();
  const splits = new Map<string, number>();
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
      case "repeat":
        stepOf(row.a).repeats += count;
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
      case "tail": {
        const key = `${row.a}\u0000${row.b}`;
        tails.set(key, (tails.get(key) ?? 0) + count);
        break;
      }
      case "dup": {
        const key = `${row.b}\u0000${row.a}`;
        const entry = duplicates.get(key) ?? { topic: row.b, step: row.a, count: 0 };
        entry.count += count;
        duplicates.set(key, entry);
        break;
      }
      case "split":
        splits.set(row.a, (splits.get(row.a) ?? 0) + count);
        break;
    }
  }
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
  const configured = new Set(settings.terminalSteps);
  const isConfigured = (id: string) => {
    const parsed = parseStepId(id);
    return parsed !== null && parsed.role === "event" && configured.has(parsed.type);
  };
  const mostEndHere = (id: string) => {
    const step = steps.get(id);
    return step !== undefined && parseStepId(id)?.role === "event" && step.ends * 2 > step.reach;
  };
  const completes = (prev: string | null, last: string): boolean => {
    if (isConfigured(last)) return true;
    const edge = prev === null ? undefined : edges.get(`${prev}\u0000${last}`);
    if (prev === null || edge === undefined || edge.entities === 0) return mostEndHere(last);
    return parseStepId(last)?.role === "event" && (tails.get(`${prev}\u0000${last}`) ?? 0) * 2 > edge.entities;
  };
  const stepList: FlowStep[] = [];
  for (const [id, step] of steps) {
    const parsed = parseStepId(id);
    if (parsed === null) continue;
    const terminal = isConfigured(id) || mostEndHere(id);
    // edgeList is sorted by entities: the first edge out of a step is its usual next step.
    // A step that follows itself (a second notification, a retry loop) is not what an entity
    // waits for when anything else usually follows: the busiest way on to another step is.
    const next = edgeList.find((edge) => edge.from === id && edge.to !== id) ?? edgeList.find((edge) => edge.from === id) ?? null;
    // The busiest way in, when nearly every entity that came from another step took it.
    const incoming = edgeList.filter((edge) => edge.to === id && edge.from !== id);
    const cameIn = incoming.reduce((sum, edge) => sum + edge.entities, 0);
    const alwaysAfter = cameIn >= ALWAYS_AFTER_EVIDENCE && incoming[0]!.entities * 20 >= cameIn * 19 ? incoming[0]!.from : null;
    // Whether an entity is done here depends on its way in (completes): only a configured
    // terminal step is never waited past.
    const stuckAfterMs =
      isConfigured(id) || next === null || next.latency === null ? null : Math.max(MIN_STUCK_MS, Math.round(settings.stuckFactor * next.latency.p99Ms));
    const completesAfter = edgeList.filter((edge) => edge.to === id && completes(edge.from, id)).map((edge) => edge.from);
    stepList.push({
      id,
      role: parsed.role,
      type: parsed.type,
      producer: parsed.producer,
      entities: step.reach,
      starts: step.starts,
      ends: step.ends,
      repeats: step.repeats,
      once: isOnceStep({ entities: step.reach, repeats: step.repeats }),
      latency: latencyOf(step.incoming),
      terminal,
      completesAfter,
      usualNext: next?.to ?? null,
      alwaysAfter,
      stuckAfterMs,
    });
  }
  stepList.sort((a, b) => b.starts - a.starts || b.entities - a.entities || (a.id < b.id ? -1 : 1));
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const delivery: Flow["delivery"] = {
    duplicates: [...duplicates.values()]
      .flatMap((entry) => {
        const parsed = parseStepId(entry.step);
        return parsed === null ? [] : [{ topic: entry.topic, step: entry.step, type: parsed.type, producer: parsed.producer, count: entry.count }];
      })
      .sort((a, b) => b.count - a.count || byText(a.topic, b.topic) || byText(a.step, b.step)),
    partitionSplits: [...splits.entries()].map(([topic, count]) => ({ topic, entities: count })).sort((a, b) => b.entities - a.entities || byText(a.topic, b.topic)),
    outOfOrder: stepList
      .flatMap((step) => {
        const reversed = step.alwaysAfter === null ? undefined : edges.get(`${step.id}\u0000${step.alwaysAfter}`);
        return reversed === undefined ? [] : [{ step: step.id, before: step.alwaysAfter!, entities: reversed.entities }];
      })
      .sort((a, b) => b.entities - a.entities || byText(a.step, b.step)),
  };
  return { entities, steps: stepList, edges: edgeList, endToEnd: latencyOf(endToEnd), delivery, completes };
}

/** Steps an open entity can be stuck at, with the time before which its last step makes it stuck. */
function stuckCuts(graph: Graph): { step: string; cut: Date }[] {
  return graph.steps
    .filter((step) => step.stuckAfterMs !== null)
    .map((step) => ({ step: step.id, cut: new Date(graph.now.getTime() - step.stuckAfterMs!) }));
}

/** Step numbers (flow_steps) of the graph's steps: paths and entity rows hold those. */
async function stepNumbersOf(db: Queryable, ids: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.pool.query<{ step: string; id: number }>(`SELECT step, id FROM flow_steps WHERE step = ANY($1::text[])`, [[...new Set(ids)]]);
  return new Map(rows.map((row) => [row.step, row.id]));
}

/**
 * SQL over `f` (flow_entities) for the open entities' outcomes, as Graph.completes and stuckCuts
 * decide them, with values through `param`: `completed` (its last step, or its way into it, ends
 * entities), and `stuck(cut)`, one step's range past its threshold.
 */
function outcomeSql(graph: Graph, numbers: ReadonlyMap<string, number>, param: (value: unknown) => string) {
  const ids = (list: readonly string[]) => `${param(list.flatMap((id) => (numbers.has(id) ? [numbers.get(id)!] : [])))}::int[]`;
  const pairs = (list: readonly FlowEdge[]) => {
    const known = list.filter((edge) => numbers.has(edge.from) && numbers.has(edge.to));
    return `unnest(${param(known.map((edge) => numbers.get(edge.from)!))}::int[], ${param(known.map((edge) => numbers.get(edge.to)!))}::int[]) AS t(p, s)`;
  };
  const single = graph.steps.filter((step) => graph.completes(null, step.id)).map((step) => step.id);
  const completing = graph.edges.filter((edge) => graph.completes(edge.from, edge.to));
  const completed = `(EXISTS (SELECT 1 FROM ${pairs(completing)} WHERE t.p = f.prev_step AND t.s = f.last_step)
    OR (f.last_step = ANY(${ids(single)}) AND (f.prev_step IS NULL OR NOT EXISTS (SELECT 1 FROM ${pairs(graph.edges)} WHERE t.p = f.prev_step AND t.s = f.last_step))))`;
  const stuck = (cut: { step: string; cut: Date }) => `(f.last_step = ${param(numbers.get(cut.step) ?? null)}::int AND f.last_at < ${param(cut.cut)})`;
  return { completed, stuck };
}

/** Open entities past their step's threshold and not completed, in the window: one index range per step. */
async function countStuck(db: Queryable, kind: string, graph: Graph): Promise<number> {
  const cuts = stuckCuts(graph);
  if (cuts.length === 0) return 0;
  const numbers = await stepNumbersOf(db, graph.steps.map((step) => step.id));
  const params: unknown[] = [kind, graph.from];
  const param = (value: unknown) => (params.push(value), `$${params.length}`);
  const sql = outcomeSql(graph, numbers, param);
  const counts = cuts.map(
    (cut) => `(SELECT count(*) FROM flow_entities f
      WHERE f.kind = $1 AND f.outcome = 'open' AND f.last_at >= $2 AND ${sql.stuck(cut)} AND NOT ${sql.completed})`,
  );
  const { rows } = await db.pool.query<{ stuck: string }>(`SELECT (${counts.join(" + ")})::text AS stuck`, params);
  return Number(rows[0]!.stuck);
}

const ENTITIES_CURSOR = "flow-entities";
const DEFAULT_ENTITIES = 50;

interface EntityRow {
  entity_key: string;
  first_at: Date;
  last_at: Date;
  steps: number;
  last_step: string;
  prev_step: string | null;
  outcome: PathOutcome;
}

/**
 * Entities of a kind whose last step falls in the window (from the hour its counters start), newest first: all of them, those that
 * reached `step`, those that went `from` → `to` straight, and of one `outcome`. A stuck entity
 * says what it waits for and which consumer groups should produce it. null for an unknown kind.
 */
export async function listFlowEntities(db: Queryable, kind: string, query: FlowEntitiesQuery, options: { now?: Date } = {}): Promise<FlowEntities | null> {
  const limit = checkLimit(query.limit, DEFAULT_ENTITIES, 500);
  const now = options.now ?? new Date();
  const after = query.cursor !== undefined ? decodeIdCursor(ENTITIES_CURSOR, query.cursor, /^[\s\S]{1,1000}$/) : null;
  return runQuery(`listing the entities of ${kind}`, async () => {
    const { rows: known } = await db.pool.query<{ known: boolean }>(`SELECT EXISTS (SELECT 1 FROM flow_entities WHERE kind = $1) AS known`, [kind]);
    if (!known[0]!.known) return null;
    const graph = await readGraph(db, kind, query.window, now);
    const cuts = stuckCuts(graph);
    // Paths hold step numbers (flow_steps), looked up here and passed to the listing as values:
    // the planner then weighs the steps by their statistics, and walks the time index for a step
    // most entities reached (looked up inside the listing, a step was a value unknown when
    // planning, and an edge every order took went through the GIN index: 280 ms at 1M orders).
    const named = [query.step, ...(query.from !== undefined && query.to !== undefined ? [query.from, query.to] : [])].filter(
      (step): step is string => step !== undefined,
    );
    const numbers = await stepNumbersOf(db, [...named, ...graph.steps.map((step) => step.id)]);
    // A step no event has had: no entity reached it.
    if (named.some((step) => !numbers.has(step))) return { kind, entities: [], nextCursor: null };

    // The window as the counts have it (from the start of an hour), so a list matches its count.
    const params: unknown[] = [kind, graph.from];
    const where = ["f.kind = $1", "f.last_at >= $2"];
    const param = (value: unknown) => (params.push(value), `$${params.length}`);
    const stepNumber = (id: string) => `${param(numbers.get(id) ?? null)}::int`;
    if (query.step !== undefined) where.push(`f.steps @> ARRAY[${stepNumber(query.step)}]`);
    if (query.from !== undefined && query.to !== undefined) {
      const from = stepNumber(query.from);
      const to = stepNumber(query.to);
      where.push(`f.steps @> ARRAY[${from}, ${to}]`, `EXISTS (SELECT 1 FROM generate_subscripts(f.steps, 1) i WHERE f.steps[i] = ${from} AND f.steps[i + 1] = ${to})`);
    }
    if (after !== null) where.push(`(f.last_at, f.entity_key) < (${param(new Date(after.timestampMs))}, ${param(after.id)})`);
    // Built only for an outcome filter: every value it binds must be used by the statement.
    let built: ReturnType<typeof outcomeSql> | null = null;
    const outcomes = () => (built ??= outcomeSql(graph, numbers, param));
    const stuckSql = () => (cuts.length === 0 ? "false" : `(${cuts.map(outcomes().stuck).join(" OR ")})`);
    switch (query.outcome) {
      case "compensated":
      case "dead-lettered":
        where.push(`f.outcome = ${param(query.outcome)}`);
        break;
      case "completed":
        where.push(`f.outcome = 'open'`, outcomes().completed);
        break;
      case "stuck":
        where.push(`f.outcome = 'open'`, stuckSql(), `NOT ${outcomes().completed}`);
        break;
      case "in-flight":
        where.push(`f.outcome = 'open'`, `NOT ${outcomes().completed}`, `NOT ${stuckSql()}`);
        break;
      case undefined:
        break;
    }
    const { rows } = await db.pool.query<EntityRow>(
      `SELECT f.entity_key, f.first_at, f.last_at, cardinality(f.steps) AS steps, (SELECT step FROM flow_steps WHERE id = f.last_step) AS last_step,
         (SELECT step FROM flow_steps WHERE id = f.prev_step) AS prev_step, f.outcome
       FROM flow_entities f WHERE ${where.join(" AND ")}
       ORDER BY f.last_at DESC, f.entity_key DESC
       LIMIT ${param(limit + 1)}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const stepById = new Map(graph.steps.map((step) => [step.id, step]));
    const groups = await groupsProducing(
      db,
      page.flatMap((row) => {
        const next = stepById.get(row.last_step)?.usualNext;
        return next ? [parseStepId(next)?.producer ?? null] : [];
      }),
    );
    return {
      kind,
      entities: page.map((row) => entityOf(row, graph, stepById, groups, now)),
      nextCursor: rows.length > limit && last ? encodeIdCursor(ENTITIES_CURSOR, last.last_at.getTime(), last.entity_key) : null,
    };
  });
}

function stepRef(id: string) {
  return { id, ...(parseStepId(id) ?? { role: "event" as const, type: id, producer: null }) };
}

function entityOf(
  row: EntityRow,
  graph: Graph,
  stepById: ReadonlyMap<string, FlowStep>,
  groups: ReadonlyMap<string, NonNullable<FlowEntity["stuck"]>["groups"]>,
  now: Date,
): FlowEntity {
  const step = stepById.get(row.last_step);
  const waitedMs = now.getTime() - row.last_at.getTime();
  let outcome: EntityOutcome;
  if (row.outcome !== "open") outcome = row.outcome;
  else if (graph.completes(row.prev_step, row.last_step)) outcome = "completed";
  else if (step?.stuckAfterMs != null && waitedMs >= step.stuckAfterMs) outcome = "stuck";
  else outcome = "in-flight";
  let stuck: FlowEntity["stuck"] = null;
  if (outcome === "stuck" && step?.usualNext) {
    const next = stepRef(step.usualNext);
    const edge = graph.edges.find((e) => e.from === step.id && e.to === step.usualNext);
    stuck = {
      forMs: waitedMs,
      nextStep: next,
      usualP99Ms: edge?.latency?.p99Ms ?? 0,
      stuckAfterMs: step.stuckAfterMs!,
      groups: next.producer ? (groups.get(next.producer) ?? []) : [],
    };
  }
  return {
    entityKey: row.entity_key,
    outcome,
    firstAt: row.first_at.toISOString(),
    lastAt: row.last_at.toISOString(),
    steps: row.steps,
    lastStep: stepRef(row.last_step),
    stuck,
  };
}

/** The consumer groups each service runs: its group id, or a group with a member of that client id. */
async function groupsProducing(db: Queryable, services: readonly (string | null)[]): Promise<Map<string, NonNullable<FlowEntity["stuck"]>["groups"]>> {
  const names = [...new Set(services.filter((name): name is string => name !== null))];
  const found = new Map<string, NonNullable<FlowEntity["stuck"]>["groups"]>();
  if (names.length === 0) return found;
  type Row = { service: string; kind: ConsumerKind; source: string; group_id: string; vhost: string | null; health_status: string | null; health_reason: string | null };
  const rows = await select<Row>(
    db,
    Prisma.sql`SELECT n.service, 'kafka-group' AS kind, ${sourceNameSql(Prisma.sql`g.source_id`)} AS source, g.group_id, NULL AS vhost,
        g.health_status, g.health_reason
      FROM unnest(${names}::text[]) AS n(service)
      JOIN consumer_groups g ON g.deleted_at IS NULL AND ${groupShown(db, Prisma.sql`g.group_id`)}
        AND (g.group_id = n.service OR EXISTS (
          SELECT 1 FROM group_members m WHERE m.source_id = g.source_id AND m.group_id = g.group_id AND m.client_id = n.service))
      UNION ALL
      SELECT n.service, 'rabbitmq-queue', ${sourceNameSql(Prisma.sql`q.source_id`)}, q.name, q.vhost, q.health_status, q.health_reason
      FROM unnest(${names}::text[]) AS n(service)
      JOIN rabbitmq_queues q ON q.deleted_at IS NULL AND q.consumer_names @> ARRAY[n.service]
      ORDER BY 1, 2, 3, 4`,
  );
  for (const row of rows) {
    const list = found.get(row.service) ?? [];
    const groupId = row.kind === "rabbitmq-queue" ? rabbitQueueId(row.vhost ?? "/", row.group_id) : row.group_id;
    list.push({ kind: row.kind, source: row.source, groupId, healthStatus: row.health_status, healthReason: row.health_reason });
    found.set(row.service, list);
  }
  return found;
}

/**
 * How one entity fares in each kind it belongs to (an id can name entities of several kinds):
 * its outcome as of `now`, judged against its kind's last 7 days. Index: the GIN over entity keys
 * for its kinds, then flow_entities' primary key.
 */
export async function getEntityFlows(db: Queryable, entityKey: string, options: { now?: Date } = {}): Promise<EntityFlow[]> {
  const now = options.now ?? new Date();
  return runQuery(`reading the flows of ${entityKey}`, async () => {
    const { rows } = await db.pool.query<EntityRow & { kind: string }>(
      `SELECT f.kind, f.entity_key, f.first_at, f.last_at, cardinality(f.steps) AS steps,
         (SELECT step FROM flow_steps WHERE id = f.last_step) AS last_step, (SELECT step FROM flow_steps WHERE id = f.prev_step) AS prev_step, f.outcome
       FROM flow_entities f
       WHERE f.entity_key = $1 AND f.kind = ANY (ARRAY(
         SELECT DISTINCT coalesce(e.entity_kinds[array_position(e.entity_keys, $1)], $2)
         FROM events e WHERE e.entity_keys @> ARRAY[$1]::text[]))
       ORDER BY f.kind`,
      [entityKey, DEFAULT_ENTITY_KIND],
    );
    const flows: EntityFlow[] = [];
    for (const row of rows) {
      const graph = await readGraph(db, row.kind, "7d", now);
      const stepById = new Map(graph.steps.map((step) => [step.id, step]));
      const next = stepById.get(row.last_step)?.usualNext;
      const groups = await groupsProducing(db, next ? [parseStepId(next)?.producer ?? null] : []);
      const onceSteps = graph.steps.filter((step) => step.once && step.role === "event").map((step) => ({ type: step.type, producer: step.producer }));
      const alwaysAfter = graph.steps.flatMap((step) => {
        const after = step.alwaysAfter === null ? undefined : stepById.get(step.alwaysAfter);
        return after ? [{ step: { type: step.type, producer: step.producer }, after: { type: after.type, producer: after.producer } }] : [];
      });
      flows.push({ kind: row.kind, ...entityOf(row, graph, stepById, groups, now), onceSteps, alwaysAfter });
    }
    return flows;
  });
}
