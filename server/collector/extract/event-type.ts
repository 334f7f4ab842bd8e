import type { CloudEventAttributes } from "./cloudevents.ts";
import { lastHeaderText, type HeaderIndex } from "./headers.ts";
import type { JsonValue } from "./types.ts";

/** Where the event type was read, in order of precedence. */
export type EventTypeSource =
  | "ce_type"
  | "cloudevent"
  | "amqp-type"
  | "event-type-header"
  | "type-header"
  | "schema"
  | "value-type"
  | "value-eventType";

export interface EventTypeResolution {
  eventType: string | null;
  source: EventTypeSource | null;
}

/**
 * The event type: CloudEvents first (binary `ce_type`, or the structured envelope's `type`), then the
 * transport's own type field (AMQP's `type` property; Kafka has none), then an `event-type` or `type` header, then a top-level `type` or `eventType` string of the JSON payload.
 * Only the top level counts: a nested `type` ("payment": {"type": "card"}) describes something else.
 */
export function resolveEventType(
  headers: HeaderIndex,
  cloudEvent: CloudEventAttributes | null,
  payload: JsonValue | undefined,
  schemaTypeName: string | null = null,
  typeProperty: string | null = null,
): EventTypeResolution {
  if (cloudEvent?.type != null) {
    return { eventType: cloudEvent.type, source: cloudEvent.mode === "binary" ? "ce_type" : "cloudevent" };
  }
  if (typeProperty !== null && typeProperty !== "") return { eventType: typeProperty, source: "amqp-type" };
  const fromEventTypeHeader = lastHeaderText(headers, "event-type");
  if (fromEventTypeHeader !== null) return { eventType: fromEventTypeHeader, source: "event-type-header" };
  const fromTypeHeader = lastHeaderText(headers, "type");
  if (fromTypeHeader !== null) return { eventType: fromTypeHeader, source: "type-header" };
  // A Schema Registry value's named type (the Avro record's full name) says what the event is.
  if (schemaTypeName !== null) return { eventType: schemaTypeName, source: "schema" };
  if (payload !== null && typeof payload === "object" && !Array.isArray(payload)) {
    const type = Object.hasOwn(payload, "type") ? payload.type : undefined;
    if (typeof type === "string" && type !== "") return { eventType: type, source: "value-type" };
    const eventType = Object.hasOwn(payload, "eventType") ? payload.eventType : undefined;
    if (typeof eventType === "string" && eventType !== "") return { eventType, source: "value-eventType" };
  }
  return { eventType: null, source: null };
}
