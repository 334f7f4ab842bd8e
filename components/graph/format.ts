/** Number formats of the graph and who-consumes views. Offsets arrive as decimal strings (int64). */

const grouped = new Intl.NumberFormat("en-US");

/** "12,345" for a decimal string or number; "?" for null (unknown). */
export function formatCount(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "?";
  if (typeof value === "number") return grouped.format(value);
  try {
    return grouped.format(BigInt(value));
  } catch {
    return value;
  }
}

/** Messages per second: "1.2k/s", "35/s", "0.4/s"; "–" when not measurable. */
export function formatRate(perSecond: number | null | undefined, estimated = false): string {
  if (perSecond === null || perSecond === undefined) return "–";
  const prefix = estimated ? "≈" : "";
  if (perSecond >= 1000) return `${prefix}${(perSecond / 1000).toFixed(perSecond >= 10_000 ? 0 : 1)}k/s`;
  if (perSecond >= 10) return `${prefix}${Math.round(perSecond)}/s`;
  return `${prefix}${perSecond.toFixed(perSecond === 0 ? 0 : 1)}/s`;
}
