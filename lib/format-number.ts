/**
 * Numbers for people, one owner for every page. Offsets and counts arrive as decimal strings
 * (int64) or numbers.
 */

const grouped = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** Exact, grouped: "12,345" for a decimal string or number, whatever its size; `unknown` for null. */
export function formatCount(value: string | number | bigint | null | undefined, unknown = "?"): string {
  if (value === null || value === undefined) return unknown;
  if (typeof value !== "string") return grouped.format(value);
  try {
    return grouped.format(BigInt(value));
  } catch {
    return value;
  }
}

/** Short, for axis labels and tight spaces: 1,234 → "1.2K", 1.5e6 → "1.5M", 2e9 → "2B". */
export function formatCompactCount(value: number): string {
  return compact.format(value);
}
