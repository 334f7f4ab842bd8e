import type { Producer } from "kafkajs";
import {
  claimReplay,
  listDeadLetterIdsOfGroup,
  loadReplaySource,
  markReplayFailed,
  markReplaySent,
  recordAudit,
  setDeadLetterStatus,
  type Database,
  type PreviousReplay,
} from "../db/index.ts";
import { NotFoundError, ValidationError } from "../../lib/errors.ts";
import { DEFAULT_EXCHANGE } from "../../lib/rabbitmq-names.ts";
import { compressionType, type CompressionName } from "../kafka/index.ts";
import { buildReplayMessage, toKafkajsHeaders, type OutgoingMessage, type ReplayEdits } from "./message.ts";
import { originalRoutingKeys, toAmqpPublish, type RabbitReplayPublisher } from "./rabbitmq.ts";
import { reencodeEditedValue, type SchemaSource } from "./reencode.ts";

/**
 * What a replay needs: the database (unmasked: replay sends what was stored), a producer, and
 * the cluster's metadata (partitionCountOf through an admin client, server/kafka).
 */
export interface ReplayDeps {
  db: Pick<Database, "pool">;
  /** The producer of a source (by name): a replay goes back to its dead letter's own source. */
  producer: (source: string) => Promise<Producer>;
  /** How many partitions a topic has on a source (by name); null when it has no such topic. */
  partitionCount: (topic: string, source: string) => Promise<number | null>;
  /** The codec replays are sent with (EVENTSCOPE_REPLAY_COMPRESSION). Default none. */
  compression?: CompressionName;
  /** The time a bulk replay paces itself by. Default the system's. */
  clock?: PacingClock;
  /** The Schema Registry (SCHEMA_REGISTRY_URL), for re-encoding an edited value; null or absent: none. */
  schemas?: SchemaSource | null;
  /**
   * A RabbitMQ source's publisher (by name) for the vhost of a dead letter's channel, and the user
   * it connects as. Absent: RabbitMQ dead letters are answered `unavailable`.
   */
  rabbitmq?: (source: string, channel: string) => Promise<{ publisher: RabbitReplayPublisher; username: string }>;
}

/** Time as a bulk replay's pacing sees it: `now()` in milliseconds, and a wait of `ms` milliseconds. */
export interface PacingClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: PacingClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface ReplayRequest {
  deadLetterId: string;
  /** Who asks (the audit's actor). */
  actor: string;
  /** Replay although it was replayed before. */
  again?: boolean;
  /** With `again`: how many replays the user saw (refused if more happened since). */
  seen?: number;
  /** Another target than the original topic. */
  topic?: string;
  value?: ReplayEdits["value"];
  headers?: ReplayEdits["headers"];
}

export type ReplayResult =
  | {
      status: "sent";
      deadLetterId: string;
      replayId: string;
      sequence: number;
      /** Kafka: the topic; RabbitMQ: the exchange ("" is the default exchange). */
      targetTopic: string;
      /** RabbitMQ: 0 (a queue has no partitions). */
      partition: number;
      /** RabbitMQ: null (confirmed by the broker, but a queue has no offsets). */
      offset: string | null;
      /** RabbitMQ: the routing key it was published with; Kafka: null. */
      routingKey: string | null;
      /**
       * The original partition when the target topic does not have it (fewer partitions): the
       * message was sent without a fixed partition and `partition` is the one its key chose.
       */
      missingPartition: number | null;
      edits: Record<string, unknown> | null;
    }
  /** The guard: it was replayed before (who, when); nothing was produced. */
  | { status: "already-replayed"; deadLetterId: string; previous: PreviousReplay[] }
  /** No producer (no cluster configured, or it cannot be reached): nothing was claimed or sent. */
  | { status: "unavailable"; deadLetterId: string; error: string }
  /** Claimed, but the produce failed: recorded as a failed replay. */
  | { status: "failed"; deadLetterId: string; replayId: string; sequence: number; targetTopic: string; error: string };

/** Where a dead letter goes back to: the chosen topic, else its original topic from headers. */
function targetTopicOf(source: { originTopic: string | null; originTopicHint: string | null }, topic?: string): string {
  if (topic !== undefined) return topic;
  if (source.originTopic !== null) return source.originTopic;
  const hint = source.originTopicHint ? ` (its DLQ's name suggests ${JSON.stringify(source.originTopicHint)})` : "";
  throw new ValidationError(`the original topic of this dead letter is unknown${hint}: choose a topic to send it to`, {
    field: "topic",
  });
}

