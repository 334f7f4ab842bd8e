/**
 * How a message's bytes are shown: pretty JSON, text, or a hex dump. Text only: the result goes
 * into React text nodes, never into HTML.
 */

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** UTF-8, with U+FFFD for what is not. */
export function bytesAsText(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}

/** A hex dump is 4 lines per 64 bytes; past this many bytes it stops and says so. */
export const HEX_DUMP_LIMIT = 64 * 1024;

/** `00000010  7b 22 6f 72 …  |{"or…|`: offset, 16 bytes in hex, printable ASCII. */
export function hexDump(bytes: Uint8Array, limit = HEX_DUMP_LIMIT): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, limit);
  for (let at = 0; at < end; at += 16) {
    const row = bytes.subarray(at, Math.min(at + 16, end));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${at.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  if (bytes.length > end) lines.push(`… ${bytes.length - end} more bytes not shown`);
  return lines.join("\n");
}

/** Two-space indented JSON; non-JSON values as they are. */
export function prettyJson(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value, null, 2) ?? String(value));
}

/** A stored header's value for display: its text, or its bytes in hex. */
export function headerValueText(header: { value: string | null; encoding: "utf8" | "base64" }): string {
  if (header.value === null) return "(null)";
  if (header.encoding === "utf8") return header.value;
  const bytes = base64ToBytes(header.value);
  return Array.from(bytes.subarray(0, 256), (b) => b.toString(16).padStart(2, "0")).join(" ") + (bytes.length > 256 ? " …" : "");
}
