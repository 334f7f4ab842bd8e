/**
 * `npm start` refuses to run without its two required settings, naming each, before it starts
 * anything. (Its full start needs a production build of the web UI; the e2e suite runs the same
 * parts through the demo launcher.)
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const START = path.join(path.dirname(fileURLToPath(import.meta.url)), "start.ts");

function runStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const base = { ...process.env };
  for (const name of Object.keys(base)) {
    if (/^(?:EVENTSCOPE_|KAFKA_)/.test(name) || name === "DATABASE_URL" || name === "PORT") delete base[name];
  }
  const child = spawn(process.execPath, ["--import", "tsx", START], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, output })));
}

describe("npm start", () => {
  it("names KAFKA_BROKERS and DATABASE_URL when they are missing, and exits with status 2", async () => {
    const { code, output } = await runStart({});
    expect(output).toMatch(/KAFKA_BROKERS: required by npm start/);
    expect(output).toMatch(/DATABASE_URL: required by npm start/);
    expect(code).toBe(2);
  });

  it("names a malformed variable", async () => {
    const { code, output } = await runStart({ KAFKA_BROKERS: "kafka-without-port", DATABASE_URL: "mysql://db/x" });
    expect(output).toMatch(/KAFKA_BROKERS: expected a comma-separated list of host:port/);
    expect(output).toMatch(/DATABASE_URL: expected a PostgreSQL connection URL/);
    expect(code).toBe(2);
  });
});
