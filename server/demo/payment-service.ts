import { z } from "zod";
import {
  carriedHeaders,
  derivedEventId,
  FAILURE_HEADERS,
  RETRY_NOT_BEFORE_HEADER,
  TOPICS,
  type ReceivedEvent,
} from "./events.ts";
import { outageAt, PaymentError, retryDelayMs, type OutageSchedule } from "./failures.ts";
import { PAYMENTS_SUBJECT, type Payment } from "./payments-avro.ts";
import { handleOnce, orderIdOf, type DemoService, type ServiceContext } from "./service.ts";

const NAME = "payment-service";

const paymentRequestSchema = z.object({
  orderId: z.string().min(1),
  amount: z.number().positive(),
  currency: z.string().length(3),
  card: z.object({ token: z.string().min(1), last4: z.string().regex(/^\d{4}$/) }, {
    error: (issue) => `expected a card object with a token, got ${issue.input === null ? "null" : typeof issue.input}`,
  }),
});

/** Why a payment request cannot be processed, in one line ("card: expected …"). */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "value"}: ${issue.message}`).join("; ");
}

/** Where a message was first consumed: the inventory record, whatever retry records followed. */
interface Origin {
  topic: string;
  partition: string;
  offset: string;
}

/**
 * Charges the card for InventoryReserved: PaymentProcessed, or PaymentFailed when the card is
 * declined (a business outcome, compensated downstream). Gateway failures are retried through
 * `payment-service-retry` with exponential backoff and jitter; after `--max-attempts` attempts,
 * or at once for a malformed order (no retry can fix it), the message goes to
 * `payment-service-dlq` with its original key, value and headers plus the failure headers of
 * CONVENTIONS.md. Refunds the payment on ShippingFailed (PaymentRefunded).
 *
 * A failed attempt records nothing as processed (its transaction rolls back), so a retry record
 * or a replay of the dead letter is processed like a new delivery; the payments table's one row
 * per order makes a second charge impossible either way.
 *
 * Its producer sometimes delivers a `payments` event twice (`--duplicate-rate`, service.ts); the
 * retry and dead-letter records are never sent twice.
 *
 * Its `payments` events are Avro (payments-avro.ts): the schema is registered at start
 * (run-services.ts), and `--schema-change-after` seconds after start `--schema-change` rolls out
 * a new version: registered under payments-value, then written with.
 */
export function paymentService(context: ServiceContext): DemoService {
  const { options } = context;
  const schedule: OutageSchedule = {
    everySeconds: options.outageEverySeconds,
    lengthSeconds: options.outageLengthSeconds,
    startedAtMs: Date.now(),
  };
  let outageTimer: NodeJS.Timeout | undefined;
  let schemaChangeTimer: NodeJS.Timeout | undefined;
  let inOutage = false;

  /** Registers the changed payments schema and writes with it from then on; retried until it works. */
  const rollOutSchemaChange = async () => {
    const change = options.schemaChange;
    if (change === "none" || context.stopping) return;
    try {
      const id = await context.payments.register(change);
      context.log(
        `payment-service: schema change rolled out (${change}): payments are written with schema id ${id}, ` +
          `registered under ${PAYMENTS_SUBJECT}`,
      );
    } catch (error) {
      // A registry that enforces compatibility refuses the breaking change (409): said, and tried
      // again, while the payments go on with the schema before.
      context.log(`payment-service: registering the ${change} payments schema failed, retrying in 10 s: ${error instanceof Error ? error.message : String(error)}`);
      schemaChangeTimer = setTimeout(() => void rollOutSchemaChange(), 10_000);
    }
  };

  /** The simulated gateway call: throws a retriable PaymentError when it is down or times out. */
  const callGateway = (): "approved" | "declined" => {
    const outage = outageAt(schedule, Date.now());
    if (outage) {
      throw new PaymentError(
        "GatewayUnavailableError",
        `payment gateway unavailable (outage until ${new Date(outage.endMs).toISOString()})`,
        true,
      );
    }
    if (context.random() < options.transientRate) {
      throw new PaymentError("GatewayTimeoutError", "payment gateway did not answer within 2000 ms", true);
    }
    return context.random() < options.declineRate ? "declined" : "approved";
  };

  const charge = (event: ReceivedEvent) =>
    handleOnce(context, NAME, event, async (tx, send) => {
      const request = paymentRequestSchema.safeParse(event.data);
      if (!request.success) {
        throw new PaymentError("MalformedOrderError", `malformed order: ${describeIssues(request.error)}`, false);
      }
      const { orderId, amount, currency, card } = request.data;
      const outcome = callGateway();
      const paymentId = derivedEventId(NAME, orderId, "PaymentProcessed");
      const status = outcome === "approved" ? "captured" : "declined";
      const reason = outcome === "declined" ? "card declined" : null;
      // One row per order: a payment that exists already (captured or declined) is not made again.
      const inserted = await tx.query(
        `INSERT INTO demo.payments (order_id, payment_id, amount, status, reason, currency, card_last4)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (order_id) DO NOTHING`,
        [orderId, paymentId, amount, status, reason, currency, card.last4],
      );
      if (inserted.rowCount === 0) return;
      const type = outcome === "approved" ? "PaymentProcessed" : "PaymentFailed";
      const payment: Payment = {
        orderId,
        paymentId,
        status: outcome === "approved" ? "CAPTURED" : "DECLINED",
        amount,
        currency,
        reason,
        occurredAt: Date.now(),
        cardLast4: card.last4,
      };
      send(TOPICS.payments, { source: NAME, type, orderId, id: derivedEventId(NAME, event.id, type), data: payment });
    }, { sendsTwice: true });

  /** Charges; a PaymentError sends the message to the retry topic or the DLQ instead of failing. */
  const attempt = async (event: ReceivedEvent, attemptNumber: number, origin: Origin) => {
    try {
      await charge(event);
    } catch (error) {
      // Anything else (the database or Kafka failing) is thrown to kafkajs, which redelivers.
      if (!(error instanceof PaymentError)) throw error;
      const failure = {
        [FAILURE_HEADERS.originalTopic]: origin.topic,
        [FAILURE_HEADERS.originalPartition]: origin.partition,
        [FAILURE_HEADERS.originalOffset]: origin.offset,
        [FAILURE_HEADERS.error]: error.message,
        [FAILURE_HEADERS.errorClass]: error.name,
        [FAILURE_HEADERS.attempts]: String(attemptNumber),
      };
      const { key, value } = event.message;
      if (error.retriable && attemptNumber < options.maxAttempts) {
        const notBefore = Date.now() + retryDelayMs(attemptNumber, context.random());
        await context.producer.send({
          topic: TOPICS.paymentRetry,
          acks: -1,
          messages: [{ key, value, headers: { ...carriedHeaders(event.message), ...failure, [RETRY_NOT_BEFORE_HEADER]: String(notBefore) } }],
        });
      } else {
        // carriedHeaders keeps x-replay-id (and x-replay-of): a replay that failed again links
        // back to the replay that sent it.
        await context.producer.send({
          topic: TOPICS.paymentDlq,
          acks: -1,
          messages: [{ key, value, headers: { ...carriedHeaders(event.message), ...failure } }],
        });
      }
    }
  };

  const refund = (event: ReceivedEvent) =>
    handleOnce(context, NAME, event, async (tx, send) => {
      const orderId = orderIdOf(event);
      if (!orderId) return;
      // An INSERT, not an UPDATE: if the payment's own transaction is still open, this waits for it.
      const { rows } = await tx.query<{
        payment_id: string;
        amount: string;
        currency: string | null;
        card_last4: string | null;
        refunded: boolean;
      }>(
        `INSERT INTO demo.payments (order_id, payment_id, status) VALUES ($1, '', 'none')
         ON CONFLICT (order_id) DO UPDATE SET status = 'refunded', updated_at = now()
           WHERE demo.payments.status = 'captured'
         RETURNING payment_id, amount::text AS amount, currency, card_last4, (xmax <> 0) AS refunded`,
        [orderId],
      );
      const row = rows[0];
      if (!row?.refunded) return;
      const payment: Payment = {
        orderId,
        paymentId: row.payment_id,
        status: "REFUNDED",
        amount: Number(row.amount),
        // A payment stored before these columns existed: the demo only ever charges EUR.
        currency: row.currency ?? "EUR",
        reason: null,
        occurredAt: Date.now(),
        cardLast4: row.card_last4,
      };
      send(TOPICS.payments, {
        source: NAME,
        type: "PaymentRefunded",
        orderId,
        id: derivedEventId(NAME, event.id, "PaymentRefunded"),
        data: payment,
      });
    }, { sendsTwice: true });

  return {
    name: NAME,
    topics: [TOPICS.inventory, TOPICS.shipping, TOPICS.paymentRetry],
    concurrency: 9,
    async handle(event) {
      if (event.topic === TOPICS.paymentRetry) {
        const notBefore = Number(event.headers.get(RETRY_NOT_BEFORE_HEADER) ?? 0);
        // Records on a partition become due in the order they were written, give or take the
        // jitter: waiting for this one holds up the next ones by at most that much.
        if (notBefore > Date.now()) await context.sleep(notBefore - Date.now());
        if (context.stopping) throw new Error("stopping: the retry record is left for the next start");
        const attempts = Number(event.headers.get(FAILURE_HEADERS.attempts) ?? 1);
        await attempt(event, (Number.isFinite(attempts) ? attempts : 1) + 1, {
          topic: event.headers.get(FAILURE_HEADERS.originalTopic) ?? TOPICS.inventory,
          partition: event.headers.get(FAILURE_HEADERS.originalPartition) ?? "",
          offset: event.headers.get(FAILURE_HEADERS.originalOffset) ?? "",
        });
        return;
      }
      switch (event.type) {
        case "InventoryReserved":
          await attempt(event, 1, { topic: event.topic, partition: String(event.partition), offset: event.offset });
          return;
        case "ShippingFailed":
          await refund(event);
          return;
        default:
        // Not ours to act on.
      }
    },
    start() {
      // Outage start and end are logged as they happen (the gateway itself is checked per attempt).
      outageTimer = setInterval(() => {
        const outage = outageAt(schedule, Date.now());
        if (outage && !inOutage) {
          context.log(`payment gateway outage started: payments fail until ${new Date(outage.endMs).toISOString()}`);
        } else if (!outage && inOutage) {
          context.log("payment gateway outage ended");
        }
        inOutage = outage !== null;
      }, 250);
      if (options.schemaChange !== "none") {
        schemaChangeTimer = setTimeout(() => void rollOutSchemaChange(), options.schemaChangeAfterSeconds * 1_000);
      }
    },
    async stop() {
      clearInterval(outageTimer);
      clearTimeout(schemaChangeTimer);
    },
  };
}

