import styles from "./dlq.module.css";
import { OUTCOME_LABELS } from "./format";

export function StatusBadge({ status }: { status: string }) {
  return <span className={`${styles.dlqStatus} ${styles[`dlqStatus_${status}`] ?? ""}`}>{status}</span>;
}

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span className={`${styles.dlqStatus} ${styles[`dlqOutcome_${outcome}`] ?? ""}`}>{OUTCOME_LABELS[outcome] ?? outcome}</span>;
}
