import Link from "next/link";
import { flowHref } from "@/lib/api-schemas/flows";
import { FLOW_WINDOWS, type FlowWindow } from "@/lib/flows";
import styles from "./flows.module.css";

const WINDOW_WORDS: Record<FlowWindow, string> = { "1h": "last hour", "24h": "last 24 hours", "7d": "last 7 days" };

/** The window a flow is counted over: one link per window, the current one marked. */
export function WindowLinks({ kind, current }: { kind: string; current: FlowWindow }) {
  return (
    <nav aria-label="Window">
      <ul className={styles.windows}>
        <li>Window:</li>
        {(Object.keys(FLOW_WINDOWS) as FlowWindow[]).map((window) => (
          <li key={window}>
            <Link href={flowHref(kind, window)} aria-current={window === current ? "page" : undefined} title={WINDOW_WORDS[window]}>
              {window}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
