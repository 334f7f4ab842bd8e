import type { FlowLatency } from "@/lib/api-schemas/flows";
import { formatDuration } from "@/lib/format-duration";
import { classifyStep, type StepMark } from "@/lib/step-outcome";
import { STEP_ROLES, type StepRole } from "@/lib/flows";

/** Words of the flows views: roles, shares, latencies (durations: lib/format-duration.ts). */

export const ROLE_LABELS: Record<StepRole, string> = { event: "event", retry: "retry", "dead-letter": "dead letter", replay: "replay" };

/** A role as the API serves it (a string, lib/api-schemas/flows.ts stepRoleSchema) as one of lib/flows.ts's; an unknown one reads as an ordinary event. */
export function stepRole(role: string): StepRole {
  return (STEP_ROLES as readonly string[]).includes(role) ? (role as StepRole) : "event";
}

export function roleLabel(role: string): string {
  return ROLE_LABELS[stepRole(role)];
}

/** A latency: "< 1 ms" below a millisecond (latencies are bucketed, lib/flows.ts), else formatDuration's words. */
export function formatLatencyMs(ms: number): string {
  if (ms <= 0) return "0 ms";
  if (ms < 1) return "< 1 ms";
  return formatDuration(ms);
}

/** "p50 120 ms · p95 2 s · p99 5 s", or `none` when nothing was measured. */
export function formatPercentiles(latency: FlowLatency | null, which: readonly ("p50" | "p95" | "p99")[] = ["p50", "p95", "p99"], none = "–"): string {
  if (latency === null) return none;
  const value = { p50: latency.p50Ms, p95: latency.p95Ms, p99: latency.p99Ms };
  return which.map((p) => `${p} ${formatLatencyMs(value[p])}`).join(" · ");
}

/** A share of entities as a percentage: "62 %", "< 1 %" for a few of many, "100 %". */
export function formatShare(share: number): string {
  if (!Number.isFinite(share) || share <= 0) return "0 %";
  if (share < 0.01) return "< 1 %";
  if (share >= 1) return "100 %";
  // 99.6 % is not everyone: never round a part up to the whole.
  return `${Math.min(99, Math.round(share * 100))} %`;
}

/**
 * How a step is marked: a dead letter or a retry copy is a failure whatever its type is called,
 * otherwise the type's name decides (lib/step-outcome.ts); a replay is marked as a replay.
 */
export function stepMark(step: { role: string; type: string }): StepMark {
  const role = stepRole(step.role);
  return classifyStep({ eventType: step.type, deadLetter: role === "dead-letter" || undefined, priorFailure: role === "retry" || undefined });
}

/** A step in words: "OrderPlaced from order-service", "retry of PaymentRequested from payment-service". */
export function stepName(step: { role: string; type: string; producer: string | null }): string {
  const role = stepRole(step.role);
  const what = role === "event" ? step.type : `${ROLE_LABELS[role]} of ${step.type}`;
  return step.producer ? `${what} from ${step.producer}` : what;
}

/** A step in few words, for a transition's two ends: "PaymentRequested (retry)". */
export function stepShortName(step: { role: string; type: string }): string {
  const role = stepRole(step.role);
  return role === "event" ? step.type : `${step.type} (${ROLE_LABELS[role]})`;
}
