import type pg from "pg";
import {
  MAX_PATH_STEPS,
  addCounters,
  entityKindAt,
  kindCounterKey,
  pathCounters,
  pathOutcome,
  placeOf,
  stepOfEvent,
  type CompensationPair,
  type Counter,
  type CounterTally,
  type PathOutcome,
} from "../../lib/flows.ts";
import { REPLAY_OF_HEADER } from "../../lib/dead-letter-conventions.ts";
import { copyInto, type CopyType, type CopyValue } from "./copy-binary.ts";
import { toDatabaseError } from "./errors.ts";

/**
 * Flows, maintained as events arrive (the rules: lib/flows.ts).
 *
 * 1. Ingest writes one `flow_inbox` row per (new event, entity of it) — the step and its time — in
 *    the transaction that stores the events (queueFlowSteps); an event deleted, or read anew with
 *    another step or other entities, gets a row that takes its old step away. Whatever crashes,
 *    every stored event is either counted or waiting in the inbox, never both.
 * 2. The fold (foldFlows, run every few seconds by each collector; an advisory lock lets one run
 *    at a time) takes a batch of inbox rows in `seq` order and, in one transaction: merges them into
 *    their entities' stored paths (flow_entities: step numbers and times) in path order, takes each
 *    changed entity's old counters away from `flow_counts` and adds its new ones, and deletes the
 *    rows it took. No event is read again: a fold costs what its new steps cost.
 *
 * So the maintained tables equal a recomputation over the stored events once the inbox is empty
 * (recomputeFlows, which the tests compare them with). A path is ordered by time, then by step:
 * two events of one entity in the same millisecond count in the same order wherever they are stored.
 */

/** Key of the advisory lock one fold holds at a time (any constant; "flows" in ASCII). */
const FOLD_LOCK_KEY = 0x666c6f7773n;

/** Inbox rows a fold takes per transaction. */
export const FOLD_BATCH = 20_000;

// --- what ingest writes ----------------------------------------------------------------------------

/** One inbox row: a step of one entity (sign 1), or a step it no longer has (sign -1). */
export interface FlowInboxRow {
  kind: string;
  key: string;
  /** The event's time: a Date, epoch ms or ISO 8601 (copy-binary's timestamptz). */
  at: Date | number | string;
  step: string;
  sign: 1 | -1;
  /** Where the event is stored (lib/flows.ts placeOf). */
  place: string;
  /** Its delivery fingerprint (events.delivery_fingerprint), 0 for none. */
  fingerprint: number;
}

const INBOX_COLUMNS = "flow_inbox (kind, entity_key, at, step, sign, place, fingerprint)";
const INBOX_TYPES: readonly CopyType[] = ["text", "text", "timestamptz", "text", "int2", "text", "int4"];
const INBOX_FIELDS = ["kind", "key", "at", "step", "sign", "place", "fingerprint"] as const;

/** Queues steps for the fold, in the caller's transaction (the one that stores, changes or deletes the events). */
export async function queueFlowSteps(client: pg.PoolClient, rows: readonly FlowInboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await copyInto(client, INBOX_COLUMNS, rows, INBOX_TYPES, (row, column) => row[INBOX_FIELDS[column]!] as CopyValue);
}

/**
 * stepOfEvent over stored events (`e`), as columns: a deletion or a new reading takes away the step
 * the stored row stood for.
 */
export const STEP_COLUMNS = `e.entity_keys, e.entity_kinds, (extract(epoch FROM e."timestamp") * 1000)::bigint::text AS at,
  e.channel, e.partition, coalesce(e.delivery_fingerprint, 0) AS fingerprint, e.event_type, e.producer,
  EXISTS (SELECT 1 FROM dead_letters d WHERE d.source_id = e.source_id AND d.channel = e.channel
          AND d.partition = e.partition AND d.position = e.position) AS dead_letter,
  e.headers @> '[{"key": "${REPLAY_OF_HEADER}"}]' AS replay,
  e.prior_failure IS NOT NULL AS retry`;

export interface StoredStepRow {
  entity_keys: string[];
  entity_kinds: string[] | null;
  at: string;
  channel: string;
  partition: number;
  fingerprint: number;
  event_type: string | null;
  producer: string | null;
  dead_letter: boolean;
  replay: boolean;
  retry: boolean;
}

