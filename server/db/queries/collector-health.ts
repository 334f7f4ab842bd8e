import { Prisma } from "@prisma/client";
import {
  brokerWords,
  stallWords,
  type CollectorHealthReport,
  type StalledPartition,
} from "../../../lib/api-schemas/health.ts";
import { formatDuration } from "../../../lib/format-duration.ts";
import { getConfig } from "../../config.ts";
import { readLatestTimeLag } from "./group-lag.ts";
import { decimal, iso, ofSource, runQuery, select, sourceNameSql, type Queryable } from "./shared.ts";

interface InstanceRow {
  instance_id: string;
  host: string;
  pid: number;
  started_at: Date;
  last_poll_at: Date | null;
  last_stored_at: Date | null;
  last_admin_poll_at: Date | null;
  own_lag: string | null;
  last_error: string | null;
  last_error_at: Date | null;
  stalled: StoredStall[];
  updated_at: Date;
}

/** collector_instances.stalled, as server/db/health.ts writes it. */
type StoredStall = Omit<StalledPartition, "state">;

interface UndecodableRow {
  source: string;
  topic: string;
  partition: number;
  offset: string;
  undecodable: { toOffset: string; codec: string; error: string; attempts: number; firstFailedAt: string };
}

export interface CollectorHealthOptions {
  /** EVENTSCOPE_POLL_MS; default from the environment (server/config.ts). */
  pollMs?: number;
  /** EVENTSCOPE_COLLECTOR_GROUP; default from the environment. */
  collectorGroup?: string;
  now?: Date;
}

/**
 * A consumer that finds nothing new long-polls the broker for up to kafkajs's maxWaitTimeInMs
 * (5 s by default) per fetch, so "no poll" needs at least that much slack whatever the poll
 * interval is.
 */
const MIN_STALE_MS = 15_000;

/** Instances silent for longer than this are no longer listed. */
const FORGET_INSTANCE_MS = 24 * 60 * 60 * 1000;
/** Undecodable ranges stored within this window are listed as stalled. */
const RECENT_UNDECODABLE_MS = 60 * 60 * 1000;

/**
 * Whether the collector fell behind the newest events, in words; null when it keeps up.
 *
 * The time lag of a group is the age of the record at its committed offset, and the collector's
 * own next record is, by construction, one it has not stored yet: its time lag is usually unknown.
 * So when it is, the delay is estimated from the lag and the pace the collector's offsets advanced
 * over the window: records to read ÷ records read per second.
 */
function behindReason(
  lag: bigint,
  timeLagMs: number | null,
  progress: { advanced: string | null; span_ms: number | null } | undefined,
  staleAfterMs: number,
  pollMs: number,
): string | null {
  if (timeLagMs !== null) {
    return timeLagMs > staleAfterMs ? `the collector is ${formatDuration(timeLagMs)} behind the newest events (${lag} records to read)` : null;
  }
  if (lag <= 0n) return null;
  const spanMs = progress?.span_ms ?? 0;
  // Two polls at least, or a pause between two commits would read as a stop.
  if (spanMs < 2 * pollMs) return null;
  const advanced = BigInt(progress?.advanced ?? "0");
  if (advanced === 0n) {
    return `the collector has ${lag} records to read and has not advanced for ${formatDuration(spanMs)}`;
  }
  const perSecond = Number(advanced) / (spanMs / 1000);
  // Whole seconds: 750 records at 50 per 11 s is 165 s, not 164.99… shown as 2 min 44 s.
  const drainMs = Math.round(Number(lag) / perSecond) * 1000;
  return drainMs > staleAfterMs
    ? `the collector is about ${formatDuration(drainMs)} behind the newest events (${lag} records to read at ${Math.round(perSecond)}/s)`
    : null;
}

/**
 * What GET /api/health serves: the collector instances' own reports (collector_instances), the
 * last admin poll, the collector group's lag, the latest error, and whether the data is stale —
 * no collector, the consumer stopped polling or the admin poller stopped (nothing for more than
 * 3 poll intervals), or the collector fell behind the newest events by more than that.
 */
