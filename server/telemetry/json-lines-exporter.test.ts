import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, test } from "vitest";
import { JsonLinesSpanExporter, type ExportedSpan } from "./json-lines-exporter.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the spans file", () => {
  test("one JSON line per finished span: ids, parent, kind, attributes", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spans-"));
    dirs.push(dir);
    const file = path.join(dir, "spans.jsonl");
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new JsonLinesSpanExporter(file))] });
    const tracer = provider.getTracer("test");

    const parent = tracer.startSpan("send orders", { kind: SpanKind.PRODUCER, attributes: { "messaging.destination.name": "orders" } });
    const child = tracer.startSpan("process orders", { kind: SpanKind.CONSUMER }, trace.setSpan(context.active(), parent));
    child.end();
    parent.end();
    await provider.shutdown();

    const lines = fs.readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line) as ExportedSpan);
    expect(lines.map((span) => [span.name, span.kind])).toEqual([
      ["process orders", "CONSUMER"],
      ["send orders", "PRODUCER"],
    ]);
    const [consumer, producer] = lines as [ExportedSpan, ExportedSpan];
    expect(producer).toMatchObject({
      traceId: parent.spanContext().traceId,
      spanId: parent.spanContext().spanId,
      parentSpanId: null,
      attributes: { "messaging.destination.name": "orders" },
    });
    expect(consumer.traceId).toBe(producer.traceId);
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect(producer.endTimeUs).toBeGreaterThanOrEqual(producer.startTimeUs);
  });
});
