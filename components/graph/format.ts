/** Rate format of the graph views (counts: lib/format-number.ts). */

/** Messages per second: "1.2k/s", "35/s", "0.4/s"; "–" when not measurable. */
export function formatRate(perSecond: number | null | undefined, estimated = false): string {
  if (perSecond === null || perSecond === undefined) return "–";
  const prefix = estimated ? "≈" : "";
  if (perSecond >= 1000) return `${prefix}${(perSecond / 1000).toFixed(perSecond >= 10_000 ? 0 : 1)}k/s`;
  if (perSecond >= 10) return `${prefix}${Math.round(perSecond)}/s`;
  return `${prefix}${perSecond.toFixed(perSecond === 0 ? 0 : 1)}/s`;
}
