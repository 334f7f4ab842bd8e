import Link from "next/link";
import { externalTraceUrl } from "@/lib/trace-url";
import { traceHref } from "@/lib/api-schemas/traces";
import styles from "./events.module.css";

/** Our trace view, and the user's tracing UI when EVENTSCOPE_TRACE_URL is set. */
export function TraceLinks({ traceId, traceUrlTemplate, label = "trace" }: { traceId: string; traceUrlTemplate: string | null; label?: string }) {
  const external = externalTraceUrl(traceUrlTemplate, traceId);
  return (
    <span className={styles.evLinks}>
      <Link href={traceHref(traceId)} title={`trace ${traceId}`}>
        {label}
      </Link>
      {external ? (
        <a href={external} target="_blank" rel="noopener noreferrer">
          open in tracing UI ↗
        </a>
      ) : null}
    </span>
  );
}
