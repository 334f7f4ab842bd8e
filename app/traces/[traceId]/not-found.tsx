import Link from "next/link";
import { PageFrame } from "@/components/events/page-parts";

export default function TraceNotFound() {
  return (
    <PageFrame>
      <h1>No events carry this trace id</h1>
      <p>
        Eventscope links events by the W3C <code>traceparent</code> header (or CloudEvents&apos; <code>ce_traceparent</code>)
        that producers instrumented with OpenTelemetry write. The trace may belong to spans that sent no Kafka message,
        or its events may not be collected yet. <Link href="/events">Search events</Link> instead.
      </p>
    </PageFrame>
  );
}
