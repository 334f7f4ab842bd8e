import Link from "next/link";
import {
  type DeadLetterInfo,
  type DeadLetterReference,
  eventHref,
  type GroupConsumption,
  type QueueConsumption,
  type QueueDelivery,
  type StoredFailure,
} from "@/lib/api-schemas/events";
import { formatCount } from "@/lib/format-number";
import styles from "./events.module.css";

const STATUS_CLASS: Record<GroupConsumption["status"], string> = {
  consumed: styles.evConsumed!,
  behind: styles.evBehind!,
  "dead-lettered": styles.evDeadLettered!,
};

export function statusText(c: GroupConsumption): string {
  if (c.status === "consumed") return "consumed";
  if (c.status === "dead-lettered") return "sent to DLQ";
  if (c.committedOffset === null) return "behind (nothing committed yet)";
  return c.lag === null ? "behind" : `behind, lag ${formatCount(c.lag)}`;
}

/** A queue's deliveries of an event in words: "delivered", "delivered 3 times (2 redelivered)". */
export function queueStatusText(q: QueueDelivery): string {
  if (q.deliveries === 1) return q.redeliveries === 1 ? "delivered (redelivered)" : "delivered";
  return `delivered ${q.deliveries} times${q.redeliveries > 0 ? ` (${q.redeliveries} redelivered)` : ""}`;
}

/**
 * A RabbitMQ event's consumption, per queue, where the firehose shows deliveries: each queue that
 * delivered it; none seen yet; or, in bindings mode alone, that consumption is not observed.
 */
export function QueueConsumptionStatus({ queueConsumption }: { queueConsumption: NonNullable<QueueConsumption> }) {
  if (!queueConsumption.observed) {
    return <span className={styles.evMuted}>consumption not observed (bindings mode: RabbitMQ deliveries are not collected for this source)</span>;
  }
  if (queueConsumption.queues.length === 0) return <span className={styles.evMuted}>no delivery seen from any queue</span>;
  return (
    <ul className={styles.evStatusList} aria-label="Queues">
      {queueConsumption.queues.map((q) => (
        <li key={q.queue} className={`${styles.evStatus} ${styles.evConsumed}`} title={`queue ${q.queue}, last delivered ${q.lastAt}`}>
          {q.queue}: {queueStatusText(q)}
        </li>
      ))}
    </ul>
  );
}

/**
 * Each subscribed group: consumed (committed offset past the event), behind (with lag), or
 * dead-lettered; for a RabbitMQ event (`queueConsumption` set), each queue that delivered it.
 */
export function ConsumptionStatus({ consumption, queueConsumption = null }: { consumption: GroupConsumption[]; queueConsumption?: QueueConsumption }) {
  if (queueConsumption !== null) return <QueueConsumptionStatus queueConsumption={queueConsumption} />;
  if (consumption.length === 0) return <span className={styles.evMuted}>no group reads this topic</span>;
  return (
    <ul className={styles.evStatusList} aria-label="Consumer groups">
      {consumption.map((c) => (
        <li key={c.groupId} className={`${styles.evStatus} ${STATUS_CLASS[c.status]}`} title={`group ${c.groupId} (${c.state})`}>
          {c.groupId}: {statusText(c)}
        </li>
      ))}
    </ul>
  );
}

/**
 * The same in one line, for dense views: how many groups consumed the event (named in the
 * tooltip), and each group that has not, by name.
 */
export function ConsumptionSummary({ consumption, queueConsumption = null }: { consumption: GroupConsumption[]; queueConsumption?: QueueConsumption }) {
  if (queueConsumption !== null) return <QueueConsumptionStatus queueConsumption={queueConsumption} />;
  if (consumption.length === 0) return <span className={styles.evMuted}>no group reads this topic</span>;
  const consumed = consumption.filter((c) => c.status === "consumed");
  const others = consumption.filter((c) => c.status !== "consumed");
  return (
    <ul className={styles.evStatusList} aria-label="Consumer groups">
      {consumed.length > 0 ? (
        <li className={`${styles.evStatus} ${styles.evConsumed}`} title={consumed.map((c) => c.groupId).join(", ")}>
          consumed by {consumed.length === 1 ? consumed[0]!.groupId : `${consumed.length} groups`}
        </li>
      ) : null}
      {others.map((c) => (
        <li key={c.groupId} className={`${styles.evStatus} ${STATUS_CLASS[c.status]}`} title={`group ${c.groupId} (${c.state})`}>
          {c.groupId}: {statusText(c)}
        </li>
      ))}
    </ul>
  );
}

/** What this event says about failures: it is a dead letter, it was dead-lettered, or it is a retry. */
export function FailureNotes({
  deadLetter,
  deadLetteredAs,
  priorFailure,
}: {
  deadLetter: DeadLetterInfo | null;
  deadLetteredAs: DeadLetterReference[];
  priorFailure: StoredFailure | null;
}) {
  return (
    <>
      {deadLetter ? (
        <p className={styles.evDeadLetterNote}>
          Dead letter ({deadLetter.status})
          {deadLetter.originTopic !== null && deadLetter.originPartition !== null && deadLetter.originOffset !== null ? (
            <>
              {" "}
              of{" "}
              <Link href={eventHref({ topic: deadLetter.originTopic, partition: deadLetter.originPartition, offset: deadLetter.originOffset })}>
                {deadLetter.originTopic}/{deadLetter.originPartition}/{deadLetter.originOffset}
              </Link>
            </>
          ) : deadLetter.originTopicHint ? (
            ` probably from ${deadLetter.originTopicHint} (by its name)`
          ) : null}
          {deadLetter.errorClass || deadLetter.errorMessage ? `: ${[deadLetter.errorClass, deadLetter.errorMessage].filter(Boolean).join(": ")}` : ""}
          {deadLetter.attempts !== null ? ` (attempts: ${deadLetter.attempts})` : ""}
        </p>
      ) : null}
      {deadLetteredAs.map((d) => (
        <p key={d.id} className={styles.evDeadLetterNote}>
          Sent to DLQ as <Link href={eventHref(d)}>{d.topic}/{d.partition}/{d.offset}</Link>
          {d.producer ? ` by ${d.producer}` : ""} ({d.status})
          {d.errorClass || d.errorMessage ? `: ${[d.errorClass, d.errorMessage].filter(Boolean).join(": ")}` : ""}
        </p>
      ))}
      {priorFailure ? (
        <p className={styles.evRetryNote}>
          Retry
          {priorFailure.attempts !== null ? ` (attempt ${priorFailure.attempts})` : ""}
          {priorFailure.originTopic ? ` of an event from ${priorFailure.originTopic}` : ""}
          {priorFailure.errorClass || priorFailure.errorMessage
            ? ` after ${[priorFailure.errorClass, priorFailure.errorMessage].filter(Boolean).join(": ")}`
            : ""}
        </p>
      ) : null}
    </>
  );
}
