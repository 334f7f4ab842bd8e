/**
 * kcat (librdkafka), the independent Kafka client of the conformance and codec tests. A test file
 * that uses it calls requireKcat() at load, so it fails, never skips, when kcat is missing.
 */
import { execFile, execFileSync } from "node:child_process";

/** Fails the whole file, loudly, when kcat is not installed: this suite must never pass without it. */
export function requireKcat(): string {
  try {
    return execFileSync("kcat", ["-V"], { encoding: "utf8", timeout: 10_000 });
  } catch (err) {
    throw new Error(
      `kcat is required by the broker's conformance tests but could not be run (${(err as Error).message}). ` +
        "Install the Debian package: apt-get install kcat",
    );
  }
}

export const KCAT_TIMEOUT_MS = 30_000;

interface KcatResult {
  stdout: string;
  stderr: string;
}

/** Runs kcat to completion; rejects (with its stderr) when it exits non-zero or outlives the timeout. */
export function kcat(args: string[], input?: string): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = execFile("kcat", args, { timeout: KCAT_TIMEOUT_MS, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kcat ${args.join(" ")} failed: ${err.message}\nstderr: ${stderr}`));
      else resolve({ stdout, stderr });
    });
    child.stdin!.end(input ?? "");
  });
}

/** kcat -J message envelope (headers come as a flat [name, value, name, value…] list). */
export interface KcatMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

export function jsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

