import { formatDuration } from "@/lib/format-duration";
import { formatCount } from "@/lib/format-number";

/** 1234567 (decimal int64 string) → "1,234,567"; exact, whatever the size. */
export function formatOffset(value: string | null): string {
  return formatCount(value, "unknown");
}

/** A time lag in words; "unknown" without one. */
export function formatTimeLag(ms: number | null): string {
  if (ms === null) return "unknown";
  if (ms === 0) return "0 s";
  return formatDuration(ms);
}
