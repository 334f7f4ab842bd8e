/**
 * Masking of sensitive fields (EVENTSCOPE_MASK_FIELDS, e.g. `cardNumber,email,customer.phone`):
 * wherever message content leaves the database layer, a JSON field whose name is listed, at any
 * depth, and a field at a listed dotted path, has its value replaced by MASKED; so does a header
 * whose key is listed. Pure: server/db/queries applies it; the browser never sees the originals.
 *
 * Matching errs on the side of hiding:
 * - a plain name (`email`) matches an object key of that name anywhere (inside arrays too);
 * - a dotted path (`customer.email`) matches where the keys leading to a value end with those
 *   segments (`{customer: {email}}` and `{order: {customer: {email}}}`; array levels do not count),
 *   and also a key spelt `customer.email` literally;
 * - header keys match names case-insensitively (Kafka's are case-sensitive, but `Email` and
 *   `email` are the same secret).
 */

export const MASKED = "***";

export interface MaskRules {
  /** Every listed entry, as a key that matches wherever it appears. */
  readonly names: ReadonlySet<string>;
  /** Listed entries with a dot, split into segments. */
  readonly paths: readonly (readonly string[])[];
  /** Lower-cased entries, for header keys. */
  readonly headerNames: ReadonlySet<string>;
}

export const NO_MASK: MaskRules = { names: new Set(), paths: [], headerNames: new Set() };

export function compileMaskRules(fields: readonly string[]): MaskRules {
  const entries = fields.map((field) => field.trim()).filter((field) => field !== "");
  if (entries.length === 0) return NO_MASK;
  return {
    names: new Set(entries),
    paths: entries.filter((entry) => entry.includes(".")).map((entry) => entry.split(".")),
    headerNames: new Set(entries.map((entry) => entry.toLowerCase())),
  };
}

export function isMasking(rules: MaskRules): boolean {
  return rules.names.size > 0;
}

/** Whether the value reached through these object keys (root first) is masked. */
export function isMaskedPath(path: readonly string[], rules: MaskRules): boolean {
  const last = path.at(-1);
  if (last === undefined) return false;
  if (rules.names.has(last)) return true;
  return rules.paths.some(
    (segments) => segments.length <= path.length && segments.every((segment, j) => path[path.length - segments.length + j] === segment),
  );
}

/**
 * The entity fields (EVENTSCOPE_ENTITY_FIELDS) whose values masking hides, at least somewhere:
 * an entity key is shown in every list and in the timeline's address, so such a field would show
 * the masked value. A plain name (matched at any depth) conflicts with a listed name or a dotted
 * path ending in it; a dotted path (from the root; numeric segments index arrays, which masking
 * does not count) conflicts when its field or any field above it is masked.
 */
export function maskedEntityFields(entityFields: readonly string[], rules: MaskRules): string[] {
  return entityFields.filter((field) => {
    const segments = field.split(".");
    if (segments.length === 1) return rules.names.has(field) || rules.paths.some((path) => path.at(-1) === field);
    const keys = segments.filter((segment) => !/^\d+$/.test(segment));
    return keys.some((_, i) => isMaskedPath(keys.slice(0, i + 1), rules)) || rules.names.has(field);
  });
}

/**
 * A parsed JSON value with the masked fields replaced. Returns the very same value (===) when
 * nothing was masked, so callers can tell whether exact bytes may still be shown.
 */
export function maskJson(value: unknown, rules: MaskRules): unknown {
  if (!isMasking(rules)) return value;
  return maskAt(value, [], rules);
}

function maskAt(value: unknown, path: string[], rules: MaskRules): unknown {
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item: unknown) => {
      const masked = maskAt(item, path, rules);
      if (masked !== item) changed = true;
      return masked;
    });
    return changed ? items : value;
  }
  if (typeof value !== "object" || value === null) return value;
  let changed = false;
  const entries = Object.entries(value).map(([key, item]): [string, unknown] => {
    const childPath = [...path, key];
    const masked = isMaskedPath(childPath, rules) ? MASKED : maskAt(item, childPath, rules);
    if (masked !== item) changed = true;
    return [key, masked];
  });
  return changed ? Object.fromEntries(entries) : value;
}

/**
 * JSON text, possibly cut short (a preview of the first N characters), with the masked fields'
 * values replaced by "***". Nothing of a masked value survives, not even its first characters
 * when the text ends inside it.
 *
 * The text is read by a strict JSON tokenizer (RFC 8259's grammar: strings with their escapes,
 * numbers, literals, and the structure between them), never by guessing where a value ends. It
 * fails closed: where the text stops being JSON (a stray character, a bad escape, a trailing
 * comma, anything after the top-level value), the output stops, so nothing after that point is
 * shown unmasked. Being cut short is not an error: a prefix of JSON is masked as the whole would
 * be, up to the cut. It keeps no call stack per level, so any depth of nesting is fine.
 */
