/**
 * Errors that say which HTTP answer they deserve. Thrown by server code (queries, services) and
 * mapped in one place, lib/route-handler.ts; pure, so pages and the browser can use them too.
 */

/** The request is malformed (bad parameter, cursor, range): 422, with the message shown. */
export class ValidationError extends Error {
  /** Which input was wrong, e.g. "cursor" or "limit". */
  readonly field: string | undefined;

  constructor(message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ValidationError";
    this.field = options.field;
  }
}

/** What was asked for does not exist (an unknown event, group, dead letter): 404. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** Too many attempts (failed sign-ins from one address): 429, with Retry-After. A retry helps, later. */
export class TooManyRequestsError extends Error {
  /** Whole seconds until an attempt may succeed again. */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = "TooManyRequestsError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** No or wrong credentials for something that needs them: 401. */
export class UnauthorizedError extends Error {
  constructor(message = "authentication required") {
    super(message);
    this.name = "UnauthorizedError";
  }
}
