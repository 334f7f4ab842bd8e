"use client";

import Link from "next/link";
import { useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { eventHref, eventPlace, type EventSummary } from "@/lib/api-schemas/events";
import { formatTime, keyText } from "./format";
import styles from "./search.module.css";

const ROW_HEIGHT = 32;

/** One page of search results, virtualized; each row is a link to the event. */
export function EventSearchResults({ events }: { events: EventSummary[] }) {
  const scrollRef = useRef<HTMLDivElement>(null);
  // The virtualizer's functions change identity as it scrolls; this component is not memoized.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: events.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    initialRect: { width: 1200, height: 800 },
  });
  return (
    <div ref={scrollRef} className={styles.evResults}>
      <div className={`${styles.evRow} ${styles.evRowHead}`} style={{ position: "sticky", top: 0, zIndex: 1 }} aria-hidden="true">
        <span>Time (UTC)</span>
        <span>Type</span>
        <span>Topic/partition/offset</span>
        <span>Key</span>
        <span>Producer</span>
        <span>Value</span>
      </div>
      <ul aria-label="Matching events" style={{ height: virtualizer.getTotalSize(), position: "relative", listStyle: "none", margin: 0, padding: 0 }}>
        {virtualizer.getVirtualItems().map((item) => {
          const e = events[item.index]!;
          const where = eventPlace(e);
          return (
            <li key={item.key} style={{ position: "absolute", top: 0, left: 0, width: "100%", transform: `translateY(${item.start}px)` }}>
              {/* The row is one link (it covers the row), named by what identifies the event: its type and where it is. */}
              <div className={styles.evRow}>
                <span className={`${styles.evCell} ${styles.evMono}`}>{formatTime(e.timestamp).replace(" UTC", "")}</span>
                <span className={styles.evCell}>
                  <Link href={eventHref(e)} className={styles.evRowLink}>
                    {e.eventType ?? "(no type)"}
                    <span className="visually-hidden"> {where}</span>
                  </Link>
                </span>
                <span className={`${styles.evCell} ${styles.evMono}`}>{where}</span>
                <span className={styles.evCell}>{keyText(e)}</span>
                <span className={styles.evCell}>{e.producer ?? "unknown producer"}</span>
                <span className={`${styles.evCell} ${styles.evMono}`} title={e.valuePreview ?? undefined}>
                  {e.valueKind === null ? "(tombstone)" : (e.valuePreview ?? `(${e.valueKind})`)}
                </span>
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
