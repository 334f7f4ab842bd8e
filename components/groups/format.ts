import { formatDuration } from "@/lib/format-duration";

/** 1234567 (decimal int64 string) → "1,234,567"; exact, whatever the size. */
export function formatOffset(value: string | null): string {
  if (value === null) return "unknown";
  const negative = value.startsWith("-");
  const digits = negative ? value.slice(1) : value;
  return `${negative ? "-" : ""}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}`;
}

/** A time lag in words; "unknown" without one. */
export function formatTimeLag(ms: number | null): string {
  if (ms === null) return "unknown";
  if (ms === 0) return "0 s";
  return formatDuration(ms);
}
