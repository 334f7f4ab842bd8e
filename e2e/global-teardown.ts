import { stopLauncher } from "./support/launcher.ts";

/** Stops the demo stack of the global set-up and removes its data (nothing when E2E_BASE_URL was given). */
export default async function globalTeardown(): Promise<void> {
  await stopLauncher();
}
