import Link from "next/link";
import { schemaHistoryHref } from "@/lib/api-schemas/schema-history";
import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { getDatabase, getEvent } from "@/server/db";
import { getConfig } from "@/server/config";
import { entityHref } from "@/lib/api-schemas/entities";
import { eventAddressSchema, eventHref, inputErrorMessage } from "@/lib/api-schemas/events";
import { ConsumptionStatus, FailureNotes } from "@/components/events/consumption-status";
import { EventInspector } from "@/components/events/event-inspector";
import { formatTime, keyText } from "@/components/events/format";
import { formatCount } from "@/lib/format-number";
import { InputError, PageFrame } from "@/components/events/page-parts";
import { TraceLinks } from "@/components/events/trace-links";

import { sourceParam } from "@/lib/api-schemas/query-params";
export const dynamic = "force-dynamic";

type Props = {
  params: Promise<{ topic: string; partition: string; offset: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props) {
  const { topic, partition, offset } = await params;
  return { title: `${decodeURIComponent(topic)}/${partition}/${offset} · Eventscope` };
}

const dt = { fontWeight: 600, color: "var(--es-fg-2)", whiteSpace: "nowrap" } as const;

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt style={dt}>{label}</dt>
      <dd style={{ margin: 0, overflowWrap: "anywhere" }}>{children}</dd>
    </>
  );
}

/** /events/[topic]/[partition]/[offset]: one event with everything Eventscope knows about it. */
export default async function EventPage({ params, searchParams }: Props) {
  const parsed = eventAddressSchema.safeParse(await params);
  if (!parsed.success) {
    return (
      <PageFrame>
        <h1>Event</h1>
        <InputError title="Not an event address" message={inputErrorMessage(parsed.error) ?? "malformed address"} />
      </PageFrame>
    );
  }
  const { topic, partition, offset } = parsed.data;
  const config = getConfig();
  let found: Awaited<ReturnType<typeof getEvent>>;
  try {
    // ?source= names the source when several have an event at this address (else a 422-like message).
    found = await getEvent(await getDatabase(), topic, partition, offset, { source: sourceParam(await searchParams) });
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <PageFrame>
        <h1>Event</h1>
        <InputError title="Which event?" message={message} />
      </PageFrame>
    );
  }
  if (!found) notFound();
  const event = found;
  const e = event!;
  const dl = e.deadLetter;
  return (
    <PageFrame>
      <h1 style={{ margin: "0 0 0.25rem" }}>{e.eventType ?? "(no type)"}</h1>
      <p style={{ margin: "0 0 0.75rem", fontFamily: "ui-monospace, monospace", color: "var(--es-fg-2)" }}>
        {e.topic}/{e.partition}/{e.offset} · <a href={`/api${eventHref(e)}`}>JSON</a>
        {e.eventType ? (
          <>
            {" "}
            · <Link href={schemaHistoryHref(e.eventType)}>schema history of {e.eventType}</Link>
          </>
        ) : null}
      </p>
      <dl style={{ display: "grid", gridTemplateColumns: "max-content 1fr", gap: "0.3rem 1rem", fontSize: "0.85rem", margin: "0 0 1rem" }}>
        <Field label="Source">{e.source}</Field>
        <Field label="Time">{formatTime(e.timestamp)}</Field>
        <Field label="Key">{keyText(e)}</Field>
        <Field label="Producer">{e.producer ?? "unknown producer"}</Field>
        <Field label="Entity">
          {e.entityKeys.length === 0
            ? "none"
            : e.entityKeys.map((key, i) => (
                <span key={key}>
                  {i > 0 ? ", " : ""}
                  <Link href={entityHref(key, e)}>{key}</Link> (timeline)
                </span>
              ))}
        </Field>
        <Field label="Trace">
          {e.traceId ? (
            <>
              <code>{e.traceId}</code> <TraceLinks traceId={e.traceId} traceUrlTemplate={config.traceUrl ?? null} label="waterfall" />
            </>
          ) : (
            "no traceparent header"
          )}
        </Field>
        <Field label="Topic kind">{e.topicKind ?? "not yet polled"}</Field>
        <Field label="Size">{formatCount(e.size)} bytes (key, value and headers)</Field>
        <Field label="Stored">{formatTime(e.ingestedAt)}</Field>
        {e.schemaId !== null ? (
          <Field label="Schema">
            Schema Registry id {e.schemaId}
            {e.schemaSubject !== null ? `, ${e.schemaSubject} version ${e.schemaVersion ?? "?"}` : ""} (the value shown is its decoded reading)
            {e.eventType ? (
              <>
                {" "}
                · <Link href={schemaHistoryHref(e.eventType)}>its history</Link>
              </>
            ) : null}
          </Field>
        ) : null}
        {e.flags.length > 0 ? <Field label="Flags">{e.flags.join(", ")}</Field> : null}
        <Field label="Consumer groups">
          <ConsumptionStatus consumption={e.consumption} queueConsumption={e.queueConsumption} />
          <FailureNotes deadLetter={dl} deadLetteredAs={e.deadLetteredAs} priorFailure={e.priorFailure} />
        </Field>
      </dl>
      {dl ? (
        <section aria-label="Dead letter" style={{ marginBottom: "1rem" }}>
          <h2 style={{ fontSize: "1rem" }}>Dead letter</h2>
          <dl style={{ display: "grid", gridTemplateColumns: "max-content 1fr", gap: "0.3rem 1rem", fontSize: "0.85rem", margin: 0 }}>
            <Field label="Status">{dl.status}</Field>
            <Field label="Recognised by">
              {dl.recognizedBy === "headers" ? `failure headers (${dl.convention ?? "convention unknown"})` : "the topic's name only"}
            </Field>
            <Field label="Origin">
              {dl.originTopic !== null && dl.originPartition !== null && dl.originOffset !== null ? (
                <Link href={eventHref({ source: e.source, topic: dl.originTopic, partition: dl.originPartition, offset: dl.originOffset })}>
                  {dl.originTopic}/{dl.originPartition}/{dl.originOffset}
                </Link>
              ) : dl.originTopicHint ? (
                `probably ${dl.originTopicHint} (from the DLQ's name)`
              ) : (
                "unknown"
              )}
            </Field>
            {dl.originGroup ? <Field label="Failed group">{dl.originGroup}</Field> : null}
            <Field label="Error">{[dl.errorClass, dl.errorMessage].filter(Boolean).join(": ") || "not recorded"}</Field>
            {dl.attempts !== null ? <Field label="Attempts">{dl.attempts}</Field> : null}
            {dl.replayId ? <Field label="Replay">failed again after replay {dl.replayId}</Field> : null}
          </dl>
        </section>
      ) : null}
      <EventInspector headers={e.headers} value={e.value} />
    </PageFrame>
  );
}
