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
 * when the text ends inside it. Text that is not JSON from some point on is kept from there as
 * it is (the caller only passes text stored as JSON).
 */
export function maskJsonText(text: string, rules: MaskRules): string {
  if (!isMasking(rules)) return text;
  const n = text.length;
  let i = 0;
  let out = "";

  const whitespace = () => {
    const start = i;
    while (i < n && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++;
    out += text.slice(start, i);
  };
  const skipString = () => {
    i++; // the opening quote
    while (i < n) {
      const c = text[i];
      if (c === "\\") i += 2;
      else if (c === '"') {
        i++;
        return;
      } else i++;
    }
    i = n;
  };
  const skipValue = () => {
    const c = text[i];
    if (c === '"') return skipString();
    if (c === "{" || c === "[") {
      let depth = 0;
      while (i < n) {
        const ch = text[i];
        if (ch === '"') {
          skipString();
          continue;
        }
        if (ch === "{" || ch === "[") depth++;
        else if (ch === "}" || ch === "]") {
          depth--;
          if (depth === 0) {
            i++;
            return;
          }
        }
        i++;
      }
      return;
    }
    while (i < n && !",}] \n\r\t".includes(text[i]!)) i++;
  };
  const copyRest = () => {
    out += text.slice(i);
    i = n;
  };
  const copyValue = (path: string[]) => {
    const c = text[i];
    if (c === "{") {
      out += "{";
      i++;
      object(path);
    } else if (c === "[") {
      out += "[";
      i++;
      array(path);
    } else {
      const start = i;
      skipValue();
      out += text.slice(start, i);
    }
  };
  const object = (path: string[]) => {
    while (i < n) {
      whitespace();
      if (i >= n) return;
      const c = text[i];
      if (c === "}") {
        out += "}";
        i++;
        return;
      }
      if (c === ",") {
        out += ",";
        i++;
        continue;
      }
      if (c !== '"') return copyRest();
      const start = i;
      skipString();
      const rawKey = text.slice(start, i);
      out += rawKey;
      let key: string | null = null;
      try {
        key = JSON.parse(rawKey) as string;
      } catch {
        // Cut short inside the key: nothing follows.
      }
      whitespace();
      if (i >= n) return;
      if (text[i] !== ":") return copyRest();
      out += ":";
      i++;
      whitespace();
      if (i >= n) return;
      const childPath = key === null ? path : [...path, key];
      if (key !== null && isMaskedPath(childPath, rules)) {
        skipValue();
        out += JSON.stringify(MASKED);
      } else {
        copyValue(childPath);
      }
    }
  };
  const array = (path: string[]) => {
    while (i < n) {
      whitespace();
      if (i >= n) return;
      const c = text[i];
      if (c === "]") {
        out += "]";
        i++;
        return;
      }
      if (c === ",") {
        out += ",";
        i++;
        continue;
      }
      copyValue(path);
    }
  };

  whitespace();
  if (i < n) copyValue([]);
  out += text.slice(i);
  return out;
}

/** A header as stored: value as UTF-8 text or base64 (encoding), null for a header without value. */
export interface MaskableHeader {
  key: string;
  value: string | null;
  encoding?: string;
}

/** Headers with the listed keys' values replaced (as UTF-8 "***"). Same array when none matched. */
export function maskHeaders<H extends MaskableHeader>(headers: readonly H[], rules: MaskRules): readonly H[] {
  if (!isMasking(rules) || !headers.some((h) => rules.headerNames.has(h.key.toLowerCase()))) return headers;
  return headers.map((header) =>
    rules.headerNames.has(header.key.toLowerCase()) && header.value !== null
      ? { ...header, value: MASKED, ...(header.encoding === undefined ? {} : { encoding: "utf8" }) }
      : header,
  );
}

/**
 * A replay's recorded edits (`{ value?: { before, after }, headers?: { removed, added } }`, as
 * server/replay writes them into the replay and the audit log) with the masked fields and headers
 * replaced. The value texts are masked as JSON text; anything else passes unchanged. Same object
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
        const masked = maskJsonText(text, rules);
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
