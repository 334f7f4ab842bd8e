"use client";

import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { useDialogFocus } from "@/components/ui/use-dialog-focus";
import styles from "./dlq.module.css";
import { describeReplayTarget, formatUtc, OUTCOME_LABELS } from "./format";

export interface PreviousReplayView {
  requestedBy: string;
  requestedAt: string;
  targetTopic: string;
  /** An outcome (pending, sent, consumed, delivered, failed_again, failed) or a raw status. */
  outcome: string;
}

export interface ReplayPanelProps {
  deadLetterId: string;
  status: string;
  originTopic: string | null;
  originTopicHint: string | null;
  /** The value as text when it can be edited (JSON or text); null for binary values and tombstones. */
  valueText: string | null;
  /**
   * The Schema Registry id of a value in the wire format: `valueText` is then its decoded JSON, an
   * edit is entered as JSON and re-encoded under this id by the server. null or absent: other values.
   */
  valueSchemaId?: number | null;
  /** The headers a replay sends (dead-letter headers already left out); binary values as `base64:…`. null: not editable (masked). */
  headers: { key: string; value: string | null }[] | null;
  previous: PreviousReplayView[];
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await response.json().catch(() => ({ message: `the server answered ${response.status}` }))) as Record<string, unknown>;
  return { status: response.status, body: json };
}

function describePrevious(previous: PreviousReplayView[]): string {
  return previous
    .map((p) => `by ${p.requestedBy} at ${formatUtc(p.requestedAt)} to ${p.targetTopic} (${OUTCOME_LABELS[p.outcome] ?? p.outcome})`)
    .join("; ");
}