export function maskJsonText(text: string, rules: MaskRules): string {
  if (!isMasking(rules)) return text;
  const n = text.length;
  const stack: Frame[] = [];
  let top: "value" | "done" = "value";
  let out = "";
  let i = 0;
  /** The stack depth at which a masked value started: while set, nothing is written. */
  let maskedAt: number | null = null;
  const emit = (part: string) => {
    if (maskedAt === null) out += part;
  };
  /** After a whole value: a masked one is written as "***" once it is over. */
  const valueDone = () => {
    if (maskedAt === stack.length) {
      maskedAt = null;
      out += MASKED_JSON;
    }
  };
  /** The text ended inside a token. */
  let cut = false;
  /** Reads the value that starts at i; false when there is none (not JSON). */
  const value = (path: readonly string[]): boolean => {
    const c = text[i];
    const container = c === "{" || c === "[";
    const end = container ? undefined : c === '"' ? scanString(text, i) : c === "-" || (c !== undefined && c >= "0" && c <= "9") ? scanNumber(text, i) : scanLiteral(text, i);
    if (end === null) return false;
    if (maskedAt === null && path.length > 0 && isMaskedPath(path, rules)) maskedAt = stack.length;
    if (end === undefined) {
      emit(c!);
      i++;
      stack.push({ kind: c === "{" ? "object" : "array", path, expect: "first" });
      return true;
    }
    emit(text.slice(i, end.end));
    i = end.end;
    if (!end.complete) cut = true;
    else valueDone();
    return true;
  };

  let ok = true;
  while (ok && !cut) {
    while (i < n && isJsonWhitespace(text[i]!)) emit(text[i++]!);
    if (i >= n) break;
    const frame = stack.at(-1);
    const c = text[i]!;
    if (frame === undefined) {
      if (top === "done") ok = false;
      else {
        top = "done";
        ok = value([]);
      }
      continue;
    }
    if (frame.expect === "comma-or-end" || frame.expect === "first") {
      const close = frame.kind === "object" ? "}" : "]";
      if (c === close) {
        emit(c);
        i++;
        stack.pop();
        valueDone();
        continue;
      }
      if (frame.expect === "comma-or-end") {
        if (c !== ",") {
          ok = false;
          continue;
        }
        emit(c);
        i++;
        frame.expect = "next";
        continue;
      }
      frame.expect = "next";
    }
    if (frame.kind === "array") {
      // expect === "next": a value.
      frame.expect = "comma-or-end";
      ok = value(frame.path);
      continue;
    }
    if (frame.expect === "next") {
      if (c !== '"') {
        ok = false;
        continue;
      }
      const end = scanString(text, i);
      if (end === null) {
        ok = false;
        continue;
      }
      emit(text.slice(i, end.end));
      if (!end.complete) {
        cut = true;
        continue;
      }
      frame.key = JSON.parse(text.slice(i, end.end)) as string;
      i = end.end;
      frame.expect = "colon";
      continue;
    }
    if (frame.expect === "colon") {
      if (c !== ":") {
        ok = false;
        continue;
      }
      emit(c);
      i++;
      frame.expect = "value";
      continue;
    }
    // expect === "value"
    frame.expect = "comma-or-end";
    ok = value([...frame.path, frame.key ?? ""]);
  }
  // Cut short or broken inside a masked value: "***" stands for all of it.
  if (maskedAt !== null) out += MASKED_JSON;
  return out;
}

const MASKED_JSON = JSON.stringify(MASKED);

interface Frame {
  kind: "object" | "array";
  /** The object keys leading here (array levels do not count). */
  path: readonly string[];
  /**
   * first: just opened; next: a member (object: its key) after a comma; colon / value: inside an
   * object member; comma-or-end: after a member.
   */
  expect: "first" | "next" | "colon" | "value" | "comma-or-end";
  key?: string;
}

function isJsonWhitespace(c: string): boolean {
  return c === " " || c === "\n" || c === "\r" || c === "\t";
}

/** Where a token that starts at i ends; `complete: false` when the text ends inside it; null: not JSON. */
type TokenEnd = { end: number; complete: boolean } | null;

const ESCAPED = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);

