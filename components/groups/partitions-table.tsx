import Link from "next/link";
import { type ConsumerGroupPartition, groupHref, type GroupPageQuery } from "@/lib/api-schemas/groups";
import { eventHref } from "@/lib/api-schemas/events";
import { HealthBadge } from "./health-badge";
import { formatOffset, formatTimeLag } from "./format";
import styles from "./groups.module.css";

export function partitionAnchor(p: { topic: string; partition: number }): string {
  return `p-${encodeURIComponent(p.topic)}-${p.partition}`;
}

/**
 * Per partition: who has it, committed and end offsets, offset and time lag, health and why, and
 * the event it waits on (for a STALL, the event it is stuck on). Unknown lag reads "unknown".
 */
export function PartitionsTable({
  groupId,
  partitions,
  worst,
  query,
}: {
  groupId: string;
  partitions: ConsumerGroupPartition[];
  worst: { topic: string; partition: number } | null;
  query: GroupPageQuery;
}) {
  return (
    <table className={styles.grTable} aria-label={`Partitions of ${groupId}`}>
      <thead>
        <tr>
          <th>Topic</th>
          <th className={styles.grNum}>Partition</th>
          <th>Assigned to</th>
          <th className={styles.grNum}>Committed</th>
          <th className={styles.grNum}>End</th>
          <th className={styles.grNum}>Offset lag</th>
          <th className={styles.grNum}>Time lag</th>
          <th>Health</th>
          <th>Waiting on</th>
        </tr>
      </thead>
      <tbody>
        {partitions.map((p) => {
          const isWorst = worst !== null && worst.topic === p.topic && worst.partition === p.partition;
          const lagging = p.offsetLag !== null && p.offsetLag !== "0";
          return (
            <tr key={`${p.topic}/${p.partition}`} id={partitionAnchor(p)} className={isWorst ? styles.grRowWorst : undefined}>
              <td>{p.topic}</td>
              <td className={styles.grNum}>{p.partition}</td>
              <td className={styles.grMono}>{p.assignedTo ? `${p.assignedTo.clientId} ${p.assignedTo.clientHost}` : <span className={styles.grMuted}>unassigned</span>}</td>
              <td className={styles.grNum}>
                {p.committedOffset === null ? <span className={styles.grUnknown} title="the group has committed nothing here">none</span> : formatOffset(p.committedOffset)}
              </td>
              <td className={styles.grNum}>{p.endOffset === null ? <span className={styles.grUnknown}>unknown</span> : formatOffset(p.endOffset)}</td>
              <td className={styles.grNum}>
                {p.offsetLag === null ? <span className={styles.grUnknown} title="nothing committed: lag unknown, not 0">unknown</span> : formatOffset(p.offsetLag)}
              </td>
              <td className={styles.grNum}>{p.timeLagMs === null ? <span className={styles.grUnknown}>unknown</span> : formatTimeLag(p.timeLagMs)}</td>
              <td>
                <HealthBadge status={p.status} /> <span className={styles.grReason}>{p.reason.replace(/^partition \d+ of .*?: /, "")}</span>
              </td>
              <td>
                {p.nextEvent ? (
                  <>
                    <span className={p.status === "STALL" ? styles.grStuck : undefined}>{p.status === "STALL" ? "stuck on " : "next "}</span>
                    <Link href={eventHref(p.nextEvent)}>offset {p.nextEvent.offset}</Link>
                    {p.nextEvent.eventType ? <span className={styles.grMuted}> {p.nextEvent.eventType}</span> : null}
                  </>
                ) : lagging && !p.nextEventCollected ? (
                  <span className={styles.grMuted}>offset {p.committedOffset} (not collected)</span>
                ) : null}
                {lagging ? (
                  <>
                    {" · "}
                    <Link href={`${groupHref(groupId, { ...query, topic: p.topic, partition: p.partition })}#unprocessed`}>unprocessed</Link>
                  </>
                ) : null}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
