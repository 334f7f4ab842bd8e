/**
 * Helpers for the broker's integration tests (`*.int.test.ts`): unique names, and waiting for a
 * condition with a deadline instead of sleeping. Node built-ins only, as everywhere in server/broker.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** A topic or group name no other test (or earlier run against the same data dir) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

/** A fresh directory under the system temp dir; the caller removes it. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export interface WaitOptions {
  /** Give up after this long. Default 15 s: generous on a loaded 2-core machine, and tests never assert durations. */
  timeoutMs?: number;
  /** Time between two checks. Default 50 ms. */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns something other than `undefined`, `null` or `false`, and returns
 * that. A check that throws counts as "not yet"; when the deadline passes, the error says what was
 * awaited and what the last check saw (its error, or `describe()` of the state at that moment).
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions & { describe?: () => unknown } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = null;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const seen = lastError !== null ? `last check threw: ${String(lastError)}` : `last state: ${safeJson(options.describe?.())}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function safeJson(value: unknown): string {
  if (value === undefined) return "(no description)";
  try {
    // Buffers reach the replacer already turned into { type: "Buffer", data: [...] } by their toJSON.
    return JSON.stringify(value, (_k, v: unknown) =>
      typeof v === "object" && v !== null && (v as { type?: unknown }).type === "Buffer" ? `<${(v as { data: unknown[] }).data.length} bytes>` : v,
    );
  } catch {
    return String(value);
  }
}

/**
 * Collects a broker's log lines (pass `log` to startBroker) so a failed test can show what the
 * broker refused or noticed while it ran, and a passing one stays quiet.
 */
export class BrokerLogCollector {
  private readonly lines: string[] = [];
  readonly log = (line: string): void => {
    this.lines.push(line);
  };

  /** A position to pass to `since`. */
  mark(): number {
    return this.lines.length;
  }

  since(mark: number): string {
    return this.lines.slice(mark).join("\n") || "(nothing logged)";
  }
}
