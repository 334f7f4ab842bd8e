"use client";

import { useEffect, useState } from "react";
import { brokerWords, type CollectorHealthReport, stallWords } from "@/lib/api-schemas/health";
import { formatDuration } from "@/lib/format-duration";

const POLL_MS = 10_000;

/**
 * "Data is stale" on every page (the layout renders it): polls GET /api/health (the collector's
 * health as getCollectorHealthReport judges it) and says why the data may be out of date, or
 * nothing while it is current. In the browser so that the layout stays free of database reads
 * and the banner appears or clears while a page stays open.
 */
export function StaleBanner() {
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const check = async () => {
      try {
        const response = await fetch("/api/health", { cache: "no-store" });
        const body = (await response.json().catch(() => null)) as (CollectorHealthReport & { message?: string }) | null;
        if (!response.ok || !body) throw new Error(body?.message ?? `the server answered ${response.status}`);
        const text = staleMessage(body);
        if (!stopped) setMessage(text ? { text, error: false } : null);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (!stopped) setMessage({ text: `Cannot tell whether the data is current: ${reason}`, error: true });
      } finally {
        if (!stopped) timer = setTimeout(check, POLL_MS);
      }
    };
    void check();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  if (!message) return null;
  return (
    <div className={`site-stale${message.error ? " site-stale-error" : ""}`} role="alert">
      {message.text}
    </div>
  );
}

export function staleMessage(report: CollectorHealthReport): string | null {
  const skipped = report.stalled.filter((stall) => stall.state === "stored");
  const skippedText =
    skipped.length === 0
      ? null
      : `Not decodable, stored as flagged rows and skipped in the last hour: ${skipped.map(stallWords).join("; ")}.`;
  if (!report.stale) return skippedText;
  // Several sources, some stale: say which, and that the others are still collected.
  const staleSources = report.sources.filter((source) => source.stale);
  if (report.sources.length > 1 && staleSources.length > 0) {
    const parts = staleSources.map(
      (source) =>
        `Source ${source.name} is stale: ${source.staleReason ?? "no recent report"}.${source.lastError ? ` Last error: ${source.lastError.message}` : ""}`,
    );
    const current = report.sources.filter((source) => !source.stale).map((source) => source.name);
    if (current.length > 0) parts.push(`Still collected: ${current.join(", ")}.`);
    if (skippedText) parts.push(skippedText);
    return parts.join(" ");
  }
  if (report.instances.length === 0) {
    return "No collector has run yet against this database — start one with `npm run collector` (or everything with `npm run demo`).";
  }
  const checkedAt = new Date(report.checkedAt).getTime();
  const { broker } = brokerWords(report.sources.map((source) => source.kind));
  const parts = [
    report.lastPollAt
      ? `Data is stale: the collector last polled ${broker} ${formatDuration(checkedAt - new Date(report.lastPollAt).getTime())} ago.`
      : `Data is stale: the collector has not polled ${broker} yet.`,
  ];
  // The reason adds something when the collector polls but falls behind or the admin poll stopped.
  if (report.staleReason && !report.staleReason.startsWith("the collector has not polled")) parts.push(`Why: ${report.staleReason}.`);
  if (report.lastError) parts.push(`Last error: ${report.lastError.message}`);
  if (skippedText) parts.push(skippedText);
  return parts.join(" ");
}
