import { formatDuration } from "@/lib/format-duration";
import { formatCount } from "@/lib/format-number";
import { layoutLagChart, type ChartSeriesInput } from "@/lib/lag-chart";
import styles from "./lag-chart.module.css";

export interface LagChartProps {
  title: string;
  /** What the values count, for the legend and the screen-reader label ("records", "ms"). */
  unit?: "records" | "ms";
  series: readonly ChartSeriesInput[];
  /** The window, epoch ms. */
  from: number;
  to: number;
  width?: number;
  height?: number;
  /** Said under the chart, e.g. which partitions are left out. */
  note?: string;
}

function formatValue(value: number | null, unit: LagChartProps["unit"]): string {
  if (value === null) return "unknown";
  return unit === "ms" ? formatDuration(value) : formatCount(Math.round(value));
}

/**
 * Lag over time as a hand-drawn SVG: one line per series on a shared scale, gaps where the lag was
 * unknown (nothing committed), time in UTC. The layout is lib/lag-chart.ts; this only draws it.
 * Server-rendered: no interaction beyond the native tooltips of the lines.
 */
export function LagChart({ title, unit = "records", series, from, to, width = 760, height = 200, note }: LagChartProps) {
  const layout = layoutLagChart({ series, from, to, width, height, formatTick: unit === "ms" ? (v) => formatValue(v, unit) : undefined });
  const { plot } = layout;
  return (
    <figure className={styles.chart}>
      <figcaption className={styles.caption}>{title}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        className={styles.svg}
        role="img"
        aria-label={`${title}: ${layout.series.map((s) => `${s.name} now ${formatValue(s.last, unit)}, at most ${formatValue(s.max, unit)}`).join("; ")}`}
        data-empty={layout.empty ? "true" : undefined}
      >
        {layout.yTicks.map((tick) => (
          <g key={`y${tick.label}`}>
            <line x1={plot.left} x2={plot.right} y1={tick.y} y2={tick.y} className={styles.grid} />
            <text x={plot.left - 6} y={tick.y} className={styles.yLabel}>
              {tick.label}
            </text>
          </g>
        ))}
        {layout.xTicks.map((tick) => (
          <g key={`x${tick.x}`}>
            <line x1={tick.x} x2={tick.x} y1={plot.top} y2={plot.bottom} className={styles.grid} />
            <text x={tick.x} y={plot.bottom + 15} className={styles.xLabel}>
              {tick.label}
            </text>
          </g>
        ))}
        <rect x={plot.left} y={plot.top} width={plot.right - plot.left} height={plot.bottom - plot.top} className={styles.frame} />
        {layout.series.map((s) =>
          s.d === "" ? null : (
            <path key={s.name} d={s.d} style={{ stroke: s.color }} className={styles.line} data-series={s.name}>
              <title>{`${s.name}: now ${formatValue(s.last, unit)}, at most ${formatValue(s.max, unit)}`}</title>
            </path>
          ),
        )}
        {layout.empty ? (
          <text x={(plot.left + plot.right) / 2} y={(plot.top + plot.bottom) / 2} className={styles.emptyText}>
            No lag samples with a known value in this window: choose a longer window, or check that the collector is running.
          </text>
        ) : null}
      </svg>
      {layout.series.length > 1 || note ? (
        <ul className={styles.legend}>
          {layout.series.map((s) => (
            <li key={s.name}>
              <span className={styles.swatch} style={{ background: s.color }} aria-hidden="true" />
              {s.name} <span className={styles.legendValue}>now {formatValue(s.last, unit)} · max {formatValue(s.max, unit)}</span>
            </li>
          ))}
          {note ? <li className={styles.note}>{note}</li> : null}
        </ul>
      ) : null}
    </figure>
  );
}
