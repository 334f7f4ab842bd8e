/** Formatting shared by the dead-letter pages (pure). */

/** "2026-11-23 08:41:27 UTC". */
export function formatUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export const OUTCOME_LABELS: Record<string, string> = {
  pending: "pending",
  sent: "sent, not yet consumed",
  consumed: "consumed",
  failed_again: "failed again",
  failed: "produce failed",
};

/**
 * Where a replay went, in words: "orders, partition 2, offset 41"; when its original partition is
 * beyond the topic's partitions, that the key chose the partition instead.
 */
export function describeReplayTarget(replay: {
  targetTopic: string;
  partition: number;
  offset: string;
  missingPartition: number | null;
}): string {
  const where = `${replay.targetTopic}, partition ${replay.partition}, offset ${replay.offset}`;
  if (replay.missingPartition === null) return where;
  return (
    `${where}: partition ${replay.partition} was chosen by the key, not the original partition ` +
    `${replay.missingPartition}, which ${replay.targetTopic} does not have`
  );
}

/** The query string of the inbox for these filters (empty ones left out). */
export function inboxHref(filters: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `/dead-letters?${text}` : "/dead-letters";
}
