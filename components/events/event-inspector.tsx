"use client";

import { useState } from "react";
import type { EventValue } from "@/lib/api-schemas/events";
import type { StoredHeader } from "@/lib/api-schemas/headers";
import styles from "./events.module.css";
import { base64ToBytes, bytesAsText, headerValueText, hexDump, prettyJson } from "./value-format";

type Mode = "json" | "text" | "hex";

/** Every header in record order (repeats kept) and the value as pretty JSON, text or hex. Text only. */
export function EventInspector({ headers, value }: { headers: StoredHeader[]; value: EventValue }) {
  return (
    <div>
      <section className={styles.evSection} aria-label="Headers">
        <h3>Headers ({headers.length})</h3>
        {headers.length === 0 ? (
          <p className={styles.evMuted}>This record has no headers.</p>
        ) : (
          <table className={styles.evHeaders}>
            <tbody>
              {headers.map((header, i) => (
                <tr key={i}>
                  <th scope="row">{header.key}</th>
                  <td>
                    {headerValueText(header)}
                    {header.encoding === "base64" && header.value !== null ? <span className={styles.evEncoding}>binary, hex</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <ValueView value={value} />
    </div>
  );
}

function modesOf(value: EventValue): Mode[] {
  if (value.kind === "json") return ["json", "text"];
  if (value.kind === "text") return ["text", "hex"];
  if (value.kind === "binary") return ["hex", "text"];
  return [];
}

const MODE_LABELS: Record<Mode, string> = { json: "JSON", text: "Text", hex: "Hex" };

function ValueView({ value }: { value: EventValue }) {
  const modes = modesOf(value);
  const [mode, setMode] = useState<Mode | undefined>(modes[0]);
  let body: string;
  if (value.kind === "tombstone") body = "";
  else if (value.kind === "json") body = mode === "json" ? prettyJson(value.json) : JSON.stringify(value.json);
  else if (value.kind === "text") body = mode === "hex" ? hexDump(new TextEncoder().encode(value.text)) : value.text;
  else {
    const bytes = base64ToBytes(value.base64);
    body = mode === "text" ? bytesAsText(bytes) : hexDump(bytes);
  }
  return (
    <section className={styles.evSection} aria-label="Value">
      <h3>
        Value <span className={styles.evEncoding}>{value.kind}</span>
        {modes.length > 1 ? (
          <span className={styles.evModes} role="group" aria-label="Show value as">
            {modes.map((m) => (
              <button key={m} type="button" aria-pressed={mode === m} onClick={() => setMode(m)}>
                {MODE_LABELS[m]}
              </button>
            ))}
          </span>
        ) : null}
      </h3>
      {value.kind === "tombstone" ? (
        <p className={styles.evMuted}>No value: a tombstone (a deletion marker on a compacted topic).</p>
      ) : (
        // Focusable: a long value scrolls, and the keyboard must be able to scroll it.
        <pre className={`${styles.evValue} ${mode === "hex" ? styles.evValueHex : ""}`} tabIndex={0}>
          {body}
        </pre>
      )}
    </section>
  );
}
