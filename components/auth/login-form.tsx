"use client";

import { useEffect, useRef, useState } from "react";

/**
 * The token form. A `#token=…` fragment (never sent to the server, so it stays out of logs) fills
 * the field and signs in at once; the fragment is then removed from the address bar.
 */
export function LoginForm({ next }: { next: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const started = useRef(false);

  async function signIn(value: string) {
    setBusy(true);
    setError(null);
    try {
      const response = await fetch("/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: value }),
      });
      if (response.ok) {
        // A full load, so that the header and every server component see the new session.
        window.location.assign(next);
        return;
      }
      const body = (await response.json().catch(() => null)) as { message?: string } | null;
      setError(body?.message ?? `Sign-in failed (the server answered ${response.status}).`);
    } catch (caught) {
      setError(`Sign-in failed: ${caught instanceof Error ? caught.message : String(caught)}`);
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const fromLink = fragment.get("token");
    if (!fromLink) return;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    // Deferred: state updates belong outside the effect's synchronous body.
    queueMicrotask(() => {
      setToken(fromLink);
      void signIn(fromLink);
    });
    // signIn reads only its argument and `next`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <form
      aria-label="Sign in"
      onSubmit={(event) => {
        event.preventDefault();
        void signIn(token);
      }}
      style={{ display: "flex", flexDirection: "column", gap: "0.5rem" }}
    >
      <label style={{ display: "flex", flexDirection: "column", gap: 4 }}>
        Token
        <input
          type="password"
          name="token"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          style={{ padding: "0.35rem 0.5rem", border: "1px solid #cbd5e1", borderRadius: 4, font: "inherit" }}
        />
      </label>
      <button
        type="submit"
        disabled={busy || token.trim() === ""}
        style={{ padding: "0.35rem 0.8rem", background: "var(--es-accent)", color: "var(--es-on-fill)", border: 0, borderRadius: 4, font: "inherit", cursor: "pointer" }}
      >
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {error ? (
        <p role="alert" style={{ color: "var(--es-stop)", margin: 0 }}>
          {error}
        </p>
      ) : null}
    </form>
  );
}
