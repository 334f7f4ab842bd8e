"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import styles from "./groups.module.css";

/**
 * Re-renders the page's server components every few seconds (router.refresh keeps client state:
 * scroll position, the loaded unprocessed events), so lag and health stay current. The user can
 * pause it.
 */
export function AutoRefresh({ everyMs = 10_000 }: { everyMs?: number }) {
  const router = useRouter();
  const [on, setOn] = useState(true);
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => router.refresh(), everyMs);
    return () => clearInterval(timer);
  }, [on, everyMs, router]);
  return (
    <label className={styles.grRefresh}>
      <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} />
      refresh every {Math.round(everyMs / 1000)} s
    </label>
  );
}
