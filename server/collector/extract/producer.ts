import type { CloudEventAttributes } from "./cloudevents.ts";
import { lastHeaderText, type HeaderIndex } from "./headers.ts";

export type ProducerSource = "ce_source" | "cloudevent" | "producer-header" | "service-header";

export interface ProducerResolution {
  /** null means "unknown producer": the graph shows one per topic rather than guessing. */
  producer: string | null;
  source: ProducerSource | null;
}

/** Producer identity: CloudEvents `source` (binary header or structured envelope), else a `producer` or `service` header. */
export function resolveProducer(headers: HeaderIndex, cloudEvent: CloudEventAttributes | null): ProducerResolution {
  if (cloudEvent?.source != null) {
    return { producer: cloudEvent.source, source: cloudEvent.mode === "binary" ? "ce_source" : "cloudevent" };
  }
  const producer = lastHeaderText(headers, "producer");
  if (producer !== null) return { producer, source: "producer-header" };
  const service = lastHeaderText(headers, "service");
  if (service !== null) return { producer: service, source: "service-header" };
  return { producer: null, source: null };
}
