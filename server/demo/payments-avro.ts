import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { SchemaChange } from "./options.ts";

/**
 * The `payments` topic in Avro, in the Confluent wire format (byte 0, the 4-byte big-endian
 * schema id, Avro binary), as a team on Confluent's serializers writes it: the producer registers
 * its schema under `payments-value` (TopicNameStrategy, Confluent's default) when it starts, and
 * every consumer decodes with the writer's schema, looked up by the id in the message.
 *
 * Through @kafkajs/confluent-schema-registry rather than avsc and a fetch of our own: it is the
 * client Node teams on a Confluent registry use, it caches schemas by id, and it frames the wire
 * format itself, so the demo writes what those teams' services write.
 */

export const PAYMENTS_SUBJECT = "payments-value";
/** The CloudEvents binary-mode `content-type` (datacontenttype) of a payments value. */
export const AVRO_CONTENT_TYPE = "application/avro";

const STATUS = {
  type: "enum",
  name: "PaymentStatus",
  symbols: ["CAPTURED", "DECLINED", "REFUNDED"],
} as const;

const FIELDS = [
  { name: "orderId", type: "string" },
  { name: "paymentId", type: "string" },
  { name: "status", type: STATUS },
  { name: "amount", type: "double", doc: "In the currency's major unit (EUR, not cents)." },
  { name: "currency", type: "string", doc: "ISO 4217 code." },
  { name: "reason", type: ["null", "string"], default: null, doc: "Why a payment was declined." },
  { name: "occurredAt", type: { type: "long", logicalType: "timestamp-millis" } },
] as const;

function paymentRecord(extra: readonly object[]) {
  return {
    type: "record",
    name: "Payment",
    namespace: "eventscope.demo.payments",
    doc: "A payment of the demo's order saga: captured, declined or refunded (the CloudEvents type says which event).",
    fields: [...FIELDS, ...extra],
  };
}

/**
 * The schema a run starts with, and the two changes `--schema-change` can roll out. Both add the
 * card's last four digits: `compatible` as an optional field (a union with null, default null),
 * which BACKWARD compatibility allows; `breaking` as a required field without a default, which it
 * forbids (a reader on the new schema cannot read the records already written). A registry that
 * enforces compatibility refuses the breaking one; the embedded registry only reports its level.
 */
export const PAYMENT_SCHEMAS = {
  initial: paymentRecord([]),
  compatible: paymentRecord([{ name: "cardLast4", type: ["null", "string"], default: null, doc: "Last four digits of the card charged." }]),
  breaking: paymentRecord([{ name: "cardLast4", type: "string", doc: "Last four digits of the card charged." }]),
} satisfies Record<"initial" | Exclude<SchemaChange, "none">, object>;

export type PaymentSchemaVersion = keyof typeof PAYMENT_SCHEMAS;

/** A payments value as the services build it (and as JSON in an outbox). */
export type Payment = {
  orderId: string;
  paymentId: string;
  status: (typeof STATUS.symbols)[number];
  amount: number;
  currency: string;
  reason: string | null;
  /** Epoch milliseconds. */
  occurredAt: number;
  /** Written by the changed schemas only; null where it is not known (a payment made before). */
  cardLast4: string | null;
};

export interface RegistryAccess {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
}

/** Whether a value is in the Confluent wire format: magic byte 0, then at least a schema id. */
export function isWireFormat(value: Buffer | null | undefined): value is Buffer {
  return value != null && value.length >= 5 && value[0] === 0;
}

/**
 * Whether `error` is the registry saying it does not know a schema id (404): no retry helps (its
 * data was reset under a topic that kept its records).
 */
export function isUnknownSchemaError(error: unknown): boolean {
  return typeof error === "object" && error !== null && "status" in error && error.status === 404;
}

/** Encodes payments with the schema registered last, decodes any wire-format value by its id. */
export class PaymentsAvro {
  private readonly registry: SchemaRegistry;
  private writer: { version: PaymentSchemaVersion; id: number } | undefined;

  constructor(access: RegistryAccess) {
    this.registry = new SchemaRegistry({
      host: access.url,
      auth: access.username !== undefined ? { username: access.username, password: access.password ?? "" } : undefined,
      clientId: "eventscope-demo-services",
      // The callers retry (start-up, the schema change) or redeliver (consumers): fail fast here.
      retry: { retries: 1 },
    });
  }

  /** The schema written with now; undefined before the first `register`. */
  get writerSchema(): { version: PaymentSchemaVersion; id: number } | undefined {
    return this.writer;
  }

  /**
   * Registers `version` under payments-value (the same schema again gets its id back) and writes
   * every later payment with it. Returns the schema id.
   */
  async register(version: PaymentSchemaVersion): Promise<number> {
    const { id } = await this.registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_SCHEMAS[version]) },
      { subject: PAYMENTS_SUBJECT },
    );
    this.writer = { version, id };
    return id;
  }

  /** The wire-format bytes of `payment` under the current writer schema. */
  async encode(payment: Payment): Promise<Buffer> {
    if (!this.writer) throw new Error(`no payments schema registered under ${PAYMENTS_SUBJECT} yet`);
    const { version, id } = this.writer;
    // The breaking schema requires the field: a payment whose card is not known says so.
    const cardLast4 = payment.cardLast4 ?? (version === "breaking" ? "" : null);
    return this.registry.encode(id, { ...payment, reason: payment.reason ?? null, cardLast4 });
  }

  /** Decodes a wire-format value with its writer's schema, fetched by id (and cached). */
  async decode(value: Buffer): Promise<unknown> {
    // avsc hands records over as instances of a generated class: plain data from here on.
    return { ...((await this.registry.decode(value)) as Record<string, unknown>) };
  }
}
