/**
 * What an entity's events say about how they were delivered, read from the events alone (an
 * entity's timeline, in time order): duplicates, repeated effects and partition splits. Pure.
 *
 * - **Duplicate**: the same event delivered again on the same topic: the same message id (a
 *   CloudEvents `ce_id` or another id header, MESSAGE_ID_HEADERS), or, where there is none, the same
 *   key and value bytes within DUPLICATE_WINDOW_MS, as the deliveries' fingerprints
 *   (deliveryFingerprint, taken at ingest) say. Retry copies, dead letters and replays carry the
 *   original's id by design: they are steps of their own, never duplicates.
 * - **Repeated effect**: a step that happened again with another id (two PaymentProcessed for one
 *   order): a consumer that did the work twice, i.e. is not idempotent.
 * - **Partition split**: the entity's events on one topic sit on several partitions (a key
 *   changed), so Kafka no longer keeps them in order; marked on the events off the first partition.
 * - **Early step**: a step seen before the step that always precedes it (the kind's flow knows
 *   which: `alwaysAfter` of lib/api-schemas/flows.ts), that step coming later.
 */

/** Headers that carry a message's own id, compared lowercase. */
export const MESSAGE_ID_HEADERS: readonly string[] = ["ce_id", "ce-id", "message-id", "message_id", "messageid", "x-message-id", "event-id", "eventid", "x-event-id", "id"];

const ID_HEADER_RANK = new Map(MESSAGE_ID_HEADERS.map((name, i) => [name, i]));

/** Without an id, the same content within this long counts as one event delivered twice. */
export const DUPLICATE_WINDOW_MS = 60_000;

/** What deliveryFingerprint reads of a message, as ingest has it. */
export interface FingerprintFacts {
  headers: readonly { key: string; text: string | null; value: Uint8Array | null }[];
  key: string | Uint8Array | null;
  value: Uint8Array | null;
  /** A retry copy, a dead letter or a replay: it repeats an id by design, so it has none. */
  special: boolean;
}

/** FNV-1a, 32 bits, over the parts (text by UTF-16 code unit, bytes by byte; each part followed by a 0). */
function fnv1a(parts: readonly (string | Uint8Array | null)[]): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    if (typeof part === "string") {
      for (let i = 0; i < part.length; i++) hash = Math.imul(hash ^ part.charCodeAt(i), 0x01000193);
    } else if (part !== null) {
      for (let i = 0; i < part.length; i++) hash = Math.imul(hash ^ part[i]!, 0x01000193);
    }
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Which message a delivery carries, as one 32-bit number stored with the event
 * (events.delivery_fingerprint) and kept in its entities' paths: equal on two deliveries of one
 * message. Positive: a hash of its message id (the first of MESSAGE_ID_HEADERS it carries).
 * Negative: without an id, a hash of its key and value bytes, which only makes a duplicate
 * within DUPLICATE_WINDOW_MS. 0: none (retry copies, dead letters, replays). Two different
 * messages of one entity on one channel share a fingerprint about once in 2^31 pairs.
 */
export function deliveryFingerprint(facts: FingerprintFacts): number {
  if (facts.special) return 0;
  // One pass over the headers: the id header that comes first in MESSAGE_ID_HEADERS wins.
  let id: string | Uint8Array | null = null;
  let rank = MESSAGE_ID_HEADERS.length;
  for (const header of facts.headers) {
    const at = ID_HEADER_RANK.get(header.key) ?? ID_HEADER_RANK.get(header.key.toLowerCase());
    if (at === undefined || at >= rank || header.text === "" || (header.text ?? header.value) === null) continue;
    rank = at;
    id = header.text ?? header.value;
  }
  if (id !== null) return (fnv1a(["id", id]) & 0x7fffffff) || 1;
  return -((fnv1a(["content", facts.key, facts.value]) & 0x7fffffff) || 1);
}

/** One delivery as duplicateOf compares them: where, when, and its fingerprint. */
export interface Delivery {
  channel: string;
  /** Epoch ms. */
  at: number;
  fingerprint: number;
}

/**
 * For each delivery (in time order), the index of the earlier one it duplicates, else -1: the
 * same fingerprint on the same channel (a content fingerprint only within DUPLICATE_WINDOW_MS of
 * the nearest earlier delivery it matches). A duplicate's own duplicates point at the first.
 */
export function duplicateOf(deliveries: readonly Delivery[]): number[] {
  const seen = new Map<string, number[]>();
  return deliveries.map((delivery, i) => {
    if (delivery.fingerprint === 0) return -1;
    const key = `${delivery.channel}\u0000${delivery.fingerprint}`;
    const earlier = seen.get(key);
    if (earlier === undefined) {
      seen.set(key, [i]);
      return -1;
    }
    const match = delivery.fingerprint > 0 ? earlier[0]! : earlier.find((j) => delivery.at - deliveries[j]!.at <= DUPLICATE_WINDOW_MS);
    if (match === undefined) {
      earlier.push(i);
      return -1;
    }
    return match;
  });
}

export interface DeliveryFacts {
  topic: string;
  partition: number;
  /** Epoch ms. */
  at: number;
  eventType: string | null;
  producer: string | null;
  /** The event's delivery fingerprint (deliveryFingerprint); 0 or null for none. */
  fingerprint: number | null;
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
  const duplicates = duplicateOf(events.map((event) => ({ channel: event.topic, at: event.at, fingerprint: event.special ? 0 : (event.fingerprint ?? 0) })));
  const byStep = new Map<string, { index: number }>();
  const firstPartition = new Map<string, number>();
  events.forEach((event, i) => {
    const first = firstPartition.get(event.topic);
    if (first === undefined) firstPartition.set(event.topic, event.partition);
    else if (first !== event.partition) marks[i]!.push({ kind: "split", partition: event.partition, firstPartition: first });
    if (event.special) return;
    const original = duplicates[i]!;
    if (original >= 0) {
      marks[i]!.push({ kind: "duplicate", of: original, by: event.fingerprint! > 0 ? "id" : "content" });
      return;
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
    if (before === undefined) byStep.set(step, { index: i });
    else if (isOnce(event.eventType, event.producer)) marks[i]!.push({ kind: "repeated", of: before.index });
  });
  return marks;
}
