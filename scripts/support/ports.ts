import net from "node:net";

/** Whether nothing listens on host:port (we can bind it, and let go of it at once). */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

const handedOut = new Set<number>();

/**
 * A port that nothing listens on right now (for tests), below Linux's ephemeral range
 * (32768–60999): a port from that range can be taken at any moment as the local end of an
 * outgoing connection, which matters for a server that binds it minutes later (after a build).
 */
export async function findFreePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    // A port handed out before is not bound yet, maybe: never twice in one process (five ports
    // for one RabbitMQ node drew the same one).
    if (handedOut.has(port)) continue;
    if (await isPortFree(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("could not find a free port between 20000 and 32000");
}

/** Polls `condition` every `intervalMs` until it returns a value other than undefined, or throws at the deadline. */
export async function pollUntil<T>(
  what: string,
  condition: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
