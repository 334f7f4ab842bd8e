import { describe, expect, it } from "vitest";
import { externalTraceUrl } from "./trace-url.ts";

const id = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("externalTraceUrl", () => {
  it("fills every {traceId} of the template", () => {
    expect(externalTraceUrl("https://jaeger.example/trace/{traceId}", id)).toBe(`https://jaeger.example/trace/${id}`);
    expect(externalTraceUrl("https://t.example/?q={traceId}&x={traceId}", id)).toBe(`https://t.example/?q=${id}&x=${id}`);
  });

  it("gives no link without a template or for a malformed trace id", () => {
    expect(externalTraceUrl(undefined, id)).toBeNull();
    expect(externalTraceUrl("", id)).toBeNull();
    expect(externalTraceUrl("https://jaeger.example/trace/{traceId}", "not-a-trace")).toBeNull();
  });
});
