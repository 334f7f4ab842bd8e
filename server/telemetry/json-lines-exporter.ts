import fs from "node:fs";
import { SpanKind } from "@opentelemetry/api";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

/** One finished span as a line of the spans file. Times are microseconds since the epoch. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  /** Null for a root span. */
  parentSpanId: string | null;
  name: string;
  kind: "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";
  startTimeUs: number;
  endTimeUs: number;
  status: { code: number; message?: string };
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  serviceName: string | null;
}

/** What an exporter reports back (ExportResultCode: 0 success, 1 failed). */
type ExportResult = Parameters<Parameters<SpanExporter["export"]>[1]>[0];

const KIND_NAMES: Record<SpanKind, ExportedSpan["kind"]> = {
  [SpanKind.INTERNAL]: "INTERNAL",
  [SpanKind.SERVER]: "SERVER",
  [SpanKind.CLIENT]: "CLIENT",
  [SpanKind.PRODUCER]: "PRODUCER",
  [SpanKind.CONSUMER]: "CONSUMER",
};

const microseconds = ([seconds, nanos]: [number, number]) => seconds * 1_000_000 + Math.floor(nanos / 1_000);

export function toExportedSpan(span: ReadableSpan): ExportedSpan {
  const context = span.spanContext();
  const serviceName = span.resource.attributes["service.name"];
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: KIND_NAMES[span.kind],
    startTimeUs: microseconds(span.startTime),
    endTimeUs: microseconds(span.endTime),
    status: span.status,
    attributes: { ...span.attributes },
    links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
    serviceName: typeof serviceName === "string" ? serviceName : null,
  };
}

/**
 * Appends finished spans to a file, one JSON object per line: what tests read to check that the
 * trace ids on the wire are the ones the SDK recorded. Test and local use only; it never talks
 * to the network.
 */
export class JsonLinesSpanExporter implements SpanExporter {
  private pending: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly file: string) {
    // Created (empty) at once, so a reader can tell "no spans yet" from "wrong path".
    fs.writeFileSync(file, "", { flag: "a" });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: 1, error: new Error("exporter is shut down") });
      return;
    }
    const text = spans.map((span) => `${JSON.stringify(toExportedSpan(span))}\n`).join("");
    // Writes are chained so lines of two batches never interleave.
    this.pending = this.pending.then(() =>
      fs.promises.appendFile(this.file, text).then(
        () => resultCallback({ code: 0 }),
        (error: unknown) => resultCallback({ code: 1, error: error instanceof Error ? error : new Error(String(error)) }),
      ),
    );
  }

  async forceFlush(): Promise<void> {
    await this.pending;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.pending;
  }
}
