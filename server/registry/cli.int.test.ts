/**
 * The CLI as a user runs it, a real child process: the ready line, flags, signals, and
 * `--data-dir` surviving a `kill -9`. It runs as `node --import tsx cli.ts` (not `npx tsx`, which
 * puts a supervisor in between) so that SIGKILL reaches the registry itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { makeTempDir, uniqueName, waitUntil } from "../broker/test-support.ts";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "cli.ts");
const READY = /^schema registry listening on (\S+)$/m;

interface RegistryProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
});

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function spawnCli(args: string[]): RegistryProcess {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Starts the CLI on a free port and resolves with its base URL once it printed the ready line. */
async function startCli(extra: string[] = []): Promise<RegistryProcess & { url: string }> {
  const proc = spawnCli(["--port", "0", ...extra]);
  const address = await waitUntil(
    "the ready line",
    () => {
      if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode}: ${proc.stderr()}`);
      return READY.exec(proc.stdout())?.[1];
    },
    { timeoutMs: 30_000, describe: () => ({ stdout: proc.stdout(), stderr: proc.stderr() }) },
  );
  return { ...proc, url: `http://${address}` };
}

async function post(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
    body: JSON.stringify(body),
  });
  return res.json();
}

const getJson = async (url: string): Promise<unknown> => (await fetch(url)).json();
const avro = (name: string) => JSON.stringify({ type: "record", name, fields: [{ name: "id", type: "string" }] });

describe("schema registry CLI", () => {
  it("prints exactly the ready line with the real address, serves at once, and stops on SIGTERM and SIGINT", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const registry = await startCli();
      expect(registry.stdout()).toMatch(/^schema registry listening on 127\.0\.0\.1:[1-9]\d*\n$/);
      expect(await getJson(`${registry.url}/subjects`)).toEqual([]);
      registry.child.kill(signal);
      expect(await registry.exited).toEqual({ code: 0, signal: null });
    }
  });

  it("refuses bad flags with a usage error naming the flag", async () => {
    for (const [args, named] of [
      [["--port", "eighty"], "--port"],
      [["--port", "70000"], "--port"],
      [["--verbose"], "--verbose"],
    ] as const) {
      const proc = spawnCli([...args]);
      expect((await proc.exited).code).toBe(2);
      expect(proc.stderr()).toContain(named);
      expect(proc.stderr()).toContain("usage: npm run schema-registry --");
      expect(proc.stdout()).toBe("");
    }
  });

  it("keeps ids, versions, subjects and settings in --data-dir across a kill -9", async () => {
    const dataDir = makeTempDir("eventscope-registry");
    dirs.push(dataDir);
    const subject = uniqueName("orders-value");
    const other = uniqueName("audit-value");

    const first = await startCli(["--data-dir", dataDir]);
    const { id: id1 } = (await post(`${first.url}/subjects/${subject}/versions`, { schema: avro("V1") })) as { id: number };
    const { id: id2 } = (await post(`${first.url}/subjects/${subject}/versions`, { schema: avro("V2") })) as { id: number };
    await post(`${first.url}/subjects/${other}/versions`, { schema: avro("V1") });
    await fetch(`${first.url}/config/${subject}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ compatibility: "NONE" }),
    });
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    const second = await startCli(["--data-dir", dataDir]);
    expect(await getJson(`${second.url}/subjects`)).toEqual([other, subject].sort());
    expect(await getJson(`${second.url}/subjects/${subject}/versions`)).toEqual([1, 2]);
    expect(await getJson(`${second.url}/subjects/${subject}/versions/latest`)).toEqual({ subject, version: 2, id: id2, schema: avro("V2") });
    expect(await getJson(`${second.url}/schemas/ids/${id1}/versions`)).toEqual(
      expect.arrayContaining([{ subject, version: 1 }, { subject: other, version: 1 }]),
    );
    expect(await getJson(`${second.url}/config/${subject}`)).toEqual({ compatibilityLevel: "NONE" });
    // The same schema keeps its id; a new one gets an id never used before.
    expect(await post(`${second.url}/subjects/${subject}/versions`, { schema: avro("V1") })).toEqual({ id: id1 });
    const { id: id3 } = (await post(`${second.url}/subjects/${subject}/versions`, { schema: avro("V3") })) as { id: number };
    expect([id1, id2]).not.toContain(id3);
    second.child.kill("SIGKILL");
    await second.exited;

    // A line torn by a crash mid-write was never acknowledged: it is dropped, the rest is served.
    fs.appendFileSync(path.join(dataDir, "registry.jsonl"), '{"kind":"version","subj');
    const third = await startCli(["--data-dir", dataDir]);
    expect(await getJson(`${third.url}/subjects/${subject}/versions`)).toEqual([1, 2, 3]);
    const { id: id4 } = (await post(`${third.url}/subjects/${subject}/versions`, { schema: avro("V4") })) as { id: number };
    third.child.kill("SIGTERM");
    await third.exited;

    const fourth = await startCli(["--data-dir", dataDir]);
    expect(await getJson(`${fourth.url}/subjects/${subject}/versions/4`)).toMatchObject({ id: id4, schema: avro("V4") });
  });
});
