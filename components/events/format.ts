/** Times as lists show them: UTC, to the millisecond. */
export function formatTime(iso: string): string {
  return iso.replace("T", " ").replace("Z", " UTC");
}

/** Just the time of day, for dense rows: `13:47:45.557`. */
export function formatClock(iso: string): string {
  return iso.slice(11, 23);
}

/** A key for display: the text, or its bytes in base64 marked as such. */
export function keyText(event: { key: string | null; keyBase64: string | null }): string {
  if (event.key !== null) return event.key;
  if (event.keyBase64 !== null) return `base64:${event.keyBase64}`;
  return "(no key)";
}
