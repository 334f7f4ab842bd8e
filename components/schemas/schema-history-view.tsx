import Link from "next/link";
import { eventHref } from "@/lib/api-schemas/events";
import {
  schemaHistoryApiHref,
  type FieldChangeView,
  type JsonShapeChange,
  type RegistryVersion,
  type SchemaHistory,
} from "@/lib/api-schemas/schema-history";
import { whoConsumesHref } from "@/lib/api-schemas/who-consumes";
import { formatCount } from "@/lib/format-number";
import { REMOVAL_EVIDENCE } from "@/lib/schema-history";
import { formatTime } from "@/components/events/format";
import styles from "./schema-history.module.css";

/**
 * An event type's schema history: the registry versions its events carried, each with what
 * changed from the one before and whether that breaks consumers; then the shape of its plain JSON
 * values and when it changed. Compatibility is said in words next to its colour.
 */
export function SchemaHistoryView({ history }: { history: SchemaHistory }) {
  const type = history.eventType;
  return (
    <>
      <h1 style={{ marginBottom: "0.25rem" }}>{type}</h1>
      <p className={styles.lead}>
        Schema history: {formatCount(history.eventCount)} event{history.eventCount === 1 ? "" : "s"} of this type collected
        {history.firstSeenAt ? ` from ${formatTime(history.firstSeenAt)}` : ""}
        {history.lastSeenAt ? ` to ${formatTime(history.lastSeenAt)}` : ""}.{" "}
        <Link href={whoConsumesHref({ type })}>Who consumes it</Link> · <Link href={`/events?${new URLSearchParams({ type })}`}>Its events</Link> ·{" "}
        <a href={schemaHistoryApiHref(type)}>JSON</a>
      </p>
      <RegistrySection history={history} />
      <JsonShapeSection history={history} />
    </>
  );
}

function Verdict({ compatible }: { compatible: boolean }) {
  return <span className={compatible ? styles.compatible : styles.breaking}>{compatible ? "compatible" : "breaking"}</span>;
}

function versionName(version: RegistryVersion): string {
  if (version.subject === null) return `schema ${version.schemaId}`;
  return `${version.subject} v${version.version ?? "?"}`;
}

function describeChange(change: Pick<FieldChangeView, "kind" | "before" | "after">): string {
  switch (change.kind) {
    case "added":
      return `added (${change.after})`;
    case "removed":
      return `removed (was ${change.before})`;
    case "type-changed":
      return `type changed: ${change.before} → ${change.after}`;
    case "made-optional":
      return `made optional (${change.after})`;
    case "made-required":
      return `made required (${change.after})`;
  }
}

