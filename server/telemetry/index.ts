import { KafkaJsInstrumentation } from "@opentelemetry/instrumentation-kafkajs";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { JsonLinesSpanExporter } from "./json-lines-exporter.ts";

export { toExportedSpan, JsonLinesSpanExporter, type ExportedSpan } from "./json-lines-exporter.ts";

/**
 * OpenTelemetry for a process that talks to Kafka through kafkajs: the Node SDK with the kafkajs
 * instrumentation, which injects W3C `traceparent` into every produced message and continues the
 * producer's trace in every `eachMessage` handler.
 *
 * Load order matters: the instrumentation patches kafkajs when it is `require`d, so start this
 * BEFORE kafkajs is loaded, and load kafkajs with `createRequire(import.meta.url)("kafkajs")`; an
 * ESM `import` of kafkajs is not patched (no ESM loader hook is registered).
 *
 * Nothing is ever sent over the network: spans go to `spansFile` as JSON lines, or nowhere. Spans
 * are still recorded without a file (a no-op processor keeps the tracer provider registered):
 * without a real provider the SDK's tracer is a no-op, and no `traceparent` would be injected.
 */

export interface TelemetryOptions {
  /** The resource's service.name. */
  serviceName: string;
  /** Append finished spans to this file as JSON lines. */
  spansFile?: string;
}

export interface RunningTelemetry {
  /** Ends the SDK, flushing spans not yet written to the spans file. */
  shutdown(): Promise<void>;
}

export function startTelemetry(options: TelemetryOptions): RunningTelemetry {
  const spanProcessor: SpanProcessor = options.spansFile
    ? new BatchSpanProcessor(new JsonLinesSpanExporter(options.spansFile), { scheduledDelayMillis: 500, maxQueueSize: 65_536 })
    : new NoopSpanProcessor();
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    instrumentations: [new KafkaJsInstrumentation()],
    spanProcessors: [spanProcessor],
    // Empty lists, not left out: left out, the SDK reads OTEL_*_EXPORTER and defaults to OTLP over
    // the network for metrics and logs.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  return { shutdown: () => (stopped ??= sdk.shutdown()) };
}
