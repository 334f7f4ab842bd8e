import { z } from "zod";

/**
 * A partition whose data could not all be decoded, as GET /api/health lists it: `retrying` (that
 * partition's collection waits while the batch is fetched again) or `stored` (given up: the range
 * is one event row flagged batch-undecodable, and collection moved past it) within the last hour.
 */
export const stalledPartitionSchema = z.object({
  topic: z.string(),
  partition: z.number().int(),
  /** The undecodable range (decimal int64 offsets, inclusive). */
  fromOffset: z.string(),
  toOffset: z.string(),
  codec: z.string(),
  error: z.string(),
  /** Fetches of the range that failed so far. */
  attempts: z.number().int(),
  /** When the range first failed to decode (ISO 8601). */
  since: z.string(),
  state: z.enum(["retrying", "stored"]),
});

export type StalledPartition = z.infer<typeof stalledPartitionSchema>;

/** A stalled partition in words, as the health reason and the "data is stale" banner say it. */
export function stallWords(stall: Pick<StalledPartition, "topic" | "partition" | "fromOffset" | "toOffset" | "codec" | "error">): string {
  const range = stall.fromOffset === stall.toOffset ? `offset ${stall.fromOffset}` : `offsets ${stall.fromOffset}..${stall.toOffset}`;
  return `${stall.topic}-${stall.partition} ${range} (${stall.codec}) cannot be decoded: ${stall.error}`;
}
