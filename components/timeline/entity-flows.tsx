import Link from "next/link";
import type { EntityFlow } from "@/lib/api-schemas/flows";
import { flowHref } from "@/lib/api-schemas/flows";
import { groupHref, parseRabbitQueueId } from "@/lib/api-schemas/groups";
import { formatDuration } from "@/lib/format-duration";
import styles from "./timeline.module.css";

/** How each outcome reads beside the kind. */
export const ENTITY_OUTCOME_LABELS: Record<EntityFlow["outcome"], string> = {
  completed: "completed",
  compensated: "compensated",
  "dead-lettered": "dead-lettered",
  stuck: "stuck",
  "in-flight": "in flight",
};

/**
 * Where the entity stands in each kind's flow: its outcome and, when it is stuck, what it waits
 * for, how long that usually takes, and the consumer groups that should produce it.
 */
export function EntityFlows({ flows }: { flows: readonly EntityFlow[] }) {
  if (flows.length === 0) return null;
  return (
    <ul className={styles.tlFlows} aria-label="Flows">
      {flows.map((flow) => (
        <li key={flow.kind} data-outcome={flow.outcome}>
          <Link href={flowHref(flow.kind)}>{flow.kind} flow</Link>: <strong className={styles.tlFlowOutcome}>{ENTITY_OUTCOME_LABELS[flow.outcome]}</strong>
          {" "}after {flow.lastStep.type}
          {flow.lastStep.producer ? ` (${flow.lastStep.producer})` : ""}
          {flow.stuck ? <StuckNote stuck={flow.stuck} /> : null}
        </li>
      ))}
    </ul>
  );
}

/** A Kafka group by its id, a RabbitMQ queue as "queue <name>". */
function consumerName(group: NonNullable<EntityFlow["stuck"]>["groups"][number]): string {
  const queue = group.kind === "rabbitmq-queue" ? parseRabbitQueueId(group.groupId) : null;
  return queue ? `queue ${queue.queue}` : group.groupId;
}

/** What a stuck entity waits for, how long that usually takes, and the consumer groups that should produce it. */
export function StuckNote({ stuck }: { stuck: NonNullable<EntityFlow["stuck"]> }) {
  return (
    <>
      {" "}— waiting {formatDuration(stuck.forMs)} for {stuck.nextStep.type}
      {stuck.nextStep.producer ? ` from ${stuck.nextStep.producer}` : ""}, which usually follows within {formatDuration(stuck.usualP99Ms)} (p99; stuck
      after {formatDuration(stuck.stuckAfterMs)}).
      {stuck.groups.length > 0 ? (
        <>
          {" "}Look at{" "}
          {stuck.groups.map((group, i) => (
            <span key={`${group.source}/${group.groupId}`}>
              {i > 0 ? ", " : ""}
              <Link href={groupHref(group.groupId, { source: group.source })}>{consumerName(group)}</Link>
              {group.healthStatus ? ` (${group.healthStatus}${group.healthReason ? `: ${group.healthReason}` : ""})` : ""}
            </span>
          ))}
          .
        </>
      ) : (
        <> No consumer group or queue of {stuck.nextStep.producer ?? "its producer"} is known.</>
      )}
    </>
  );
}