function scanString(text: string, start: number): TokenEnd {
  const n = text.length;
  let j = start + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return { end: j + 1, complete: true };
    if (c < 0x20) return null;
    if (c !== 0x5c) {
      j++;
      continue;
    }
    const escaped = text[j + 1];
    if (escaped === undefined) return { end: n, complete: false };
    if (ESCAPED.has(escaped)) j += 2;
    else if (escaped === "u") {
      const hex = text.slice(j + 2, j + 6);
      if (!/^[0-9a-fA-F]*$/.test(hex)) return null;
      if (hex.length < 4) return { end: n, complete: false };
      j += 6;
    } else return null;
  }
  return { end: n, complete: false };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** What a number cut short may look like (it reaches the end of the text). */
const NUMBER_PREFIX = /-?\d*(?:\.\d*)?(?:[eE][+-]?\d*)?/y;

function scanNumber(text: string, start: number): TokenEnd {
  NUMBER_PREFIX.lastIndex = start;
  if (NUMBER_PREFIX.exec(text) !== null && NUMBER_PREFIX.lastIndex === text.length) {
    NUMBER.lastIndex = start;
    const whole = NUMBER.exec(text) !== null && NUMBER.lastIndex === text.length;
    return { end: text.length, complete: whole };
  }
  NUMBER.lastIndex = start;
  if (NUMBER.exec(text) === null) return null;
  return { end: NUMBER.lastIndex, complete: true };
}

function scanLiteral(text: string, start: number): TokenEnd {
  for (const literal of ["true", "false", "null"]) {
    if (text.startsWith(literal, start)) return { end: start + literal.length, complete: true };
    const rest = text.slice(start);
    if (rest.length > 0 && literal.startsWith(rest)) return { end: text.length, complete: false };
  }
  return null;
}

/**
 * A value stored as text (not JSON, or too large to be parsed whole) as it may be shown: when it
 * looks like JSON (its first character, after white space, is `{` or `[`), it is masked as JSON
 * text, and shown only as far as it is JSON; any other text has no fields and is kept.
 */
export function maskValueText(text: string, rules: MaskRules): string {
  if (!isMasking(rules)) return text;
  const bom = text.startsWith("\uFEFF") ? "\uFEFF" : "";
  const body = text.slice(bom.length);
  const first = body.trimStart()[0];
  return first === "{" || first === "[" ? bom + maskJsonText(body, rules) : text;
}

/** A header as stored: value as UTF-8 text or base64 (encoding), null for a header without value. */
export interface MaskableHeader {
  key: string;
  value: string | null;
  encoding?: string;
}

/** Whether a header's value is masked (its key is listed, in any case). */
export function isMaskedHeader(key: string, rules: MaskRules): boolean {
  return rules.headerNames.has(key.toLowerCase());
}

/** Headers with the listed keys' values replaced (as UTF-8 "***"). Same array when none matched. */
export function maskHeaders<H extends MaskableHeader>(headers: readonly H[], rules: MaskRules): readonly H[] {
  if (!isMasking(rules) || !headers.some((h) => isMaskedHeader(h.key, rules))) return headers;
  return headers.map((header) =>
    isMaskedHeader(header.key, rules) && header.value !== null
      ? { ...header, value: MASKED, ...(header.encoding === undefined ? {} : { encoding: "utf8" }) }
      : header,
  );
}

/**
 * A replay's recorded edits (`{ value?: { before, after }, headers?: { removed, added } }`, as
 * server/replay writes them into the replay and the audit log) with the masked fields and headers
 * replaced. The value texts are masked as maskValueText does; anything else passes unchanged. Same object
 * when nothing was masked.
 */
export function maskReplayEdits(edits: unknown, rules: MaskRules): unknown {
  if (!isMasking(rules) || !isRecord(edits)) return edits;
  const out: Record<string, unknown> = { ...edits };
  let changed = false;
  if (isRecord(edits.value)) {
    const value = { ...edits.value };
    for (const side of ["before", "after"] as const) {
      const text = value[side];
      if (typeof text === "string") {
        const masked = maskValueText(text, rules);
        if (masked !== text) {
          value[side] = masked;
          changed = true;
        }
      }
    }
    out.value = value;
  }
  if (isRecord(edits.headers)) {
    const headers = { ...edits.headers };
    for (const side of ["removed", "added"] as const) {
      const list = headers[side];
      if (Array.isArray(list) && list.every(isMaskableHeader)) {
        const masked = maskHeaders(list, rules);
        if (masked !== list) {
          headers[side] = masked;
          changed = true;
        }
      }
    }
    out.headers = headers;
  }
  return changed ? out : edits;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMaskableHeader(value: unknown): value is MaskableHeader {
  return isRecord(value) && typeof value.key === "string" && (value.value === null || typeof value.value === "string");
}
