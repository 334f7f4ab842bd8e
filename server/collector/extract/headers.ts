import { decodeText, toBuffer } from "./bytes.ts";
import type { RawHeaderValue } from "./types.ts";

/** One header as stored: repeated keys stay separate entries, in record order. */
export interface HeaderEntry {
  key: string;
  /** null for a header whose value is null on the wire. */
  value: Buffer | null;
  /** The value as text when it is UTF-8 without NUL (see decodeText), else null. */
  text: string | null;
}

/**
 * Header entries by lower-cased key, each list in record order. Lookups ignore case because
 * senders disagree on it (`Content-Type` vs `content-type`); stored entries keep their own case.
 */
export type HeaderIndex = ReadonlyMap<string, readonly HeaderEntry[]>;

/**
 * kafkajs's header object as an ordered list. A repeated key arrives as an array and is expanded
 * in place, in order. Keys keep the order of the object kafkajs built, which is the order of each
 * key's first occurrence (JavaScript objects do put integer-like keys first; kafkajs loses the
 * interleaving of different keys before we see it).
 */
export function flattenHeaders(
  raw: Record<string, RawHeaderValue | RawHeaderValue[]> | null | undefined,
): HeaderEntry[] {
  const entries: HeaderEntry[] = [];
  if (raw === null || typeof raw !== "object") return entries;
  for (const [key, value] of Object.entries(raw)) {
    const values: readonly unknown[] = Array.isArray(value) ? value : [value];
    for (const one of values) {
      const bytes = toBuffer(one);
      entries.push({ key, value: bytes, text: bytes === null ? null : decodeText(bytes) });
    }
  }
  return entries;
}

export function indexHeaders(entries: readonly HeaderEntry[]): HeaderIndex {
  const index = new Map<string, HeaderEntry[]>();
  for (const entry of entries) {
    const name = entry.key.toLowerCase();
    const list = index.get(name);
    if (list === undefined) index.set(name, [entry]);
    else list.push(entry);
  }
  return index;
}

const NONE: readonly HeaderEntry[] = [];

export function headerEntries(index: HeaderIndex, name: string): readonly HeaderEntry[] {
  return index.get(name.toLowerCase()) ?? NONE;
}

export function hasHeader(index: HeaderIndex, name: string): boolean {
  return index.has(name.toLowerCase());
}

/**
 * The text of the last occurrence that has non-empty text. Last, because a header written again
 * later (a second hop, a re-publish) describes the message as it is now.
 */
export function lastHeaderText(index: HeaderIndex, name: string): string | null {
  const entries = headerEntries(index, name);
  for (let i = entries.length - 1; i >= 0; i--) {
    const text = entries[i]!.text;
    if (text !== null && text !== "") return text;
  }
  return null;
}
