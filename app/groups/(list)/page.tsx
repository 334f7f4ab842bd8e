import Link from "next/link";
import { getDatabase, listConsumerGroups } from "@/server/db";
import { parseGroupListQuery } from "@/lib/api-schemas/groups";
import { inputErrorMessage } from "@/lib/api-schemas/events";
import { GroupsTable } from "@/components/groups/groups-table";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import styles from "@/components/groups/groups.module.css";

export const dynamic = "force-dynamic";
export const metadata = { title: "Consumer groups · Eventscope" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** /groups: every Kafka consumer group and RabbitMQ queue with its lag now and its health, worst first. */
export default async function GroupsPage({ searchParams }: Props) {
  let query;
  try {
    query = parseGroupListQuery(await searchParams);
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <main style={{ padding: "1rem 1.5rem" }}>
        <h1>Consumer groups</h1>
        <div role="alert" className={styles.grError}>
          <strong>Cannot list the groups</strong>: {message}. <Link href="/groups">Show all groups</Link>
        </div>
      </main>
    );
  }
  const sort = query.sort ?? "health";
  const order = query.order ?? (sort === "group" || sort === "state" ? "asc" : "desc");
  const page = await listConsumerGroups(await getDatabase(), { ...query, sort, order });
  return (
    <main style={{ padding: "1rem 1.5rem 2rem", maxWidth: "100rem", margin: "0 auto" }}>
      <h1 style={{ marginBottom: "0.2rem" }}>Consumer groups</h1>
      <p className={styles.grMuted} style={{ margin: "0 0 0.6rem", fontSize: "0.85rem" }}>
        {page.total} in all, Kafka consumer groups and RabbitMQ queues. A group&apos;s lag is end offset −
        committed offset per partition, summed; a queue&apos;s is its ready + unacknowledged messages. Time lag is the age of the oldest
        unprocessed record (for a queue, of its oldest message not yet acked, known only when messages carry a timestamp property). Health is
        judged over the last 5 minutes of samples: STOP (no members or consumers while lagging), STALL (committed offset not moving, or
        nothing acked, while lagging), WARN (lag grew all along), OK. <AutoRefresh pausable />{" "}
        <Link href="/api/groups" prefetch={false}>JSON</Link>
      </p>
      {page.total === 0 ? (
        <div className={styles.grEmpty}>
          No consumer groups yet. Eventscope lists the groups of the cluster the collector polls: start the collector (
          <code>npm run collector</code>, or <code>npm run demo</code>) and consumers that commit offsets appear here within a poll.
        </div>
      ) : (
        <GroupsTable groups={page.groups} sort={sort} order={order} />
      )}
      {query.cursor !== undefined || page.nextCursor ? (
        <nav className={styles.grPager} aria-label="Pages">
          {query.cursor !== undefined ? <Link href={`/groups?sort=${sort}&order=${order}`}>First page</Link> : null}
          {page.nextCursor ? (
            <Link href={`/groups?sort=${sort}&order=${order}&cursor=${encodeURIComponent(page.nextCursor)}`}>Next page</Link>
          ) : null}
        </nav>
      ) : null}
    </main>
  );
}
