import Link from "next/link";
import { groupHref, LAG_WINDOW_NAMES, LAG_WINDOWS, type LagWindow, type RabbitQueueView } from "@/lib/api-schemas/groups";
import { toChartValue, type ChartSeriesInput } from "@/lib/lag-chart";
import { formatDuration } from "@/lib/format-duration";
import { LagChart } from "@/components/lag/lag-chart";
import { HealthBadge } from "./health-badge";
import { formatOffset, formatTimeLag } from "./format";
import styles from "./groups.module.css";

function formatRate(rate: number | null): string {
  return rate === null ? "—" : `${rate.toFixed(rate < 10 ? 1 : 0)}/s`;
}

function formatArgument(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * One RabbitMQ queue where a group's page would be: lag (ready + unacknowledged), time lag or why
 * it is unknown, health and why, lag over the chosen window, consumers with their connections'
 * names, prefetch and ack mode, bindings with routing keys, arguments (dead-letter exchange, …)
 * and rates. Rendered on the server; the window chooser is links.
 */
export function QueueView({ queue, window }: { queue: RabbitQueueView; window: LagWindow }) {
  const from = Date.parse(queue.history.from);
  const to = Date.parse(queue.history.to);
  const lagSeries: ChartSeriesInput[] = [
    { name: "lag", points: queue.history.points.map((p) => ({ t: Date.parse(p.at), v: toChartValue(p.lag) })) },
    { name: "unacknowledged", points: queue.history.points.map((p) => ({ t: Date.parse(p.at), v: toChartValue(p.unacknowledged) })) },
  ];
  const timeLag: ChartSeriesInput = { name: "time lag", points: queue.history.points.map((p) => ({ t: Date.parse(p.at), v: p.timeLagMs })) };
  const argumentEntries = Object.entries(queue.arguments).sort(([a], [b]) => a.localeCompare(b));

  return (
    <>
      <p style={{ margin: 0, fontSize: "0.8rem" }}>
        <Link href="/groups">Consumer groups</Link> /
      </p>
      <h1 style={{ margin: "0.1rem 0 0.2rem" }}>{queue.name}</h1>
      <p className={styles.grMuted} style={{ margin: 0, fontSize: "0.82rem" }}>
        RabbitMQ {queue.type} queue on vhost <span className={styles.grMono}>{queue.vhost}</span> of {queue.source} · last polled{" "}
        {queue.updatedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}
        {queue.deletedAt ? <strong> · deleted from its vhost</strong> : null} ·{" "}
        <Link href={`/api/groups/${encodeURIComponent(queue.id)}`} prefetch={false}>JSON</Link>
      </p>

      <dl className={styles.grSummary}>
        <div><dt>State</dt><dd>{queue.state ?? "unknown"}</dd></div>
        <div><dt>Consumers</dt><dd>{queue.consumers.length}</dd></div>
        <div><dt>Lag</dt><dd>{formatOffset(queue.lag)}</dd></div>
        <div><dt>Ready</dt><dd>{formatOffset(queue.ready)}</dd></div>
        <div><dt>Unacknowledged</dt><dd>{formatOffset(queue.unacknowledged)}</dd></div>
        <div>
          <dt>Time lag</dt>
          <dd>
            {queue.timeLagMs === null ? <span className={styles.grUnknown}>{queue.timeLagUnknownReason ?? "unknown"}</span> : formatTimeLag(queue.timeLagMs)}
          </dd>
        </div>
        <div><dt>Publish</dt><dd>{formatRate(queue.rates.publish)}</dd></div>
        <div><dt>Deliver</dt><dd>{formatRate(queue.rates.deliver)}</dd></div>
        <div><dt>Ack</dt><dd>{formatRate(queue.rates.ack)}</dd></div>
        <div>
          <dt>Dead-letter exchange</dt>
          <dd>
            {queue.deadLetterExchange === null ? "none" : queue.deadLetterExchange || "(default exchange)"}
            {queue.deadLetterExchange !== null && queue.deadLetterRoutingKey !== null && <> with key {queue.deadLetterRoutingKey}</>}
            {queue.deadLetterPolicy !== null && <span className={styles.grMuted}> (by policy {queue.deadLetterPolicy || "(unnamed)"})</span>}
          </dd>
        </div>
      </dl>

      <div className={styles.grHealth} role="status" aria-label="Health">
        <HealthBadge status={queue.health?.status ?? null} /> {queue.health ? queue.health.reason : "not judged yet"}
        <div className={styles.grMuted} style={{ fontSize: "0.75rem", marginTop: "0.3rem" }}>
          Lag is ready + unacknowledged messages. Judged over the last {formatDuration(queue.healthWindowMs)} of samples: STOP (messages and
          no consumers), STALL (consumers but nothing acked while messages wait), WARN (lag grew all along), OK.
        </div>
      </div>

      <section className={styles.grSection} aria-labelledby="lag-heading">
        <h2 id="lag-heading">Lag over time</h2>
        <div className={styles.grControls}>
          <span>Window:</span>
          <span className={styles.grWindows} style={{ marginLeft: 0 }}>
            {LAG_WINDOW_NAMES.map((w) => (
              <Link key={w} href={groupHref(queue.id, { window: w, source: queue.source })} aria-current={w === window ? "true" : undefined} scroll={false}>
                {LAG_WINDOWS[w].label}
              </Link>
            ))}
          </span>
          <span className={styles.grMuted}>largest value per {queue.history.bucketMs / 1000} s bucket, UTC</span>
        </div>
        <LagChart title="Lag (messages)" series={lagSeries} from={from} to={to} />
        <LagChart title="Time lag (age of the oldest message not yet acked)" unit="ms" series={[timeLag]} from={from} to={to} height={150} />
      </section>

      <section className={styles.grSection} aria-labelledby="consumers-heading">
        <h2 id="consumers-heading">Consumers</h2>
        {queue.consumers.length === 0 ? (
          <div className={styles.grEmpty}>No consumers: nothing takes messages from this queue.</div>
        ) : (
          <table className={styles.grTable} aria-label="Consumers">
            <thead>
              <tr>
                <th>Connection name</th>
                <th>Connection</th>
                <th>Channel</th>
                <th>Consumer tag</th>
                <th className={styles.grNum}>Prefetch</th>
                <th>Ack mode</th>
              </tr>
            </thead>
            <tbody>
              {queue.consumers.map((c) => (
                <tr key={`${c.channel}/${c.consumerTag}`}>
                  <td>{c.connectionName ?? <span className={styles.grMuted}>none given</span>}</td>
                  <td className={styles.grMono}>{c.connection}</td>
                  <td className={styles.grMono}>{c.channel}</td>
                  <td className={styles.grMono}>{c.consumerTag}</td>
                  <td className={styles.grNum}>{c.prefetchCount === 0 ? "unlimited" : c.prefetchCount}</td>
                  <td>{c.ackRequired ? "manual ack" : "auto-ack"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className={styles.grSection} aria-labelledby="bindings-heading">
        <h2 id="bindings-heading">Bindings</h2>
        {queue.bindings.length === 0 ? (
          <div className={styles.grEmpty}>No bindings but the default exchange&apos;s: messages reach it by its name only.</div>
        ) : (
          <table className={styles.grTable} aria-label="Bindings">
            <thead>
              <tr>
                <th>Exchange</th>
                <th>Routing key</th>
                <th>Arguments</th>
              </tr>
            </thead>
            <tbody>
              {queue.bindings.map((b, i) => (
                <tr key={i}>
                  <td>{b.exchange}</td>
                  <td className={styles.grMono}>{b.routingKey === "" ? <span className={styles.grMuted}>(empty)</span> : b.routingKey}</td>
                  <td className={styles.grMono}>{Object.keys(b.arguments).length === 0 ? "" : JSON.stringify(b.arguments)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className={styles.grSection} aria-labelledby="arguments-heading">
        <h2 id="arguments-heading">Arguments</h2>
        {argumentEntries.length === 0 ? (
          <div className={styles.grEmpty}>None.</div>
        ) : (
          <table className={styles.grTable} aria-label="Arguments">
            <tbody>
              {argumentEntries.map(([name, value]) => (
                <tr key={name}>
                  <th scope="row" className={styles.grMono}>{name}</th>
                  <td className={styles.grMono}>{formatArgument(value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