export async function getCollectorHealthReport(
  db: Queryable,
  options: CollectorHealthOptions = {},
): Promise<CollectorHealthReport> {
  const config = options.pollMs === undefined || options.collectorGroup === undefined ? getConfig() : undefined;
  const settings = {
    pollMs: options.pollMs ?? config!.pollMs,
    collectorGroup: options.collectorGroup ?? config!.collectorGroup,
    now: options.now ?? new Date(),
  };
  return runQuery("reading collector health", async () => {
    const sources = await select<{ id: number; name: string; kind: string }>(db, Prisma.sql`SELECT id, name, kind FROM sources ORDER BY id`);
    const [overall, ...perSource] = await Promise.all([
      reportOf(db, settings, undefined, new Set(sources.map((source) => source.kind))),
      ...sources.map((source) => reportOf(db, settings, source.id, new Set([source.kind]))),
    ]);
    const sourceReports = sources
      .map((source, i) => ({ source, report: perSource[i]! }))
      // A source no collector ever reported for (nor stored from) is one a configuration dropped.
      .filter(({ report }) => report.instances.length > 0);
    const staleSources = sourceReports.filter(({ report }) => report.stale);
    // With several sources, the first stale one says why, by name; the others keep being collected.
    const staleReason =
      sourceReports.length > 1 && staleSources.length > 0
        ? staleSources.map(({ source, report }) => `source ${source.name}: ${report.staleReason}`).join("; ")
        : overall.staleReason;
    return {
      ...overall,
      stale: staleReason !== null,
      staleReason,
      sources: sourceReports.map(({ source, report }) => ({
        name: source.name,
        kind: source.kind,
        instances: report.instances.filter((i) => i.status === "running").length,
        lastPollAt: report.lastPollAt,
        lastAdminPollAt: report.lastAdminPollAt,
        lastError: report.lastError,
        stalled: report.stalled.length,
        stale: report.stale,
        staleReason: report.staleReason,
      })),
    };
  });
}

