import type { CloudEventAttributes } from "./cloudevents.ts";
import { lastHeaderText, type HeaderIndex } from "./headers.ts";

export type ProducerSource =
  | "ce_source"
  | "cloudevent"
  | "amqp-app-id"
  | "producer-header"
  | "service-header"
  | "amqp-connection";

/** What the transport itself says about the sender (AMQP; Kafka records carry neither). */
export interface TransportProducer {
  /** AMQP's `app_id` property: the application's own name for itself. */
  appId?: string | null;
  /** The publishing connection's client-provided name: names a process, so it comes last. */
  connectionName?: string | null;
}

export interface ProducerResolution {
  /** null means "unknown producer": the graph shows one per topic rather than guessing. */
  producer: string | null;
  source: ProducerSource | null;
}

/**
 * Producer identity: CloudEvents `source` (binary header or structured envelope), else the
 * transport's `app_id`, else a `producer` or `service` header, else the publishing connection's name.
 */
export function resolveProducer(
  headers: HeaderIndex,
  cloudEvent: CloudEventAttributes | null,
  transport: TransportProducer = {},
): ProducerResolution {
  if (cloudEvent?.source != null) {
    return { producer: cloudEvent.source, source: cloudEvent.mode === "binary" ? "ce_source" : "cloudevent" };
  }
  if (transport.appId != null && transport.appId !== "") return { producer: transport.appId, source: "amqp-app-id" };
  const producer = lastHeaderText(headers, "producer");
  if (producer !== null) return { producer, source: "producer-header" };
  const service = lastHeaderText(headers, "service");
  if (service !== null) return { producer: service, source: "service-header" };
  if (transport.connectionName != null && transport.connectionName !== "") {
    return { producer: transport.connectionName, source: "amqp-connection" };
  }
  return { producer: null, source: null };
}
