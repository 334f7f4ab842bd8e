/**
 * Whether a step of a flow (one event) is a failure, a compensation, or neither: the one rule the
 * timeline, its lanes and the trace waterfall mark events by.
 *
 * A failure is a dead letter, an event that carries failure headers (a retry or a re-send: the
 * collector stores them as its prior failure), or an event whose type is named like a failure
 * (PaymentFailed, order.rejected, CardDeclined, GatewayTimeout…). A compensation is an event whose
 * type is named like an undo (InventoryReleased, PaymentRefunded, OrderCancelled…). A type that
 * reads as both (RefundFailed) is a failure: what went wrong matters more than what it tried.
 */

export type StepOutcome = "failure" | "compensation" | "normal";

/** Words of an event type that name a failure (compared lowercase, word by word). */
export const FAILURE_WORDS: readonly string[] = [
  "fail",
  "failed",
  "fails",
  "failure",
  "rejected",
  "rejection",
  "declined",
  "denied",
  "error",
  "errored",
  "timeout",
  "timedout",
  "expired",
  "aborted",
  "invalid",
  "undeliverable",
];

/**
 * Words of an event type that name a compensation. Words starting with "compensat" count too
 * (Compensated, CompensationStarted, compensating).
 */
export const COMPENSATION_WORDS: readonly string[] = [
  "released",
  "refunded",
  "refund",
  "cancelled",
  "canceled",
  "cancellation",
  "reversed",
  "reversal",
  "rolledback",
  "rollback",
  "voided",
  "undone",
  "revoked",
  "restocked",
];

const FAILURE = new Set(FAILURE_WORDS);
const COMPENSATION = new Set(COMPENSATION_WORDS);

/**
 * The words of an event type: split at separators (dots, dashes, underscores, spaces, slashes)
 * and at camel-case humps ("PaymentFailed" → payment, failed; "HTTPTimeout" → http, timeout), in
 * lowercase. Two-word phrases are also joined ("TimedOut" → timedout, "RolledBack" → rolledback).
 */
export function typeWords(eventType: string): string[] {
  const words = eventType
    .split(/[^A-Za-z0-9]+/)
    .flatMap((part) => part.split(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/))
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
  const pairs = words.slice(1).map((word, i) => words[i] + word);
  return [...words, ...pairs];
}

/** What an event says about itself; a timeline event has all of it. */
export interface StepFacts {
  eventType: string | null;
  /** "dlq" for an event on a dead-letter topic. */
  topicKind?: "normal" | "dlq" | "retry" | null;
  /** Set when the event is a dead letter. */
  deadLetter?: unknown;
  /** Failure headers on an event that is not itself a dead letter. */
  priorFailure?: unknown;
}

export interface StepMark {
  outcome: StepOutcome;
  /** Why, in words a user reads next to the event ("dead letter", "failure headers", "named PaymentFailed"). */
  reason: string | null;
}

/** The outcome of one step and why, by the rule above. Checks the strongest evidence first. */
export function classifyStep(step: StepFacts): StepMark {
  if (step.deadLetter || step.topicKind === "dlq") return { outcome: "failure", reason: "dead letter" };
  const words = step.eventType ? typeWords(step.eventType) : [];
  if (words.some((word) => FAILURE.has(word))) return { outcome: "failure", reason: "failed step" };
  if (step.priorFailure) return { outcome: "failure", reason: "failure headers (a retry)" };
  if (words.some((word) => COMPENSATION.has(word) || word.startsWith("compensat"))) return { outcome: "compensation", reason: "compensation" };
  return { outcome: "normal", reason: null };
}

/** The short text a marked step shows beside its type, and the legend's entries, in one place. */
export const OUTCOME_LABELS: Record<Exclude<StepOutcome, "normal">, { label: string; meaning: string }> = {
  failure: { label: "failure", meaning: "a failed step, an event with failure headers, or a dead letter" },
  compensation: { label: "compensation", meaning: "undoes an earlier step (released, refunded, cancelled…)" },
};
