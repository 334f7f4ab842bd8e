import { z } from "zod";

/**
 * Reading a query string, for every API schema: what Next hands a page (searchParams) or a route
 * (URLSearchParams) as plain strings, blank fields as "no filter", and the paging parameters.
 */

/** What Next hands a page as searchParams, or a URL's query string. */
export type RawQuery = URLSearchParams | Record<string, string | string[] | undefined>;

/** A query string as a plain record, first value of a repeated parameter. */
export function queryRecord(query: RawQuery): Record<string, string> {
  const record: Record<string, string> = {};
  if (query instanceof URLSearchParams) {
    for (const [name, value] of query) if (!(name in record)) record[name] = value;
    return record;
  }
  for (const [name, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) record[name] = first;
  }
  return record;
}

/** Empty form fields arrive as "": they mean "no filter". */
export function blankToUndefined(value: unknown): unknown {
  return typeof value === "string" && value.trim() === "" ? undefined : value;
}

/** An optional free-text filter, trimmed. */
export function optionalText(label: string, max = 1000) {
  return z.preprocess(blankToUndefined, z.string().trim().max(max, `${label} is longer than ${max} characters`).optional());
}

/** An opaque keyset cursor as the queries hand them out (base64url). */
export const cursorSchema = z.preprocess(
  blankToUndefined,
  z
    .string()
    .max(2048, "is malformed (pass nextCursor as it was returned)")
    .regex(/^[A-Za-z0-9_-]+$/, "is malformed (pass nextCursor as it was returned)")
    .optional(),
);

/** `limit`: a whole number within 1..max, or absent (the query's default). */
export function limitSchema(max: number) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^\d+$/, `must be a whole number from 1 to ${max}`)
      .transform(Number)
      .refine((n) => n >= 1 && n <= max, `must be a whole number from 1 to ${max}`)
      .optional(),
  );
}

/**
 * `?source=<name>` on every route and page that names a topic, group or event: which source
 * (cluster) it is on. Absent or blank: the one source that has it (server/db resolveSourceOf, which
 * answers 422 naming the sources when several have it, and 422 naming the known sources for an
 * unknown name).
 */
export const sourceParamSchema = z.preprocess(
  blankToUndefined,
  z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/, "a source name is lowercase letters, digits and dashes, 1-40")
    .optional(),
);

/** The `source` parameter of a query string, checked (see sourceParamSchema). */
export function sourceParam(query: RawQuery): string | undefined {
  return z.object({ source: sourceParamSchema }).parse(queryRecord(query)).source;
}
