import { OUTCOME_LABELS, type StepMark } from "@/lib/step-outcome";
import styles from "./step-outcome.module.css";

/** The words beside a marked step's type: "failure" or "compensation", and why on hover. */
export function OutcomeTag({ mark }: { mark: StepMark }) {
  if (mark.outcome === "normal") return null;
  return (
    <span className={styles.outcomeTag} data-outcome={mark.outcome} title={mark.reason ?? undefined}>
      <span className={styles.outcomeShape} data-outcome={mark.outcome} aria-hidden="true" />
      {mark.outcome === "failure" && mark.reason !== "failed step" ? `${OUTCOME_LABELS.failure.label}: ${mark.reason}` : OUTCOME_LABELS[mark.outcome].label}
    </span>
  );
}

/** What the marks mean; the shapes are the same as the marks', so colour is never the only cue. */
export function OutcomeLegend() {
  return (
    <ul className={styles.outcomeLegend} aria-label="Legend">
      <li>
        <span className={styles.outcomeShape} data-outcome="normal" aria-hidden="true" /> step
      </li>
      {(["failure", "compensation"] as const).map((outcome) => (
        <li key={outcome} title={OUTCOME_LABELS[outcome].meaning}>
          <span className={styles.outcomeShape} data-outcome={outcome} aria-hidden="true" /> {OUTCOME_LABELS[outcome].label}
          <span className={styles.outcomeMeaning}> ({OUTCOME_LABELS[outcome].meaning})</span>
        </li>
      ))}
    </ul>
  );
}
