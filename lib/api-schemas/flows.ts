import { z } from "zod";
import { DEFAULT_FLOW_WINDOW, FLOW_WINDOWS, STEP_ROLES, parseStepId, type FlowWindow, type StepRole } from "../flows.ts";
import { CONSUMER_KINDS } from "./groups.ts";
import { blankToUndefined, cursorSchema, limitSchema, queryRecord, type RawQuery } from "./query-params.ts";

/**
 * Flows: `GET /api/flows` (the entity kinds), `GET /api/flows/<kind>` (one kind's pathway graph
 * over a window) and `GET /api/flows/<kind>/entities` (the entities behind a step or an edge), and
 * the pages `/flows` and `/flows/<kind>`. The rules (what a step is, how paths count) are lib/flows.ts.
 */

export const flowKindSchema = z.string().min(1, "the entity kind is empty").max(300, "an entity kind has at most 300 characters");

const windowNames = Object.keys(FLOW_WINDOWS) as [FlowWindow, ...FlowWindow[]];

export const flowWindowSchema = z.preprocess(
  blankToUndefined,
  z.enum(windowNames, { message: `window must be one of ${windowNames.join(", ")}` }).default(DEFAULT_FLOW_WINDOW),
);

export const stepIdParamSchema = z.preprocess(
  blankToUndefined,
  z
    .string()
    .max(1000, "a step id has at most 1000 characters")
    .refine((id) => parseStepId(id) !== null, "is not a step id (pass a step's id as the flow returned it)")
    .optional(),
);

export const latencySchema = z.object({
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
  count: z.number().int(),
});

export const stepRoleSchema = z.enum(STEP_ROLES as [StepRole, ...StepRole[]]);

export const flowStepSchema = z.object({
  /** Opaque: pass it back as `step=` (lib/flows.ts stepId). */
  id: z.string(),
  role: stepRoleSchema,
  type: z.string(),
  producer: z.string().nullable(),
  /** Entities that reached this step in the window (each once). */
  entities: z.number().int(),
  /** … whose first step it was. */
  starts: z.number().int(),
  /** … whose last step so far it is. */
  ends: z.number().int(),
  /** Time from the previous step, over every edge into it; null for a step nothing leads to. */
  latency: latencySchema.nullable(),
  /** Entities that reached it more than once (ordinary events only: retries repeat by design). */
  repeats: z.number().int(),
  /** Should happen once per entity (lib/flows.ts isOnceStep): a repeat of it is a repeated effect. */
  once: z.boolean(),
  /** A configured terminal step, or most entities that reach it end here. */
  terminal: z.boolean(),
  /**
   * The steps (ids) after which ending here completes an entity: more than half of the entities
   * that came that way ended here (a notification after a payment does not end an order; one
   * after its confirmation does). An entity of a single step is completed here when `terminal`.
   */
  completesAfter: z.array(z.string()),
  /** The step that most often comes next (id): another step when any follows, itself only if nothing else does; null when none. */
  usualNext: z.string().nullable(),
  /**
   * The step that always comes right before this one (id): at least 19 in 20 of the entities that
   * came here from another step came from it, out of 20 or more. null when there is none.
   */
  alwaysAfter: z.string().nullable(),
  /**
   * An open entity whose last step this is (and not completed here) becomes stuck after this long
   * without a next step: EVENTSCOPE_STUCK_FACTOR × the usual next step's p99 (at least
   * MIN_STUCK_MS); null when it cannot be stuck here (a configured terminal step, or nothing ever
   * came next).
   */
  stuckAfterMs: z.number().nullable(),
});

export const flowEdgeSchema = z.object({
  from: z.string(),
  to: z.string(),
  /** Entities that went from `from` straight to `to` in the window (each once). */
  entities: z.number().int(),
  /** entities / the entities that reached `from`: the share that went on this way. */
  share: z.number(),
  latency: latencySchema.nullable(),
});

export const flowSchema = z.object({
  kind: z.string(),
  window: z.enum(windowNames),
  /** The window's bounds (ISO 8601): counters are hourly, so `from` is the start of an hour. */
  from: z.string(),
  to: z.string(),
  /** Entities whose last step so far falls in the window. */
  entities: z.number().int(),
  steps: z.array(flowStepSchema),
  edges: z.array(flowEdgeSchema),
  /** First step → last step, for entities of two steps or more. */
  endToEnd: latencySchema.nullable(),
  /** The window's entities by outcome (lib/flows.ts readPath; stuck and in flight as of `to`). */
  outcomes: z.object({
    completed: z.number().int(),
    compensated: z.number().int(),
    deadLettered: z.number().int(),
    stuck: z.number().int(),
    inFlight: z.number().int(),
  }),
  /** Per hour of their last step: how the entities fared (open: stuck or in flight, or completed later). */
  outcomeHours: z.array(
    z.object({
      hour: z.string(),
      completed: z.number().int(),
      compensated: z.number().int(),
      deadLettered: z.number().int(),
      open: z.number().int(),
    }),
  ),
  /** How the window's events were delivered: duplicates and ordering breaks (lib/flows.ts pathCounters). */
  delivery: z.object({
    /** Deliveries of an event that was delivered before on the same topic, by topic and step (type and producer); most first. */
    duplicates: z.array(z.object({ topic: z.string(), step: z.string(), type: z.string(), producer: z.string().nullable(), count: z.number().int() })),
    /** Entities whose events on a topic sit on more than one partition (Kafka no longer orders them), by topic; most first. */
    partitionSplits: z.array(z.object({ topic: z.string(), entities: z.number().int() })),
    /**
     * Entities that went from `step` straight to `before` (ids), though `before` nearly always comes
     * right before `step` (its `alwaysAfter`): the two were seen in the wrong order; most first.
     */
    outOfOrder: z.array(z.object({ step: z.string(), before: z.string(), entities: z.number().int() })),
  }),
  /**
   * Steps stored but not yet counted, of every kind (the fold counts them every few seconds; many
   * while the collector catches up). Counted up to 100,000.
   */
  pending: z.number().int(),
});

