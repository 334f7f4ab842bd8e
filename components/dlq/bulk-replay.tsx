"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import styles from "./dlq.module.css";
import { describeReplayTarget } from "./format";

type Target = { ids: string[] } | { group: { originTopic: string | null; errorClass: string | null; source?: string } };

interface ItemLine {
  id: string;
  status: string;
  targetTopic?: string;
  reason?: string;
  error?: string;
  /** null on RabbitMQ (see routingKey). */
  offset?: string | null;
  partition?: number;
  routingKey?: string | null;
  /** The original partition the target topic does not have: the key chose `partition`. */
  missingPartition?: number | null;
}

/** Reads the bulk route's NDJSON answer line by line, as it comes. */
async function readLines(response: Response, onLine: (value: Record<string, unknown>) => void): Promise<void> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    buffer += decoder.decode(value, { stream: !done });
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) onLine(JSON.parse(line) as Record<string, unknown>);
      newline = buffer.indexOf("\n");
    }
    if (done) {
      // The last line may come without its newline.
      const rest = buffer.trim();
      if (rest) onLine(JSON.parse(rest) as Record<string, unknown>);
      return;
    }
  }
}

/** "→ payments (0/41)", "it is replayed", or both: where it went and why it did not. */
function whereAndWhy(item: ItemLine): string {
  const where =
    item.targetTopic && item.offset !== undefined && item.partition !== undefined
      ? `→ ${describeReplayTarget({ targetTopic: item.targetTopic, partition: item.partition, offset: item.offset, routingKey: item.routingKey, missingPartition: item.missingPartition ?? null })}`
      : item.targetTopic
        ? `→ ${item.targetTopic}`
        : "";
  const why = item.reason ?? item.error ?? "";
  return where && why ? `${where}: ${why}` : where || why;
}

/**
 * "Replay …" for a selection or a whole group: a dialog with a dry run (what would be sent), a
 * rate limit, then the real run with progress as each dead letter goes.
 */
export function BulkReplayButton({ target, label, disabled }: { target: Target; label: string; disabled?: boolean }) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [rate, setRate] = useState("10");
  const [items, setItems] = useState<ItemLine[]>([]);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [phase, setPhase] = useState<"idle" | "dry-running" | "dry-run" | "running" | "done">("idle");
  const [summary, setSummary] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(dryRun: boolean) {
    setError(null);
    setSummary(null);
    setItems([]);
    setProgress(null);
    setPhase(dryRun ? "dry-running" : "running");
    const ratePerSecond = Number(rate);
    try {
      const response = await fetch("/api/dead-letters/replay", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...target, dryRun, ratePerSecond }),
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as { message?: string } | null;
        throw new Error(body?.message ?? `the server answered ${response.status}`);
      }
      await readLines(response, (line) => {
        if (line.type === "item") {
          setItems((list) => [...list, line.item as ItemLine]);
          setProgress({ done: line.done as number, total: line.total as number });
        } else if (line.type === "summary") {
          const counts = Object.entries(line.counts as Record<string, number>).map(([k, v]) => `${v} ${k}`);
          setSummary(`${line.total as number} dead letter(s): ${counts.join(", ") || "nothing to do"}`);
        } else if (line.type === "error") {
          setError(`stopped: ${line.message as string}`);
        }
      });
      setPhase(dryRun ? "dry-run" : "done");
      if (!dryRun) router.refresh();
    } catch (caught) {
      setError(`Bulk replay failed: ${caught instanceof Error ? caught.message : String(caught)}`);
      setPhase("idle");
    }
  }

  if (!open) {
    return (
      <button type="button" className={styles.dlqButton} disabled={disabled} onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  }
  const busy = phase === "running" || phase === "dry-running";
  return (
    <div className={styles.dlqBackdrop}>
      <div role="dialog" aria-modal="true" aria-labelledby="dlq-bulk-title" className={styles.dlqDialog}>
        <h2 id="dlq-bulk-title">{label}</h2>
        <p style={{ margin: "0 0 0.5rem" }}>
          Each dead letter goes back to its original topic, once: those already replayed are skipped. Start with a dry run to see
          what would be sent.
        </p>
        <label>
          At most
          <input type="number" min={0.1} max={1000} step="any" value={rate} onChange={(e) => setRate(e.target.value)} style={{ width: "5rem" }} aria-label="Messages per second" />
          messages per second
        </label>
        <div className={styles.dlqActions}>
          <button type="button" className={styles.dlqButton} disabled={busy} onClick={() => run(true)}>
            Dry run
          </button>
          <button type="button" className={styles.dlqPrimary} disabled={busy || phase === "done"} onClick={() => run(false)}>
            Replay now
          </button>
          <button type="button" className={styles.dlqButton} disabled={phase === "running"} onClick={() => setOpen(false)}>
            Close
          </button>
        </div>
        {progress ? (
          <div role="status" aria-live="polite">
            <progress className={styles.dlqProgress} max={progress.total} value={progress.done} />
            {progress.done} of {progress.total} {phase === "dry-running" || phase === "dry-run" ? "checked" : "processed"}
          </div>
        ) : null}
        {summary ? <div className={styles.dlqOk}>{phase === "dry-run" ? `Dry run, nothing sent. ${summary}` : summary}</div> : null}
        {error ? (
          <div role="alert" className={styles.dlqError}>
            {error}
          </div>
        ) : null}
        {items.length > 0 ? (
          <table className={styles.dlqTable} aria-label={phase.startsWith("dry") ? "What would be sent" : "Replay results"}>
            <thead>
              <tr>
                <th>Dead letter</th>
                <th>Result</th>
                <th>Where / why</th>
              </tr>
            </thead>
            <tbody>
              {items.slice(-200).map((item) => (
                <tr key={item.id}>
                  <td>
                    <a href={`/dead-letters/${item.id}`}>#{item.id}</a>
                  </td>
                  <td>{item.status}</td>
                  <td className={styles.dlqMono}>{whereAndWhy(item)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </div>
    </div>
  );
}
