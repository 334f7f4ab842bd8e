/** Formatting shared by the dead-letter pages (pure). */

/** "2026-11-23 08:41:27 UTC". */
export function formatUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export const OUTCOME_LABELS: Record<string, string> = {
  pending: "pending",
  sent: "sent, not yet consumed",
  consumed: "consumed",
  delivered: "delivered",
  failed_again: "failed again",
  failed: "produce failed",
};

/** A RabbitMQ replay's outcome beside its label, in bindings mode alone: whether it was delivered cannot be known. */
export const UNKNOWN_CONSUMPTION =
  "confirmed by the broker; whether it was consumed is unknown (RabbitMQ reports no acknowledgements to observers)";

/** The same with deliveries from the firehose: not delivered from any queue yet. */
export const NO_DELIVERY_YET = "confirmed by the broker; no queue has delivered it yet (acknowledgements are not seen)";

/** A RabbitMQ replay a queue delivered: "delivered from email.jobs (acknowledgements are not seen)". */
export function deliveredFromText(queues: readonly string[]): string {
  return `delivered from ${queues.join(", ")} (whether it was acknowledged is not seen)`;
}

/**
 * Where a replay went, in words: "orders, partition 2, offset 41"; when its original partition is
 * beyond the topic's partitions, that the key chose the partition instead. A RabbitMQ replay (no
 * offset): "exchange orders, routing key order.placed".
 */
export function describeReplayTarget(replay: {
  targetTopic: string;
  partition: number;
  offset: string | null;
  missingPartition: number | null;
  routingKey?: string | null;
}): string {
  if (replay.offset === null) {
    const exchange = replay.targetTopic === "" ? "the default exchange" : `exchange ${replay.targetTopic}`;
    return `${exchange}, routing key ${replay.routingKey ?? "unknown"}`;
  }
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
