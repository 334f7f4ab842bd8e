import Link from "next/link";
import { groupHref, type GroupPageQuery, LAG_WINDOW_NAMES, LAG_WINDOWS, type LagHistory } from "@/lib/api-schemas/groups";
import { toChartValue, type ChartPoint, type ChartSeriesInput } from "@/lib/lag-chart";
import { LagChart } from "@/components/lag/lag-chart";
import styles from "./groups.module.css";

/** Partitions drawn one by one: more lines than this are unreadable. */
const MAX_PARTITION_SERIES = 8;

function sumByBucket(series: { points: { at: string; offsetLag: string | null }[] }[]): ChartPoint[] {
  const sums = new Map<number, number | null>();
  for (const s of series) {
    for (const p of s.points) {
      const t = Date.parse(p.at);
      const v = toChartValue(p.offsetLag);
      const before = sums.get(t);
      sums.set(t, v === null ? (before ?? null) : (before ?? 0) + v);
    }
  }
  return [...sums].map(([t, v]) => ({ t, v })).sort((a, b) => a.t - b.t);
}

/**
 * The charts of a group's lag over the chosen window: total and per topic, time lag, and the
 * partitions with the most lag. The window chooser is links (the URL carries the window).
 */
export function LagCharts({ groupId, history, query }: { groupId: string; history: LagHistory; query: GroupPageQuery }) {
  const from = Date.parse(history.from);
  const to = Date.parse(history.to);
  const total: ChartSeriesInput = { name: "total", points: history.totals.map((p) => ({ t: Date.parse(p.at), v: toChartValue(p.offsetLag) })) };
  const byTopic = new Map<string, LagHistory["partitions"]>();
  for (const p of history.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
  const topicSeries: ChartSeriesInput[] =
    byTopic.size > 1 ? [...byTopic].map(([topic, partitions]) => ({ name: topic, points: sumByBucket(partitions) })) : [];
  const ranked = history.partitions
    .map((p) => ({ p, max: Math.max(-1, ...p.points.map((x) => toChartValue(x.offsetLag) ?? -1)) }))
    .sort((a, b) => b.max - a.max);
  const shown = ranked.slice(0, MAX_PARTITION_SERIES);
  const partitionSeries: ChartSeriesInput[] = shown.map(({ p }) => ({
    name: `${p.topic}/${p.partition}`,
    points: p.points.map((x) => ({ t: Date.parse(x.at), v: toChartValue(x.offsetLag) })),
  }));
  const timeLag: ChartSeriesInput = { name: "time lag", points: history.totals.map((p) => ({ t: Date.parse(p.at), v: p.timeLagMs })) };
  const unknownAnywhere = history.totals.some((p) => p.unknownPartitions > 0);

  return (
    <>
      <div className={styles.grControls}>
        <span>Window:</span>
        <span className={styles.grWindows} style={{ marginLeft: 0 }}>
          {LAG_WINDOW_NAMES.map((w) => (
            <Link key={w} href={groupHref(groupId, { ...query, window: w })} aria-current={w === query.window ? "true" : undefined} scroll={false}>
              {LAG_WINDOWS[w].label}
            </Link>
          ))}
        </span>
        <span className={styles.grMuted}>
          largest value per {LAG_WINDOWS[query.window].bucketMs / 1000} s bucket, UTC
          {unknownAnywhere ? "; partitions with nothing committed have an unknown lag and are not counted in the total" : ""}
        </span>
      </div>
      <LagChart title="Offset lag (records)" series={[total, ...topicSeries]} from={from} to={to} />
      <LagChart title="Time lag (age of the oldest unprocessed record)" unit="ms" series={[timeLag]} from={from} to={to} height={150} />
      {history.partitions.length > 1 ? (
        <LagChart
          title="Offset lag per partition"
          series={partitionSeries}
          from={from}
          to={to}
          note={ranked.length > shown.length ? `the ${shown.length} partitions with the most lag of ${ranked.length}` : undefined}
        />
      ) : null}
    </>
  );
}
