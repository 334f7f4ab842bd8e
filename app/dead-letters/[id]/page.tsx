import Link from "next/link";
import { headers } from "next/headers";
import { notFound } from "next/navigation";
import { getDatabase, getDeadLetter } from "@/server/db";
import { authenticateHeaders } from "@/server/auth";
import { isDeadLetterHeader } from "@/lib/dead-letter-conventions";
import { deadLetterIdSchema } from "@/lib/api-schemas/dead-letters";
import { eventHref } from "@/lib/api-schemas/events";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import styles from "@/components/dlq/dlq.module.css";
import { deliveredFromText, describeReplayTarget, formatUtc, NO_DELIVERY_YET, UNKNOWN_CONSUMPTION } from "@/components/dlq/format";
import { ReplayPanel } from "@/components/dlq/replay-panel";
import { OutcomeBadge, StatusBadge } from "@/components/dlq/status-badge";
import { WriteAccessNotice } from "@/components/dlq/write-access-notice";

export const dynamic = "force-dynamic";
export const metadata = { title: "Dead letter · Eventscope" };

type Props = { params: Promise<{ id: string }> };

/** Shown formatted when it parses as JSON; the replay sends the bytes as received. */
function displayText(value: { kind: "json" | "text"; text: string }): string {
  if (value.kind !== "json") return value.text;
  try {
    return JSON.stringify(JSON.parse(value.text), null, 2);
  } catch {
    return value.text;
  }
}

