/**
 * `npm run bench -- lag-history`: a group's lag chart over each window the group page offers
 * (15 min … 7 days), read from every sample and, where the window's buckets are whole minutes,
 * from the per-minute roll-ups — both in the same run, on the same data.
 *
 * The data: one group reading 7 topics × 3 partitions (the demo's analytics), sampled every 5 s
 * (the collector's default poll) for 7 days (the default retention): 2.5M samples, generated with
 * SQL and rolled up as the poller's writes do. `--messages N` sets the partition count instead.
 */
import fs from "node:fs";
import path from "node:path";
import { connectDatabase } from "../server/db/client.ts";
import { findFreePort, makeTemporaryDataDir, startEmbeddedPostgres } from "../server/db/embedded.ts";
import { rollUpLagSamples } from "../server/db/lag-rollup.ts";
import { runMigrations } from "../server/db/migrate.ts";
import { getLagHistory } from "../server/db/queries/index.ts";
import { LAG_WINDOWS, lagRange, type LagWindow } from "../lib/api-schemas/groups.ts";
import type { BenchmarkOptions } from "./run.ts";

const DEFAULT_PARTITIONS = 21;
const SAMPLE_EVERY_S = 5;
const DAYS = 7;
const RUNS = 15;

interface Figures {
  p50Ms: number;
  p95Ms: number;
}

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10;
}

async function measure(run: () => Promise<unknown>): Promise<Figures> {
  await run(); // warm-up: plan and buffer cache
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50Ms: percentile(times, 50), p95Ms: percentile(times, 95) };
}

export async function runLagHistoryBenchmark(options: BenchmarkOptions = {}) {
  const partitions = options.messages ?? DEFAULT_PARTITIONS;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const dataDir = makeTemporaryDataDir("eventscope-bench-lag-");
  const server = await startEmbeddedPostgres({ dataDir, port: await findFreePort(), ephemeral: true, database: "bench_lag" });
  const db = connectDatabase(server.url, { maxConnections: 2, applicationName: "eventscope-bench" });
  try {
    await runMigrations(server.url);
    const now = new Date();
    const generateStarted = performance.now();
    const { rowCount } = await db.pool.query(
      `INSERT INTO lag_samples (source_id, group_id, topic, partition, sampled_at, committed_offset, end_offset, offset_lag, time_lag_ms)
       SELECT 1, 'analytics', 'topic-' || (p / 3), p % 3, s, 1000 * i - (i * 7 + p) % 500, 1000 * i, (i * 7 + p) % 500, ((i * 13 + p) % 600) * 100
       FROM generate_series($1::timestamptz - make_interval(days => $2), $1::timestamptz, make_interval(secs => $3)) WITH ORDINALITY AS g(s, i),
         generate_series(0, $4 - 1) AS p`,
      [now, DAYS, SAMPLE_EVERY_S, partitions],
    );
    const generatedS = (performance.now() - generateStarted) / 1000;
    const rollUpStarted = performance.now();
    await rollUpLagSamples(db.pool, { from: new Date(now.getTime() - DAYS * 86_400_000), to: now });
    const rollUpS = (performance.now() - rollUpStarted) / 1000;
    await db.pool.query("VACUUM ANALYZE");
    const minutes = await db.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM lag_minutes`);
    print(
      `lag-history: ${rowCount} samples (${partitions} partitions every ${SAMPLE_EVERY_S} s for ${DAYS} days) in ${generatedS.toFixed(1)} s;` +
        ` rolled up into ${minutes.rows[0]!.n} per-minute rows in ${rollUpS.toFixed(1)} s`,
    );

    const windows: Record<string, { bucketMs: number; samples: Figures; auto: Figures; readsRollups: boolean }> = {};
    for (const window of Object.keys(LAG_WINDOWS) as LagWindow[]) {
      const range = lagRange(window, now.getTime());
      const samples = await measure(() => getLagHistory(db, "analytics", { ...range, samplesOnly: true }));
      const auto = await measure(() => getLagHistory(db, "analytics", range));
      const readsRollups = range.bucketMs % 60_000 === 0;
      windows[window] = { bucketMs: range.bucketMs, samples, auto, readsRollups };
      print(
        `lag-history: ${window.padEnd(4)} every sample p50 ${samples.p50Ms} ms p95 ${samples.p95Ms} ms;` +
          ` as served (${readsRollups ? "roll-ups" : "samples"}) p50 ${auto.p50Ms} ms p95 ${auto.p95Ms} ms`,
      );
    }
    return { partitions, samples: rowCount, sampleEverySeconds: SAMPLE_EVERY_S, days: DAYS, generatedSeconds: generatedS, rollUpSeconds: rollUpS, windows };
  } finally {
    await db.close();
    await server.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
}
