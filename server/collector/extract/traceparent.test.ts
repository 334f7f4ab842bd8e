import { describe, expect, it } from "vitest";
import { flattenHeaders, indexHeaders } from "./headers.ts";
import type { RawHeaderValue } from "./types.ts";
import { extractTraceContext, parseTraceparent } from "./traceparent.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;
const OTHER_VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

function index(headers: Record<string, RawHeaderValue | RawHeaderValue[]>) {
  return indexHeaders(flattenHeaders(headers));
}

describe("parseTraceparent", () => {
  it("reads the W3C example: trace id, the producer's span as parent, sampled", () => {
    expect(parseTraceparent(VALID)).toEqual({
      valid: true,
      version: "00",
      traceId: TRACE_ID,
      parentSpanId: SPAN_ID,
      flags: "01",
      sampled: true,
    });
  });

  it("reads the sampled bit from the flags, ignoring the others", () => {
    expect(parseTraceparent(OTHER_VALID)).toMatchObject({ valid: true, sampled: false });
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-03`)).toMatchObject({ valid: true, sampled: true });
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-02`)).toMatchObject({ valid: true, sampled: false });
  });

  it.each([
    ["version ff", `ff-${TRACE_ID}-${SPAN_ID}-01`, "version-ff"],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${SPAN_ID}-01`, "zero-trace-id"],
    ["an all-zero parent id", `00-${TRACE_ID}-${"0".repeat(16)}-01`, "zero-parent-id"],
    ["uppercase hex", `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`, "not-lowercase-hex"],
    ["non-hex digits", `00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`, "malformed"],
    ["version 00 with an extra field", `${VALID}-what-the-future-will-be-like`, "extra-fields"],
    ["a short trace id", `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`, "malformed"],
    ["the empty string", "", "malformed"],
    ["surrounding whitespace", ` ${VALID}`, "malformed"],
    ["underscores for dashes", VALID.replaceAll("-", "_"), "malformed"],
  ])("rejects %s", (_name, value, reason) => {
    expect(parseTraceparent(value)).toEqual({ valid: false, reason });
  });

  it("accepts a future version with extra fields, reading the first four as version 00 does", () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`)).toMatchObject({
      valid: true,
      version: "cc",
      traceId: TRACE_ID,
      parentSpanId: SPAN_ID,
      sampled: true,
    });
    expect(parseTraceparent(`01-${TRACE_ID}-${SPAN_ID}-00`)).toMatchObject({ valid: true, version: "01" });
  });

  it("rejects a future version whose extra part does not start with a dash", () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01x`)).toEqual({ valid: false, reason: "malformed" });
  });
});

describe("extractTraceContext", () => {
  it("links through a single traceparent and keeps tracestate raw", () => {
    const result = extractTraceContext(
      index({ traceparent: Buffer.from(VALID), tracestate: Buffer.from("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE") }),
    );
    expect(result.trace).toEqual({
      traceId: TRACE_ID,
      parentSpanId: SPAN_ID,
      sampled: true,
      source: "traceparent",
      traceparent: VALID,
      tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    });
    expect(result.flags).toEqual([]);
  });

  it("takes the last valid value of a repeated traceparent even when the last value is invalid", () => {
    const result = extractTraceContext(
      index({ traceparent: [Buffer.from(VALID), Buffer.from(`00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`)] }),
    );
    expect(result.trace).toMatchObject({ traceId: TRACE_ID, parentSpanId: SPAN_ID, traceparent: VALID });
    expect(result.flags).toEqual(expect.arrayContaining(["traceparent-repeated", "traceparent-invalid"]));
  });

  it("prefers the later of two valid repeated values", () => {
    const result = extractTraceContext(index({ traceparent: [VALID, OTHER_VALID] }));
    expect(result.trace).toMatchObject({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      parentSpanId: "b7ad6b7169203331",
      sampled: false,
    });
    expect(result.flags).toEqual(["traceparent-repeated"]);
  });

  it("keeps an invalid traceparent raw and flags it without linking", () => {
    const bad = `ff-${TRACE_ID}-${SPAN_ID}-01`;
    const result = extractTraceContext(index({ traceparent: bad }));
    expect(result.trace).toMatchObject({ traceId: null, parentSpanId: null, source: null, traceparent: bad });
    expect(result.flags).toEqual(["traceparent-invalid"]);
  });

  it("treats a binary traceparent as invalid", () => {
    const result = extractTraceContext(index({ traceparent: Buffer.from([0xff, 0x00, 0x01]) }));
    expect(result.trace.traceId).toBeNull();
    expect(result.flags).toEqual(["traceparent-invalid"]);
  });

  it("falls back to ce_traceparent for the trace id, without claiming its span as the producer's", () => {
    const result = extractTraceContext(index({ traceparent: "garbage", ce_traceparent: VALID }));
    expect(result.trace).toMatchObject({
      traceId: TRACE_ID,
      parentSpanId: null,
      source: "ce_traceparent",
      traceparent: "garbage",
    });
    expect(result.flags).toEqual(["traceparent-invalid"]);
  });

  it("uses a structured CloudEvent's traceparent attribute when no header links", () => {
    const result = extractTraceContext(index({}), OTHER_VALID);
    expect(result.trace).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", source: "cloudevent" });
  });

  it("prefers a valid traceparent over ce_traceparent", () => {
    const result = extractTraceContext(index({ traceparent: VALID, ce_traceparent: OTHER_VALID }));
    expect(result.trace).toMatchObject({ traceId: TRACE_ID, source: "traceparent" });
  });

  it("flags an invalid CloudEvents fallback", () => {
    const result = extractTraceContext(index({ ce_traceparent: "00-nope" }));
    expect(result.trace.traceId).toBeNull();
    expect(result.flags).toEqual(["ce-traceparent-invalid"]);
  });

  it("finds the header whatever its case", () => {
    expect(extractTraceContext(index({ Traceparent: VALID })).trace.traceId).toBe(TRACE_ID);
  });
});
