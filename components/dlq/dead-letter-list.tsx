"use client";

import Link from "next/link";
import { useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { DeadLetterListItem } from "@/lib/api-schemas/dead-letters";
import { BulkReplayButton } from "./bulk-replay";
import styles from "./dlq.module.css";
import { formatUtc } from "./format";
import { StatusBadge } from "./status-badge";

const ROW_HEIGHT = 34;

/** One page of the inbox, virtualized; with writes allowed, rows can be selected for a bulk replay. */
export function DeadLetterList({ deadLetters, canWrite }: { deadLetters: DeadLetterListItem[]; canWrite: boolean }) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: deadLetters.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    initialRect: { width: 1200, height: 640 },
  });
  const toggle = (id: string) =>
    setSelected((old) => {
      const next = new Set(old);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <>
      {canWrite ? (
        <div className={styles.dlqActions}>
          <BulkReplayButton target={{ ids: [...selected] }} label={`Replay selected (${selected.size})`} disabled={selected.size === 0} />
          {selected.size > 0 ? (
            <button type="button" className={styles.dlqButton} onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          ) : null}
        </div>
      ) : null}
      <div ref={scrollRef} className={styles.dlqList}>
        <div className={`${styles.dlqRow} ${styles.dlqRowHead}`} aria-hidden="true">
          <span />
          <span>Time (UTC)</span>
          <span>Status</span>
          <span>Original topic</span>
          <span>Error class</span>
          <span>Error</span>
          <span>Entity / key</span>
        </div>
        <ul aria-label="Dead letters" style={{ height: virtualizer.getTotalSize(), position: "relative", listStyle: "none", margin: 0, padding: 0 }}>
          {virtualizer.getVirtualItems().map((item) => {
            const d = deadLetters[item.index]!;
            const origin = d.originTopic ?? (d.originTopicHint ? `${d.originTopicHint}?` : "unknown");
            return (
              <li
                key={item.key}
                className={styles.dlqRow}
                style={{ position: "absolute", top: 0, left: 0, width: "100%", boxSizing: "border-box", transform: `translateY(${item.start}px)` }}
              >
                <span>
                  {canWrite ? (
                    <input type="checkbox" aria-label={`Select dead letter ${d.id}`} checked={selected.has(d.id)} onChange={() => toggle(d.id)} />
                  ) : null}
                </span>
                <span className={`${styles.dlqCell} ${styles.dlqMono}`}>
                  {/* Named by its visible time first (what a speech user says), then what it is. */}
                  <Link href={`/dead-letters/${d.id}`}>
                    {formatUtc(d.timestamp).replace(" UTC", "")}
                    <span className="visually-hidden">
                      {" "}
                      dead letter {d.id}: {d.errorClass ?? "error"} from {origin}
                    </span>
                  </Link>
                </span>
                <span>
                  <StatusBadge status={d.status} />
                </span>
                <span className={styles.dlqCell} title={d.originTopic ? undefined : "from the DLQ topic's name: a guess"}>
                  {origin}
                </span>
                <span className={styles.dlqCell}>{d.errorClass ?? "(no class)"}</span>
                <span className={styles.dlqCell} title={d.errorMessage ?? undefined}>
                  {d.errorMessage ?? ""}
                </span>
                <span className={`${styles.dlqCell} ${styles.dlqMono}`}>{d.entityKeys[0] ?? ""}</span>
              </li>
            );
          })}
        </ul>
      </div>
    </>
  );
}
