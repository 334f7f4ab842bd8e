import Link from "next/link";
import { notFound } from "next/navigation";
import { findRabbitQueue, getConsumerGroup, getDatabase, getGroupLagHistory, listUnprocessedEvents, type ConsumerGroupView } from "@/server/db";
import { eventHref, inputErrorMessage } from "@/lib/api-schemas/events";
import { groupHref, groupIdSchema, lagRange, parseGroupPageQuery, parseRabbitQueueId, type GroupPageQuery } from "@/lib/api-schemas/groups";
import { NotFoundError } from "@/lib/errors";
import { formatDuration } from "@/lib/format-duration";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { HealthBadge } from "@/components/groups/health-badge";
import { LagCharts } from "@/components/groups/lag-charts";
import { MembersTable } from "@/components/groups/members-table";
import { PartitionsTable, partitionAnchor } from "@/components/groups/partitions-table";
import { UnprocessedList } from "@/components/groups/unprocessed-list";
import { QueueView } from "@/components/groups/queue-view";
import { formatOffset, formatTimeLag } from "@/components/groups/format";
import styles from "@/components/groups/groups.module.css";

export const dynamic = "force-dynamic";

type Props = {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props) {
  const id = decodeURIComponent((await params).id);
  const queue = parseRabbitQueueId(id);
  return { title: queue ? `${queue.queue} · RabbitMQ queue · Eventscope` : `${id} · consumer group · Eventscope` };
}

/** The partition whose unprocessed events are listed: the one asked for, else the worst lagging one. */
function chosenPartition(group: ConsumerGroupView, query: GroupPageQuery) {
  if (query.topic !== undefined && query.partition !== undefined) {
    return group.partitions.find((p) => p.topic === query.topic && p.partition === query.partition) ?? null;
  }
  const lagging = group.partitions.filter((p) => p.offsetLag !== null && p.offsetLag !== "0");
  const worst = group.health.worst;
  return (
    lagging.find((p) => worst !== null && p.topic === worst.topic && p.partition === worst.partition) ??
    [...lagging].sort((a, b) => (BigInt(b.offsetLag!) > BigInt(a.offsetLag!) ? 1 : BigInt(b.offsetLag!) < BigInt(a.offsetLag!) ? -1 : 0))[0] ??
    null
  );
}

/** The RabbitMQ queue a queue id names, with its lag over the chosen window; null for anything else. */
async function loadQueuePage(id: string, query: GroupPageQuery) {
  return findRabbitQueue(await getDatabase(), id, { source: query.source, history: lagRange(query.window, Date.now()) });
}

/** Everything the page shows, read in parallel where it can be; null for an unknown group. */
async function loadGroupPage(groupId: string, query: GroupPageQuery) {
  const db = await getDatabase();
  let group: ConsumerGroupView;
  try {
    group = await getConsumerGroup(db, groupId, { source: query.source });
  } catch (error) {
    if (error instanceof NotFoundError || (error instanceof Error && error.name === "NotFoundError")) return null;
    throw error;
  }
  const partition = chosenPartition(group, query);
  const [history, unprocessed] = await Promise.all([
    getGroupLagHistory(db, groupId, { ...lagRange(query.window, Date.now()), source: group.source }),
    partition
      ? listUnprocessedEvents(db, groupId, {
          topic: partition.topic,
          partition: partition.partition,
          order: query.order ?? "oldest",
          source: group.source,
        })
      : Promise.resolve(null),
  ]);
  return { group, history, partition, unprocessed };
}

/**
 * /groups/[id]: one consumer group — health and why, lag over time, members, partitions, unprocessed
 * events; or one RabbitMQ queue (components/groups/queue-view.tsx) for a queue id.
 */
