import { KAFKA_CLOUDEVENT_PREFIXES } from "./cloudevents.ts";
import { headerEntries, lastHeaderText, type HeaderIndex } from "./headers.ts";
import type { ExtractionFlag } from "./flags.ts";

export type TraceparentInvalidReason =
  | "not-text"
  | "malformed"
  | "not-lowercase-hex"
  | "version-ff"
  | "zero-trace-id"
  | "zero-parent-id"
  | "extra-fields";

export type ParsedTraceparent =
  | {
      valid: true;
      version: string;
      traceId: string;
      /** The span that sent the message (OpenTelemetry's `send <topic>` PRODUCER span). */
      parentSpanId: string;
      flags: string;
      sampled: boolean;
    }
  | { valid: false; reason: TraceparentInvalidReason };

/** Length of a version-00 traceparent: 2-32-16-2 hex digits and three dashes. */
const V00_LENGTH = 55;
const LOWER_HEX = /^[0-9a-f]+$/;
const ANY_HEX = /^[0-9a-fA-F]+$/;

/**
 * W3C Trace Context `traceparent`. Version 00 is exactly 55 characters; a future version (neither
 * 00 nor the forbidden ff) may append fields after a dash, which a version-00 parser must accept
 * and ignore, reading the first four fields as version 00 defines them.
 */
export function parseTraceparent(value: string | null): ParsedTraceparent {
  if (value === null) return { valid: false, reason: "not-text" };
  if (value.length < V00_LENGTH || value[2] !== "-" || value[35] !== "-" || value[52] !== "-") {
    return { valid: false, reason: "malformed" };
  }
  const version = value.slice(0, 2);
  const traceId = value.slice(3, 35);
  const parentSpanId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  const fields = [version, traceId, parentSpanId, flags];
  if (!fields.every((field) => LOWER_HEX.test(field))) {
    return {
      valid: false,
      reason: fields.every((field) => ANY_HEX.test(field)) ? "not-lowercase-hex" : "malformed",
    };
  }
  if (version === "ff") return { valid: false, reason: "version-ff" };
  if (value.length > V00_LENGTH) {
    if (version === "00") return { valid: false, reason: "extra-fields" };
    if (value[V00_LENGTH] !== "-") return { valid: false, reason: "malformed" };
  }
  if (/^0+$/.test(traceId)) return { valid: false, reason: "zero-trace-id" };
  if (/^0+$/.test(parentSpanId)) return { valid: false, reason: "zero-parent-id" };
  return {
    valid: true,
    version,
    traceId,
    parentSpanId,
    flags,
    sampled: (Number.parseInt(flags, 16) & 0x01) === 0x01,
  };
}

/** Where the linked trace came from. */
export type TraceSource = "traceparent" | "ce_traceparent" | "cloudevent";

export interface TraceContext {
  /** null when no valid trace context was found: the message is not linked to a trace. */
  traceId: string | null;
  /**
   * The producer's span, from `traceparent` only: a CloudEvents traceparent records where the
   * event's flow started, not the span that sent this message.
   */
  parentSpanId: string | null;
  sampled: boolean | null;
  source: TraceSource | null;
  /** The raw `traceparent` used, or, when none is valid, the last one present (for display). */
  traceparent: string | null;
  /** Raw, never parsed (W3C lets vendors put anything in it). Last value when repeated. */
  tracestate: string | null;
}

export interface TraceExtraction {
  trace: TraceContext;
  flags: ExtractionFlag[];
}

/**
 * Trace context from the headers. A repeated `traceparent` (kafkajs hands it over as an array) is
 * read value by value and the last valid one wins, so one bad or stale copy never loses the trace.
 * Without a valid `traceparent`, a CloudEvents traceparent (binary `ce_traceparent` header, or the
 * structured envelope's attribute) still correlates the message with its flow.
 */
export function extractTraceContext(
  headers: HeaderIndex,
  structuredTraceparent: string | null = null,
  cloudEventPrefixes: readonly string[] = KAFKA_CLOUDEVENT_PREFIXES,
): TraceExtraction {
  const flags: ExtractionFlag[] = [];
  const values = headerEntries(headers, "traceparent");
  if (values.length > 1) flags.push("traceparent-repeated");

  let chosen: { raw: string; parsed: ParsedTraceparent & { valid: true } } | null = null;
  let lastRaw: string | null = null;
  for (const entry of values) {
    if (entry.text !== null) lastRaw = entry.text;
    const parsed = parseTraceparent(entry.text);
    if (parsed.valid) chosen = { raw: entry.text!, parsed };
    else flags.push("traceparent-invalid");
  }

  const tracestate = lastHeaderText(headers, "tracestate");
  if (chosen !== null) {
    return {
      trace: {
        traceId: chosen.parsed.traceId,
        parentSpanId: chosen.parsed.parentSpanId,
        sampled: chosen.parsed.sampled,
        source: "traceparent",
        traceparent: chosen.raw,
        tracestate,
      },
      flags,
    };
  }

  const fallback = cloudEventTrace(headers, structuredTraceparent, cloudEventPrefixes, flags);
  return {
    trace: {
      traceId: fallback?.traceId ?? null,
      parentSpanId: null,
      sampled: fallback?.sampled ?? null,
      source: fallback?.source ?? null,
      traceparent: lastRaw,
      tracestate,
    },
    flags,
  };
}

function cloudEventTrace(
  headers: HeaderIndex,
  structuredTraceparent: string | null,
  prefixes: readonly string[],
  flags: ExtractionFlag[],
): { traceId: string; sampled: boolean; source: TraceSource } | null {
  let found: { traceId: string; sampled: boolean; source: TraceSource } | null = null;
  // The binary-mode attribute under any of the binding's prefixes (`ce_traceparent`, `cloudEvents:traceparent`).
  for (const prefix of prefixes) {
    for (const entry of headerEntries(headers, prefix + "traceparent")) {
      const parsed = parseTraceparent(entry.text);
      if (parsed.valid) found = { traceId: parsed.traceId, sampled: parsed.sampled, source: "ce_traceparent" };
      else flags.push("ce-traceparent-invalid");
    }
  }
  if (found !== null || structuredTraceparent === null) return found;
  const parsed = parseTraceparent(structuredTraceparent);
  if (parsed.valid) return { traceId: parsed.traceId, sampled: parsed.sampled, source: "cloudevent" };
  flags.push("ce-traceparent-invalid");
  return null;
}
