/**
 * Database errors that say whether trying again can help, in the spirit of kafkajs's
 * retriable / non-retriable split. The collector pauses and retries with backoff on a retriable
 * error (the server is down, restarting, or out of connections) and never skips the batch.
 */
export class DatabaseError extends Error {
  /** True when the same operation may succeed later without any change (outage, restart). */
  readonly retriable: boolean;
  /** PostgreSQL SQLSTATE or Node's socket error code, when there is one. */
  readonly code: string | undefined;

  constructor(message: string, options: { retriable: boolean; code?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "DatabaseError";
    this.retriable = options.retriable;
    this.code = options.code;
  }
}

/**
 * Node socket errors and PostgreSQL SQLSTATEs after which a retry can help.
 * SQLSTATE classes: 08 connection exception, 53 insufficient resources (too many connections,
 * disk full, out of memory), 57P01..57P03 admin shutdown / crash shutdown / cannot connect now,
 * 40001 serialization failure, 40P01 deadlock detected, 55P03 lock not available.
 */
const RETRIABLE_NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
const RETRIABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "40001", "40P01", "55P03"]);

/** Messages pg and the Prisma adapter use for a connection that went away without a code. */
const RETRIABLE_MESSAGES = [
  /connection terminated/i,
  /connection (?:was )?closed/i,
  /terminating connection/i,
  /timeout exceeded when trying to connect/i,
  /cannot use a pool after calling end/i,
  /the database system is (?:starting up|shutting down|in recovery mode)/i,
  /can't reach database server/i,
];

function stringProperty(value: unknown, key: string): string | undefined {
  if (typeof value === "object" && value !== null && key in value) {
    const property = (value as Record<string, unknown>)[key];
    return typeof property === "string" ? property : undefined;
  }
  return undefined;
}

export function isRetriableSqlState(code: string): boolean {
  return code.startsWith("08") || code.startsWith("53") || RETRIABLE_SQLSTATES.has(code);
}

/** Whether an error thrown by pg or Prisma (or a DatabaseError) is worth retrying. */
export function isRetriableDatabaseError(error: unknown): boolean {
  if (error instanceof DatabaseError) return error.retriable;
  if (error instanceof AggregateError) return error.errors.some(isRetriableDatabaseError);
  const code = stringProperty(error, "code");
  if (code !== undefined) {
    if (RETRIABLE_NODE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && isRetriableSqlState(code)) return true;
  }
  // Prisma's driver adapter wraps the pg error: { cause: { originalCode, kind } } or a nested cause.
  const originalCode = stringProperty(error, "originalCode");
  if (originalCode !== undefined && isRetriableSqlState(originalCode)) return true;
  const message = error instanceof Error ? error.message : stringProperty(error, "message");
  if (message !== undefined && RETRIABLE_MESSAGES.some((pattern) => pattern.test(message))) {
    return true;
  }
  const cause = error instanceof Error ? error.cause : undefined;
  return cause !== undefined && cause !== error && isRetriableDatabaseError(cause);
}

/** Wraps anything thrown by the database layer into a DatabaseError (kept as is when it is one). */
export function toDatabaseError(error: unknown, context: string): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const code = stringProperty(error, "code");
  const detail = error instanceof Error ? error.message : String(error);
  return new DatabaseError(`${context}: ${detail || code || "unknown error"}`, {
    retriable: isRetriableDatabaseError(error),
    code,
    cause: error,
  });
}
