import pg from "pg";
import type { ReceivedEvent, ServiceName } from "./events.ts";

/**
 * The services' own state, in a `demo` schema of the database they are given, apart from
 * Eventscope's tables: what a real team's services would keep in their own databases.
 *
 * processed_events is the idempotency record: a consumer inserts (consumer, event id) in the
 * same transaction as the event's side effects, so an event either has both or neither, and a
 * redelivered or replayed event whose id is already there is skipped (and counted in
 * `duplicates`). The follow-up events are written to the same row (an outbox) and sent after the
 * commit, so no lock is held while Kafka answers; until they are sent the offset is not
 * committed either, and a redelivery sends what the outbox still holds. Events a consumer does not act on are not recorded (there is no side effect to
 * guard). A payment attempt that fails and goes to the retry topic or the DLQ rolls its
 * transaction back: its id is NOT recorded, so a retry or a replay of it is processed.
 */

export const LIMITED_SKU = "sku-limited-edition";
/** The limited SKU's stock after each restock: it runs out between restocks at the default rate. */
export const LIMITED_STOCK = 25;
export const SKUS = ["sku-espresso-beans", "sku-grinder", "sku-milk-jug", "sku-tamper", "sku-scale", "sku-filter-papers", "sku-kettle"];
const AMPLE_STOCK = 1_000_000;

const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS demo;
CREATE TABLE IF NOT EXISTS demo.processed_events (
  consumer     text        NOT NULL,
  event_id     text        NOT NULL,
  event_type   text,
  topic        text        NOT NULL,
  "partition"  integer     NOT NULL,
  "offset"     bigint      NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  -- Deliveries of the same event id after the first: skipped, never processed again.
  duplicates   integer     NOT NULL DEFAULT 0,
  -- The follow-up messages, committed with the side effects and cleared once sent: a delivery
  -- that finds them still here (the send failed, or the process died before it) sends them again.
  outbox       jsonb,
  PRIMARY KEY (consumer, event_id)
);
-- (Added after the first version: a demo schema from before gets it too.)
ALTER TABLE demo.processed_events ADD COLUMN IF NOT EXISTS outbox jsonb;
CREATE TABLE IF NOT EXISTS demo.orders (
  order_id   text        PRIMARY KEY,
  status     text        NOT NULL,
  amount     numeric(12, 2),
  reason     text,
  placed_at  timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS demo.stock (
  sku       text    PRIMARY KEY,
  available integer NOT NULL CHECK (available >= 0)
);
CREATE TABLE IF NOT EXISTS demo.reservations (
  order_id       text        PRIMARY KEY,
  reservation_id text        NOT NULL,
  items          jsonb       NOT NULL,
  status         text        NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
-- One payment per order: a second charge is impossible even if idempotency were bypassed.
CREATE TABLE IF NOT EXISTS demo.payments (
  order_id   text        PRIMARY KEY,
  payment_id text        NOT NULL,
  amount     numeric(12, 2),
  status     text        NOT NULL,
  reason     text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- (Added after the first version.) What a refund's payments event repeats from the payment.
ALTER TABLE demo.payments ADD COLUMN IF NOT EXISTS currency text;
ALTER TABLE demo.payments ADD COLUMN IF NOT EXISTS card_last4 text;
CREATE TABLE IF NOT EXISTS demo.shipments (
  order_id    text        PRIMARY KEY,
  shipment_id text        NOT NULL,
  status      text        NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS demo.notifications (
  event_id text        PRIMARY KEY,
  order_id text        NOT NULL,
  template text        NOT NULL,
  sent_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS demo.analytics_counts (
  event_type text   PRIMARY KEY,
  events     bigint NOT NULL
);
`;

/** A lock id of our own (any constant): several demo processes starting at once create the schema once. */
const SCHEMA_LOCK = 0x64656d6f;

export type Tx = pg.PoolClient;

/** A follow-up message waiting in a processed event's outbox: plain JSON (string key, value, headers). */
export interface OutboxMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export class DemoState {
  readonly pool: pg.Pool;

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 20, application_name: "eventscope-demo-services" });
    // An idle client's error (the server restarted) must not crash the process; the next query
    // gets a fresh connection or fails and is retried by the consumer.
    this.pool.on("error", () => {});
  }

  /** Creates the demo schema and seeds the stock (idempotent). */
  async prepare(): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
      await tx.query(SCHEMA_SQL);
      await tx.query(
        `INSERT INTO demo.stock (sku, available) SELECT unnest($1::text[]), $2 ON CONFLICT (sku) DO NOTHING`,
        [SKUS, AMPLE_STOCK],
      );
      await tx.query(`INSERT INTO demo.stock (sku, available) VALUES ($1, $2) ON CONFLICT (sku) DO NOTHING`, [
        LIMITED_SKU,
        LIMITED_STOCK,
      ]);
    });
  }

  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Runs `work` and records `event` as processed by `consumer`, in one transaction, unless the
   * event id is already recorded: then only the duplicate is counted and `work` does not run.
   * What `work` puts in the outbox is committed with it and then handed to `deliver`; a duplicate
   * whose outbox was never cleared delivers it now. Returns whether `work` ran. If `work` throws,
   * nothing is recorded.
   */
  async processOnce(
    consumer: ServiceName,
    event: ReceivedEvent,
    work: (tx: Tx, outbox: OutboxMessage[]) => Promise<void>,
    deliver: (messages: OutboxMessage[]) => Promise<void>,
  ): Promise<boolean> {
    const { ran, pending } = await this.transaction(async (tx) => {
      // The insert takes the row lock first: a concurrent delivery of the same id waits here
      // and then sees the conflict.
      const { rows } = await tx.query<{ first: boolean; outbox: OutboxMessage[] | null }>(
        `INSERT INTO demo.processed_events (consumer, event_id, event_type, topic, "partition", "offset")
              VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (consumer, event_id) DO UPDATE SET duplicates = demo.processed_events.duplicates + 1
         RETURNING (xmax = 0) AS first, outbox`,
        [consumer, event.id, event.type, event.topic, event.partition, event.offset],
      );
      if (!rows[0]!.first) return { ran: false, pending: rows[0]!.outbox ?? [] };
      const outbox: OutboxMessage[] = [];
      await work(tx, outbox);
      if (outbox.length > 0) {
        await tx.query(`UPDATE demo.processed_events SET outbox = $3 WHERE consumer = $1 AND event_id = $2`, [
          consumer,
          event.id,
          JSON.stringify(outbox),
        ]);
      }
      return { ran: true, pending: outbox };
    });
    if (pending.length > 0) {
      await deliver(pending);
      await this.pool.query(`UPDATE demo.processed_events SET outbox = NULL WHERE consumer = $1 AND event_id = $2`, [consumer, event.id]);
    }
    return ran;
  }

  /** Puts the limited SKU back to its full stock (a delivery arrived). */
  async restockLimitedSku(): Promise<void> {
    await this.pool.query(`UPDATE demo.stock SET available = $2 WHERE sku = $1 AND available < $2`, [LIMITED_SKU, LIMITED_STOCK]);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
