/**
 * A link into the user's tracing UI (Jaeger, Tempo, Honeycomb…) from EVENTSCOPE_TRACE_URL, a
 * template such as `https://jaeger.example/trace/{traceId}` that server/config.ts has already
 * checked. The server reads the template and hands it to the page; this stays pure.
 */
export function externalTraceUrl(template: string | null | undefined, traceId: string): string | null {
  if (!template || !/^[0-9a-f]{32}$/.test(traceId)) return null;
  return template.split("{traceId}").join(encodeURIComponent(traceId));
}
