import { connectDatabase, type ConnectOptions, type Database } from "./client.ts";
import { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from "./embedded.ts";
import { runMigrations } from "./migrate.ts";

export interface OpenDatabaseOptions extends ConnectOptions {
  /** DATABASE_URL (config.databaseUrl). Unset: start (or reuse) the embedded PostgreSQL. */
  url?: string;
  /** Options of the embedded server, when `url` is unset. */
  embedded?: EmbeddedPostgresOptions;
  /** Apply pending migrations first (default true): every process does, the runner serialises. */
  migrate?: boolean;
  log?: (line: string) => void;
}

export interface OpenedDatabase extends Database {
  /** The embedded server, when one was started or reused. */
  readonly embedded: EmbeddedPostgres | undefined;
}

/**
 * What every Eventscope process does at start: DATABASE_URL, or the embedded PostgreSQL under
 * .eventscope/ when it is unset; migrations; a pool with a Prisma client. close() also stops the
 * embedded server if this process started it.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  const embedded = options.url
    ? undefined
    : await startEmbeddedPostgres(options.embedded);
  const url = options.url ?? embedded!.url;
  try {
    if (options.migrate ?? true) await runMigrations(url, { log: options.log });
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  if (embedded?.owned) options.log?.(`embedded PostgreSQL on port ${embedded.port}, data in ${embedded.dataDir}`);
  const database = connectDatabase(url, options);
  return {
    ...database,
    embedded,
    close: async () => {
      await database.close();
      await embedded?.stop();
    },
  };
}

const SHARED = Symbol.for("eventscope.sharedDatabase");
type GlobalWithDatabase = typeof globalThis & { [SHARED]?: Promise<OpenedDatabase> };

/**
 * The process-wide database of the web server (route handlers, server components): opened on
 * first use from the configuration, kept on globalThis so Next's hot reload in development does
 * not open a new pool per edit. A failed open is not cached: the next call tries again.
 */
export function getSharedDatabase(open: () => Promise<OpenedDatabase>): Promise<OpenedDatabase> {
  const holder = globalThis as GlobalWithDatabase;
  const existing = holder[SHARED];
  if (existing) return existing;
  const opening = open().catch((error: unknown) => {
    delete holder[SHARED];
    throw error;
  });
  holder[SHARED] = opening;
  return opening;
}