/** /dead-letters/{id}: error, origin, record, replays and their outcome (refreshed live), and the replay controls. */
export default async function DeadLetterPage({ params }: Props) {
  const parsed = deadLetterIdSchema.safeParse((await params).id);
  if (!parsed.success) notFound();
  const d = await getDeadLetter(await getDatabase(), parsed.data);
  if (!d) notFound();
  const auth = authenticateHeaders(await headers());
  const canWrite = auth.writesEnabled && auth.principal?.role === "admin";
  const originPath =
    d.originTopic !== null && d.originPartition !== null && d.originOffset !== null
      ? eventHref({ source: d.source, topic: d.originTopic, partition: d.originPartition, offset: d.originOffset })
      : null;
  const replayHeaders = d.headers
    .filter((h) => !isDeadLetterHeader(h.key))
    .map((h) => ({ key: h.key, value: h.value === null ? null : h.encoding === "base64" ? `base64:${h.value}` : h.value }));
  // Masked content cannot be edited: the edit would send "***" instead of the original.
  // A Schema Registry value is edited as its decoded JSON, formatted (the server compares it as JSON).
  const editableValue =
    d.masked || d.value === null || d.value.kind === "binary" ? null : d.valueSchemaId !== null ? displayText(d.value) : d.value.text;
  const pending = d.replays.some((r) => r.outcome === "pending" || r.outcome === "sent");
  return (
    <main className={styles.dlqPage}>
      <AutoRefresh everyMs={pending ? 2_000 : 5_000} />
      <p style={{ margin: "0 0 0.25rem" }}>
        <Link href="/dead-letters">← Dead letters</Link>
      </p>
      <h1 className={styles.dlqTitle}>
        Dead letter #{d.id} <StatusBadge status={d.status} />
      </h1>
      <p style={{ margin: "0 0 0.75rem", fontSize: 15 }}>
        <strong>{d.errorClass ?? "(no error class)"}</strong>
        {d.errorMessage ? `: ${d.errorMessage}` : ""}
      </p>
      {d.replayOf ? (
        <p className={styles.dlqGuard}>
          This dead letter is a replay that failed again: replay {d.replayOf.sequence} of{" "}
          <Link href={`/dead-letters/${d.replayOf.deadLetterId}`}>dead letter #{d.replayOf.deadLetterId}</Link>.
        </p>
      ) : null}
      <WriteAccessNotice auth={auth} next={`/dead-letters/${d.id}`} />
      {canWrite ? (
        <ReplayPanel
          deadLetterId={d.id}
          status={d.status}
          originTopic={d.originTopic}
          originTopicHint={d.originTopicHint}
          valueText={editableValue}
          valueSchemaId={d.valueSchemaId}
          headers={d.masked ? null : replayHeaders}
          previous={d.replays.map((r) => ({ requestedBy: r.requestedBy, requestedAt: r.requestedAt, targetTopic: r.targetTopic, outcome: r.outcome }))}
        />
      ) : null}

      <section className={styles.dlqSection} aria-labelledby="dlq-replays">
        <h2 id="dlq-replays">Replays</h2>
        {d.replays.length === 0 ? (
          <p role="status">Not replayed yet.</p>
        ) : (
          <table className={styles.dlqTable} aria-label="Replays">
            <thead>
              <tr>
                <th>#</th>
                <th>By</th>
                <th>When (UTC)</th>
                <th>To</th>
                <th>Outcome</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {d.replays.map((r) => (
                <tr key={r.id}>
                  <td>{r.sequence}</td>
                  <td>{r.requestedBy}</td>
                  <td>{formatUtc(r.requestedAt)}</td>
                  <td className={styles.dlqMono}>
                    {r.producedOffset !== null && r.producedPartition !== null ? (
                      <Link href={eventHref({ source: r.source, topic: r.targetTopic, partition: r.producedPartition, offset: r.producedOffset })}>
                        {r.targetTopic}/{r.producedPartition}/{r.producedOffset}
                      </Link>
                    ) : r.routingKey !== null ? (
                      `${r.targetTopic === "" ? "(default exchange)" : r.targetTopic} · ${r.routingKey}`
                    ) : (
                      r.targetTopic
                    )}
                  </td>
                  <td>
                    <OutcomeBadge outcome={r.outcome} />
                  </td>
                  <td>
                    {r.outcome === "failed_again"
                      ? r.failedAgainAs.map((f) => (
                          <span key={f.id}>
                            <Link href={`/dead-letters/${f.id}`}>new dead letter #{f.id}</Link>
                            {f.errorMessage ? `: ${f.errorMessage}` : ""}{" "}
                          </span>
                        ))
                      : null}
                    {r.outcome === "failed" ? r.error : null}
                    {r.outcome === "sent" && r.consumption === "unknown" ? UNKNOWN_CONSUMPTION : null}
                    {r.outcome === "sent" && r.consumption === "deliveries" ? NO_DELIVERY_YET : null}
                    {r.outcome === "delivered" ? deliveredFromText(r.deliveredTo) : null}
                    {(r.outcome === "sent" || r.outcome === "consumed") && r.consumption === "tracked"
                      ? r.groups.length === 0
                        ? "no consumer group reads that partition yet"
                        : r.groups.map((g) => `${g.groupId}: ${g.past ? "consumed" : `at ${g.committedOffset}`}`).join(", ")
                      : null}
                    {r.missingPartition !== null && r.producedPartition !== null && r.producedOffset !== null ? (
                      <span>
                        {" "}
                        Sent to{" "}
                        {describeReplayTarget({
                          targetTopic: r.targetTopic,
                          partition: r.producedPartition,
                          offset: r.producedOffset,
                          missingPartition: r.missingPartition,
                        })}
                        .
                      </span>
                    ) : null}
                    {r.edits ? <span title={JSON.stringify(r.edits)}> (edited)</span> : null}
                    <span className={styles.dlqMono} style={{ color: "var(--es-muted)" }}>
                      {" "}
                      x-replay-id {r.id}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className={styles.dlqSection} aria-labelledby="dlq-origin">
        <h2 id="dlq-origin">Where it came from</h2>
        <dl className={styles.dlqFacts}>
          <dt>Original record</dt>
          <dd className={styles.dlqMono}>
            {originPath && d.originCollected ? (
              <Link href={originPath}>
                {d.originTopic}/{d.originPartition}/{d.originOffset}
              </Link>
            ) : d.originTopic !== null ? (
              `${d.originTopic}/${d.originPartition ?? "?"}/${d.originOffset ?? "?"}${originPath ? " (not collected)" : ""}`
            ) : (
              `unknown${d.originTopicHint ? ` (the DLQ's name suggests ${d.originTopicHint})` : ""}`
            )}
          </dd>
          <dt>Dead-letter record</dt>
          <dd className={styles.dlqMono}>
            {d.eventCollected ? (
              <Link href={eventHref(d)}>
                {d.topic}/{d.partition}/{d.offset}
              </Link>
            ) : (
              `${d.topic}/${d.partition}/${d.offset} (its event is past EVENTSCOPE_RETENTION; the dead letter keeps its own copy)`
            )}{" "}
            at {formatUtc(d.timestamp)}
          </dd>
          <dt>Recognized by</dt>
          <dd>{d.recognizedBy === "headers" ? `${d.convention ?? "?"} headers` : "the topic's name only"}</dd>
          {d.originGroup ? (
            <>
              <dt>Failed in group</dt>
              <dd>{d.originGroup}</dd>
            </>
          ) : null}
          {d.attempts !== null ? (
            <>
              <dt>Attempts</dt>
              <dd>{d.attempts}</dd>
            </>
          ) : null}
          {d.errorCause ? (
            <>
              <dt>Cause</dt>
              <dd>{d.errorCause}</dd>
            </>
          ) : null}
          <dt>Entity</dt>
          <dd>
            {d.entityKeys.length === 0
              ? "none recognized"
              : d.entityKeys.map((k) => (
                  <span key={k}>
                    <Link href={`/entities/${encodeURIComponent(k)}`}>{k}</Link>{" "}
                  </span>
                ))}
          </dd>
          <dt>Key</dt>
          <dd className={styles.dlqMono}>{d.key ?? (d.keyBase64 !== null ? `base64 ${d.keyBase64}` : "(no key)")}</dd>
          {d.eventType ? (
            <>
              <dt>Event type</dt>
              <dd>{d.eventType}</dd>
            </>
          ) : null}
          {d.producer ? (
            <>
              <dt>Written by</dt>
              <dd>{d.producer}</dd>
            </>
          ) : null}
        </dl>
      </section>

      {d.errorStack ? (
        <section className={styles.dlqSection} aria-labelledby="dlq-stack">
          <h2 id="dlq-stack">Stack trace</h2>
          <pre className={styles.dlqPre} tabIndex={0}>
            {d.errorStack}
          </pre>
        </section>
      ) : null}

      <section className={styles.dlqSection} aria-labelledby="dlq-value">
        <h2 id="dlq-value">Value</h2>
        {d.value === null ? (
          <p>(no value: a tombstone)</p>
        ) : d.value.kind === "binary" ? (
          <pre className={styles.dlqPre} aria-label="Value (base64)" tabIndex={0}>{d.value.base64}</pre>
        ) : (
          <pre className={styles.dlqPre} aria-label="Value" tabIndex={0}>{displayText(d.value)}</pre>
        )}
        {d.value?.kind === "json" && d.valueSchemaId !== null ? (
          <p style={{ color: "var(--es-muted)", fontSize: 12 }}>
            Decoded with Schema Registry schema id {d.valueSchemaId}; a replay sends the original bytes, or an edited value re-encoded with
            the same schema id.
          </p>
        ) : d.value?.kind === "json" ? (
          <p style={{ color: "var(--es-muted)", fontSize: 12 }}>Shown formatted; a replay sends the bytes as received.</p>
        ) : null}
        {d.masked ? <p style={{ color: "var(--es-muted)", fontSize: 12 }}>Some fields are masked (EVENTSCOPE_MASK_FIELDS); a replay sends the original bytes.</p> : null}
      </section>

      <section className={styles.dlqSection} aria-labelledby="dlq-headers">
        <h2 id="dlq-headers">Headers</h2>
        {d.headers.length === 0 ? (
          <p>(none)</p>
        ) : (
          <table className={styles.dlqTable} aria-label="Headers">
            <thead>
              <tr>
                <th>Key</th>
                <th>Value</th>
                <th>On replay</th>
              </tr>
            </thead>
            <tbody>
              {d.headers.map((h, i) => (
                <tr key={i}>
                  <td className={styles.dlqMono}>{h.key}</td>
                  <td className={styles.dlqMono}>{h.value === null ? "(null)" : h.encoding === "base64" ? `base64 ${h.value}` : h.value}</td>
                  <td>{isDeadLetterHeader(h.key) ? "left out" : "sent as is"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {d.flags.length > 0 ? <p style={{ color: "var(--es-muted)" }}>Flags: {d.flags.join(", ")}</p> : null}
      </section>
    </main>
  );
}
