import pg from "pg";
import { toDatabaseError } from "./errors.ts";

/**
 * The admin poller's lock: one collector instance polls a source's admin API at a time, however
 * many run (two pollers would only double the samples and the load on the cluster).
 *
 * A PostgreSQL session-level advisory lock, held on a connection of its own, outside the pool:
 * it lives exactly as long as that session, so a holder that crashes or loses its database
 * releases it by itself and another instance takes over at its next try. Not a pool connection,
 * because `pool.end()` waits for checked-out clients and a held lock would hang the shutdown.
 */

/**
 * Key of a source's advisory lock: "poller" in ASCII (distinct from migrate.ts's) shifted left
 * 16 bits, plus the source id (a smallint), so each source has its own poller and the key stays
 * within PostgreSQL's bigint.
 */
export function pollerLockKey(sourceId: number): bigint {
  return (0x706f6c6c6572n << 16n) | BigInt(sourceId & 0xffff);
}

export interface PollerLock {
  /** False once the lock's session failed (server restart, network): the lock is gone with it. */
  readonly held: boolean;
  /** Checks the session with a round trip; false (and `held` false) when it is gone. */
  verify(): Promise<boolean>;
  /** Unlocks and closes the session. Safe to call twice or after the session failed. */
  release(): Promise<void>;
}

/**
 * Takes the poller lock if no other session holds it: the lock, or null when another instance
 * holds it. Throws a DatabaseError when the database cannot be reached.
 */
export async function tryAcquirePollerLock(db: { url: string }, sourceId: number): Promise<PollerLock | null> {
  const key = pollerLockKey(sourceId).toString();
  const client = new pg.Client({
    connectionString: db.url,
    application_name: "eventscope-poller-lock",
    connectionTimeoutMillis: 10_000,
  });
  let held = false;
  // Without a listener, an error on this idle connection (server gone) would crash the process.
  client.on("error", () => {
    held = false;
  });
  try {
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [key]);
    held = rows[0]?.locked === true;
  } catch (error) {
    await client.end().catch(() => {});
    throw toDatabaseError(error, "taking the admin poller lock");
  }
  if (!held) {
    await client.end().catch(() => {});
    return null;
  }
  let released: Promise<void> | undefined;
  return {
    get held() {
      return held;
    },
    async verify() {
      if (!held) return false;
      try {
        await client.query("SELECT 1");
      } catch {
        held = false;
      }
      return held;
    },
    release: () =>
      (released ??= (async () => {
        // Closing the session releases a session-level lock; the explicit unlock is for clarity
        // in pg_locks when the connection lingers a moment.
        if (held) await client.query("SELECT pg_advisory_unlock($1)", [key]).catch(() => {});
        held = false;
        await client.end().catch(() => {});
      })()),
  };
}
