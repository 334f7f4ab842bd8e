import type { LagHealthStatus } from "@/lib/lag-health";
import styles from "./groups.module.css";

const TITLES: Record<LagHealthStatus, string> = {
  OK: "OK: consuming or caught up",
  WARN: "WARN: lag grew across the whole window",
  STALL: "STALL: members are present but the committed offset has not moved while there is lag",
  STOP: "STOP: no active members while there is lag",
};

/** OK / WARN / STALL / STOP as a coloured label (the reason goes next to it, in words). */
export function HealthBadge({ status }: { status: LagHealthStatus | null }) {
  if (status === null) {
    return <span className={`${styles.grBadge} ${styles.grNone}`} title="not judged yet: the collector has not sampled this group">n/a</span>;
  }
  return (
    <span className={`${styles.grBadge} ${styles[`gr${status}`]}`} title={TITLES[status]}>
      {status}
    </span>
  );
}