export type FlowLatency = z.infer<typeof latencySchema>;
export type FlowStep = z.infer<typeof flowStepSchema>;
export type FlowEdge = z.infer<typeof flowEdgeSchema>;
export type Flow = z.infer<typeof flowSchema>;

export const flowKindSummarySchema = z.object({
  kind: z.string(),
  /** Every entity of the kind that is stored. */
  entities: z.number().int(),
  /** ISO 8601: the latest step of any of them; null if none. */
  lastAt: z.string().nullable(),
});

export const flowKindsSchema = z.object({ kinds: z.array(flowKindSummarySchema) });
export type FlowKindSummary = z.infer<typeof flowKindSummarySchema>;
export type FlowKinds = z.infer<typeof flowKindsSchema>;

export const flowQuerySchema = z.object({ window: flowWindowSchema });
export type FlowQuery = z.infer<typeof flowQuerySchema>;

export function parseFlowQuery(query: RawQuery): FlowQuery {
  return flowQuerySchema.parse(queryRecord(query));
}

/**
 * `GET /api/flows/<kind>/entities`: `step=<id>` (entities that reached it), or `from=<id>&to=<id>`
 * (entities that went along that edge), or neither (every entity of the kind); newest last step first.
 */
export const ENTITY_OUTCOMES = ["completed", "compensated", "dead-lettered", "stuck", "in-flight"] as const;
export type EntityOutcome = (typeof ENTITY_OUTCOMES)[number];

export const flowEntitiesQuerySchema = z
  .object({
    window: flowWindowSchema,
    outcome: z.preprocess(blankToUndefined, z.enum(ENTITY_OUTCOMES, { message: `outcome must be one of ${ENTITY_OUTCOMES.join(", ")}` }).optional()),
    step: stepIdParamSchema,
    from: stepIdParamSchema,
    to: stepIdParamSchema,
    cursor: cursorSchema,
    limit: limitSchema(500),
  })
  .superRefine((value, ctx) => {
    if ((value.from === undefined) !== (value.to === undefined)) {
      ctx.addIssue({ code: "custom", message: "an edge is from=<step id> and to=<step id>: give both or neither" });
    }
    if (value.step !== undefined && value.from !== undefined) {
      ctx.addIssue({ code: "custom", message: "give either step=<step id> or from= and to= (an edge), not both" });
    }
  });

export type FlowEntitiesQuery = z.infer<typeof flowEntitiesQuerySchema>;

export function parseFlowEntitiesQuery(query: RawQuery): FlowEntitiesQuery {
  return flowEntitiesQuerySchema.parse(queryRecord(query));
}

const stepRefSchema = z.object({ id: z.string(), role: stepRoleSchema, type: z.string(), producer: z.string().nullable() });

export const flowEntitySchema = z.object({
  entityKey: z.string(),
  outcome: z.enum(ENTITY_OUTCOMES),
  /** ISO 8601. */
  firstAt: z.string(),
  lastAt: z.string(),
  /** Steps in its path (a longer history counts by its first lib/flows MAX_PATH_STEPS). */
  steps: z.number().int(),
  lastStep: stepRefSchema,
  /** For a stuck entity: what it waits for, how long that usually takes, who should do it. */
  stuck: z
    .object({
      /** How long since its last step (ms, as of the answer). */
      forMs: z.number(),
      nextStep: stepRefSchema,
      /** The next step's p99 from this one, and the time after which it counts as stuck. */
      usualP99Ms: z.number(),
      stuckAfterMs: z.number(),
      /**
       * What the service that produces the next step consumes: its Kafka groups (by group id or a
       * member's client id) and its RabbitMQ queues (by the connection names of their consumers,
       * as last seen attached); `groupId` is the id the consumers page takes (rabbitQueueId).
       */
      groups: z.array(
        z.object({
          kind: z.enum(CONSUMER_KINDS),
          source: z.string(),
          groupId: z.string(),
          healthStatus: z.string().nullable(),
          healthReason: z.string().nullable(),
        }),
      ),
    })
    .nullable(),
});

export const flowEntitiesSchema = z.object({
  kind: z.string(),
  entities: z.array(flowEntitySchema),
  nextCursor: z.string().nullable(),
});

export type FlowEntity = z.infer<typeof flowEntitySchema>;

/** One entity's standing in a kind's flow (on its timeline): the kind, and the entity as the flow lists it. */
export const entityFlowSchema = flowEntitySchema.extend({
  kind: z.string(),
  /** The kind's steps that should happen once per entity (type and producer): a repeat on the timeline is a repeated effect. */
  onceSteps: z.array(z.object({ type: z.string(), producer: z.string().nullable() })),
  /** Steps that always come right after another (type and producer of each): seen before it, that is an ordering break. */
  alwaysAfter: z.array(
    z.object({
      step: z.object({ type: z.string(), producer: z.string().nullable() }),
      after: z.object({ type: z.string(), producer: z.string().nullable() }),
    }),
  ),
});
export type EntityFlow = z.infer<typeof entityFlowSchema>;
export type FlowEntities = z.infer<typeof flowEntitiesSchema>;

export function flowHref(kind: string, window?: FlowWindow): string {
  const path = `/flows/${encodeURIComponent(kind)}`;
  return window && window !== DEFAULT_FLOW_WINDOW ? `${path}?window=${window}` : path;
}
