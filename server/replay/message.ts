import { isDeadLetterHeader, REPLAY_ID_HEADER, REPLAY_OF_HEADER } from "../../lib/dead-letter-conventions.ts";
import { ValidationError } from "../../lib/errors.ts";

/**
 * What a replay sends: the dead letter's original key, value and headers, minus every
 * convention's dead-letter headers (and an earlier replay's markers), plus x-replay-of and
 * x-replay-id; or the user's edits of the value and headers.
 */

export { isDeadLetterHeader, REPLAY_ID_HEADER, REPLAY_OF_HEADER };

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface OutgoingMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** A header as a user edits it: text, or null for a null value. */
export interface EditableHeader {
  key: string;
  value: string | null;
}

/** An edit of a Schema Registry value, encoded again under its schema id (reencode.ts). */
export interface ReencodedValue {
  schemaId: number;
  /** The wire format: byte 0, the id, the payload. */
  bytes: Buffer;
  /** The decoded value and the edit, as JSON text: what the audit records. */
  before: string;
  after: string;
}

export interface ReplayEdits {
  /** The new value as UTF-8 text; null sends a tombstone. */
  value?: string | null;
  /** Instead of `value`: an edit of a Schema Registry value, re-encoded. */
  reencoded?: ReencodedValue;
  /** The complete header list to send (before x-replay-of/x-replay-id are added). */
  headers?: EditableHeader[];
}

/** The headers a replay would keep from the stored ones, in record order. */
export function replayableHeaders(headers: readonly RecordHeader[]): RecordHeader[] {
  return headers.filter((h) => !isDeadLetterHeader(h.key));
}

/** A header value shown as text where it is valid UTF-8 (else base64, marked). */
export function headerText(value: Buffer | null): string | null {
  if (value === null) return null;
  const text = value.toString("utf8");
  return Buffer.from(text, "utf8").equals(value) ? text : `base64:${value.toString("base64")}`;
}

function headerBytes(value: string | null): Buffer | null {
  if (value === null) return null;
  return value.startsWith("base64:") ? Buffer.from(value.slice(7), "base64") : Buffer.from(value, "utf8");
}

export interface BuiltReplay {
  message: OutgoingMessage;
  /** What the user changed, for the audit; null when sent as stored. */
  diff: Record<string, unknown> | null;
}

/** The message of a replay; `diff` records what edits changed compared with the stored record. */
export function buildReplayMessage(
  stored: OutgoingMessage,
  marks: { replayId: string; replayOf: string },
  edits: ReplayEdits = {},
): BuiltReplay {
  const kept = replayableHeaders(stored.headers);
  const diff: Record<string, unknown> = {};
  let value = stored.value;
  if (edits.reencoded !== undefined) {
    const { before, after, schemaId, bytes } = edits.reencoded;
    diff.value = { before, after, schemaId };
    value = bytes;
  } else if (edits.value !== undefined) {
    const edited = edits.value === null ? null : Buffer.from(edits.value, "utf8");
    const same = edited === null ? value === null : value !== null && edited.equals(value);
    if (!same) {
      diff.value = { before: value === null ? null : headerText(value), after: edits.value };
      value = edited;
    }
  }
  let headers = kept;
  if (edits.headers !== undefined) {
    for (const header of edits.headers) {
      if (header.key === "" || isDeadLetterHeader(header.key)) {
        throw new ValidationError(`header ${JSON.stringify(header.key)} cannot be sent by a replay`, { field: "headers" });
      }
    }
    const edited = edits.headers.map((h) => ({ key: h.key, value: headerBytes(h.value) }));
    const before = kept.map((h) => ({ key: h.key, value: headerText(h.value) }));
    const after = edits.headers;
    const same = JSON.stringify(before) === JSON.stringify(after);
    if (!same) {
      const text = (h: EditableHeader) => JSON.stringify([h.key, h.value]);
      const afterSet = new Set(after.map(text));
      const beforeSet = new Set(before.map(text));
      diff.headers = {
        removed: before.filter((h) => !afterSet.has(text(h))),
        added: after.filter((h) => !beforeSet.has(text(h))),
      };
      headers = edited;
    }
  }
  return {
    message: {
      key: stored.key,
      value,
      headers: [
        ...headers,
        { key: REPLAY_OF_HEADER, value: Buffer.from(marks.replayOf, "utf8") },
        { key: REPLAY_ID_HEADER, value: Buffer.from(marks.replayId, "utf8") },
      ],
    },
    diff: Object.keys(diff).length > 0 ? diff : null,
  };
}

/**
 * kafkajs takes headers as an object: a repeated key is an array of values, sent one after the
 * other where the key first appears. Values, repeats and the order of distinct keys are kept;
 * interleaved repeats (a, b, a) go out grouped (a, a, b), a limit of kafkajs's API. Null values
 * stay null on the wire (kafkajs writes length -1).
 */
export function toKafkajsHeaders(headers: readonly RecordHeader[]): Record<string, Buffer | Buffer[]> {
  const out: Record<string, Buffer | Buffer[]> = {};
  const grouped = new Map<string, (Buffer | null)[]>();
  for (const header of headers) {
    const list = grouped.get(header.key);
    if (list) list.push(header.value);
    else grouped.set(header.key, [header.value]);
  }
  for (const [key, values] of grouped) {
    // kafkajs's types say Buffer; its encoder writes null as a null header value.
    out[key] = (values.length === 1 ? values[0] : values) as Buffer | Buffer[];
  }
  return out;
}
