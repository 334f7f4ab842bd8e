import Link from "next/link";
import { type ConsumerGroupListItem, GROUP_SORTS, groupHref } from "@/lib/api-schemas/groups";
import { HealthBadge } from "./health-badge";
import { formatOffset, formatTimeLag } from "./format";
import styles from "./groups.module.css";

type SortKey = (typeof GROUP_SORTS)[number];

const COLUMNS: { key: SortKey | null; label: string; numeric?: boolean }[] = [
  { key: "group", label: "Group or queue" },
  { key: null, label: "Kind" },
  { key: "state", label: "State" },
  { key: "members", label: "Members / consumers", numeric: true },
  { key: null, label: "Topics / exchanges" },
  { key: "lag", label: "Lag", numeric: true },
  { key: "timeLag", label: "Time lag", numeric: true },
  { key: "health", label: "Health" },
];

/** Names sort A→Z first; numbers and health worst-first. */
function defaultOrder(key: SortKey): "asc" | "desc" {
  return key === "group" || key === "state" ? "asc" : "desc";
}

export function sortHref(key: SortKey, current: { sort: SortKey; order: "asc" | "desc" }): string {
  const order = current.sort === key ? (current.order === "asc" ? "desc" : "asc") : defaultOrder(key);
  return `/groups?sort=${key}&order=${order}`;
}

const KIND_LABELS: Record<ConsumerGroupListItem["kind"], string> = { "kafka-group": "kafka group", "rabbitmq-queue": "rabbitmq queue" };

/**
 * Every Kafka group and RabbitMQ queue: kind, state, members (a queue's consumers), topics (the
 * exchanges bound to a queue), lag (a queue's ready + unacknowledged), time lag and health with its
 * reason; headers sort.
 */
export function GroupsTable({ groups, sort, order }: { groups: ConsumerGroupListItem[]; sort: SortKey; order: "asc" | "desc" }) {
  return (
    <table className={styles.grTable} aria-label="Consumer groups">
      <thead>
        <tr>
          {COLUMNS.map((column) => (
            <th
              key={column.label}
              className={column.numeric ? styles.grNum : undefined}
              aria-sort={column.key === sort ? (order === "asc" ? "ascending" : "descending") : undefined}
            >
              {column.key ? (
                <Link href={sortHref(column.key, { sort, order })}>
                  {column.label}
                  {column.key === sort ? (order === "asc" ? " ▲" : " ▼") : ""}
                </Link>
              ) : (
                column.label
              )}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {groups.map((group) => (
          <tr key={`${group.source}/${group.groupId}`}>
            <td>
              <Link href={groupHref(group.groupId, { source: group.source })}>
                {group.queue ? `${group.queue.name}${group.queue.vhost === "/" ? "" : ` (vhost ${group.queue.vhost})`}` : group.groupId}
              </Link>
            </td>
            <td className={styles.grState}>
              {KIND_LABELS[group.kind]}
              {group.queue ? <div className={styles.grMuted}>{group.queue.type}</div> : null}
            </td>
            <td className={styles.grState}>{group.state}</td>
            <td className={styles.grNum}>{group.members}</td>
            <td>
              <span className={styles.grTopics}>
                {group.topics.slice(0, 6).map((topic) => (
                  <span key={topic} className={styles.grTopic}>
                    {topic}
                  </span>
                ))}
                {group.topics.length > 6 ? <span className={styles.grMuted}>+{group.topics.length - 6} more</span> : null}
              </span>
            </td>
            <td className={styles.grNum}>
              {group.totalLag === null ? <span className={styles.grUnknown}>unknown</span> : formatOffset(group.totalLag)}
              {group.totalLag !== null && group.unknownLagPartitions > 0 ? (
                <div className={styles.grUnknown} title="partitions where the group has committed nothing: their lag is unknown">
                  + unknown on {group.unknownLagPartitions}
                </div>
              ) : null}
              {group.queue && group.queue.ready !== null && group.queue.unacknowledged !== null ? (
                <div className={styles.grMuted}>
                  {formatOffset(group.queue.ready)} ready, {formatOffset(group.queue.unacknowledged)} unacked
                </div>
              ) : null}
            </td>
            <td className={styles.grNum}>
              {group.timeLagMs === null ? (
                <span className={styles.grUnknown}>unknown</span>
              ) : (
                formatTimeLag(group.timeLagMs)
              )}
              {group.queue?.timeLagUnknownReason ? <div className={styles.grUnknown}>{group.queue.timeLagUnknownReason}</div> : null}
            </td>
            <td>
              <HealthBadge status={group.health?.status ?? null} />{" "}
              <span className={styles.grReason}>{group.health ? group.health.reason : "not judged yet"}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