/**
 * Where in `targetTopic` a replay goes, checked against the cluster before anything is claimed:
 * a topic that does not exist is refused (ValidationError on `topic`: the user chooses another);
 * back to its original topic it goes to its original partition, unless the topic has fewer
 * partitions now, and then its key chooses (`missingPartition` says which one it could not have).
 */
async function placeReplay(
  deps: Pick<ReplayDeps, "partitionCount">,
  source: { source: string; originTopic: string | null; originPartition: number | null },
  targetTopic: string,
): Promise<{ partition: number | undefined; missingPartition: number | null }> {
  const partitions = await deps.partitionCount(targetTopic, source.source);
  if (partitions === null) {
    const original = targetTopic === source.originTopic ? "its original topic " : "";
    throw doesNotExist(`${original}${JSON.stringify(targetTopic)} does not exist in the cluster`);
  }
  if (targetTopic !== source.originTopic || source.originPartition === null) return { partition: undefined, missingPartition: null };
  if (source.originPartition < partitions) return { partition: source.originPartition, missingPartition: null };
  return { partition: undefined, missingPartition: source.originPartition };
}

/** A target that does not exist (`what`): the user chooses another; nothing was claimed. */
function doesNotExist(what: string): ValidationError {
  return new ValidationError(
    `${what}: choose another topic to send it to (nothing was sent, and it can still be replayed)`,
    { field: "topic" },
  );
}

/** Where a sent replay went. RabbitMQ has no partition or offset: 0 and null, and its routing key. */
interface Delivered {
  partition: number;
  offset: string | null;
  missingPartition: number | null;
  routingKey: string | null;
}

type ReplaySourceOf = Awaited<ReturnType<typeof loadReplaySource>>;

/**
 * The send of one replay, with everything checked that can be before the claim: the client
 * connected (else it throws: `unavailable`), the target there (else a ValidationError), the
 * message (`draft`, without its replay id yet) sendable to that kind of source.
 */
async function prepareSend(
  deps: ReplayDeps,
  source: ReplaySourceOf,
  targetTopic: string,
  draft: OutgoingMessage,
): Promise<(message: OutgoingMessage) => Promise<Delivered>> {
  if (source.sourceKind === "rabbitmq") return prepareRabbitMqSend(deps, source, targetTopic, draft);
  const producer = await deps.producer(source.source);
  const placement = await placeReplay(deps, source, targetTopic);
  return async (message) => {
    const [sent] = await producer.send({
      topic: targetTopic,
      acks: -1,
      compression: compressionType(deps.compression ?? "none"),
      messages: [{ key: message.key, value: message.value, headers: toKafkajsHeaders(message.headers), partition: placement.partition }],
    });
    if (!sent) throw new Error("the broker acknowledged no record");
    const offset = sent.baseOffset ?? sent.offset;
    if (offset === undefined) throw new Error("the broker acknowledged the record without an offset");
    return { partition: sent.partition, offset, missingPartition: placement.missingPartition, routingKey: null };
  };
}

/**
 * RabbitMQ: published to the exchange (the original one: RabbitMQ's `x-first-death-exchange`)
 * with the original routing keys (rabbitmq.ts, originalRoutingKeys); to the default exchange ""
 * with the queue it first died in as the routing key, which is how that exchange routes.
 */
async function prepareRabbitMqSend(
  deps: ReplayDeps,
  source: ReplaySourceOf,
  targetExchange: string,
  draft: OutgoingMessage,
): Promise<(message: OutgoingMessage) => Promise<Delivered>> {
  // `amq.default` is RabbitMQ's name for the default exchange (and Eventscope's channel of its
  // messages), but a publish to that name is refused (404, no such exchange): it is "" on the wire.
  const exchange = targetExchange === DEFAULT_EXCHANGE ? "" : targetExchange;
  if (!deps.rabbitmq) throw new Error(`replay to RabbitMQ source ${JSON.stringify(source.source)} is not configured in this process`);
  const { publisher, username } = await deps.rabbitmq(source.source, source.topic);
  const routingKeys =
    exchange === "" && source.originGroup !== null ? [source.originGroup] : originalRoutingKeys(source.headers, source.originGroup);
  if (routingKeys === null) {
    throw new ValidationError("the routing key this dead letter was published with is unknown (no x-death routing-keys, no amqp.routing_key)", {
      field: "id",
    });
  }
  const target = { exchange, routingKeys, username };
  toAmqpPublish(draft, target); // Refuses what AMQP cannot carry (a tombstone, a malformed property) before the claim.
  if (!(await publisher.exchangeExists(exchange))) {
    const original = targetExchange === source.originTopic ? "its original " : "";
    throw doesNotExist(`${original}exchange ${JSON.stringify(targetExchange)} does not exist on the broker`);
  }
  return async (message) => {
    const publish = toAmqpPublish(message, target);
    await publisher.publish(publish);
    return { partition: 0, offset: null, missingPartition: null, routingKey: publish.routingKey };
  };
}

