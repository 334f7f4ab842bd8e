/**
 * Every read query is backed by an index: run each against 200k synthetic events (with 330k lag
 * samples and 5k dead letters), capture the SQL it sends to the pool, EXPLAIN it
 * with the same parameters, and check that the large tables are reached through indexes, never a
 * sequential scan. The plans are printed: they are the evidence the benchmark's figures rest on.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { updateGroupHealth } from "../group-health.ts";
import { generateSyntheticData } from "../synthetic-data.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";
import {
  getCollectorHealthReport,
  getEntityTimeline,
  getEvent,
  getFlowGraph,
  getLagHistory,
  getTraceEvents,
  groupDeadLetters,
  listDeadLetters,
  getSchemaHistory,
  searchEvents,
  whoConsumes,
} from "./index.ts";

/** Tables that grow with traffic; the others (topics, groups, producers…) are a few hundred rows. */
const LARGE_TABLES = ["events", "lag_samples", "lag_minutes", "lag_minute_totals", "end_offset_samples", "dead_letters"];

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

let db: TestDatabase;
/** The database as the queries get it, with a pool that records each statement on its way. */
let traced: { pool: pg.Pool };
const captured: { text: string; values: unknown[] }[] = [];

function recordingPool(pool: pg.Pool): pg.Pool {
  return new Proxy(pool, {
    get(target, property) {
      if (property === "query") {
        return (text: string, values?: unknown[]) => {
          captured.push({ text, values: values ?? [] });
          return target.query(text, values);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
const NOW = new Date();

beforeAll(async () => {
  db = await createTestDatabase();
  await generateSyntheticData(db, { events: 200_000, now: NOW, sampleHours: 3, deadLetterEvery: 4 });
  traced = { pool: recordingPool(db.pool) };
}, 240_000);

afterAll(async () => {
  await db?.drop();
});

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Runs `call`, EXPLAINs every statement it sent, returns the scans of each plan. */
async function plansOf(call: () => Promise<unknown>): Promise<{ query: string; scans: string[] }[]> {
  captured.length = 0;
  await call();
  const statements = captured.splice(0);
  const results: { query: string; scans: string[] }[] = [];
  for (const statement of statements) {
    const { rows } = await db.pool.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${statement.text}`, statement.values);
    const scans = nodes(rows[0]!["QUERY PLAN"][0]!.Plan)
      .filter((n) => n["Relation Name"] !== undefined || n["Index Name"] !== undefined)
      .map((n) => `${n["Node Type"]} ${n["Index Name"] ?? n["Relation Name"]}`);
    results.push({ query: statement.text.replace(/\s+/g, " ").trim().slice(0, 90), scans });
  }
  return results;
}

/**
 * No sequential scan of a large table, and each expected index used; an array lists alternatives
 * the planner may rightly choose between (for a common event type, walking the time index and
 * filtering finds a page sooner than the type's own index).
 */
async function expectIndexed(name: string, call: () => Promise<unknown>, expectedIndexes: (string | string[])[]) {
  const plans = await plansOf(call);
  console.log(`${name}:\n${plans.map((p) => `  ${p.query}…\n    ${p.scans.join("; ") || "(no table)"}`).join("\n")}`);
  const seqScans = plans.flatMap((p) => p.scans).filter((scan) => LARGE_TABLES.some((table) => scan === `Seq Scan ${table}`));
  expect(seqScans, `${name} scans a large table sequentially`).toEqual([]);
  const used = plans.flatMap((p) => p.scans).join(" ");
  for (const expected of expectedIndexes) {
    const anyOf = typeof expected === "string" ? [expected] : expected;
    expect(anyOf.some((index) => used.includes(index)), `${name} uses ${anyOf.join(" or ")}: ${used}`).toBe(true);
  }
}

describe("query plans on 200k events", () => {
  it("entity timeline: GIN on entity keys; consumption and dead letters by index", async () => {
    await expectIndexed("timeline of an order", () => getEntityTimeline(traced, "ord-1234"), [
      "events_entity_keys_idx",
      "dead_letters_origin_topic_origin_partition_origin_offset_idx",
    ]);
    await expectIndexed("timeline of an order, second page", async () => {
      const first = await getEntityTimeline(traced, "ord-2345", { limit: 3 });
      await getEntityTimeline(traced, "ord-2345", { limit: 3, cursor: first.nextCursor! });
    }, ["events_entity_keys_idx"]);
  });

  it("trace: events_trace_idx", async () => {
    const { rows } = await db.pool.query<{ trace_id: string }>(`SELECT trace_id FROM events WHERE entity_keys = ARRAY['ord-4321']::text[] LIMIT 1`);
    await expectIndexed("trace", () => getTraceEvents(traced, rows[0]!.trace_id), ["events_trace_idx"]);
  });

  it("event: the primary key", async () => {
    await expectIndexed("event", () => getEvent(traced, "orders", 1, "100"), ["events_pkey"]);
  });

  it("search: the index of each filter", async () => {
    await expectIndexed("search, newest", () => searchEvents(traced, {}), ["events_timestamp_idx"]);
    await expectIndexed("search by type", () => searchEvents(traced, { type: "PaymentCaptured" }), [["events_event_type_timestamp_idx", "events_timestamp_idx"]]);
    await expectIndexed("search by topic, page 2", async () => {
      const first = await searchEvents(traced, { topic: "shipments", limit: 10 });
      await searchEvents(traced, { topic: "shipments", limit: 10, cursor: first.nextCursor! });
    }, [["events_topic_timestamp_idx", "events_timestamp_idx"]]);
    await expectIndexed("search by key", () => searchEvents(traced, { key: "ord-777" }), ["events_key_idx"]);
    await expectIndexed("search by entity", () => searchEvents(traced, { entity: "ord-778" }), ["events_entity_keys_idx"]);
    await expectIndexed("search by header value", () => searchEvents(traced, { header: { name: "x-error-class", value: "CardDeclined" } }), ["events_headers_idx"]);
    const { rows } = await db.pool.query<{ value: string }>(
      `SELECT h->>'value' AS value FROM events, jsonb_array_elements(headers) h WHERE entity_keys = ARRAY['ord-999']::text[] AND h->>'key' = 'traceparent' LIMIT 1`,
    );
    await expectIndexed("search by a unique header value", () => searchEvents(traced, { header: { name: "traceparent", value: rows[0]!.value } }), ["events_headers_idx"]);
    await expectIndexed("search by time range", () => searchEvents(traced, { from: new Date(NOW.getTime() - 3_600_000), to: NOW }), ["events_timestamp_idx"]);
  });

  it("who consumes: latest lag samples through their primary key", async () => {
    await expectIndexed("who consumes a type", () => whoConsumes(traced, { type: "OrderPlaced" }), ["lag_samples_pkey"]);
    await expectIndexed("who consumes a service", () => whoConsumes(traced, { service: "shipping-service" }), ["lag_samples_pkey"]);
  });

  it("flow graph: recent samples through the BRIN indexes", async () => {
    await expectIndexed("flow graph", () => getFlowGraph(traced, { now: NOW }), [
      "end_offset_samples_sampled_at_idx",
      "lag_samples_sampled_at_idx",
    ]);
  });

  it("group health (judged by the poller): the window's samples through the BRIN index", async () => {
    await expectIndexed("group health", () => updateGroupHealth(traced, 1, { at: NOW }), ["lag_samples_sampled_at_idx"]);
  });

  it("lag history: one group's samples through the primary key", async () => {
    await expectIndexed(
      "lag history",
      () => getLagHistory(traced, "analytics", { from: new Date(NOW.getTime() - 3_600_000), to: NOW, bucketMs: 60_000 }),
      [["lag_samples_pkey", "lag_samples_sampled_at_idx"]],
    );
  });

  it("lag history over a day: one group's per-minute roll-ups through their primary keys", async () => {
    const to = new Date(Math.ceil(NOW.getTime() / 360_000) * 360_000);
    await expectIndexed(
      "lag history, 24 h",
      () => getLagHistory(traced, "analytics", { from: new Date(to.getTime() - 86_400_000), to, bucketMs: 360_000 }),
      [["lag_minutes_pkey", "lag_minutes_minute_idx"], ["lag_minute_totals_pkey", "lag_minute_totals_minute_idx"]],
    );
  });

  it("dead letters: inbox, by status, by topic, grouped by origin", async () => {
    await expectIndexed("dead letters, newest", () => listDeadLetters(traced, {}), ["dead_letters_timestamp_id_idx"]);
    await expectIndexed("dead letters resolved", () => listDeadLetters(traced, { status: "resolved" }), [["dead_letters_status_timestamp_idx", "dead_letters_timestamp_id_idx"]]);
    await expectIndexed("dead letters of a topic, page 2", async () => {
      const first = await listDeadLetters(traced, { topic: "payments", limit: 10 });
      await listDeadLetters(traced, { topic: "payments", limit: 10, cursor: first.nextCursor! });
    }, []);
    await expectIndexed("dead letters grouped, of a topic", () => groupDeadLetters(traced, { topic: "payments", status: "resolved" }), []);
  });

  it("schema history: a removed field's evidence through the type's time index (the aggregates are small tables)", async () => {
    // A field of PaymentCaptured last seen an hour ago: the history counts the events since without it.
    const hourAgo = new Date(NOW.getTime() - 3_600_000);
    await db.pool.query(
      `INSERT INTO event_type_fields (event_type, path, json_type, count, first_seen_at, last_seen_at, first_source_id, first_topic, first_partition, first_offset)
       VALUES ('PaymentCaptured', '', 'object', 1000, $1, $2, 1, 'payments', 0, 0), ('PaymentCaptured', 'legacy', 'string', 10, $1, $1, 1, 'payments', 0, 0)
       ON CONFLICT DO NOTHING`,
      [hourAgo, NOW],
    );
    await expectIndexed("schema history", () => getSchemaHistory(traced, "PaymentCaptured"), ["events_event_type_timestamp_idx"]);
  });

  it("collector health: the collector group's latest samples", async () => {
    await expectIndexed("collector health", () => getCollectorHealthReport(traced, { pollMs: 5000, collectorGroup: "eventscope-collector" }), [
      "lag_samples_pkey",
    ]);
  });
});
