/**
 * Everything extraction can note about a message it could not read as expected. The message is
 * always stored anyway; a flag only says which part is raw, cut or unlinked, so the UI can say so
 * and a search can find such messages.
 */
export const EXTRACTION_FLAGS = {
  tombstone: "The value is null: a tombstone (delete marker on a compacted topic).",
  "key-binary":
    "The key is not UTF-8 text (or contains NUL, which PostgreSQL text cannot hold): kept as bytes, not used as an entity.",
  "value-truncated":
    "The value is larger than the size cap: stored cut to the cap, as bytes, and not parsed as JSON.",
  "value-not-json":
    "The content-type says JSON, or the value starts like JSON ({ or [), but it does not parse: stored as bytes.",
  "value-json-unstorable":
    "The value is valid JSON that cannot be stored as jsonb (it holds \\u0000 or an unpaired surrogate, or nests deeper than MAX_JSON_DEPTH): stored as bytes.",
  "timestamp-invalid":
    "The Kafka timestamp is missing, negative or not a number (or an AMQP timestamp property is present but is not a usable number of seconds): stored as null.",
  "header-binary":
    "A header value is not UTF-8 text: stored as bytes (headers whose binary encoding is a known convention, like Spring's partition and offset, do not count).",
  "header-unreadable":
    "An AMQP header or property holds a value that cannot be shown faithfully (a table nested deeper than MAX_AMQP_TABLE_DEPTH, an invalid date, a value of no AMQP type): that part is replaced by a marker in the stored text.",
  "traceparent-invalid":
    "A traceparent header value is not valid W3C trace context: kept raw in the headers, not used for linking.",
  "traceparent-repeated":
    "The traceparent header occurs more than once: the last valid value is used.",
  "ce-traceparent-invalid":
    "There is no valid traceparent, and the CloudEvents traceparent used as a fallback (ce_traceparent header or structured-mode attribute) is not valid W3C trace context either.",
  "cloudevent-invalid":
    "The message is a CloudEvent (ce_ headers or a structured content-type) but lacks a required attribute (specversion, id, source, type) or is not a JSON object.",
  "dlq-header-malformed":
    "A dead-letter header is present but its value cannot be decoded (wrong binary length, not a number, bad JSON): that field is null.",
  "schema-unknown":
    "The value starts like the Schema Registry wire format (byte 0, a schema id) but the registry does not know that schema id: stored as bytes.",
  "schema-registry-unavailable":
    "The value is in the Schema Registry wire format but the registry could not be reached in time: stored as bytes.",
  "schema-decode-failed":
    "The value is in the Schema Registry wire format but its bytes do not decode against their schema: stored as bytes.",
  "entity-id-imprecise":
    "An entity field holds an integer beyond 2^53, which JSON parsing cannot represent exactly: not used as an entity key.",
} as const satisfies Record<string, string>;

export type ExtractionFlag = keyof typeof EXTRACTION_FLAGS;

const FLAG_ORDER = Object.keys(EXTRACTION_FLAGS) as ExtractionFlag[];

/** Deduplicated, in the order of EXTRACTION_FLAGS, so equal messages give equal flag lists. */
export function sortFlags(flags: Iterable<ExtractionFlag>): ExtractionFlag[] {
  const present = new Set(flags);
  return FLAG_ORDER.filter((flag) => present.has(flag));
}