export default async function GroupPage({ params, searchParams }: Props) {
  let groupId: string;
  let query: GroupPageQuery;
  try {
    groupId = groupIdSchema.parse((await params).id);
    query = parseGroupPageQuery(await searchParams);
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <main style={{ padding: "1rem 1.5rem" }}>
        <h1>Consumer group</h1>
        <div role="alert" className={styles.grError}>
          <strong>Cannot show this group</strong>: {message}. <Link href="/groups">All groups</Link>
        </div>
      </main>
    );
  }

  // A RabbitMQ queue's id (rabbitmq:<vhost>/<queue>) shows the queue.
  const queue = await loadQueuePage(groupId, query);
  if (queue) {
    return (
      <main style={{ padding: "1rem 1.5rem 2rem", maxWidth: "100rem", margin: "0 auto" }}>
        <QueueView queue={queue} window={query.window} />
        <p className={styles.grMuted} style={{ fontSize: "0.8rem" }}>
          <AutoRefresh pausable />
        </p>
      </main>
    );
  }

  const data = await loadGroupPage(groupId, query);
  if (!data) notFound();
  const { group, history, partition, unprocessed } = data;
  const worst = group.health.worst ? group.partitions.find((p) => p.topic === group.health.worst!.topic && p.partition === group.health.worst!.partition) : undefined;
  const order = query.order ?? "oldest";

  return (
    <main style={{ padding: "1rem 1.5rem 2rem", maxWidth: "100rem", margin: "0 auto" }}>
      <p style={{ margin: 0, fontSize: "0.8rem" }}>
        <Link href="/groups">Consumer groups</Link> /
      </p>
      <h1 style={{ margin: "0.1rem 0 0.2rem" }}>{group.groupId}</h1>
      <p className={styles.grMuted} style={{ margin: 0, fontSize: "0.82rem" }}>
        Last polled {group.updatedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")} · <AutoRefresh pausable />{" "}
        · <Link href={`/api/groups/${encodeURIComponent(group.groupId)}`} prefetch={false}>JSON</Link>
      </p>

      <dl className={styles.grSummary}>
        <div><dt>State</dt><dd>{group.state}</dd></div>
        <div><dt>Members</dt><dd>{group.members.length}</dd></div>
        <div><dt>Partitions</dt><dd>{group.partitions.length}</dd></div>
        <div>
          <dt>Offset lag</dt>
          <dd>
            {group.totalLag === null ? <span className={styles.grUnknown}>unknown</span> : formatOffset(group.totalLag)}
            {group.totalLag !== null && group.unknownLagPartitions > 0 ? <span className={styles.grUnknown}> + unknown on {group.unknownLagPartitions}</span> : null}
          </dd>
        </div>
        <div><dt>Time lag</dt><dd>{group.timeLagMs === null ? <span className={styles.grUnknown}>unknown</span> : formatTimeLag(group.timeLagMs)}</dd></div>
        <div><dt>Assignor</dt><dd>{group.protocol ?? "—"}</dd></div>
      </dl>

      <div className={styles.grHealth} role="status" aria-label="Health">
        <HealthBadge status={group.health.status} /> {group.health.reason}
        {worst ? (
          <>
            {" "}
            (<a href={`#${partitionAnchor(worst)}`}>see the partition</a>)
          </>
        ) : null}
        {worst?.status === "STALL" && worst.nextEvent ? (
          <div style={{ marginTop: "0.3rem" }}>
            Stuck on <Link href={eventHref(worst.nextEvent)}>{`${worst.topic}/${worst.partition}/${worst.nextEvent.offset}`}</Link>
            {worst.nextEvent.eventType ? ` (${worst.nextEvent.eventType}${worst.nextEvent.key ? `, key ${worst.nextEvent.key}` : ""})` : ""}: the event at
            the committed offset, which the group has not got past.
          </div>
        ) : null}
        <div className={styles.grMuted} style={{ fontSize: "0.75rem", marginTop: "0.3rem" }}>
          Judged over the last {formatDuration(group.healthWindowMs)} of lag samples
          {group.latestSampleAt ? ` up to ${group.latestSampleAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}` : " (none yet)"}.
        </div>
      </div>

      <section className={styles.grSection} aria-labelledby="lag-heading">
        <h2 id="lag-heading">Lag over time</h2>
        <LagCharts groupId={group.groupId} history={history} query={query} />
      </section>

      <section className={styles.grSection} aria-labelledby="members-heading">
        <h2 id="members-heading">Members</h2>
        <MembersTable members={group.members} state={group.state} />
      </section>

      <section className={styles.grSection} aria-labelledby="partitions-heading">
        <h2 id="partitions-heading">Partitions</h2>
        {group.partitions.length === 0 ? (
          <div className={styles.grEmpty}>This group has no committed offsets and no assignments yet.</div>
        ) : (
          <PartitionsTable groupId={group.groupId} partitions={group.partitions} worst={group.health.worst} query={query} />
        )}
      </section>

      <section className={styles.grSection} id="unprocessed" aria-labelledby="unprocessed-heading">
        <h2 id="unprocessed-heading">Unprocessed by this group</h2>
        {partition && unprocessed ? (
          <>
            <div className={styles.grControls}>
              <span>
                Partition {partition.partition} of <strong>{partition.topic}</strong>: offsets {formatOffset(partition.committedOffset)} to{" "}
                {partition.endOffset === null ? "unknown" : formatOffset((BigInt(partition.endOffset) - 1n).toString())} (
                {formatOffset(unprocessed.offsetLag)} events)
              </span>
              <span className={styles.grWindows}>
                {(["oldest", "newest"] as const).map((o) => (
                  <Link key={o} href={`${groupHref(group.groupId, { ...query, topic: partition.topic, partition: partition.partition, order: o })}#unprocessed`} aria-current={o === order ? "true" : undefined}>
                    {o} first
                  </Link>
                ))}
              </span>
            </div>
            <UnprocessedList key={`${partition.topic}/${partition.partition}/${order}`} initial={unprocessed} />
          </>
        ) : query.topic !== undefined && query.partition !== undefined ? (
          <div className={styles.grEmpty}>
            This group has no offset on partition {query.partition} of {query.topic}. <Link href={groupHref(group.groupId, { window: query.window, source: group.source })}>Show its partitions</Link>
          </div>
        ) : (
          <div className={styles.grEmpty}>Nothing unprocessed: the group is caught up on every partition where its lag is known.</div>
        )}
      </section>
    </main>
  );
}