/** Replay (one click, then a confirmation naming the topic), with options; resolve and discard. */
export function ReplayPanel(props: ReplayPanelProps) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [topic, setTopic] = useState(props.originTopic ?? "");
  const [editValue, setEditValue] = useState(false);
  const [value, setValue] = useState(props.valueText ?? "");
  const [editHeaders, setEditHeaders] = useState(false);
  const [headersText, setHeadersText] = useState(JSON.stringify(props.headers, null, 2));
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const [guard, setGuard] = useState<PreviousReplayView[] | null>(null);
  /** The server refused the target topic (it does not exist): the user chooses another. */
  const [topicRefused, setTopicRefused] = useState(false);
  const topicInput = useRef<HTMLInputElement>(null);
  const valueInput = useRef<HTMLTextAreaElement>(null);
  const schemaId = props.valueSchemaId ?? null;
  const dialog = useRef<HTMLDivElement>(null);
  useDialogFocus(dialog, open, () => {
    if (!busy) setOpen(false);
  });

  const previous = guard ?? props.previous;
  const replayedBefore = previous.length > 0;

  async function replay() {
    setBusy(true);
    setMessage(null);
    setTopicRefused(false);
    try {
      const body: Record<string, unknown> = {};
      if (topic !== (props.originTopic ?? "")) body.topic = topic.trim();
      if (editValue) body.value = value;
      if (editHeaders) {
        try {
          body.headers = JSON.parse(headersText) as unknown;
        } catch {
          setMessage({ kind: "error", text: "The headers are not valid JSON: expected a list of {\"key\": …, \"value\": …}." });
          return;
        }
      }
      if (replayedBefore) {
        body.again = true;
        body.seen = previous.length;
      }
      const result = await post(`/api/dead-letters/${props.deadLetterId}/replay`, body);
      if (result.status === 200) {
        const sent = result.body as { targetTopic: string; partition: number; offset: string | null; routingKey?: string | null; missingPartition?: number | null };
        setMessage({ kind: "ok", text: `Replayed to ${describeReplayTarget({ ...sent, missingPartition: sent.missingPartition ?? null })}.` });
        setOpen(false);
        setGuard(null);
        router.refresh();
      } else if (result.status === 409) {
        const list = (result.body.previous as { requestedBy: string; requestedAt: string; targetTopic: string; status: string }[]) ?? [];
        setGuard(list.map((p) => ({ ...p, outcome: p.status })));
        setMessage({ kind: "error", text: "Someone replayed it meanwhile: see below before replaying again." });
      } else if (result.status === 422 && result.body.field === "topic") {
        // Nothing was claimed: the same dead letter can be replayed to a topic that exists.
        setTopicRefused(true);
        setMessage({ kind: "error", text: `Not replayed: ${result.body.message as string}` });
        topicInput.current?.focus();
      } else if (result.status === 422 && result.body.field === "value") {
        // Nothing was claimed or sent: the user corrects the value (the message names the field).
        setMessage({ kind: "error", text: `Not replayed: ${result.body.message as string}` });
        valueInput.current?.focus();
      } else {
        setMessage({ kind: "error", text: `Replay failed: ${(result.body.message as string) ?? (result.body.error as string) ?? result.status}` });
        router.refresh();
      }
    } catch (caught) {
      setMessage({ kind: "error", text: `Replay failed: ${caught instanceof Error ? caught.message : String(caught)}` });
    } finally {
      setBusy(false);
    }
  }

  async function setStatus(action: "resolve" | "discard") {
    setBusy(true);
    setMessage(null);
    try {
      const result = await post(`/api/dead-letters/${props.deadLetterId}/${action}`, {});
      if (result.status === 200) {
        setMessage({ kind: "ok", text: action === "resolve" ? "Marked resolved." : "Discarded." });
        router.refresh();
      } else setMessage({ kind: "error", text: `Could not ${action}: ${(result.body.message as string) ?? result.status}` });
    } catch (caught) {
      setMessage({ kind: "error", text: `Could not ${action}: ${caught instanceof Error ? caught.message : String(caught)}` });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div>
      <div className={styles.dlqActions}>
        <button type="button" className={styles.dlqPrimary} onClick={() => setOpen(true)} disabled={busy}>
          Replay
        </button>
        <button type="button" className={styles.dlqButton} onClick={() => setStatus("resolve")} disabled={busy || props.status === "resolved"}>
          Mark resolved
        </button>
        <button type="button" className={styles.dlqDanger} onClick={() => setStatus("discard")} disabled={busy || props.status === "discarded"}>
          Discard
        </button>
      </div>
      {/* While the dialog is open, its own alert says what went wrong: one alert, not two. */}
      {message && !(open && message.kind === "error") ? (
        <div role={message.kind === "error" ? "alert" : "status"} className={message.kind === "error" ? styles.dlqError : styles.dlqOk}>
          {message.text}
        </div>
      ) : null}
      {open ? (
        <div className={styles.dlqBackdrop}>
          <div ref={dialog} role="dialog" aria-modal="true" aria-labelledby="dlq-replay-title" className={styles.dlqDialog}>
            <h2 id="dlq-replay-title">{replayedBefore ? "Replay again?" : "Replay this dead letter?"}</h2>
            {replayedBefore ? (
              <div className={styles.dlqGuard} role="note">
                Already replayed {describePrevious(previous)}. Replaying again sends the message once more.
              </div>
            ) : null}
            <p style={{ margin: "0.25rem 0" }}>
              Sends its original key, value and headers (without the dead-letter headers, with <code>x-replay-of</code> and{" "}
              <code>x-replay-id</code>) to the topic <strong>{topic || (props.originTopic === "" ? "(RabbitMQ's default exchange)" : "(choose a topic)")}</strong>.
            </p>
            {props.originTopic === null ? (
              <p className={styles.dlqNotice}>
                Its original topic is unknown{props.originTopicHint ? ` (the DLQ's name suggests ${props.originTopicHint})` : ""}: choose one.
              </p>
            ) : null}
            <label>
              {topicRefused ? "Choose another topic" : "Target topic"}
              <input
                ref={topicInput}
                type="text"
                value={topic}
                onChange={(e) => {
                  setTopic(e.target.value);
                  setTopicRefused(false);
                }}
                aria-label="Target topic"
                aria-invalid={topicRefused}
                aria-describedby={topicRefused ? "dlq-replay-topic-error" : undefined}
                style={{ flex: 1 }}
              />
            </label>
            {props.valueText !== null ? (
              <>
                <label>
                  <input type="checkbox" checked={editValue} onChange={(e) => setEditValue(e.target.checked)} />
                  {schemaId === null ? "Edit the value before sending" : "Edit the value (as JSON) before sending"}
                </label>
                {editValue ? (
                  <textarea ref={valueInput} aria-label="Value to send" value={value} onChange={(e) => setValue(e.target.value)} />
                ) : null}
                {editValue && schemaId !== null ? (
                  <p className={styles.dlqNotice}>
                    The value is shown decoded. An edited value is re-encoded with Schema Registry schema id {schemaId} before it is
                    sent; one that does not fit that schema is refused, and nothing is sent. Left as it is, the original bytes are sent.
                  </p>
                ) : null}
              </>
            ) : null}
            {props.headers !== null ? (
              <label>
                <input type="checkbox" checked={editHeaders} onChange={(e) => setEditHeaders(e.target.checked)} />
                Edit the headers before sending
              </label>
            ) : null}
            {editHeaders ? <textarea aria-label="Headers to send" value={headersText} onChange={(e) => setHeadersText(e.target.value)} /> : null}
            {editValue || editHeaders || topic !== (props.originTopic ?? "") ? (
              <p className={styles.dlqNotice}>The audit log records what you changed.</p>
            ) : null}
            <div className={styles.dlqActions}>
              <button type="button" className={styles.dlqPrimary} onClick={replay} disabled={busy || topic.trim() === ""}>
                {replayedBefore ? "Replay again" : `Replay to ${topic || (props.originTopic === "" ? "the default exchange" : "…")}`}
              </button>
              <button type="button" className={styles.dlqButton} onClick={() => setOpen(false)} disabled={busy}>
                Cancel
              </button>
            </div>
            {message?.kind === "error" ? (
              <div role="alert" id="dlq-replay-topic-error" className={styles.dlqError}>
                {message.text}
              </div>
            ) : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}