export function stepOfStoredRow(row: StoredStepRow): string {
  return stepOfEvent({ deadLetter: row.dead_letter, replay: row.replay, retry: row.retry, eventType: row.event_type, channel: row.channel, producer: row.producer });
}

/** Inbox rows that give (1) or take away (-1) a stored event's step to each of its entities. */
function storedSteps(row: StoredStepRow, sign: 1 | -1): FlowInboxRow[] {
  const step = stepOfStoredRow(row);
  const place = placeOf(row.channel, row.partition);
  return row.entity_keys.map((key, i) => ({ kind: entityKindAt(row.entity_kinds, i), key, at: Number(row.at), step, sign, place, fingerprint: row.fingerprint }));
}

/** Inbox rows that take a stored event's step away from each of its entities. */
export function leavingSteps(row: StoredStepRow): FlowInboxRow[] {
  return storedSteps(row, -1);
}

// --- events stored without flows -------------------------------------------------------------------

/** Stored events read per transaction by queueStoredFlowSteps. */
export const STORED_STEPS_CHUNK = 20_000;

export interface QueuedStoredSteps {
  /** Stored events read (those with entities). */
  events: number;
  /** Inbox rows written: one per entity of each event. */
  steps: number;
}

/**
 * Queues the steps of events already stored (sign 1) for the fold to count, as ingest would have
 * queued them: for events stored while flows were off (EVENTSCOPE_FLOWS=off) or before flows
 * existed. Reads the events `chunk` at a time in time order (then by where they are stored: a
 * keyset over the time index), each chunk in a transaction of its own, so the fold meets an
 * entity's steps close together as it does behind the collector.
 *
 * Every event read is counted once more: run it over events nothing has queued, once, while no
 * collector with flows on stores events. `onChunk` hears the running totals after each chunk.
 */
export async function queueStoredFlowSteps(
  db: { pool: pg.Pool },
  options: { chunk?: number; onChunk?: (queued: QueuedStoredSteps) => void } = {},
): Promise<QueuedStoredSteps> {
  const chunk = options.chunk ?? STORED_STEPS_CHUNK;
  const queued: QueuedStoredSteps = { events: 0, steps: 0 };
  type KeyedRow = StoredStepRow & { source_id: number; position: string };
  let after: { timestamp: string; sourceId: number; channel: string; partition: number; position: string } | null = null;
  for (;;) {
    let client: pg.PoolClient | undefined;
    try {
      client = await db.pool.connect();
      await client.query("BEGIN");
      // The first condition lets the time index bound the scan; the row comparison is the keyset.
      const { rows }: { rows: KeyedRow[] } = await client.query<KeyedRow>(
        `SELECT ${STEP_COLUMNS}, e.source_id, e.position::text AS position
         FROM events e
         WHERE cardinality(e.entity_keys) > 0
           ${after === null ? "" : `AND e."timestamp" >= $2 AND (e."timestamp", e.source_id, e.channel, e.partition, e.position) > ($2, $3, $4, $5, $6)`}
         ORDER BY e."timestamp", e.source_id, e.channel, e.partition, e.position
         LIMIT $1`,
        after === null ? [chunk] : [chunk, after.timestamp, after.sourceId, after.channel, after.partition, after.position],
      );
      const steps = rows.flatMap((row) => storedSteps(row, 1));
      await queueFlowSteps(client, steps);
      await client.query("COMMIT");
      queued.events += rows.length;
      queued.steps += steps.length;
      options.onChunk?.({ ...queued });
      const last: KeyedRow | undefined = rows[rows.length - 1];
      if (last === undefined || rows.length < chunk) return queued;
      after = { timestamp: new Date(Number(last.at)).toISOString(), sourceId: last.source_id, channel: last.channel, partition: last.partition, position: last.position };
    } catch (error) {
      await client?.query("ROLLBACK").catch(() => undefined);
      throw toDatabaseError(error, "queuing the flow steps of stored events");
    } finally {
      client?.release();
    }
  }
}

// --- paths -----------------------------------------------------------------------------------------