function RegistrySection({ history }: { history: SchemaHistory }) {
  if (history.registry.length === 0) {
    return (
      <section className={styles.section} aria-labelledby="registry-heading">
        <h2 id="registry-heading">Schema Registry versions</h2>
        <p className={styles.muted}>No event of this type carried a Schema Registry schema (values in the registry&apos;s wire format).</p>
      </section>
    );
  }
  return (
    <section className={styles.section} aria-labelledby="registry-heading">
      <h2 id="registry-heading">Schema Registry versions</h2>
      <p className={styles.lead}>
        In the order they were first seen. Each change is judged under the subject&apos;s compatibility level as the registry reported it
        (BACKWARD when it reported none).
      </p>
      <table className={styles.table} aria-label="Schema versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Schema id</th>
            <th scope="col">First seen</th>
            <th scope="col">Last seen</th>
            <th scope="col">Events</th>
            <th scope="col">Changes from the version before</th>
          </tr>
        </thead>
        <tbody>
          {history.registry.map((version) => (
            <tr key={version.schemaId} aria-label={versionName(version)}>
              <td>
                <strong>{versionName(version)}</strong>
                <div className={styles.muted}>
                  {version.schemaType ?? "unknown type"} · {version.compatibility.level}
                  {version.compatibility.reported ? "" : " (assumed)"}
                </div>
              </td>
              <td>{version.schemaId}</td>
              <td>
                <Link href={eventHref(version.firstEvent)}>{formatTime(version.firstSeenAt)}</Link>
              </td>
              <td>{formatTime(version.lastSeenAt)}</td>
              <td>
                <Link href={version.eventsHref}>{formatCount(version.count)}</Link>
              </td>
              <td>
                <VersionChanges version={version} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function VersionChanges({ version }: { version: RegistryVersion }) {
  return (
    <>
      {version.changes === null ? (
        <span className={styles.muted}>{version.fieldsError ?? "the first version seen"}</span>
      ) : version.changes.length === 0 ? (
        <span className={styles.muted}>no field changed</span>
      ) : (
        <>
          <Verdict compatible={!version.breaking} /> under {version.compatibility.level}
          <ul className={styles.changes} aria-label={`Changes in ${versionName(version)}`}>
            {version.changes.map((change) => (
              <li key={`${change.kind}:${change.path}`}>
                <code className={styles.code}>{change.path}</code> {describeChange(change)} <Verdict compatible={change.compatible} />{" "}
                <span className={styles.muted}>{change.reason}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {version.fields ? (
        <details>
          <summary>{version.fields.length} fields</summary>
          <ul className={styles.changes}>
            {version.fields.map((field) => (
              <li key={field.path}>
                <code className={styles.code}>{field.path}</code> {field.type}
                {field.optional ? " (optional)" : ""}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
}

function jsonChangeText(change: JsonShapeChange): string {
  switch (change.kind) {
    case "added":
      return `appeared (${change.after})`;
    case "removed":
      return `no longer sent (was ${change.before ?? "?"})`;
    case "type-changed":
      return `type changed: ${change.before} → ${change.after}`;
  }
}

function JsonShapeSection({ history }: { history: SchemaHistory }) {
  const { json } = history;
  if (json.eventCount === 0) return null;
  return (
    <section className={styles.section} aria-labelledby="json-heading">
      <h2 id="json-heading">JSON shape</h2>
      <p className={styles.lead}>
        Observed in every plain JSON value of this type ({formatCount(json.eventCount)} events, no registry schema): each field path with
        the JSON types it carried. A field is called removed after {REMOVAL_EVIDENCE} events of the type without it. Changes are judged from the consumers&apos; side: code
        written for the earlier shape ignores a new field and breaks on a changed or missing one.
      </p>
      <h3>Changes</h3>
      {json.changes.length === 0 ? (
        <p className={styles.muted}>The shape has not changed since the first event of this type.</p>
      ) : (
        <ul className={styles.changes} aria-label="Shape changes">
          {json.changes.map((change) => (
            <li key={`${change.at}:${change.kind}:${change.path}`}>
              <Link href={eventHref(change.event)}>{formatTime(change.at)}</Link> <code className={styles.code}>{change.path}</code>{" "}
              {jsonChangeText(change)} <Verdict compatible={change.compatible} /> <span className={styles.muted}>{change.reason}</span>
            </li>
          ))}
        </ul>
      )}
      <h3>Fields</h3>
      <table className={styles.table} aria-label="JSON fields">
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Types (events, first seen → last seen)</th>
          </tr>
        </thead>
        <tbody>
          {json.fields.map((field) => (
            <tr key={field.path}>
              <td>
                <code className={styles.code}>{field.path}</code>
                <div className={styles.muted}>
                  in {formatCount(field.count)} of {formatCount(json.eventCount)}
                </div>
              </td>
              <td>
                {field.types.map((sighting) => (
                  <div key={sighting.type}>
                    <strong>{sighting.type}</strong> {formatCount(sighting.count)} ·{" "}
                    <Link href={eventHref(sighting.firstEvent)}>{formatTime(sighting.firstSeenAt)}</Link> → {formatTime(sighting.lastSeenAt)}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

