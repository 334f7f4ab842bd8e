"use client";

import Link from "next/link";
import { useCallback, useEffect, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { eventHref, type EventSummary } from "@/lib/api-schemas/events";
import type { UnprocessedEventsPage } from "@/lib/api-schemas/groups";
import styles from "./groups.module.css";

const ROW_HEIGHT = 28;

/**
 * The events a group has not processed yet on one partition, virtualized: the server renders the
 * first page, further pages are fetched by cursor from /api/groups/{id}/unprocessed as the list
 * is scrolled towards its end. Values are shown as text (a preview), never as HTML.
 */
export function UnprocessedList({ initial }: { initial: UnprocessedEventsPage }) {
  const [events, setEvents] = useState<EventSummary[]>(initial.events);
  const [cursor, setCursor] = useState<string | null>(initial.nextCursor);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);

  // The virtualizer's functions are read during render on purpose (TanStack's documented use).
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: events.length + (cursor ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();

  const loadMore = useCallback(async () => {
    if (!cursor || loading) return;
    setLoading(true);
    setError(null);
    try {
      const params = new URLSearchParams({ topic: initial.topic, partition: String(initial.partition), order: initial.order, cursor });
      const response = await fetch(`/api/groups/${encodeURIComponent(initial.groupId)}/unprocessed?${params}`, { cache: "no-store" });
      const body = (await response.json()) as UnprocessedEventsPage | { message?: string };
      if (!response.ok || !("events" in body)) {
        throw new Error("message" in body && body.message ? body.message : `the server answered ${response.status}`);
      }
      setEvents((previous) => [...previous, ...body.events]);
      setCursor(body.nextCursor);
    } catch (failure) {
      setError(`Could not load more events: ${failure instanceof Error ? failure.message : String(failure)}`);
    } finally {
      setLoading(false);
    }
  }, [cursor, loading, initial.groupId, initial.topic, initial.partition, initial.order]);

  const lastIndex = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (cursor && !error && lastIndex >= events.length - 1) void loadMore();
  }, [lastIndex, events.length, cursor, error, loadMore]);

  if (events.length === 0) {
    return (
      <div className={styles.grEmpty}>
        {initial.offsetLag === null
          ? "The group has committed nothing on this partition: where it will start (and so what it has not processed) is unknown."
          : initial.offsetLag === "0"
            ? "Nothing to process: the group is caught up on this partition."
            : `The ${initial.offsetLag} unprocessed events (offsets ${initial.committedOffset} to ${BigInt(initial.endOffset ?? "0") - 1n}) were not collected: they are older than the retention or the collector has not read them yet.`}
      </div>
    );
  }

  return (
    <>
      <div className={`${styles.grListRow} ${styles.grListHead}`} role="presentation">
        <span>Offset</span>
        <span>Time (UTC)</span>
        <span>Type</span>
        <span>Key</span>
        <span>Value</span>
      </div>
      <div ref={scroller} className={styles.grList} role="list" aria-label={`Unprocessed events of partition ${initial.partition} of ${initial.topic}`}>
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {items.map((item) => {
            const event = events[item.index];
            return (
              <div
                key={item.key}
                role="listitem"
                className={styles.grListRow}
                style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              >
                {event ? (
                  <>
                    <Link href={eventHref(event)} className={styles.grMono}>
                      {event.offset}
                    </Link>
                    <span className={styles.grMono}>{event.timestamp.replace("T", " ").replace("Z", "")}</span>
                    <span>{event.eventType ?? <span className={styles.grMuted}>unknown type</span>}</span>
                    <span className={styles.grMono}>{event.key ?? (event.keyBase64 ? "(binary key)" : "(no key)")}</span>
                    <span className={styles.grPreview} title={event.valuePreview ?? undefined}>
                      {event.valuePreview ?? (event.valueKind === "binary" ? "(binary value)" : "(tombstone)")}
                    </span>
                  </>
                ) : (
                  <span className={styles.grMuted}>{loading ? "loading more…" : "scroll to load more"}</span>
                )}
              </div>
            );
          })}
        </div>
      </div>
      {error ? (
        <div role="alert" className={styles.grError}>
          {error} <button onClick={() => { setError(null); void loadMore(); }}>Try again</button>
        </div>
      ) : null}
    </>
  );
}
