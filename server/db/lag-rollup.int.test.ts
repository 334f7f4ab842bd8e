/**
 * The per-minute roll-ups of the lag samples: written with the samples, they answer a lag chart of
 * whole-minute buckets exactly as the samples do; the migration that added them rolled up the
 * samples taken before; retention prunes them with the samples.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordLagSamples, type LagSampleInput } from "./cluster-state.ts";
import { defaultMigrationsDir, runMigrations } from "./migrate.ts";
import { getLagHistory } from "./queries/index.ts";
import { pruneOlderThan } from "./retention.ts";
import { createTestDatabase, type TestDatabase } from "./test-support.ts";

const MINUTE = 60_000;
const GROUP = `rollup-${crypto.randomBytes(3).toString("hex")}`;
const TOPIC = "orders";
/** Ten whole minutes, ending a minute ago. */
const START = Math.floor(Date.now() / MINUTE) * MINUTE - 11 * MINUTE;
const END = START + 10 * MINUTE;

function sample(partition: number, committed: number | null, end: number, timeLagMs: number | null, groupId = GROUP): LagSampleInput {
  return {
    groupId,
    topic: TOPIC,
    partition,
    committedOffset: committed === null ? null : String(committed),
    endOffset: String(end),
    offsetLag: committed === null ? null : String(Math.max(0, end - committed)),
    timeLagMs: committed === null ? null : timeLagMs,
  };
}

/** A poll every 15 s over the ten minutes, lag wandering up and down; partition 2 unknown at times. */
async function recordPolls(db: TestDatabase, groupId: string): Promise<void> {
  for (let t = START; t < END; t += 15_000) {
    const i = (t - START) / 15_000;
    const end = 100 + i * 7;
    const polled = [
      sample(0, end - ((i * 13) % 17), end, (i * 701) % 9_000, groupId),
      sample(1, end - ((i * 5) % 11), end, (i * 307) % 4_000, groupId),
      sample(2, i % 6 === 0 ? null : end - ((i * 3) % 23), end, 1_000 + i, groupId),
    ];
    if (i % 4 === 1) {
      // One poll stored in two writes with the same sampling time: the total is over both.
      await recordLagSamples(db, 1, polled.slice(0, 2), { at: new Date(t) });
      await recordLagSamples(db, 1, polled.slice(2), { at: new Date(t) });
    } else {
      await recordLagSamples(db, 1, polled, { at: new Date(t) });
    }
    // A repeated write (a poller retrying) changes nothing.
    if (i % 5 === 0) await recordLagSamples(db, 1, polled, { at: new Date(t) });
  }
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await recordPolls(db, GROUP);
});

afterAll(async () => {
  await db?.drop();
});

