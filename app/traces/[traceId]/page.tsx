import Link from "next/link";
import { notFound } from "next/navigation";
import { getDatabase, getTraceEvents } from "@/server/db";
import { getConfig } from "@/server/config";
import { entityHref } from "@/lib/api-schemas/entities";
import { inputErrorMessage } from "@/lib/api-schemas/events";
import { traceIdSchema } from "@/lib/api-schemas/traces";
import { externalTraceUrl } from "@/lib/trace-url";
import { formatDuration } from "@/lib/format-duration";
import { timelineBounds } from "@/lib/timeline";
import { InputError, PageFrame } from "@/components/events/page-parts";
import { formatTime } from "@/components/events/format";
import { TraceWaterfall } from "@/components/trace/trace-waterfall";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ traceId: string }> };

export async function generateMetadata({ params }: Props) {
  return { title: `trace ${(await params).traceId.slice(0, 12)}… · Eventscope` };
}

/** /traces/[traceId]: every event carrying the W3C trace id, as a waterfall in causal and time order. */
export default async function TracePage({ params }: Props) {
  const parsed = traceIdSchema.safeParse((await params).traceId);
  if (!parsed.success) {
    return (
      <PageFrame>
        <h1>Trace</h1>
        <InputError title="Not a trace id" message={inputErrorMessage(parsed.error) ?? "malformed trace id"}>
          <p style={{ margin: "0.4rem 0 0" }}>
            Trace ids come from the W3C <code>traceparent</code> header: <code>00-&lt;trace id&gt;-&lt;span id&gt;-01</code>.
          </p>
        </InputError>
      </PageFrame>
    );
  }
  const traceId = parsed.data;
  const config = getConfig();
  const trace = await getTraceEvents(await getDatabase(), traceId);
  if (trace.events.length === 0) notFound();
  const bounds = timelineBounds(trace.events.map((e) => Date.parse(e.timestamp)))!;
  const entities = [...new Set(trace.events.flatMap((e) => e.entityKeys))].slice(0, 20);
  const external = externalTraceUrl(config.traceUrl ?? null, traceId);
  return (
    <PageFrame>
      <h1 style={{ marginBottom: "0.25rem", fontSize: "1.4rem" }}>
        Trace <code>{traceId}</code>
      </h1>
      <p style={{ margin: "0 0 0.75rem", color: "var(--es-muted)", fontSize: "0.9rem" }}>
        {trace.events.length} event{trace.events.length === 1 ? "" : "s"} from {formatTime(trace.events[0]!.timestamp)} over{" "}
        {formatDuration(bounds.spanMs)}
        {trace.truncated ? ` (only the first ${trace.events.length} are shown)` : ""}.{" "}
        {entities.length > 0 ? (
          <>
            Entit{entities.length === 1 ? "y" : "ies"}:{" "}
            {entities.map((key, i) => (
              <span key={key}>
                {i > 0 ? ", " : ""}
                <Link href={entityHref(key)}>{key}</Link>
              </span>
            ))}
            .{" "}
          </>
        ) : null}
        {external ? (
          <>
            <a href={external} target="_blank" rel="noopener noreferrer">
              Open in tracing UI ↗
            </a>{" "}
            ·{" "}
          </>
        ) : null}
        <a href={`/api/traces/${traceId}`}>JSON</a>
      </p>
      <p style={{ margin: "0 0 0.5rem", color: "var(--es-muted)", fontSize: "0.78rem" }}>
        Each event is placed under the latest earlier event on a topic its producer consumes (message headers name the
        producer&apos;s span, not the consumer&apos;s). Bars run to the first event it caused.
      </p>
      <TraceWaterfall events={trace.events} />
    </PageFrame>
  );
}
