import type { ConsumerGroupMember } from "@/lib/api-schemas/groups";
import styles from "./groups.module.css";

/** The group's members (client id, host) and the partitions assigned to each, by topic. */
export function MembersTable({ members, state }: { members: ConsumerGroupMember[]; state: string }) {
  if (members.length === 0) {
    return (
      <div className={styles.grEmpty}>
        No active members (state {state}): nothing is consuming for this group. Its committed offsets stay where they are until a
        consumer with this group id starts again.
      </div>
    );
  }
  return (
    <table className={styles.grTable} aria-label="Members">
      <thead>
        <tr>
          <th>Client id</th>
          <th>Host</th>
          <th>Member id</th>
          <th>Assigned partitions</th>
        </tr>
      </thead>
      <tbody>
        {members.map((m) => {
          const byTopic = new Map<string, number[]>();
          for (const a of m.assignments) byTopic.set(a.topic, [...(byTopic.get(a.topic) ?? []), a.partition]);
          return (
            <tr key={m.memberId}>
              <td className={styles.grMono}>{m.clientId}</td>
              <td className={styles.grMono}>{m.clientHost}</td>
              <td className={`${styles.grMono} ${styles.grMuted}`}>{m.memberId}</td>
              <td>
                {byTopic.size === 0 ? (
                  <span className={styles.grMuted}>none</span>
                ) : (
                  [...byTopic].map(([topic, partitions]) => (
                    <div key={topic}>
                      {topic}: <span className={styles.grMono}>{partitions.join(", ")}</span>
                    </div>
                  ))
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
