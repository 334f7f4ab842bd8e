import { afterAll, beforeAll, expect, test } from "vitest";
import { ingestEvents } from "./ingest.ts";
import { HIGHEST_STORED_POSITIONS_SQL, highestStoredPositions } from "./stored-positions.ts";
import { ensureSource } from "./sources.ts";
import { bareEventRow, createTestDatabase, type TestDatabase } from "./test-support.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const row = (sourceId: number, topic: string, offset: number, partition = 0) =>
  bareEventRow({ sourceId, topic, partition, offset, timestamp: new Date(1_700_000_000_000 + offset) });

test("the highest stored position per channel of a source and partition; channels with none are absent", async () => {
  const rabbit = await ensureSource(db, { name: "positions-rabbit", kind: "rabbitmq" });
  const other = await ensureSource(db, { name: "positions-other", kind: "rabbitmq" });
  await ingestEvents(db, [
    row(rabbit.id, "orders", 0),
    row(rabbit.id, "orders", 41),
    row(rabbit.id, "orders", 7),
    row(rabbit.id, "orders", 99, 1),
    row(rabbit.id, "payments", 3),
    row(other.id, "orders", 500),
  ]);
  const found = await highestStoredPositions(db, rabbit.id, ["orders", "payments", "shipping"]);
  expect(found).toEqual(new Map([["orders", 41n], ["payments", 3n]]));
  expect(await highestStoredPositions(db, rabbit.id, [])).toEqual(new Map());
});

test("each channel's maximum is an index step on the events primary key, never a scan of events", async () => {
  const client = await db.pool.connect();
  try {
    // With a handful of rows the planner would rightly prefer a scan: forbid it, as a big table would.
    await client.query("SET enable_seqscan = off");
    const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${HIGHEST_STORED_POSITIONS_SQL.replace("$2::text[]", "ARRAY['orders','payments']::text[]").replace("$1", "1").replace("$3", "0")}`);
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toMatch(/Index Only Scan Backward using events_pkey on events/);
    expect(plan).not.toMatch(/Seq Scan on events/);
  } finally {
    client.release();
  }
});
