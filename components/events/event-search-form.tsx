"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import type { FormEvent } from "react";
import styles from "./search.module.css";

/** The raw values of the search fields, as they are in the URL. */
export type SearchFormValues = Partial<Record<"entity" | "key" | "type" | "topic" | "header" | "traceId" | "flag" | "schemaId" | "from" | "to", string>>;

const FIELDS: { name: keyof SearchFormValues; label: string; placeholder: string; type?: string }[] = [
  { name: "entity", label: "Entity key", placeholder: "ord-9182" },
  { name: "key", label: "Message key", placeholder: "exact key" },
  { name: "type", label: "Event type", placeholder: "OrderPlaced" },
  { name: "topic", label: "Topic", placeholder: "orders" },
  { name: "header", label: "Header", placeholder: "ce_type=OrderPlaced or x-replay-id" },
  { name: "traceId", label: "Trace id", placeholder: "32 hex digits" },
  { name: "flag", label: "Flag", placeholder: "batch-undecodable" },
  { name: "schemaId", label: "Schema id", placeholder: "registry id" },
  { name: "from", label: "From (UTC)", placeholder: "2026-11-23T08:00:00Z", type: "datetime-local" },
  { name: "to", label: "To (UTC)", placeholder: "2026-11-23T09:00:00Z", type: "datetime-local" },
];

/** A datetime-local field holds `YYYY-MM-DDTHH:mm[:ss]`; an ISO time from the URL is cut to that (UTC). */
function fieldValue(name: keyof SearchFormValues, value: string | undefined): string {
  if (value === undefined) return "";
  if ((name === "from" || name === "to") && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?Z$/.test(value)) return value.slice(0, 19);
  return value;
}

/**
 * A GET form on /events (works without script); with script, empty fields are left out of the
 * URL so a pasted link shows only the filters that were set.
 */
export function EventSearchForm({ values }: { values: SearchFormValues }) {
  const router = useRouter();
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(event.currentTarget)) {
      if (typeof value === "string" && value.trim() !== "") params.set(name, value.trim());
    }
    const query = params.toString();
    router.push(query ? `/events?${query}` : "/events");
  }
  return (
    <form action="/events" method="get" onSubmit={submit} className={styles.evForm} role="search" aria-label="Search events">
      {FIELDS.map((field) => (
        <label key={field.name} className={styles.evField}>
          <span>{field.label}</span>
          <input
            name={field.name}
            type={field.type ?? "text"}
            step={field.type === "datetime-local" ? 1 : undefined}
            placeholder={field.placeholder}
            defaultValue={fieldValue(field.name, values[field.name])}
          />
        </label>
      ))}
      <div className={styles.evFormActions}>
        <button type="submit">Search</button>
        <Link href="/events">Clear</Link>
      </div>
    </form>
  );
}
