import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { findFreePort } from "../../scripts/support/ports.ts";
import { startRabbitNode, type RabbitNode } from "./node.ts";

/**
 * For tests and benchmarks: a RabbitMQ node on free ports in a fresh temporary directory, and a
 * way to see that nothing of it is left once it is stopped.
 */

export async function startTestRabbitNode(): Promise<{ node: RabbitNode; removeDataDir: () => void }> {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-rabbitmq-"));
  const removeDataDir = () => fs.rmSync(parent, { recursive: true, force: true });
  try {
    const node = await startRabbitNode({
      dataDir: path.join(parent, "data"),
      amqpPort: await findFreePort(),
      managementPort: await findFreePort(),
    });
    return { node, removeDataDir };
  } catch (error) {
    removeDataDir();
    throw error;
  }
}

/** The pid and command line of every process that belongs to `node`: its VM, its epmd. */
export function processesOf(node: RabbitNode): string[] {
  return processesMatching(node.nodeName.split("@")[0]!, node.pid, node.epmdPort);
}

/** Processes whose command line names `shortName` (a node's VM), or is `pid`, or the epmd on `epmdPort`. */
export function processesMatching(shortName: string, pid?: number, epmdPort?: number): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      continue; // Gone meanwhile.
    }
    const isNode = Number(entry) === pid || cmdline.includes(shortName);
    const isEpmd = epmdPort !== undefined && /\bepmd\b/.test(cmdline) && cmdline.includes(`-port ${epmdPort}`);
    if (isNode || isEpmd) found.push(`${entry}: ${cmdline.trim()}`);
  }
  return found;
}

/** GET on the management API as guest; the parsed JSON body. */
export async function managementGet(node: RabbitNode, apiPath: string): Promise<unknown> {
  const response = await fetch(`${node.managementUrl}${apiPath}`, {
    headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
  });
  if (!response.ok) throw new Error(`GET ${apiPath}: HTTP ${response.status}`);
  return response.json();
}
