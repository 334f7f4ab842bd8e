/**
 * What an entity's events say about how they were delivered, read from the events alone (an
 * entity's timeline, in time order): duplicates, repeated effects and partition splits. Pure.
 *
 * - **Duplicate**: the same event delivered again on the same topic: the same message id (a
 *   CloudEvents `ce_id` or another id header, MESSAGE_ID_HEADERS), or, where there is none, the same
 *   type, key, size and value (preview) within DUPLICATE_WINDOW_MS. Retry copies, dead letters and
 *   replays carry the original's id by design: they are steps of their own, never duplicates.
 * - **Repeated effect**: a step that happened again with another id (two PaymentProcessed for one
 *   order): a consumer that did the work twice, i.e. is not idempotent.
 * - **Partition split**: the entity's events on one topic sit on several partitions (a key
 *   changed), so Kafka no longer keeps them in order; marked on the events off the first partition.
 * - **Early step**: a step seen before the step that always precedes it (the kind's flow knows
 *   which: `alwaysAfter` of lib/api-schemas/flows.ts), that step coming later.
 */

/** Headers that carry a message's own id, compared lowercase. */
export const MESSAGE_ID_HEADERS: readonly string[] = ["ce_id", "ce-id", "message-id", "message_id", "messageid", "x-message-id", "event-id", "eventid", "x-event-id", "id"];

/** Without an id, the same content within this long counts as one event delivered twice. */
export const DUPLICATE_WINDOW_MS = 60_000;

export interface DeliveryFacts {
  topic: string;
  partition: number;
  /** Epoch ms. */
  at: number;
  eventType: string | null;
  producer: string | null;
  key: string | null;
  size: number;
  valuePreview: string | null;
  headers: readonly { key: string; value: string | null }[];
  /** A retry copy, a dead letter or a replay: never a duplicate nor a repeat. */
  special: boolean;
}

export type DeliveryMark =
  | { kind: "duplicate"; of: number; by: "id" | "content" }
  | { kind: "repeated"; of: number }
  | { kind: "split"; partition: number; firstPartition: number }
  | { kind: "early"; before: number };

/** A step by type and producer, as the flows name the steps that always follow another. */
export interface StepName {
  type: string;
  producer: string | null;
}

function messageId(event: DeliveryFacts): string | null {
  for (const name of MESSAGE_ID_HEADERS) {
    const header = event.headers.find((h) => h.key.toLowerCase() === name && h.value !== null && h.value !== "");
    if (header) return header.value;
  }
  return null;
}

/**
 * Each event's marks, by index. `isOnce` says which steps should happen once per entity (the
 * kind's flow knows: lib/flows.ts isOnceStep); only those are repeated effects when repeated.
 */
export function deliveryMarks(
  events: readonly DeliveryFacts[],
  isOnce: (eventType: string, producer: string | null) => boolean = () => false,
  alwaysAfter: (eventType: string, producer: string | null) => StepName | null = () => null,
): DeliveryMark[][] {
  const marks: DeliveryMark[][] = events.map(() => []);
  const byId = new Map<string, number>();
  const byContent = new Map<string, number[]>();
  const byStep = new Map<string, { index: number; id: string | null }>();
  const firstPartition = new Map<string, number>();
  events.forEach((event, i) => {
    const first = firstPartition.get(event.topic);
    if (first === undefined) firstPartition.set(event.topic, event.partition);
    else if (first !== event.partition) marks[i]!.push({ kind: "split", partition: event.partition, firstPartition: first });
    if (event.special) return;

    const id = messageId(event);
    if (id !== null) {
      const seen = byId.get(`${event.topic}\u0000${id}`);
      if (seen !== undefined) {
        marks[i]!.push({ kind: "duplicate", of: seen, by: "id" });
        return;
      }
      byId.set(`${event.topic}\u0000${id}`, i);
    } else {
      const content = [event.topic, event.eventType ?? "", event.key ?? "", event.size, event.valuePreview ?? ""].join("\u0000");
      const earlier = (byContent.get(content) ?? []).find((j) => event.at - events[j]!.at <= DUPLICATE_WINDOW_MS);
      if (earlier !== undefined) {
        marks[i]!.push({ kind: "duplicate", of: earlier, by: "content" });
        return;
      }
      byContent.set(content, [...(byContent.get(content) ?? []), i]);
    }

    if (event.eventType === null) return;
    const required = alwaysAfter(event.eventType, event.producer);
    if (required !== null) {
      const isRequired = (e: DeliveryFacts) => !e.special && e.eventType === required.type && e.producer === required.producer;
      if (!events.slice(0, i).some(isRequired)) {
        const later = events.findIndex((e, j) => j > i && isRequired(e));
        if (later !== -1) marks[i]!.push({ kind: "early", before: later });
      }
    }
    const step = `${event.eventType}\u0000${event.producer ?? ""}`;
    const before = byStep.get(step);
    if (before === undefined) byStep.set(step, { index: i, id });
    else if (isOnce(event.eventType, event.producer)) marks[i]!.push({ kind: "repeated", of: before.index });
  });
  return marks;
}
