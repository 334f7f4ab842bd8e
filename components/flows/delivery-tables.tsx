import type { Flow } from "@/lib/api-schemas/flows";
import { formatCount } from "@/lib/format-number";
import { parseStepId } from "@/lib/flows";
import { stepName } from "./format";
import styles from "./flows.module.css";

/** A step id as words; the id itself when it is not one (never expected from the API). */
function nameOfId(id: string): string {
  const step = parseStepId(id);
  return step === null ? id : stepName(step);
}

/** A table of text columns and a count in the last one; rows keyed by their texts. */
function CountTable({ caption, columns, countColumn, rows }: { caption: string; columns: string[]; countColumn: string; rows: { texts: string[]; count: number }[] }) {
  if (rows.length === 0) return null;
  return (
    <table className={styles.table}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
          <th scope="col" className={styles.num}>
            {countColumn}
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.texts.join("\u0000")}>
            {row.texts.map((text, i) => (
              <td key={i}>{text}</td>
            ))}
            <td className={styles.num}>{formatCount(row.count)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * How the window's events of a kind were delivered: duplicate deliveries by topic and producer,
 * entities split over partitions by topic, and steps seen in the wrong order. Says so when there
 * were none, since "none" is an answer too.
 */
export function DeliveryTables({ delivery }: { delivery: Flow["delivery"] }) {
  const { duplicates, partitionSplits, outOfOrder } = delivery;
  if (duplicates.length === 0 && partitionSplits.length === 0 && outOfOrder.length === 0) {
    return (
      <p className={styles.muted} data-testid="delivery-none">
        No duplicate deliveries, partition splits or steps out of order in this window.
      </p>
    );
  }
  return (
    <section aria-label="Delivery" className={styles.delivery}>
      <CountTable
        caption="Duplicate deliveries (the same event again on the same topic: an id seen before, or the same content within a minute)"
        columns={["Topic", "Event type", "Producer"]}
        countColumn="Duplicates"
        rows={duplicates.map((row) => ({ texts: [row.topic, row.type, row.producer ?? "unknown producer"], count: row.count }))}
      />
      <CountTable
        caption="Entities split over partitions (their key changed, so Kafka no longer keeps their events in order)"
        columns={["Topic"]}
        countColumn="Entities"
        rows={partitionSplits.map((row) => ({ texts: [row.topic], count: row.entities }))}
      />
      <CountTable
        caption="Steps seen before the step that nearly always comes right before them"
        columns={["Step", "Seen before"]}
        countColumn="Entities"
        rows={outOfOrder.map((row) => ({ texts: [nameOfId(row.step), nameOfId(row.before)], count: row.entities }))}
      />
    </section>
  );
}
