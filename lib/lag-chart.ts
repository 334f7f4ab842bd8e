import { formatCompactCount } from "./format-number.ts";
/**
 * The maths of the lag charts (components/lag/lag-chart.tsx): linear scales, round tick values,
 * time ticks, and SVG paths that break where lag is unknown (a gap, never a drop to 0). Pure.
 */

export interface Scale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

/** Maps [d0, d1] linearly onto [r0, r1]; a zero-width domain maps everything to the range's middle. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const scale = ((value: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0))) as Scale;
  return Object.assign(scale, { domain, range });
}

/** A step of 1, 2 or 5 × 10^k near span / count. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !(count > 0)) return 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return Math.max(1, nice * power);
}

/**
 * The top of a value axis starting at 0: the largest value rounded up to a tick step, so the
 * highest line never touches the frame; 1 when there is nothing (or only zeros) to show.
 */
export function niceMax(max: number, count = 4): number {
  if (!(max > 0)) return count;
  const step = niceStep(max, count);
  return Math.ceil(max / step) * step;
}

/** Ticks 0, step, 2·step, … up to max (inclusive), whole numbers (lag counts records). */
export function valueTicks(max: number, count = 4): number[] {
  const step = niceStep(max, count);
  const ticks: number[] = [];
  for (let v = 0; v <= max + step / 1e9; v += step) ticks.push(v);
  return ticks;
}

const TIME_STEPS_MS = [
  1_000, 5_000, 15_000, 30_000, 60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000,
  12 * 3_600_000, 86_400_000,
];

/** Time ticks within [from, to] on round multiples of a step giving about `count` ticks (UTC). */
export function timeTicks(from: number, to: number, count = 6): number[] {
  if (!(to > from)) return [];
  const wanted = (to - from) / count;
  const step = TIME_STEPS_MS.find((s) => s >= wanted) ?? Math.ceil(wanted / 86_400_000) * 86_400_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

/** A tick label in UTC: "14:05" within a day, "11-23 14:00" beyond, "14:05:30" under a minute's steps. */
export function formatTimeTick(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  if (spanMs > 2 * 86_400_000) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  if (spanMs <= 10 * 60_000) return iso.slice(11, 19);
  return iso.slice(11, 16);
}


export interface ChartPoint {
  /** Epoch ms. */
  t: number;
  /** null: unknown at that time (nothing committed): the line breaks. */
  v: number | null;
}

/**
 * An SVG path through the points in time order: "M" starts a run, "L" continues it, and an unknown
 * value ends it, so unknown lag shows as a gap. A lone known point between gaps becomes a short
 * horizontal tick, visible at any width. Coordinates are rounded to 0.1 px.
 */
export function linePath(points: readonly ChartPoint[], x: Scale, y: Scale): string {
  const r = (n: number) => Math.round(n * 10) / 10;
  const parts: string[] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length === 1) {
      const [, px, py] = /^M(-?[\d.]+),(-?[\d.]+)$/.exec(run[0]!) ?? [];
      if (px !== undefined && py !== undefined) run.push(`H${r(Number(px) + 2)}`);
    }
    parts.push(...run);
    run = [];
  };
  for (const point of [...points].sort((a, b) => a.t - b.t)) {
    if (point.v === null || !Number.isFinite(point.v)) {
      flush();
      continue;
    }
    run.push(`${run.length === 0 ? "M" : "L"}${r(x(point.t))},${r(y(point.v))}`);
  }
  flush();
  return parts.join("");
}

export interface ChartSeriesInput {
  name: string;
  points: readonly ChartPoint[];
}

export interface ChartLayout {
  width: number;
  height: number;
  /** The plotting area inside the margins. */
  plot: { left: number; top: number; right: number; bottom: number };
  yMax: number;
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  series: { name: string; d: string; color: string; last: number | null; max: number | null }[];
  /** No known value at all in the window. */
  empty: boolean;
}

/** Distinct colours that stay readable on white; series beyond them reuse them in order. */
/** CSS colours of the series, in order: variables of app/globals.css, so that both themes have their own. */
export const SERIES_COLORS = Array.from({ length: 10 }, (_, i) => `var(--es-series-${i + 1})`);

/** Lays out a chart of several series over [from, to]: scales, ticks and one path per series. */
export function layoutLagChart(input: {
  series: readonly ChartSeriesInput[];
  from: number;
  to: number;
  width: number;
  height: number;
  margin?: { left: number; top: number; right: number; bottom: number };
  /** Labels of the value axis; default formatCompactCount (lag counts records). */
  formatTick?: (value: number) => string;
}): ChartLayout {
  const margin = input.margin ?? { left: 56, top: 10, right: 12, bottom: 24 };
  const plot = { left: margin.left, top: margin.top, right: input.width - margin.right, bottom: input.height - margin.bottom };
  let max = 0;
  let known = false;
  for (const s of input.series) {
    for (const p of s.points) {
      if (p.v !== null && Number.isFinite(p.v)) {
        known = true;
        max = Math.max(max, p.v);
      }
    }
  }
  const yMax = niceMax(max);
  const x = linearScale([input.from, input.to], [plot.left, plot.right]);
  const y = linearScale([0, yMax], [plot.bottom, plot.top]);
  const span = input.to - input.from;
  return {
    width: input.width,
    height: input.height,
    plot,
    yMax,
    xTicks: timeTicks(input.from, input.to).map((t) => ({ x: x(t), label: formatTimeTick(t, span) })),
    yTicks: valueTicks(yMax).map((v) => ({ y: y(v), label: (input.formatTick ?? formatCompactCount)(v) })),
    series: input.series.map((s, i) => {
      const values = [...s.points].sort((a, b) => a.t - b.t).map((p) => p.v);
      const knownValues = values.filter((v): v is number => v !== null && Number.isFinite(v));
      return {
        name: s.name,
        d: linePath(s.points, x, y),
        color: SERIES_COLORS[i % SERIES_COLORS.length]!,
        last: values.at(-1) ?? null,
        max: knownValues.length > 0 ? Math.max(...knownValues) : null,
      };
    }),
    empty: !known,
  };
}

/** Decimal offsets from the database (int64 as strings) as chart numbers; null stays null. */
export function toChartValue(value: string | number | null): number | null {
  if (value === null) return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}
