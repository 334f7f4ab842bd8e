import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import pg from "pg";

/**
 * One connection to Eventscope's database: a `pg` Pool (the bulk ingest path and hand-written
 * SQL) and a Prisma client running over the same pool through @prisma/adapter-pg (the typed
 * query layer). Prisma's own engines are never used: the adapter is what keeps it offline.
 */
export interface Database {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly prisma: PrismaClient;
  /** Ends the Prisma client and the pool (and the embedded server, when openDatabase started it). */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** Shown in pg_stat_activity. Default "eventscope". */
  applicationName?: string;
  /**
   * Errors of idle pooled connections (the server restarted, a network blip). Without a handler
   * pg would crash the process; the next query on a fresh connection reports the problem anyway.
   */
  onIdleError?: (error: Error) => void;
}

export function connectDatabase(url: string, options: ConnectOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? "eventscope",
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on("error", (error) => options.onIdleError?.(error));
  // pg-pool removes its own error listener from a client while it is checked out. A server
  // shutdown that reaches a checked-out client between two of its queries (ingest holds one for a
  // whole transaction) would then be an unhandled 'error' event and crash the process; the query
  // that follows on that client fails and reports it anyway.
  pool.on("connect", (client) => client.on("error", (error) => options.onIdleError?.(error)));
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool, { onPoolError: (error) => options.onIdleError?.(error) }),
  });
  let closed: Promise<void> | undefined;
  return {
    url,
    pool,
    prisma,
    close: () =>
      (closed ??= (async () => {
        await prisma.$disconnect().catch(() => {});
        await pool.end();
      })()),
  };
}
