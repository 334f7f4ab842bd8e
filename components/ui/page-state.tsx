"use client";

import { useEffect } from "react";

/**
 * What a page shows when loading it failed (its route's error.tsx) and while it loads
 * (loading.tsx), in the page's own words. In production Next hides the server error's message and
 * gives a digest instead: the same id is in the server's log, so it is shown for a bug report.
 */
export function PageError({ what, error, reset }: { what: string; error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <main className="page-state" role="alert">
      <h1>{what} could not be loaded</h1>
      <p>
        {error.digest
          ? `The server failed while reading it (error id ${error.digest}, in the server's log). The database may be unreachable, or this is a bug.`
          : error.message || "Something failed while reading it."}
      </p>
      <p>
        <button type="button" onClick={reset}>
          Try again
        </button>
      </p>
    </main>
  );
}

export function PageLoading({ what }: { what: string }) {
  return (
    <main className="page-state" aria-busy="true">
      <p role="status">Loading {what}…</p>
    </main>
  );
}
