"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useState } from "react";
import type { Session } from "@/lib/api-schemas/auth";

/**
 * Who is signed in (with "Sign out"), or that Eventscope runs read-only, or a "Sign in" link.
 * Asks /api/auth/session from the browser, so the layout stays static-friendly.
 */
export function SessionBadge() {
  const pathname = usePathname();
  const [state, setState] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    fetch("/api/auth/session", { cache: "no-store" })
      .then(async (response) => {
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        return (await response.json()) as Session;
      })
      .then((value) => !cancelled && setState(value))
      .catch((caught: unknown) => !cancelled && setError(caught instanceof Error ? caught.message : String(caught)));
    return () => {
      cancelled = true;
    };
  }, []);

  async function signOut() {
    try {
      const response = await fetch("/api/auth/logout", { method: "POST" });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      window.location.reload();
    } catch (caught) {
      setError(`sign-out failed: ${caught instanceof Error ? caught.message : String(caught)}`);
    }
  }

  if (error) return <span style={{ color: "var(--es-stop)", fontSize: 13 }}>session unknown: {error}</span>;
  if (!state) return <span style={{ fontSize: 13 }} aria-busy="true" />;
  if (state.user) {
    return (
      <span style={{ fontSize: 13, display: "inline-flex", gap: "0.5rem", alignItems: "center" }}>
        <span>
          Signed in as <strong>{state.user}</strong>
          {state.role === "read" ? " (read-only)" : ""}
        </span>
        <button type="button" onClick={signOut} style={{ font: "inherit", padding: "0.1rem 0.5rem", border: "1px solid var(--es-border-strong)", borderRadius: 4, background: "var(--es-bg)", color: "var(--es-fg)", cursor: "pointer" }}>
          Sign out
        </button>
      </span>
    );
  }
  if (!state.writesEnabled && !state.readsProtected) {
    return <span style={{ fontSize: 13, color: "var(--es-muted)" }}>read-only: no admin token configured</span>;
  }
  return (
    <Link href={pathname && pathname !== "/login" ? `/login?next=${encodeURIComponent(pathname)}` : "/login"} style={{ fontSize: 13 }}>
      Sign in
    </Link>
  );
}