interface PathEntry {
  step: string;
  at: number;
  /** lib/flows.ts placeOf; "" for a step folded before places were kept. */
  place: string;
  fingerprint: number;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Path order: time, then step, then where it is stored and which delivery it is. */
function compareEntries(a: PathEntry, b: PathEntry): number {
  return a.at - b.at || byText(a.step, b.step) || byText(a.place, b.place) || a.fingerprint - b.fingerprint;
}

interface EntityPath {
  kind: string;
  key: string;
  /** In path order; at most MAX_PATH_STEPS. */
  path: PathEntry[];
  outcome: PathOutcome;
  /** The last event of the whole history. */
  last: PathEntry;
  eventCount: number;
}

/** One inbox row of an entity, as the fold merges it. */
interface InboxEntry {
  at: number;
  step: string;
  sign: number;
  place: string;
  fingerprint: number;
}

function entityId(kind: string, key: string): string {
  return `${kind}\u0000${key}`;
}

/**
 * An entity's path after its inbox rows, taken in `seq` order: sign 1 adds a step, sign -1 takes
 * one equal step (same time, same step) away. Kept in path order, cut to MAX_PATH_STEPS. null when
 * no event is left.
 */
function mergePath(
  old: EntityPath | undefined,
  kind: string,
  key: string,
  rows: readonly InboxEntry[],
  compensations: readonly CompensationPair[],
): EntityPath | null {
  const path = [...(old?.path ?? [])];
  let eventCount = old?.eventCount ?? 0;
  let last: PathEntry | null = old?.last ?? null;
  let appended = true;
  for (const row of rows) {
    const entry: PathEntry = { step: row.step, at: row.at, place: row.place, fingerprint: row.fingerprint };
    if (row.sign < 0) {
      eventCount -= 1;
      // The equal step where it is stored; one folded before places were kept has none.
      let i = path.findIndex((e) => e.at === entry.at && e.step === entry.step && e.place === entry.place);
      if (i < 0) i = path.findIndex((e) => e.at === entry.at && e.step === entry.step && e.place === "");
      if (i >= 0) path.splice(i, 1);
      if (last !== null && last.at === entry.at && last.step === entry.step) last = null;
      continue;
    }
    eventCount += 1;
    if (path.length > 0 && compareEntries(entry, path[path.length - 1]!) < 0) appended = false;
    path.push(entry);
    if (last !== null && compareEntries(entry, last) > 0) last = entry;
  }
  if (!appended) path.sort(compareEntries);
  if (path.length > MAX_PATH_STEPS) path.length = MAX_PATH_STEPS;
  if (path.length === 0 || eventCount <= 0) return null;
  // The last event left (or none was known): the path's last stands in (exact unless the history
  // is longer than the path).
  if (last === null) last = path[path.length - 1]!;
  return { kind, key, path, outcome: pathOutcome(path, compensations), last, eventCount };
}

// --- step numbers ----------------------------------------------------------------------------------

/**
 * Texts a path stores as numbers: steps (flow_steps) and places (flow_places, where 0 stands for
 * "" and is not stored). Cached per pool: numbers never change once given.
 */
type Dictionary = { table: "flow_steps"; column: "step" } | { table: "flow_places"; column: "place" };
const STEPS: Dictionary = { table: "flow_steps", column: "step" };
const PLACES: Dictionary = { table: "flow_places", column: "place" };
const dictionaries = new WeakMap<pg.Pool, Map<string, { byText: Map<string, number>; byId: Map<number, string> }>>();

function dictionaryCache(pool: pg.Pool, dictionary: Dictionary) {
  let caches = dictionaries.get(pool);
  if (!caches) dictionaries.set(pool, (caches = new Map()));
  let cache = caches.get(dictionary.table);
  if (!cache) caches.set(dictionary.table, (cache = { byText: new Map([["", 0]]), byId: new Map([[0, ""]]) }));
  return cache;
}

async function numberTexts(client: pg.PoolClient, pool: pg.Pool, dictionary: Dictionary, texts: Iterable<string>): Promise<Map<string, number>> {
  const cache = dictionaryCache(pool, dictionary);
  const missing = [...new Set(texts)].filter((text) => !cache.byText.has(text)).sort();
  if (missing.length > 0) {
    const { table, column } = dictionary;
    await client.query(`INSERT INTO ${table} (${column}) SELECT unnest($1::text[]) ON CONFLICT (${column}) DO NOTHING`, [missing]);
    const { rows } = await client.query<{ id: number; text: string }>(`SELECT id, ${column} AS text FROM ${table} WHERE ${column} = ANY($1::text[])`, [missing]);
    for (const row of rows) {
      cache.byText.set(row.text, row.id);
      cache.byId.set(row.id, row.text);
    }
  }
  return cache.byText;
}

async function textsOf(client: pg.PoolClient, pool: pg.Pool, dictionary: Dictionary, ids: Iterable<number>): Promise<Map<number, string>> {
  const cache = dictionaryCache(pool, dictionary);
  const missing = [...new Set(ids)].filter((id) => !cache.byId.has(id));
  if (missing.length > 0) {
    const { table, column } = dictionary;
    const { rows } = await client.query<{ id: number; text: string }>(`SELECT id, ${column} AS text FROM ${table} WHERE id = ANY($1::int[])`, [missing]);
    for (const row of rows) {
      cache.byText.set(row.text, row.id);
      cache.byId.set(row.id, row.text);
    }
  }
  return cache.byId;
}

// --- the fold ------------------------------------------------------------------------------------

export interface FoldResult {
  /** Inbox rows counted. */
  steps: number;
  /** Entities whose paths changed. */
  entities: number;
  /** False when another fold held the lock: nothing was done. */
  ran: boolean;
  /** True when the batch was full: more rows are probably waiting. */
  more: boolean;
}

/**
 * About how many steps wait in the inbox (the span of its sequence numbers: two index probes,
 * where count(*) would read the table).
 */
export async function pendingFlowSteps(db: { pool: pg.Pool }): Promise<number> {
  try {
    const { rows } = await db.pool.query<{ pending: string | null }>(
      `SELECT ((SELECT max(seq) FROM flow_inbox) - (SELECT min(seq) FROM flow_inbox) + 1)::text AS pending`,
    );
    return rows[0]!.pending === null ? 0 : Number(rows[0]!.pending);
  } catch (error) {
    throw toDatabaseError(error, "counting the steps waiting to be folded");
  }
}

export interface FoldOptions {
  /** Inbox rows per transaction. Default FOLD_BATCH. */
  batch?: number;
  /** EVENTSCOPE_COMPENSATIONS: failure → compensation pairs beside the named ones (lib/flows.ts readPath). */
  compensations?: readonly CompensationPair[];
}

/** One fold transaction over up to `batch` inbox rows (see the file's comment). */
export async function foldFlows(db: { pool: pg.Pool }, options: FoldOptions = {}): Promise<FoldResult> {
  const batch = options.batch ?? FOLD_BATCH;
  const compensations = options.compensations ?? [];
  let client: pg.PoolClient | undefined;
  try {
    client = await db.pool.connect();
    await client.query("BEGIN");
    const { rows: lock } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS locked", [FOLD_LOCK_KEY.toString()]);
    if (!lock[0]!.locked) {
      await client.query("ROLLBACK");
      return { steps: 0, entities: 0, ran: false, more: false };
    }
    const { rows: taken } = await client.query<{ seq: string; kind: string; entity_key: string; at: string; step: string; sign: number; place: string; fingerprint: number }>(
      `DELETE FROM flow_inbox WHERE seq IN (SELECT seq FROM flow_inbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING seq::text AS seq, kind, entity_key, (extract(epoch FROM at) * 1000)::bigint::text AS at, step, sign, place, fingerprint`,
      [batch],
    );
    if (taken.length === 0) {
      await client.query("COMMIT");
      return { steps: 0, entities: 0, ran: true, more: false };
    }
    taken.sort((x, y) => (x.seq.length - y.seq.length) || (x.seq < y.seq ? -1 : x.seq > y.seq ? 1 : 0));
    const byEntity = new Map<string, { kind: string; key: string; rows: InboxEntry[] }>();
    for (const row of taken) {
      const id = entityId(row.kind, row.entity_key);
      let entry = byEntity.get(id);
      if (!entry) byEntity.set(id, (entry = { kind: row.kind, key: row.entity_key, rows: [] }));
      entry.rows.push({ at: Number(row.at), step: row.step, sign: row.sign, place: row.place, fingerprint: row.fingerprint });
    }
    const entities = [...byEntity.values()];
    const old = await readPaths(client, db.pool, entities);

    const tally: CounterTally = new Map();
    const changed: EntityPath[] = [];
    const gone: { kind: string; key: string }[] = [];
    for (const entity of entities) {
      const before = old.get(entityId(entity.kind, entity.key));
      const after = mergePath(before, entity.kind, entity.key, entity.rows, compensations);
      if (before) addCounters(tally, entity.kind, pathCounters(before.path, before.outcome), -1);
      if (after) {
        addCounters(tally, entity.kind, pathCounters(after.path, after.outcome), 1);
        changed.push(after);
      } else if (before) gone.push(entity);
    }
    await applyCounts(client, tally);
    if (gone.length > 0) {
      await client.query(
        `DELETE FROM flow_entities f USING unnest($1::text[], $2::text[]) AS m(kind, entity_key)
         WHERE f.kind = m.kind AND f.entity_key = m.entity_key`,
        [gone.map((entity) => entity.kind), gone.map((entity) => entity.key)],
      );
    }
    await storePaths(client, db.pool, changed);
    await client.query("COMMIT");
    return { steps: taken.length, entities: entities.length, ran: true, more: taken.length === batch };
  } catch (error) {
    await client?.query("ROLLBACK").catch(() => undefined);
    throw toDatabaseError(error, "folding flows");
  } finally {
    client?.release();
  }
}

async function readPaths(client: pg.PoolClient, pool: pg.Pool, entities: readonly { kind: string; key: string }[]): Promise<Map<string, EntityPath>> {
  const { rows } = await client.query<{
    kind: string; entity_key: string; steps: number[]; step_at: string[]; step_place: number[] | null; step_fingerprint: number[] | null;
    last_at: Date; last_step: number; event_count: number; outcome: PathOutcome;
  }>(
    `SELECT f.kind, f.entity_key, f.steps, f.step_at::text[] AS step_at, f.step_place, f.step_fingerprint, f.last_at, f.last_step, f.event_count, f.outcome
     FROM flow_entities f JOIN unnest($1::text[], $2::text[]) AS m(kind, entity_key)
       ON f.kind = m.kind AND f.entity_key = m.entity_key`,
    [entities.map((entity) => entity.kind), entities.map((entity) => entity.key)],
  );
  const ids = new Set<number>();
  const placeIds = new Set<number>();
  for (const row of rows) {
    for (const id of row.steps) ids.add(id);
    for (const id of row.step_place ?? []) placeIds.add(id);
    ids.add(row.last_step);
  }
  const texts = await textsOf(client, pool, STEPS, ids);
  const places = await textsOf(client, pool, PLACES, placeIds);
  const paths = new Map<string, EntityPath>();
  for (const row of rows) {
    paths.set(entityId(row.kind, row.entity_key), {
      kind: row.kind,
      key: row.entity_key,
      // Paths folded before places were kept have neither places nor fingerprints.
      path: row.steps.map((id, i) => ({
        step: texts.get(id)!,
        at: Number(row.step_at[i]),
        place: places.get(row.step_place?.[i] ?? 0) ?? "",
        fingerprint: row.step_fingerprint?.[i] ?? 0,
      })),
      outcome: row.outcome,
      last: { step: texts.get(row.last_step)!, at: row.last_at.getTime(), place: "", fingerprint: 0 },
      eventCount: row.event_count,
    });
  }
  return paths;
}

/** Adds the tally's non-zero counts to flow_counts (sorted: one lock order), and drops rows that reach 0. */
async function applyCounts(client: pg.PoolClient, tally: CounterTally): Promise<void> {
  const changes = [...tally.entries()].filter(([, entry]) => entry.count !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (changes.length === 0) return;
  const kind: string[] = [];
  const hour: string[] = [];
  const metric: string[] = [];
  const a: string[] = [];
  const b: string[] = [];
  const bucket: number[] = [];
  const count: number[] = [];
  for (const [, entry] of changes) {
    kind.push(entry.kind);
    hour.push(new Date(entry.counter.hour).toISOString());
    metric.push(entry.counter.metric);
    a.push(entry.counter.a);
    b.push(entry.counter.b);
    bucket.push(entry.counter.bucket);
    count.push(entry.count);
  }
  await client.query(
    `WITH added AS (
       INSERT INTO flow_counts AS c (kind, hour, metric, a, b, bucket, count)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::bigint[])
       ON CONFLICT (kind, hour, metric, a, b, bucket) DO UPDATE SET count = c.count + excluded.count
       RETURNING kind, hour, metric, a, b, bucket, count
     )
     DELETE FROM flow_counts c USING added z
     WHERE z.count = 0 AND c.kind = z.kind AND c.hour = z.hour AND c.metric = z.metric AND c.a = z.a AND c.b = z.b AND c.bucket = z.bucket`,
    [kind, hour, metric, a, b, bucket, count],
  );
}

/** Stores paths as text arrays in PostgreSQL's literal form: cheaper to build and to read than JSON. */
async function storePaths(client: pg.PoolClient, pool: pg.Pool, paths: readonly EntityPath[]): Promise<void> {
  if (paths.length === 0) return;
  const sorted = [...paths].sort((x, y) => (entityId(x.kind, x.key) < entityId(y.kind, y.key) ? -1 : 1));
  const numbers = await numberTexts(client, pool, STEPS, sorted.flatMap((entity) => [...entity.path.map((entry) => entry.step), entity.last.step]));
  const places = await numberTexts(client, pool, PLACES, sorted.flatMap((entity) => entity.path.map((entry) => entry.place)));
  await client.query(
    `INSERT INTO flow_entities AS f (kind, entity_key, steps, step_at, step_place, step_fingerprint, first_at, last_at, last_step, prev_step, event_count, outcome, folded_at)
     SELECT t.kind, t.entity_key, t.steps::int[], t.step_at::bigint[], t.step_place::int[], t.step_fingerprint::int[],
       to_timestamp(t.first_ms / 1000.0), to_timestamp(t.last_ms / 1000.0), t.last_step, t.prev_step, t.event_count, t.outcome, now()
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::int[], $8::int[], $9::text[], $10::int[], $11::text[], $12::text[])
       AS t(kind, entity_key, steps, step_at, first_ms, last_ms, last_step, event_count, outcome, prev_step, step_place, step_fingerprint)
     ON CONFLICT (kind, entity_key) DO UPDATE SET steps = excluded.steps, step_at = excluded.step_at,
       step_place = excluded.step_place, step_fingerprint = excluded.step_fingerprint,
       first_at = excluded.first_at, last_at = excluded.last_at, last_step = excluded.last_step, prev_step = excluded.prev_step,
       event_count = excluded.event_count, outcome = excluded.outcome, folded_at = excluded.folded_at`,
    [
      sorted.map((entity) => entity.kind),
      sorted.map((entity) => entity.key),
      sorted.map((entity) => `{${entity.path.map((entry) => numbers.get(entry.step)!).join(",")}}`),
      sorted.map((entity) => `{${entity.path.map((entry) => entry.at).join(",")}}`),
      sorted.map((entity) => entity.path[0]!.at),
      sorted.map((entity) => entity.last.at),
      sorted.map((entity) => numbers.get(entity.last.step)!),
      sorted.map((entity) => entity.eventCount),
      sorted.map((entity) => entity.outcome),
      // The path's step before its last, as the `tail` counters have it.
      sorted.map((entity) => (entity.path.length >= 2 ? numbers.get(entity.path[entity.path.length - 2]!.step)! : null)),
      sorted.map((entity) => `{${entity.path.map((entry) => places.get(entry.place)!).join(",")}}`),
      sorted.map((entity) => `{${entity.path.map((entry) => entry.fingerprint).join(",")}}`),
    ],
  );
}

// --- the plain recomputation, and the maintained state to compare it with -------------------------

export interface FlowState {
  /** entity id (kind NUL key) → its path, first and last step time, last step and event count. */
  entities: Map<
    string,
    { steps: string[]; stepAt: number[]; places: string[]; fingerprints: number[]; firstAt: number; lastAt: number; lastStep: string; prevStep: string | null; eventCount: number; outcome: PathOutcome }
  >;
  /** kindCounterKey → count; no zero entries. */
  counts: Map<string, number>;
}

/** Flows computed from scratch over every stored event: what the maintained tables must equal. */
export async function recomputeFlows(db: { pool: pg.Pool }, options: Pick<FoldOptions, "compensations"> = {}): Promise<FlowState> {
  const { rows } = await db.pool.query<StoredStepRow>(`SELECT ${STEP_COLUMNS} FROM events e WHERE cardinality(e.entity_keys) > 0`);
  const events = new Map<string, { kind: string; key: string; entries: PathEntry[] }>();
  for (const row of rows) {
    const entry: PathEntry = { step: stepOfStoredRow(row), at: Number(row.at), place: placeOf(row.channel, row.partition), fingerprint: row.fingerprint };
    for (let i = 0; i < row.entity_keys.length; i++) {
      const kind = entityKindAt(row.entity_kinds, i);
      const id = entityId(kind, row.entity_keys[i]!);
      let entity = events.get(id);
      if (!entity) events.set(id, (entity = { kind, key: row.entity_keys[i]!, entries: [] }));
      entity.entries.push(entry);
    }
  }
  const state: FlowState = { entities: new Map(), counts: new Map() };
  for (const [id, entity] of events) {
    const all = entity.entries.sort(compareEntries);
    const path = all.slice(0, MAX_PATH_STEPS);
    const last = all[all.length - 1]!;
    const outcome = pathOutcome(path, options.compensations ?? []);
    state.entities.set(id, {
      steps: path.map((entry) => entry.step),
      stepAt: path.map((entry) => entry.at),
      places: path.map((entry) => entry.place),
      fingerprints: path.map((entry) => entry.fingerprint),
      firstAt: path[0]!.at,
      lastAt: last.at,
      lastStep: last.step,
      prevStep: path.length >= 2 ? path[path.length - 2]!.step : null,
      eventCount: all.length,
      outcome,
    });
    for (const counter of pathCounters(path, outcome)) {
      const key = kindCounterKey(entity.kind, counter);
      state.counts.set(key, (state.counts.get(key) ?? 0) + 1);
    }
  }
  return state;
}

/** What the fold has stored. */
export async function readFlowState(db: { pool: pg.Pool }): Promise<FlowState> {
  const state: FlowState = { entities: new Map(), counts: new Map() };
  const { rows: entities } = await db.pool.query<{
    kind: string; entity_key: string; steps: string[]; step_at: string[]; places: string[]; step_fingerprint: number[] | null; first_at: Date; last_at: Date; last_step: string; prev_step: string | null;
    event_count: number; outcome: PathOutcome;
  }>(`SELECT f.kind, f.entity_key, ARRAY(SELECT s.step FROM unnest(f.steps) WITH ORDINALITY AS u(id, n) JOIN flow_steps s ON s.id = u.id ORDER BY u.n) AS steps,
        f.step_at::text[] AS step_at,
        ARRAY(SELECT coalesce(p.place, '') FROM unnest(f.step_place) WITH ORDINALITY AS u(id, n) LEFT JOIN flow_places p ON p.id = u.id ORDER BY u.n) AS places,
        f.step_fingerprint, f.first_at, f.last_at, (SELECT step FROM flow_steps WHERE id = f.last_step) AS last_step,
        (SELECT step FROM flow_steps WHERE id = f.prev_step) AS prev_step, f.event_count, f.outcome
      FROM flow_entities f`);
  for (const row of entities) {
    state.entities.set(entityId(row.kind, row.entity_key), {
      steps: row.steps,
      stepAt: row.step_at.map(Number),
      places: row.places,
      fingerprints: row.step_fingerprint ?? [],
      firstAt: row.first_at.getTime(),
      lastAt: row.last_at.getTime(),
      lastStep: row.last_step,
      prevStep: row.prev_step,
      eventCount: row.event_count,
      outcome: row.outcome,
    });
  }
  const { rows: counts } = await db.pool.query<{ kind: string; hour: Date; metric: Counter["metric"]; a: string; b: string; bucket: number; count: string }>(
    `SELECT kind, hour, metric, a, b, bucket, count::text FROM flow_counts WHERE count <> 0`,
  );
  for (const row of counts) {
    const key = kindCounterKey(row.kind, { metric: row.metric, hour: row.hour.getTime(), a: row.a, b: row.b, bucket: row.bucket });
    state.counts.set(key, Number(row.count));
  }
  return state;
}
