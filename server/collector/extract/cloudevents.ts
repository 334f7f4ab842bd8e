import { hasHeader, lastHeaderText, type HeaderIndex } from "./headers.ts";
import type { ExtractionFlag } from "./flags.ts";
import type { JsonValue } from "./types.ts";

/** The CloudEvents context attributes Eventscope uses. Absent or non-string ones are null. */
export interface CloudEventAttributes {
  /** binary: attributes in `ce_*` headers, data in the value; structured: the value is the event. */
  mode: "binary" | "structured";
  specVersion: string | null;
  id: string | null;
  source: string | null;
  type: string | null;
  subject: string | null;
  /** RFC 3339 as sent; not reinterpreted. */
  time: string | null;
  dataContentType: string | null;
}

export interface StructuredCloudEvent {
  attributes: CloudEventAttributes;
  /** The distributed-tracing extension attribute, if the envelope carries one. */
  traceparent: string | null;
  /** The event's `data` member: the domain payload. undefined when absent (e.g. `data_base64`). */
  data: JsonValue | undefined;
}

export interface CloudEventExtraction<T> {
  event: T | null;
  flags: ExtractionFlag[];
}

/** The media type without parameters, lower-cased: `Application/JSON; charset=utf-8` → `application/json`. */
export function mediaType(contentType: string | null): string | null {
  if (contentType === null) return null;
  // Nearly every message of a topic carries the same content-type: remember the last one.
  if (contentType === lastContentType) return lastMediaType;
  const type = contentType.split(";", 1)[0]!.trim().toLowerCase();
  lastContentType = contentType;
  lastMediaType = type === "" ? null : type;
  return lastMediaType;
}

let lastContentType: string | null = null;
let lastMediaType: string | null = null;

/** Structured mode per the CloudEvents Kafka binding: the content-type names the CloudEvents format. */
export function isStructuredContentType(contentType: string | null): boolean {
  return mediaType(contentType)?.startsWith("application/cloudevents") ?? false;
}

/**
 * Whether the content-type promises JSON. `application/cloudevents` without a format suffix is
 * read as the JSON format, the only one whose envelope Eventscope can read.
 */
export function contentTypeSaysJson(contentType: string | null): boolean {
  const type = mediaType(contentType);
  if (type === null) return false;
  return (
    type === "application/json" ||
    type === "text/json" ||
    type.endsWith("+json") ||
    type === "application/cloudevents"
  );
}

const BINARY_MARKERS = ["ce_specversion", "ce_id", "ce_source", "ce_type"] as const;

/** Binary mode: the context attributes are `ce_<name>` headers and `content-type` is the data's type. */
export function readBinaryCloudEvent(headers: HeaderIndex): CloudEventExtraction<CloudEventAttributes> {
  if (!BINARY_MARKERS.some((name) => hasHeader(headers, name))) return { event: null, flags: [] };
  const event: CloudEventAttributes = {
    mode: "binary",
    specVersion: lastHeaderText(headers, "ce_specversion"),
    id: lastHeaderText(headers, "ce_id"),
    source: lastHeaderText(headers, "ce_source"),
    type: lastHeaderText(headers, "ce_type"),
    subject: lastHeaderText(headers, "ce_subject"),
    time: lastHeaderText(headers, "ce_time"),
    dataContentType: lastHeaderText(headers, "content-type"),
  };
  return { event, flags: missesRequired(event) ? ["cloudevent-invalid"] : [] };
}

/** Structured mode: the JSON value is the whole event, attributes and `data` side by side. */
export function readStructuredCloudEvent(json: JsonValue): CloudEventExtraction<StructuredCloudEvent> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return { event: null, flags: ["cloudevent-invalid"] };
  }
  const attributes: CloudEventAttributes = {
    mode: "structured",
    specVersion: stringMember(json, "specversion"),
    id: stringMember(json, "id"),
    source: stringMember(json, "source"),
    type: stringMember(json, "type"),
    subject: stringMember(json, "subject"),
    time: stringMember(json, "time"),
    dataContentType: stringMember(json, "datacontenttype"),
  };
  const event: StructuredCloudEvent = {
    attributes,
    traceparent: stringMember(json, "traceparent"),
    data: Object.hasOwn(json, "data") ? json.data : undefined,
  };
  return { event, flags: missesRequired(attributes) ? ["cloudevent-invalid"] : [] };
}

function stringMember(object: { [key: string]: JsonValue }, name: string): string | null {
  const value = Object.hasOwn(object, name) ? object[name] : undefined;
  return typeof value === "string" && value !== "" ? value : null;
}

/** specversion, id, source and type are REQUIRED by the CloudEvents spec. */
function missesRequired(event: CloudEventAttributes): boolean {
  return event.specVersion === null || event.id === null || event.source === null || event.type === null;
}