/**
 * Replays one dead letter: check the target (topic and partition, or exchange), claim (the guard,
 * in the database) BEFORE sending, then send, then record where it went; a send failure marks the
 * replay failed. Every attempt that claimed is audited with its result.
 */
export async function replayDeadLetter(deps: ReplayDeps, request: ReplayRequest): Promise<ReplayResult> {
  const source = await loadReplaySource(deps.db, request.deadLetterId);
  if (source.notExact !== null) {
    throw new ValidationError(`this dead letter cannot be replayed byte for byte: ${source.notExact}`, { field: "id" });
  }
  const targetTopic = targetTopicOf(source, request.topic);
  const replayOf = `${source.topic}/${source.partition}/${source.offset}`;
  let edits: ReplayEdits = { value: request.value, headers: request.headers };
  if (source.decoded !== null && source.value !== null && typeof request.value === "string") {
    // A Schema Registry value is edited as its decoded JSON and sent re-encoded under the same id.
    const prepared = await reencodeEditedValue(deps.schemas ?? null, { value: source.value, decoded: source.decoded }, request.value);
    if (prepared.status === "unavailable") return { status: "unavailable", deadLetterId: source.id, error: prepared.error };
    edits = { headers: request.headers, ...(prepared.status === "changed" ? { reencoded: prepared.value } : {}) };
  }
  // Built once before the claim to validate the edits and compute the diff; the replay id goes in after.
  const draft = buildReplayMessage(source, { replayId: "", replayOf }, edits);
  // The client and the target first: when the broker cannot be reached, or the target does not
  // exist, nothing is claimed.
  let send: Awaited<ReturnType<typeof prepareSend>>;
  try {
    send = await prepareSend(deps, source, targetTopic, draft.message);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    return { status: "unavailable", deadLetterId: source.id, error: error instanceof Error ? error.message : String(error) };
  }
  const claim = await claimReplay(deps.db, {
    deadLetterId: source.id,
    requestedBy: request.actor,
    targetTopic,
    edits: draft.diff,
    again: request.again ?? false,
    seen: request.seen,
  });
  if (!claim.claimed) return { status: "already-replayed", deadLetterId: source.id, previous: claim.previous };

  const { message } = buildReplayMessage(source, { replayId: claim.replayId, replayOf }, edits);
  const details = {
    replayId: claim.replayId,
    sequence: claim.sequence,
    again: request.again ?? false,
    dlqRecord: replayOf,
    targetTopic,
    originalTopic: source.originTopic,
    edits: draft.diff,
  };
  try {
    const delivered = await send(message);
    const { partition, offset, missingPartition, routingKey } = delivered;
    await markReplaySent(deps.db, claim.replayId, delivered);
    await recordAudit(deps.db, {
      actor: request.actor,
      action: "replay",
      targetType: "dead-letter",
      targetId: source.id,
      details: {
        ...details,
        partition,
        offset,
        ...(missingPartition !== null ? { missingPartition } : {}),
        ...(routingKey !== null ? { routingKey } : {}),
      },
      result: "ok",
    });
    return {
      status: "sent",
      deadLetterId: source.id,
      replayId: claim.replayId,
      sequence: claim.sequence,
      targetTopic,
      partition,
      offset,
      routingKey,
      missingPartition,
      edits: draft.diff,
    };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    await markReplayFailed(deps.db, claim.replayId, text);
    await recordAudit(deps.db, {
      actor: request.actor,
      action: "replay",
      targetType: "dead-letter",
      targetId: source.id,
      details,
      result: "error",
      error: text,
    });
    return { status: "failed", deadLetterId: source.id, replayId: claim.replayId, sequence: claim.sequence, targetTopic, error: text };
  }
}

export const MAX_BULK_REPLAY = 10_000;

export interface BulkReplayRequest {
  ids?: string[];
  group?: { originTopic: string | null; errorClass: string | null; source?: string };
  dryRun: boolean;
  /** Messages per second at most. */
  ratePerSecond: number;
  actor: string;
}

/** One line of a bulk replay's progress (and of a dry run's list). */
export type BulkReplayItem =
  | { id: string; status: "would-send"; targetTopic: string; replayOf: string }
  | { id: string; status: "would-skip" | "skipped"; reason: string }
  | ({ id: string } & ReplayResult);

export interface BulkReplaySummary {
  total: number;
  dryRun: boolean;
  counts: Record<string, number>;
}

