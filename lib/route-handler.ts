import { ZodError } from "zod";
import { NotFoundError, TooManyRequestsError, UnauthorizedError, ValidationError } from "./errors.ts";

/**
 * The one place where route handlers' errors become HTTP answers (STYLE.md, "Layout"):
 * validation → 422, not found → 404, unauthorized → 401, too many attempts → 429 with
 * Retry-After, anything else → 500 with an id that is
 * logged with the error, so a user can quote it and the log has the details the response
 * withholds. A route handler is then `export const GET = withErrorMapping(async (request) => …)`.
 */

export interface ErrorBody {
  error: "validation" | "not-found" | "unauthorized" | "too-many-requests" | "internal";
  message: string;
  /** validation: which input was wrong. */
  field?: string;
  /** validation from a zod schema: every issue. */
  issues?: { path: string; message: string }[];
  /** internal: the id under which the error was logged. */
  id?: string;
}

export interface ErrorMappingOptions {
  /** Where 500s are logged. Default console.error. */
  log?: (line: string) => void;
}

function json(status: number, body: ErrorBody, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });
}

/**
 * `instanceof` first; the name as a fallback, for an error class loaded twice (two bundles of the
 * same module), which would otherwise turn a 404 into a 500.
 */
function is<T extends Error>(error: unknown, type: new (...args: never[]) => T, name: string): error is T {
  return error instanceof type || (error instanceof Error && error.name === name);
}

/** The response an error deserves; logs the unexpected ones. */
export function errorResponse(error: unknown, request: Request, options: ErrorMappingOptions = {}): Response {
  if (is(error, ValidationError, "ValidationError")) {
    return json(422, { error: "validation", message: error.message, ...(error.field ? { field: error.field } : {}) });
  }
  if (error instanceof ZodError) {
    const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
    const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
    return json(422, { error: "validation", message, issues });
  }
  if (is(error, NotFoundError, "NotFoundError")) return json(404, { error: "not-found", message: error.message });
  if (is(error, UnauthorizedError, "UnauthorizedError")) {
    return json(401, { error: "unauthorized", message: error.message }, { "www-authenticate": 'Bearer realm="eventscope"' });
  }
  if (is(error, TooManyRequestsError, "TooManyRequestsError")) {
    const seconds = Math.max(1, Math.ceil(error.retryAfterSeconds));
    return json(429, { error: "too-many-requests", message: error.message }, { "retry-after": String(seconds) });
  }
  const id = crypto.randomUUID();
  const log = options.log ?? ((line: string) => console.error(line));
  let path = request.url;
  try {
    path = new URL(request.url).pathname;
  } catch {
    // Keep the raw URL.
  }
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  log(`error ${id}: ${request.method} ${path} failed: ${detail}`);
  return json(500, { error: "internal", message: `internal error (reference ${id})`, id });
}

/** Wraps a route handler so that whatever it throws is answered by errorResponse. */
export function withErrorMapping<Context>(
  handler: (request: Request, context: Context) => Response | Promise<Response>,
  options: ErrorMappingOptions = {},
): (request: Request, context: Context) => Promise<Response> {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      return errorResponse(error, request, options);
    }
  };
}
