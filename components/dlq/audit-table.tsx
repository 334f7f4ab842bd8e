import Link from "next/link";
import type { AuditLogItem } from "@/lib/api-schemas/dead-letters";
import styles from "./dlq.module.css";
import { formatUtc } from "./format";

function describe(entry: AuditLogItem): string {
  const d = (entry.details ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof d.targetTopic === "string") parts.push(`to ${d.targetTopic}`);
  if (typeof d.routingKey === "string") parts.push(`routing key ${d.routingKey}`);
  else if (d.partition !== undefined && d.offset !== undefined) parts.push(`at ${String(d.partition)}/${String(d.offset)}`);
  if (d.again === true) parts.push("again");
  if (d.edits) parts.push(`edited: ${JSON.stringify(d.edits)}`);
  if (typeof d.previous === "string") parts.push(`was ${d.previous}`);
  if (d.counts && typeof d.counts === "object") {
    parts.push(Object.entries(d.counts as Record<string, number>).map(([k, v]) => `${v} ${k}`).join(", "));
  }
  if (typeof d.note === "string") parts.push(`note: ${d.note}`);
  return parts.join(" · ");
}

/** One page of the audit log (at most a few hundred rows: paged on the server). */
export function AuditTable({ entries }: { entries: AuditLogItem[] }) {
  return (
    <table className={styles.dlqTable} aria-label="Audit log">
      <thead>
        <tr>
          <th>When (UTC)</th>
          <th>Who</th>
          <th>What</th>
          <th>On</th>
          <th>Result</th>
          <th>Details</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.id}>
            <td className={styles.dlqMono}>{formatUtc(e.at)}</td>
            <td>{e.actor}</td>
            <td>{e.action}</td>
            <td>
              {e.targetType === "dead-letter" ? <Link href={`/dead-letters/${e.targetId}`}>dead letter #{e.targetId}</Link> : `${e.targetType} ${e.targetId}`}
            </td>
            <td>
              <span className={`${styles.dlqStatus} ${e.result === "ok" ? styles.dlqOutcome_consumed : styles.dlqOutcome_failed}`}>{e.result}</span>
              {e.error ? ` ${e.error}` : ""}
            </td>
            <td className={styles.dlqMono}>{describe(e)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