/**
 * Replays a selection or a whole group, one at a time at `ratePerSecond` at most, each through
 * the same guard as a single replay (already-replayed ones are skipped, never sent twice).
 * `onItem` reports progress as it goes. A dry run sends nothing and says what would be sent.
 */
export async function replayDeadLetters(
  deps: ReplayDeps,
  request: BulkReplayRequest,
  onItem: (item: BulkReplayItem, done: number, total: number) => void | Promise<void>,
): Promise<BulkReplaySummary> {
  const clock = deps.clock ?? systemClock;
  const ids = request.group
    ? await listDeadLetterIdsOfGroup(deps.db, request.group, MAX_BULK_REPLAY)
    : [...new Set(request.ids ?? [])].slice(0, MAX_BULK_REPLAY);
  // One metadata request per target topic (and source) for the whole run, not one per dead letter.
  const known = new Map<string, Promise<number | null>>();
  const partitionCount = (topic: string, source: string) => {
    const key = `${source}\u0000${topic}`;
    let count = known.get(key);
    if (!count) {
      count = deps.partitionCount(topic, source);
      count.catch(() => known.delete(key));
      known.set(key, count);
    }
    return count;
  };
  const runDeps: ReplayDeps = { ...deps, partitionCount };
  const counts: Record<string, number> = {};
  const interval = 1000 / request.ratePerSecond;
  let done = 0;
  for (const id of ids) {
    const started = clock.now();
    let item: BulkReplayItem;
    try {
      if (request.dryRun) {
        const source = await loadReplaySource(deps.db, id);
        if (source.status !== "new") item = { id, status: "would-skip", reason: `it is ${source.status}` };
        else if (source.notExact !== null) item = { id, status: "would-skip", reason: source.notExact };
        else if (source.originTopic === null) item = { id, status: "would-skip", reason: "its original topic is unknown" };
        else {
          const replayOf = `${source.topic}/${source.partition}/${source.offset}`;
          const draft = buildReplayMessage(source, { replayId: "", replayOf });
          const checked = await prepareSend(runDeps, source, source.originTopic, draft.message).then(
            () => null,
            (error: unknown) => {
              if (error instanceof ValidationError) throw error;
              // The cluster cannot be reached: what the run would answer too, nothing claimed.
              return error instanceof Error ? error.message : String(error);
            },
          );
          item =
            checked === null
              ? { id, status: "would-send", targetTopic: source.originTopic, replayOf }
              : { id, status: "unavailable", deadLetterId: id, error: checked };
        }
      } else {
        item = { id, ...(await replayDeadLetter(runDeps, { deadLetterId: id, actor: request.actor })) };
      }
    } catch (error) {
      if (!(error instanceof ValidationError || error instanceof NotFoundError)) throw error;
      item = { id, status: request.dryRun ? "would-skip" : "skipped", reason: error.message };
    }
    done++;
    counts[item.status] = (counts[item.status] ?? 0) + 1;
    await onItem(item, done, ids.length);
    if (!request.dryRun && item.status === "sent" && done < ids.length) {
      // What is left of this replay's share of a second, measured from its start.
      const wait = interval - (clock.now() - started);
      if (wait > 0) await clock.sleep(wait);
    }
  }
  if (!request.dryRun) {
    await recordAudit(deps.db, {
      actor: request.actor,
      action: "replay-bulk",
      targetType: request.group ? "dead-letter-group" : "dead-letters",
      targetId: request.group ? `${request.group.originTopic ?? "?"} / ${request.group.errorClass ?? "?"}` : `${ids.length} selected`,
      details: { total: ids.length, counts, ratePerSecond: request.ratePerSecond },
      result: (counts.failed ?? 0) > 0 ? "error" : "ok",
      error: (counts.failed ?? 0) > 0 ? `${counts.failed} replay(s) failed to produce` : null,
    });
  }
  return { total: ids.length, dryRun: request.dryRun, counts };
}

/** Marks a dead letter resolved or discarded, audited. */
export async function changeDeadLetterStatus(
  deps: Pick<ReplayDeps, "db">,
  request: { deadLetterId: string; status: "resolved" | "discarded"; actor: string; note?: string },
): Promise<{ deadLetterId: string; status: "resolved" | "discarded"; previous: string }> {
  const { previous } = await setDeadLetterStatus(deps.db, request.deadLetterId, request.status);
  await recordAudit(deps.db, {
    actor: request.actor,
    action: request.status === "resolved" ? "resolve" : "discard",
    targetType: "dead-letter",
    targetId: request.deadLetterId,
    details: { previous, ...(request.note ? { note: request.note } : {}) },
    result: "ok",
  });
  return { deadLetterId: request.deadLetterId, status: request.status, previous };
}
