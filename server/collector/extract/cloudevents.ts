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

/** Structured mode per the CloudEvents Kafka and AMQP bindings: the content type names the CloudEvents format. */
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

/** The CloudEvents Kafka binding's header prefix. */
export const KAFKA_CLOUDEVENT_PREFIXES: readonly string[] = ["ce_"];

/**
 * The AMQP binding's application-property prefix `cloudEvents:`, its `cloudEvents_` variant (for
 * brokers and clients that refuse a colon in a name) and the Kafka-style `ce_` seen on RabbitMQ in
 * the wild; tried in this order for each attribute. Lookups ignore case.
 */
export const AMQP_CLOUDEVENT_PREFIXES: readonly string[] = ["cloudEvents:", "cloudEvents_", "ce_"];

const BINARY_MARKERS = ["specversion", "id", "source", "type"] as const;

/** A binary-mode attribute: the last non-empty value under the first prefix that has one. */
function cloudEventHeaderText(headers: HeaderIndex, prefixes: readonly string[], attribute: string): string | null {
  for (const prefix of prefixes) {
    const text = lastHeaderText(headers, prefix + attribute);
    if (text !== null) return text;
  }
  return null;
}

/**
 * Binary mode: the context attributes are headers named `<prefix><attribute>` (`ce_type` on Kafka,
 * `cloudEvents:type` on AMQP), and the message's content type is the data's type (Kafka: the
 * `content-type` header; AMQP: the content_type property).
 */
export function readBinaryCloudEvent(
  headers: HeaderIndex,
  contentType: string | null = lastHeaderText(headers, "content-type"),
  prefixes: readonly string[] = KAFKA_CLOUDEVENT_PREFIXES,
): CloudEventExtraction<CloudEventAttributes> {
  if (!BINARY_MARKERS.some((name) => prefixes.some((prefix) => hasHeader(headers, prefix + name)))) {
    return { event: null, flags: [] };
  }
  const event: CloudEventAttributes = {
    mode: "binary",
    specVersion: cloudEventHeaderText(headers, prefixes, "specversion"),
    id: cloudEventHeaderText(headers, prefixes, "id"),
    source: cloudEventHeaderText(headers, prefixes, "source"),
    type: cloudEventHeaderText(headers, prefixes, "type"),
    subject: cloudEventHeaderText(headers, prefixes, "subject"),
    time: cloudEventHeaderText(headers, prefixes, "time"),
    dataContentType: contentType,
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
