/** Rate format of the graph views (counts: lib/format-number.ts). */

/** Messages per second: "1.2k/s", "35/s", "0.4/s"; "–" when not measurable. */
export function formatRate(perSecond: number | null | undefined, estimated = false): string {
  if (perSecond === null || perSecond === undefined) return "–";
  const prefix = estimated ? "≈" : "";
  if (perSecond >= 1000) return `${prefix}${(perSecond / 1000).toFixed(perSecond >= 10_000 ? 0 : 1)}k/s`;
  if (perSecond >= 10) return `${prefix}${Math.round(perSecond)}/s`;
  return `${prefix}${perSecond.toFixed(perSecond === 0 ? 0 : 1)}/s`;
}

/**
 * A binding edge's routing keys in at most `max` characters: "order.# +2" for three keys, cut
 * with "…"; "" when every key is empty (a fanout's, a headers exchange's).
 */
export function formatRoutingKeys(keys: readonly string[], max: number): string {
  const shown = keys.filter((key) => key !== "");
  if (shown.length === 0) return "";
  const more = shown.length > 1 ? ` +${shown.length - 1}` : "";
  const room = Math.max(1, max - more.length);
  const first = shown[0]!.length > room ? `${shown[0]!.slice(0, room - 1)}…` : shown[0]!;
  return `${first}${more}`;
}
