/**
 * Secrets stay out of what Eventscope prints and serves: the demo launcher started with a
 * DATABASE_URL of the user's (with a password), an admin token and a read token of the user's;
 * everything it printed, every log file it wrote, and GET /api/health are searched for them.
 */
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { getDatabase } from "../server/db/index.ts";
import { adminQuery, testServerUrl, withDatabase } from "../server/db/test-support.ts";
import { GET as getHealth } from "../app/api/health/route.ts";
import { findFreePort, pollUntil } from "./support/ports.ts";

const DEMO = path.join(path.dirname(fileURLToPath(import.meta.url)), "demo.ts");
const suffix = crypto.randomBytes(4).toString("hex");
const ROLE = `eventscope_secret_${suffix}`;
const DATABASE = `eventscope_secret_${suffix}`;
const DB_PASSWORD = `pg-pass-${crypto.randomBytes(8).toString("hex")}`;
const ADMIN_TOKEN = `admin-${crypto.randomBytes(12).toString("hex")}`;
const READ_TOKEN = `reader-${crypto.randomBytes(12).toString("hex")}`;
const SECRETS = { "the database password": DB_PASSWORD, "the admin token": ADMIN_TOKEN, "the read token": READ_TOKEN };

let databaseUrl: string;
let tempRoot: string;
const saved = Object.fromEntries(["DATABASE_URL", "EVENTSCOPE_READ_TOKEN", "EVENTSCOPE_ADMIN_TOKEN"].map((name) => [name, process.env[name]]));

beforeAll(async () => {
  await adminQuery(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${DB_PASSWORD}'`);
  await adminQuery(`CREATE DATABASE ${DATABASE} OWNER ${ROLE}`);
  const url = new URL(withDatabase(testServerUrl(), DATABASE));
  url.username = ROLE;
  url.password = DB_PASSWORD;
  databaseUrl = url.toString();
  tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-secrets-test-"));
  fs.chmodSync(tempRoot, 0o755);
});

afterAll(async () => {
  await (await getDatabase().catch(() => undefined))?.close();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  fs.rmSync(tempRoot, { recursive: true, force: true });
  await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await adminQuery(`DROP ROLE IF EXISTS ${ROLE}`);
});

function expectNoSecret(text: string, where: string): void {
  for (const [what, secret] of Object.entries(SECRETS)) expect(text.includes(secret), `${what} in ${where}`).toBe(false);
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

it("the demo with a DATABASE_URL and tokens of the user's prints and logs none of them, and /api/health shows none", async () => {
  const dataDir = path.join(tempRoot, "data");
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(?:EVENTSCOPE_|KAFKA_)/.test(name) || name === "DATABASE_URL" || name === "PORT") delete env[name];
  }
  Object.assign(env, { DATABASE_URL: databaseUrl, EVENTSCOPE_ADMIN_TOKEN: ADMIN_TOKEN, EVENTSCOPE_READ_TOKEN: READ_TOKEN });
  const args = [
    "--data-dir",
    dataDir,
    "--broker-port",
    String(await findFreePort()),
    "--port",
    String(await findFreePort()),
    "--registry-port",
    String(await findFreePort()),
    "--no-web",
    "--no-services",
  ];
  const child = spawn(process.execPath, ["--import", "tsx", DEMO, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await pollUntil("the launcher's ready line", () => (/^Eventscope is ready/m.test(output) ? true : undefined), 120_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nlauncher output:\n${output}`);
    });
    // It still says which database it uses, without the password.
    expect(output).toContain(`${ROLE}:***@`);
    // The collector has reported its health into that database.
    process.env.DATABASE_URL = databaseUrl;
    process.env.EVENTSCOPE_READ_TOKEN = READ_TOKEN;
    process.env.EVENTSCOPE_ADMIN_TOKEN = ADMIN_TOKEN;
    const health = await pollUntil(
      "the collector's health report",
      async () => {
        const response = await getHealth(new Request("http://127.0.0.1/api/health", { headers: { authorization: `Bearer ${READ_TOKEN}` } }), {});
        const text = await response.text();
        return response.status === 200 && text.includes('"instances":[{') ? text : undefined;
      },
      60_000,
    );
    expectNoSecret(health, "GET /api/health");
  } finally {
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }
  expectNoSecret(output, "what the demo printed");
  const logs = filesUnder(path.join(dataDir, "logs"));
  expect(logs.length).toBeGreaterThan(0);
  for (const file of logs) expectNoSecret(fs.readFileSync(file, "utf8"), file);
});
