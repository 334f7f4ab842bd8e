import fs from "node:fs";
import { STACK_ENV } from "./stack.ts";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the stack the global set-up started (if it did): SIGINT to the launcher, which stops its
 * parts in order; SIGKILL after a minute. Then removes the temporary data directory.
 */
export async function stopLauncher(): Promise<void> {
  const pid = Number(process.env[STACK_ENV.launcherPid] ?? "0");
  const tempDir = process.env[STACK_ENV.tempDir];
  if (pid > 0 && isAlive(pid)) {
    process.kill(pid, "SIGINT");
    const deadline = Date.now() + 60_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }
  delete process.env[STACK_ENV.launcherPid];
  if (tempDir) {
    fs.rmSync(tempDir, { recursive: true, force: true });
    delete process.env[STACK_ENV.tempDir];
  }
}
