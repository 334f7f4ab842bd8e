import Link from "next/link";
import { ZodError } from "zod";
import { getDatabase, listAuditLog, type AuditLogPage } from "@/server/db";
import { auditQuerySchema } from "@/lib/api-schemas/dead-letters";
import { ValidationError } from "@/lib/errors";
import { AuditTable } from "@/components/dlq/audit-table";
import styles from "@/components/dlq/dlq.module.css";
import { queryRecord } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";
export const metadata = { title: "Audit · Eventscope" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

function auditHref(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const text = query.toString();
  return text ? `/audit?${text}` : "/audit";
}

/** /audit: every write (replay, bulk replay, resolve, discard): who, what, when, result. Newest first, paged. */
export default async function AuditPage({ searchParams }: Props) {
  const raw = queryRecord(await searchParams);
  let page: AuditLogPage | null = null;
  let error: string | null = null;
  try {
    const query = auditQuerySchema.parse(raw);
    page = await listAuditLog(await getDatabase(), query);
  } catch (caught) {
    if (caught instanceof ZodError) error = caught.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ");
    else if (caught instanceof ValidationError) error = caught.message;
    else throw caught;
  }
  const filters = { actor: raw.actor, action: raw.action, targetType: raw.targetType, targetId: raw.targetId };
  return (
    <main className={styles.dlqPage}>
      <h1 className={styles.dlqTitle}>Audit log</h1>
      <form method="get" action="/audit" className={styles.dlqFilters} aria-label="Filter the audit log">
        <label>
          Who
          <input name="actor" defaultValue={raw.actor ?? ""} placeholder="e.g. admin" />
        </label>
        <label>
          Action
          <select name="action" defaultValue={raw.action ?? ""}>
            <option value="">any</option>
            <option value="replay">replay</option>
            <option value="replay-bulk">replay-bulk</option>
            <option value="resolve">resolve</option>
            <option value="discard">discard</option>
          </select>
        </label>
        <button type="submit" className={styles.dlqButton}>
          Filter
        </button>
        <Link href="/audit">Clear</Link>
      </form>
      {error !== null ? (
        <div role="alert" className={styles.dlqError}>
          <strong>Cannot read the audit log</strong>: {error}
        </div>
      ) : null}
      {page ? (
        page.entries.length === 0 ? (
          <p role="status">
            {raw.cursor
              ? "No older entries."
              : "Nothing written yet: replays, resolves and discards of dead letters appear here with who did them and when."}
          </p>
        ) : (
          <>
            <AuditTable entries={page.entries} />
            <p className={styles.dlqActions}>
              {raw.cursor ? <Link href={auditHref(filters)}>Newest</Link> : null}
              {page.nextCursor ? <Link href={auditHref({ ...filters, cursor: page.nextCursor })}>Older entries →</Link> : null}
            </p>
          </>
        )
      ) : null}
    </main>
  );
}
