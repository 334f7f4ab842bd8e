import Link from "next/link";
import { flowHref, type FlowKindSummary } from "@/lib/api-schemas/flows";
import { KEY_KIND_PREFIX } from "@/lib/flows";
import { formatCount } from "@/lib/format-number";
import styles from "./flows.module.css";

/** Entity kinds, each linking to its flow, with its stored entities and last activity. */
export function KindsTable({ kinds }: { kinds: readonly FlowKindSummary[] }) {
  return (
    <table className={styles.kinds}>
      <caption className="visually-hidden">Entity kinds</caption>
      <thead>
        <tr>
          <th scope="col">Kind</th>
          <th scope="col" className={styles.num}>
            Entities
          </th>
          <th scope="col">Last activity</th>
        </tr>
      </thead>
      <tbody>
        {kinds.map((k) => (
          <tr key={k.kind}>
            <th scope="row">
              <Link href={flowHref(k.kind)}>{k.kind}</Link>
              {k.kind.startsWith(KEY_KIND_PREFIX) && <span className={styles.muted}> (by message key on {k.kind.slice(KEY_KIND_PREFIX.length)})</span>}
            </th>
            <td className={styles.num}>{formatCount(k.entities)}</td>
            <td>{k.lastAt === null ? "–" : <time dateTime={k.lastAt}>{new Date(k.lastAt).toISOString().replace("T", " ").slice(0, 19)} UTC</time>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
