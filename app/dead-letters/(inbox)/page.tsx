import Link from "next/link";
import { headers } from "next/headers";
import { ZodError } from "zod";
import { getDatabase, groupDeadLetters, listDeadLetters, type DeadLetterGroup, type DeadLetterPage } from "@/server/db";
import { authenticateHeaders } from "@/server/auth";
import { DEAD_LETTER_STATUS_VALUES, deadLetterListQuerySchema, type DeadLetterListQuery } from "@/lib/api-schemas/dead-letters";
import { ValidationError } from "@/lib/errors";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { BulkReplayButton } from "@/components/dlq/bulk-replay";
import { DeadLetterList } from "@/components/dlq/dead-letter-list";
import styles from "@/components/dlq/dlq.module.css";
import { inboxHref } from "@/components/dlq/format";
import { formatDuration } from "@/lib/format-duration";
import { WriteAccessNotice } from "@/components/dlq/write-access-notice";
import { queryRecord } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";
export const metadata = { title: "Dead letters · Eventscope" };

/** When this render happened: the reference for the groups' ages. */
function renderedAt(): number {
  return Date.now();
}

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** /dead-letters: the inbox, grouped by original topic and error class, filtered, cursor-paged. */
export default async function DeadLettersPage({ searchParams }: Props) {
  const raw = queryRecord(await searchParams);
  const auth = authenticateHeaders(await headers());
  const canWrite = auth.writesEnabled && auth.principal?.role === "admin";
  let query: DeadLetterListQuery | null = null;
  let error: string | null = null;
  let groups: DeadLetterGroup[] = [];
  let page: DeadLetterPage | null = null;
  try {
    query = deadLetterListQuerySchema.parse(raw);
    const db = await getDatabase();
    const filters = { status: query.status, topic: query.topic, source: query.source, errorText: query.error, from: query.from, to: query.to };
    [groups, page] = await Promise.all([groupDeadLetters(db, filters), listDeadLetters(db, { ...filters, cursor: query.cursor, limit: query.limit ?? 200 })]);
  } catch (caught) {
    if (caught instanceof ZodError) error = caught.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ");
    else if (caught instanceof ValidationError) error = caught.message;
    else throw caught;
  }
  const now = renderedAt();
  const filterLinks = { status: raw.status, topic: raw.topic, error: raw.error, from: raw.from, to: raw.to };
  return (
    <main className={styles.dlqPage}>
      <AutoRefresh everyMs={5_000} />
      <h1 className={styles.dlqTitle}>Dead letters</h1>
      <WriteAccessNotice auth={auth} />
      <form method="get" action="/dead-letters" className={styles.dlqFilters} aria-label="Filter dead letters">
        <label>
          Status
          <select name="status" defaultValue={raw.status ?? ""}>
            <option value="">any</option>
            {DEAD_LETTER_STATUS_VALUES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Topic (original or DLQ)
          <input name="topic" defaultValue={raw.topic ?? ""} placeholder="e.g. payments" />
        </label>
        <label>
          Error text
          <input name="error" defaultValue={raw.error ?? ""} placeholder="e.g. timeout" />
        </label>
        <label>
          From (UTC)
          <input name="from" defaultValue={raw.from ?? ""} placeholder="e.g. 2026-11-23T08:00:00Z" />
        </label>
        <label>
          To (UTC)
          <input name="to" defaultValue={raw.to ?? ""} placeholder="e.g. 2026-11-23T09:00:00Z" />
        </label>
        <button type="submit" className={styles.dlqButton}>
          Filter
        </button>
        <Link href="/dead-letters">Clear</Link>
      </form>
      {error !== null ? (
        <div role="alert" className={styles.dlqError}>
          <strong>Cannot list dead letters</strong>: {error}
        </div>
      ) : null}
      {query && page ? (
        <>
          <section className={styles.dlqSection} aria-labelledby="dlq-groups">
            <h2 id="dlq-groups">By original topic and error</h2>
            {groups.length === 0 ? (
              <p role="status">
                {Object.values(filterLinks).some(Boolean)
                  ? "No dead letter matches these filters: clear a filter or widen the time range."
                  : "No dead letters: nothing has failed, or the collector has not seen a dead-letter topic yet (it recognises them by their headers or names such as orders.DLT, orders-dlq)."}
              </p>
            ) : (
              <table className={styles.dlqTable} aria-label="Dead-letter groups">
                <thead>
                  <tr>
                    <th>Original topic</th>
                    <th>Error class</th>
                    <th className={styles.dlqNum}>Count</th>
                    <th className={styles.dlqNum}>New</th>
                    <th className={styles.dlqNum}>Replayed</th>
                    <th className={styles.dlqNum}>Resolved</th>
                    <th className={styles.dlqNum}>Discarded</th>
                    <th>Oldest</th>
                    <th>Newest</th>
                    <th>DLQ topics</th>
                    {canWrite ? <th /> : null}
                  </tr>
                </thead>
                <tbody>
                  {groups.map((g) => (
                    <tr key={`${g.source}\u0000${g.originTopic}\u0000${g.errorClass}`}>
                      <td>
                        {g.originTopic ? (
                          <Link href={inboxHref({ ...filterLinks, topic: g.originTopic, cursor: undefined })}>{g.originTopic}</Link>
                        ) : (
                          "unknown"
                        )}
                        {g.originIsHint ? <span title="from the DLQ topic's name: a guess"> (from the name)</span> : null}
                      </td>
                      <td>
                        {g.errorClass ? <Link href={inboxHref({ ...filterLinks, error: g.errorClass })}>{g.errorClass}</Link> : "(no class)"}
                      </td>
                      <td className={styles.dlqNum}>{g.count}</td>
                      <td className={styles.dlqNum}>{g.byStatus.new}</td>
                      <td className={styles.dlqNum}>{g.byStatus.replayed}</td>
                      <td className={styles.dlqNum}>{g.byStatus.resolved}</td>
                      <td className={styles.dlqNum}>{g.byStatus.discarded}</td>
                      <td title={g.oldest}>{formatDuration(now - Date.parse(g.oldest))} ago</td>
                      <td title={g.newest}>{formatDuration(now - Date.parse(g.newest))} ago</td>
                      <td className={styles.dlqMono}>{g.dlqTopics.join(", ")}</td>
                      {canWrite ? (
                        <td>
                          <BulkReplayButton
                            target={{ group: { originTopic: g.originTopic, errorClass: g.errorClass, source: g.source } }}
                            label={`Replay group (${g.byStatus.new} new)`}
                            disabled={g.byStatus.new === 0}
                          />
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className={styles.dlqSection} aria-labelledby="dlq-list">
            <h2 id="dlq-list">Newest first{query.cursor ? " (a later page)" : ""}</h2>
            {page.deadLetters.length === 0 ? (
              <p role="status">{query.cursor ? "No more dead letters: this was the last page." : "Nothing to list."}</p>
            ) : (
              <DeadLetterList deadLetters={page.deadLetters} canWrite={canWrite} />
            )}
            <p className={styles.dlqActions}>
              {query.cursor ? <Link href={inboxHref(filterLinks)}>First page</Link> : null}
              {page.nextCursor ? <Link href={inboxHref({ ...filterLinks, cursor: page.nextCursor })}>Older dead letters →</Link> : null}
            </p>
          </section>
        </>
      ) : null}
    </main>
  );
}