/** The report over one source's rows (or every source's, `sourceId` undefined), without the per-source list. */
async function reportOf(
  db: Queryable,
  { pollMs, collectorGroup, now }: { pollMs: number; collectorGroup: string; now: Date },
  sourceId: number | undefined,
  kinds: ReadonlySet<string>,
): Promise<Omit<CollectorHealthReport, "sources">> {
  const { broker, state } = brokerWords(kinds);
  const staleAfterMs = Math.max(3 * pollMs, MIN_STALE_MS);
  {
    const [instances, partitionsPolled, committed, timeLags, progress, undecodable] = await Promise.all([
      select<InstanceRow>(db, Prisma.sql`
        SELECT instance_id, host, pid, started_at, last_poll_at, last_stored_at, last_admin_poll_at, own_lag,
          last_error, last_error_at, stalled, updated_at
        FROM collector_instances
        WHERE updated_at >= ${new Date(now.getTime() - FORGET_INSTANCE_MS)}::timestamptz ${ofSource(Prisma.sql`source_id`, sourceId)}
        ORDER BY updated_at DESC`),
      // The poller rewrites every partition at each poll: the newest write is the last poll,
      // also when the collector that polls does not report it in its own row.
      select<{ at: Date | null }>(db, Prisma.sql`SELECT max(updated_at) AS at FROM partitions WHERE TRUE ${ofSource(Prisma.sql`source_id`, sourceId)}`),
      select<{ lag: string | null; partitions: number }>(db, Prisma.sql`
        SELECT sum(greatest(p.end_offset - c.committed_offset, 0)) FILTER (WHERE c.committed_offset >= 0)::text AS lag,
          count(*)::int AS partitions
        FROM committed_offsets c
        JOIN partitions p ON p.source_id = c.source_id AND p.topic = c.topic AND p.partition = c.partition
        WHERE c.group_id = ${collectorGroup}::text ${ofSource(Prisma.sql`c.source_id`, sourceId)}`),
      readLatestTimeLag(db, [collectorGroup], { sourceId }),
      // How far the collector's committed offsets advanced over the stale window (lag_samples_pkey).
      select<{ advanced: string | null; span_ms: number | null }>(db, Prisma.sql`
        SELECT sum(greatest(last_committed - first_committed, 0))::text AS advanced,
          max(extract(epoch FROM last_at - first_at) * 1000)::float8 AS span_ms
        FROM (
          SELECT source_id, topic, partition, min(sampled_at) AS first_at, max(sampled_at) AS last_at,
            (array_agg(committed_offset ORDER BY sampled_at))[1] AS first_committed,
            (array_agg(committed_offset ORDER BY sampled_at DESC))[1] AS last_committed
          FROM lag_samples
          WHERE group_id = ${collectorGroup}::text AND committed_offset IS NOT NULL ${ofSource(Prisma.sql`source_id`, sourceId)}
            AND sampled_at >= ${new Date(now.getTime() - staleAfterMs)}::timestamptz AND sampled_at <= ${now}::timestamptz
          GROUP BY source_id, topic, partition
        ) per_partition`),
      // events_undecodable_idx: a partial index holding only these rows.
      select<UndecodableRow>(db, Prisma.sql`
        SELECT ${sourceNameSql(Prisma.sql`source_id`)} AS source, channel AS topic, partition, position::text AS "offset", undecodable
        FROM events
        WHERE undecodable IS NOT NULL AND ingested_at >= ${new Date(now.getTime() - RECENT_UNDECODABLE_MS)}::timestamptz
          ${ofSource(Prisma.sql`source_id`, sourceId)}
        ORDER BY ingested_at DESC
        LIMIT 100`),
    ]);

    const age = (date: Date | null) => (date ? now.getTime() - date.getTime() : Infinity);
    const running = (instance: InstanceRow) => age(instance.updated_at) <= staleAfterMs;
    // A range already stored is no longer being retried, whatever an instance's last report says.
    const storedRanges = new Set(undecodable.map((row) => `${row.source}\u0000${row.topic}\u0000${row.partition}\u0000${row.offset}`));
    const retrying: StalledPartition[] = instances
      .filter(running)
      .flatMap((instance) => instance.stalled.map((stall) => ({ ...stall, state: "retrying" as const })))
      .filter((stall) => !storedRanges.has(`${stall.source}\u0000${stall.topic}\u0000${stall.partition}\u0000${stall.fromOffset}`));
    const stalled: StalledPartition[] = [
      ...retrying,
      ...undecodable.map((row) => ({
        source: row.source,
        topic: row.topic,
        partition: row.partition,
        fromOffset: row.offset,
        toOffset: row.undecodable.toOffset,
        codec: row.undecodable.codec,
        error: row.undecodable.error,
        attempts: row.undecodable.attempts,
        since: row.undecodable.firstFailedAt,
        state: "stored" as const,
      })),
    ];

    const latest = (dates: (Date | null)[]) =>
      dates.reduce<Date | null>((max, d) => (d && (!max || d > max) ? d : max), null);
    const lastPollAt = latest(instances.map((i) => i.last_poll_at));
    const lastAdminPollAt = latest([...instances.map((i) => i.last_admin_poll_at), partitionsPolled[0]?.at ?? null]);
    // A running instance's error first: a stopped one's is history (still shown if nothing runs).
    const errored = instances
      .filter((i) => i.last_error !== null)
      .sort(
        (a, b) =>
          Number(running(b)) - Number(running(a)) || (b.last_error_at?.getTime() ?? 0) - (a.last_error_at?.getTime() ?? 0),
      )[0];

    let maxTimeLag: number | null = null;
    let sampledAt: Date | null = null;
    for (const entry of timeLags.values()) {
      sampledAt = entry.sampledAt;
      if (entry.timeLagMs !== null) maxTimeLag = Math.max(maxTimeLag ?? 0, entry.timeLagMs);
    }
    const ownOffsetLag =
      committed[0]?.lag ??
      (instances.some((i) => i.own_lag !== null) ? decimal(instances.reduce((sum, i) => sum + BigInt(i.own_lag ?? 0), 0n)) : null);

    let staleReason: string | null = null;
    if (instances.length === 0) {
      staleReason = "no collector has reported yet: is one running against this database?";
    } else if (!instances.some(running)) {
      staleReason = `no collector is running: the last one reported ${formatDuration(age(instances[0]!.updated_at))} ago`;
    } else if (age(lastPollAt) > staleAfterMs) {
      staleReason = lastPollAt
        ? `the collector has not polled ${broker} for ${formatDuration(age(lastPollAt))} (stale after ${formatDuration(staleAfterMs)})`
        : `the collector has not polled ${broker} yet`;
    } else if (age(lastAdminPollAt) > staleAfterMs) {
      staleReason = lastAdminPollAt
        ? `${state} were last polled ${formatDuration(age(lastAdminPollAt))} ago (every ${formatDuration(pollMs)} expected)`
        : `${state} have not been polled yet`;
    } else if (retrying.length > 0) {
      staleReason = retrying.map((stall) => `${stallWords(stall)}, fetched ${stall.attempts} time(s) so far`).join("; ");
    } else {
      staleReason = behindReason(BigInt(ownOffsetLag ?? "0"), maxTimeLag, progress[0], staleAfterMs, pollMs);
    }

    return {
      checkedAt: now.toISOString(),
      pollMs,
      collectorGroup,
      instances: instances.map((i) => ({
        instanceId: i.instance_id,
        host: i.host,
        pid: i.pid,
        startedAt: i.started_at.toISOString(),
        lastPollAt: iso(i.last_poll_at),
        lastStoredAt: iso(i.last_stored_at),
        lastAdminPollAt: iso(i.last_admin_poll_at),
        ownLag: i.own_lag,
        lastError: i.last_error,
        lastErrorAt: iso(i.last_error_at),
        updatedAt: i.updated_at.toISOString(),
        status: running(i) ? ("running" as const) : ("stopped" as const),
      })),
      lastPollAt: iso(lastPollAt),
      lastAdminPollAt: iso(lastAdminPollAt),
      ownLag: { offsetLag: ownOffsetLag, timeLagMs: maxTimeLag, sampledAt: iso(sampledAt) },
      lastError: errored ? { message: errored.last_error!, at: iso(errored.last_error_at), instanceId: errored.instance_id } : null,
      stalled,
      stale: staleReason !== null,
      staleReason,
    };
  }
}