describe("lag history from the per-minute roll-ups", () => {
  it.each([MINUTE, 2 * MINUTE, 5 * MINUTE])("answers %i ms buckets exactly as the samples do", async (bucketMs) => {
    const range = { from: new Date(START), to: new Date(END), bucketMs };
    const fromRollups = await getLagHistory(db, GROUP, range);
    const fromSamples = await getLagHistory(db, GROUP, { ...range, samplesOnly: true });
    expect(fromRollups.totals.length).toBe(10 / (bucketMs / MINUTE));
    expect(fromRollups).toEqual(fromSamples);
  });

  it("sums a poll stored in two writes into one total", async () => {
    // The poll at START + 15 s (i = 1): lags 13, 5 and 3 (partition 2 known), one write of two.
    const history = await getLagHistory(db, GROUP, { from: new Date(START), to: new Date(START + MINUTE), bucketMs: MINUTE });
    const samples = await db.pool.query<{ total: string }>(
      `SELECT sum(offset_lag)::text AS total FROM lag_samples WHERE group_id = $1 AND sampled_at = $2`,
      [GROUP, new Date(START + 15_000)],
    );
    expect(samples.rows[0]!.total).toBe("21");
    // The minute's maximum: of the polls at 0 s (lag 0 + 0, partition 2 unknown), 15 s (21),
    // 30 s (9 + 10 + 6 = 25) and 45 s (5 + 4 + 9 = 18).
    expect(history.totals).toEqual([{ at: new Date(START).toISOString(), offsetLag: "25", timeLagMs: 2_103, unknownPartitions: 1 }]);
  });

  it("reads the roll-ups, not the samples, for whole-minute buckets", async () => {
    const other = `${GROUP}-gone`;
    await recordPolls(db, other);
    const range = { from: new Date(START), to: new Date(END), bucketMs: 2 * MINUTE };
    const before = await getLagHistory(db, other, range);
    await db.pool.query(`DELETE FROM lag_samples WHERE group_id = $1`, [other]);
    expect(await getLagHistory(db, other, range)).toEqual(before);
    expect((await getLagHistory(db, other, { ...range, samplesOnly: true })).totals).toEqual([]);
  });

  it("prunes the minutes that lie wholly before the retention cutoff", async () => {
    const scratch = await createTestDatabase();
    try {
      await recordLagSamples(scratch, 1, [sample(0, 1, 2, 0)], { at: new Date(START + 10_000) });
      await recordLagSamples(scratch, 1, [sample(0, 1, 3, 0)], { at: new Date(START + MINUTE + 10_000) });
      const result = await pruneOlderThan(scratch, { data: new Date(START + MINUTE + 30_000), audit: new Date(0) });
      // The first minute goes (group row and total); the second, still partly kept, stays.
      expect(result).toMatchObject({ lagSamples: 2, lagMinutes: 2 });
      const left = await scratch.pool.query<{ minute: Date }>(`SELECT minute FROM lag_minutes`);
      expect(left.rows.map((r) => r.minute.getTime())).toEqual([START + MINUTE]);
    } finally {
      await scratch.drop();
    }
  });
});

describe("the migration that added the roll-ups", () => {
  it("rolls up the samples taken before it", async () => {
    const scratch = await createTestDatabase({ migrate: false });
    const earlier = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-migrations-"));
    try {
      // Every migration before the one that added lag_minutes.
      const all = fs.readdirSync(defaultMigrationsDir()).sort();
      const adding = all.findIndex((name) => name.endsWith("_lag_minutes"));
      expect(adding).toBeGreaterThan(0);
      for (const name of all.slice(0, adding)) fs.cpSync(path.join(defaultMigrationsDir(), name), path.join(earlier, name), { recursive: true });
      await runMigrations(scratch.url, { migrationsDir: earlier });
      for (const [at, lags] of [
        [START + 5_000, [4, null]],
        [START + 35_000, [7, 2]],
        [START + MINUTE + 5_000, [1, 1]],
      ] as const) {
        await scratch.pool.query(
          `INSERT INTO lag_samples (group_id, topic, partition, sampled_at, committed_offset, end_offset, offset_lag, time_lag_ms)
           SELECT $1, $2, p - 1, $3, CASE WHEN lag IS NULL THEN NULL ELSE 100 - lag END, 100, lag, lag * 10
           FROM unnest($4::bigint[]) WITH ORDINALITY AS u(lag, p)`,
          [GROUP, TOPIC, new Date(at), lags],
        );
      }
      await runMigrations(scratch.url);
      const history = await getLagHistory(scratch, GROUP, { from: new Date(START), to: new Date(START + 2 * MINUTE), bucketMs: MINUTE });
      expect(history.totals).toEqual([
        { at: new Date(START).toISOString(), offsetLag: "9", timeLagMs: 70, unknownPartitions: 1 },
        { at: new Date(START + MINUTE).toISOString(), offsetLag: "2", timeLagMs: 10, unknownPartitions: 0 },
      ]);
      expect(history.partitions.map((p) => [p.partition, p.points.map((x) => x.offsetLag)])).toEqual([
        [0, ["7", "1"]],
        [1, ["2", "1"]],
      ]);
    } finally {
      fs.rmSync(earlier, { recursive: true, force: true });
      await scratch.drop();
    }
  });
});
