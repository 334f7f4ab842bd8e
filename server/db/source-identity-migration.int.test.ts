import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultMigrationsDir, runMigrations } from "./migrate.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";
import { getEvent } from "./queries/event.ts";
import { getEntityTimeline } from "./queries/entity-timeline.ts";
import { listDeadLetters } from "./queries/dead-letters.ts";
import { getDeadLetter } from "./queries/dead-letter-detail.ts";
import { getLagHistory } from "./queries/lag-history.ts";
import { getConsumerGroup } from "./queries/groups.ts";
import { whoConsumes } from "./queries/who-consumes.ts";
import { getSchemaHistory } from "./queries/schema-history.ts";
import { ingestEvents } from "./ingest.ts";

/**
 * Migration 20261207090000_source_identity rewrites every table's identity in place (a source,
 * channel and position for events; source_id in front of every Kafka table's key). These tests
 * fill a database in the schema before it, migrate it, and find everything again through the real
 * queries; and check that a migration failing half-way leaves the old schema and data as they were.
 */

const LAST_BEFORE = "20261206130000_dead_letter_schema_id";
const SOURCE_IDENTITY = "20261207090000_source_identity";

const databases: TestDatabase[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A directory holding the project's migrations up to and including `last`, each as it is. */
function migrationsUpTo(last: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-migrations-"));
  dirs.push(dir);
  const all = fs.readdirSync(defaultMigrationsDir()).sort();
  expect(all).toContain(last);
  for (const name of all.filter((n) => n <= last)) fs.cpSync(path.join(defaultMigrationsDir(), name), path.join(dir, name), { recursive: true });
  return dir;
}

const T0 = new Date("2026-12-01T10:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

/** Rows as the collector and the admin poller stored them before sources existed. */
async function fillOldSchema(db: TestDatabase): Promise<{ deadLetterId: string; replayId: string }> {
  const q = (sql: string, params: unknown[] = []) => db.pool.query(sql, params);
  const headers = (pairs: [string, string][]) => JSON.stringify(pairs.map(([key, value]) => ({ key, value, encoding: "utf8" })));
  await q(
    `INSERT INTO events (topic, partition, "offset", "timestamp", key, value_kind, value_json, value_bytes, headers, size,
       event_type, entity_keys, trace_id, producer, flags, schema_id)
     VALUES ('orders', 0, 5, $1, 'ord-1', 'json', '{"type":"OrderPlaced","orderId":"ord-1"}', NULL, $2, 60,
       'OrderPlaced', '{ord-1}', $3, 'order-service', '{}', 7),
            ('orders.DLT', 0, 0, $4, 'ord-1', 'json', '{"orderId":"ord-1"}', convert_to('{"orderId":"ord-1"}', 'UTF8'), $5, 80,
       'OrderPlaced', '{ord-1}', $3, 'inventory', '{}', NULL)`,
    [
      at(0),
      headers([["traceparent", `00-${TRACE}-00f067aa0ba902b7-01`]]),
      TRACE,
      at(1000),
      headers([["x-original-topic", "orders"], ["x-original-partition", "0"], ["x-original-offset", "5"], ["x-error-class", "StockError"]]),
    ],
  );
  const dead = await q(
    `INSERT INTO dead_letters (topic, partition, "offset", "timestamp", source, convention, origin_topic, origin_partition,
       origin_offset, origin_group, error_class, error_message, attempts, status, key, value_kind, value_json, value_bytes,
       headers, flags, event_type, entity_keys, producer)
     SELECT e.topic, 0, 0, $1, 'headers', 'eventscope', 'orders', 0, 5, 'inventory', 'StockError', 'out of stock', 3,
       'replayed', e.key, e.value_kind, e.value_json, e.value_bytes, e.headers, e.flags, e.event_type, e.entity_keys, e.producer
     FROM events e WHERE e.topic = 'orders.DLT'
     RETURNING id::text AS id`,
    [at(1000)],
  );
  const deadLetterId = (dead.rows[0] as { id: string }).id;
  const replayId = "0b5e7d2c-4a1e-4f7e-9a55-2f6c1d3e8b90";
  await q(
    `INSERT INTO replays (id, dead_letter_id, sequence, requested_by, requested_at, target_topic, status, produced_partition, produced_offset)
     VALUES ($1, $2, 1, 'alice', $3, 'orders', 'sent', 0, 6)`,
    [replayId, deadLetterId, at(2000)],
  );
  await q(`INSERT INTO topics (name, kind, "of", partition_count) VALUES ('orders', 'normal', NULL, 1), ('orders.DLT', 'dlq', 'orders', 1)`);
  await q(`INSERT INTO partitions (topic, partition, end_offset, start_offset) VALUES ('orders', 0, 8, 0), ('orders.DLT', 0, 1, 0)`);
  await q(`INSERT INTO end_offset_samples (topic, partition, sampled_at, end_offset) VALUES ('orders', 0, $1, 8)`, [at(3000)]);
  await q(`INSERT INTO consumer_groups (group_id, state, protocol_type, protocol) VALUES ('inventory', 'Stable', 'consumer', 'range')`);
  await q(`INSERT INTO group_members (group_id, member_id, client_id, client_host) VALUES ('inventory', 'm-1', 'inventory-service', '/10.0.0.1')`);
  await q(`INSERT INTO group_assignments (group_id, member_id, topic, partition) VALUES ('inventory', 'm-1', 'orders', 0)`);
  await q(`INSERT INTO committed_offsets (group_id, topic, partition, committed_offset) VALUES ('inventory', 'orders', 0, 6)`);
  await q(
    `INSERT INTO lag_samples (group_id, topic, partition, sampled_at, committed_offset, end_offset, offset_lag, time_lag_ms)
     VALUES ('inventory', 'orders', 0, $1, 4, 8, 4, 900), ('inventory', 'orders', 0, $2, 6, 8, 2, 400)`,
    [at(3000), at(8000)],
  );
  await q(`INSERT INTO producers (topic, event_type, producer, count, first_seen_at, last_seen_at) VALUES ('orders', 'OrderPlaced', 'order-service', 1, $1, $1)`, [at(0)]);
  await q(
    `INSERT INTO registry_schemas (id, schema_type, schema, subject, version) VALUES (7, 'AVRO', '{"type":"record","name":"OrderPlaced","fields":[]}', 'orders-value', 1)`,
  );
  await q(
    `INSERT INTO event_type_schemas (event_type, schema_id, count, first_seen_at, last_seen_at, first_topic, first_partition, first_offset)
     VALUES ('OrderPlaced', 7, 1, $1, $1, 'orders', 0, 5)`,
    [at(0)],
  );
  return { deadLetterId, replayId };
}

describe(`migration ${SOURCE_IDENTITY}`, () => {
  it("keeps every event, dead letter, replay, group and lag sample, each on the source default", async () => {
    const db = await createTestDatabase({ migrate: false });
    databases.push(db);
    await runMigrations(db.url, { migrationsDir: migrationsUpTo(LAST_BEFORE) });
    const { deadLetterId, replayId } = await fillOldSchema(db);

    const result = await runMigrations(db.url);
    expect(result.applied).toContain(SOURCE_IDENTITY);

    const event = await getEvent(db, "orders", 0, "5");
    expect(event).toMatchObject({ source: "default", topic: "orders", partition: 0, offset: "5", eventType: "OrderPlaced", schemaId: 7 });
    // Its registry schema is found with the source (a schema id is one registry's).
    expect(event?.schemaSubject).toBe("orders-value");
    // The group's committed offset (6) is past it; the dead letter that references it is found.
    expect(event?.consumption).toEqual([expect.objectContaining({ groupId: "inventory", status: "dead-lettered", committedOffset: "6" })]);
    expect(event?.deadLetteredAs.map((d) => d.id)).toEqual([deadLetterId]);

    const timeline = await getEntityTimeline(db, "ord-1");
    expect(timeline.events.map((e) => [e.source, e.topic, e.offset])).toEqual([
      ["default", "orders", "5"],
      ["default", "orders.DLT", "0"],
    ]);
    expect(timeline.events[1]?.deadLetter).toMatchObject({ id: deadLetterId, recognizedBy: "headers", originTopic: "orders" });

    const inbox = await listDeadLetters(db, {});
    expect(inbox.deadLetters).toEqual([
      expect.objectContaining({ id: deadLetterId, source: "default", topic: "orders.DLT", offset: "0", recognizedBy: "headers", status: "replayed" }),
    ]);
    const detail = await getDeadLetter(db, deadLetterId);
    expect(detail).toMatchObject({ source: "default", originCollected: true, eventCollected: true });
    expect(detail?.replays).toEqual([expect.objectContaining({ id: replayId, source: "default", targetTopic: "orders", producedOffset: "6" })]);

    const history = await getLagHistory(db, "inventory", { from: at(0), to: at(60_000), bucketMs: 60_000, samplesOnly: true });
    expect(history.totals.map((t) => t.offsetLag)).toEqual(["4"]);
    const group = await getConsumerGroup(db, "inventory");
    expect(group).toMatchObject({ source: "default", groupId: "inventory", totalLag: "2" });
    expect(group.members).toEqual([expect.objectContaining({ memberId: "m-1", assignments: [{ topic: "orders", partition: 0 }] })]);

    const consumers = await whoConsumes(db, { topic: "orders" });
    expect(consumers.topics.map((t) => [t.source, t.topic, t.groups.map((g) => [g.source, g.groupId])])).toEqual([
      ["default", "orders", [["default", "inventory"]]],
    ]);
    const schemas = await getSchemaHistory(db, "OrderPlaced");
    expect(schemas.eventCount).toBe(1);

    // The default source is registered, and new writes of the same records are recognised as stored.
    const { rows: sources } = await db.pool.query("SELECT id, name, kind FROM sources");
    expect(sources).toEqual([{ id: 1, name: "default", kind: "kafka" }]);
    const again = await ingestEvents(db, [
      {
        sourceId: 1,
        topic: "orders",
        partition: 0,
        offset: "5",
        timestamp: at(0),
        key: { kind: "text", text: "ord-1" },
        value: { kind: "json", json: { type: "OrderPlaced", orderId: "ord-1" }, raw: Buffer.from('{"type":"OrderPlaced","orderId":"ord-1"}') },
        sizeBytes: 60,
        headers: [],
        eventType: "OrderPlaced",
        producer: "order-service",
        entityKeys: ["ord-1"],
        trace: { traceId: TRACE, parentSpanId: null },
        deadLetter: null,
        flags: [],
      },
    ]);
    expect(again.inserted).toBe(0);
    // Every row says its source explicitly from now on: no default is left on the columns.
    const { rows: defaults } = await db.pool.query(
      `SELECT table_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND column_name IN ('source_id', 'first_source_id') AND column_default IS NOT NULL`,
    );
    expect(defaults).toEqual([]);
    // The hand-written partial index is still there.
    const { rows: indexes } = await db.pool.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'events_trace_idx'`);
    expect(indexes).toEqual([{ indexdef: expect.stringContaining("WHERE (trace_id IS NOT NULL)") }]);
  });

  it("fails as a whole: a failure half-way leaves the old schema and its rows untouched", async () => {
    const db = await createTestDatabase({ migrate: false });
    databases.push(db);
    await runMigrations(db.url, { migrationsDir: migrationsUpTo(LAST_BEFORE) });
    await fillOldSchema(db);
    const count = async () =>
      (await db.pool.query(`SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM dead_letters)::int AS dead_letters,
        (SELECT count(*) FROM lag_samples)::int AS lag_samples, (SELECT count(*) FROM replays)::int AS replays`)).rows[0];
    const before = await count();

    // The real migration with a statement that fails after all of its own.
    const broken = migrationsUpTo(SOURCE_IDENTITY);
    fs.appendFileSync(path.join(broken, SOURCE_IDENTITY, "migration.sql"), "\nSELECT 1 / 0;\n");
    await expect(runMigrations(db.url, { migrationsDir: broken })).rejects.toThrow(/migration 20261207090000_source_identity failed/);

    const { rows: columns } = await db.pool.query(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events'
         AND column_name IN ('topic', 'offset', 'channel', 'position', 'source_id') ORDER BY column_name`,
    );
    expect(columns.map((c: { column_name: string }) => c.column_name)).toEqual(["offset", "topic"]);
    const { rows: sourcesTable } = await db.pool.query(`SELECT to_regclass('sources') AS found`);
    expect(sourcesTable).toEqual([{ found: null }]);
    const { rows: applied } = await db.pool.query(`SELECT name FROM eventscope_migrations WHERE name = $1`, [SOURCE_IDENTITY]);
    expect(applied).toEqual([]);
    expect(await count()).toEqual(before);
    const { rows: old } = await db.pool.query(`SELECT topic, "offset"::text AS "offset" FROM events ORDER BY topic`);
    expect(old).toEqual([
      { topic: "orders", offset: "5" },
      { topic: "orders.DLT", offset: "0" },
    ]);

    // The real migration then applies to the same database.
    await runMigrations(db.url);
    expect(await getEvent(db, "orders", 0, "5")).toMatchObject({ source: "default" });
  });
});
