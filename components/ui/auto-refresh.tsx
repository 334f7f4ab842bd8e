"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";

/**
 * Re-renders the page's server components every `everyMs` (router.refresh keeps client state: an
 * open dialog, the scroll position, loaded rows), so lag, health and statuses stay current. With
 * `pausable`, a checkbox lets the user stop it.
 */
export function AutoRefresh({ everyMs = 10_000, pausable = false }: { everyMs?: number; pausable?: boolean }) {
  const router = useRouter();
  const [on, setOn] = useState(true);
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => router.refresh(), everyMs);
    return () => clearInterval(timer);
  }, [on, everyMs, router]);
  if (!pausable) return null;
  return (
    <label className="site-refresh">
      <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} />
      refresh every {Math.round(everyMs / 1000)} s
    </label>
  );
}
