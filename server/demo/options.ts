import { parseArgs } from "node:util";
import { z } from "zod";
import { COMPRESSION_NAMES, type CompressionName } from "../kafka/compression-names.ts";

/**
 * The demo services' command line. Flags win over the environment; KAFKA_BROKERS and
 * DATABASE_URL (and the KAFKA_SASL_* / KAFKA_SSL* settings) are read through server/config.ts by
 * the CLI and passed in as `env`.
 */

export const DEMO_USAGE = `usage: node --import tsx server/demo/cli.ts [flags]

The simulated order saga (order, inventory, payment, shipping, notification and analytics
services) against a Kafka cluster and a PostgreSQL database (state in its own "demo" schema).

  --kafka HOST:PORT[,HOST:PORT]   brokers (default: KAFKA_BROKERS; required)
  --warehouse-kafka HOST:PORT[,HOST:PORT]
                                  a second cluster, the warehouse's: shipped orders are handed
                                  over to it (warehouse-bridge), where warehouse-service
                                  dispatches their parcels (default: none)
  --rabbitmq URL                  RabbitMQ (amqp://HOST:PORT, guest/guest unless the URL names a
                                  user): notification-service publishes e-mail jobs to the
                                  exchange "email", email-sender consumes them from "email.jobs";
                                  refused ones are dead-lettered into "email.dead" (default: none)
  --email-failure-rate P          share of e-mail jobs the mail server refuses, 0..1 (default 0.1)
  --database-url URL              PostgreSQL (default: DATABASE_URL; required)
  --schema-registry URL           the Confluent-compatible Schema Registry the payment service
                                  registers its Avro schema with (default: SCHEMA_REGISTRY_URL;
                                  required)
  --rate N                        orders placed per second (default 2)
  --decline-rate P                share of payments the card issuer declines, 0..1 (default 0.1)
  --transient-rate P              share of payment attempts that time out and are retried (default 0.1)
  --malformed-rate P              share of orders with a malformed card field (default 0.03)
  --shipping-failure-rate P       share of shipments that fail (default 0.05)
  --outage-every S                a payment-gateway outage every S seconds, the first one
                                  min(S, 30) seconds after start; 0 turns outages off (default 180)
  --outage-length S               length of each outage in seconds (default 8)
  --max-attempts N                payment attempts before a dead letter (default 3)
  --duplicate-rate P              share of payment-service's payments events its producer sends
                                  twice (a retry after a lost acknowledgement: same key, value and
                                  headers, 50 to 500 ms later), 0..1 (default 0.02)
  --rekey-rate P                  share of OrderConfirmed / OrderCancelled keyed by something else
                                  than the order id, so they may land on another partition of
                                  orders than the order's other events, 0..1 (default 0.01)
  --stall-every S                 order-service stops consuming every S seconds (paused, still
                                  in its group, its lag growing), the first time min(S, 300)
                                  seconds after start; 0 turns stalls off (default 600)
  --stall-length S                length of each stall in seconds (default 120)
  --analytics-delay-ms N          time the analytics consumer spends per message (default 200)
  --compression CODEC             what the services produce with: none, gzip, snappy, lz4 or
                                  zstd (default none)
  --schema-change KIND            the change to the payments schema rolled out while running:
                                  compatible (a new optional field), breaking (a new required
                                  field, which BACKWARD compatibility forbids) or none
                                  (default compatible)
  --schema-change-after S         seconds after start when that change is rolled out (default 120)
  --spans-file PATH               write finished OpenTelemetry spans there as JSON lines
  --help                          show this text`;

/** A command-line mistake: the CLI prints it with the usage and exits with status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const share = (flag: string) =>
  z.coerce
    .number({ error: `--${flag} must be a number from 0 to 1` })
    .min(0, `--${flag} must be a number from 0 to 1`)
    .max(1, `--${flag} must be a number from 0 to 1`);

const count = (flag: string, min: number, max: number, what = "an integer") =>
  z.coerce
    .number({ error: `--${flag} must be ${what} from ${min} to ${max}` })
    .int(`--${flag} must be ${what} from ${min} to ${max}`)
    .min(min, `--${flag} must be ${what} from ${min} to ${max}`)
    .max(max, `--${flag} must be ${what} from ${min} to ${max}`);

const brokerList = (flag: string) =>
  z
    .string()
    .transform((text) => text.split(",").map((part) => part.trim()))
    .refine((list) => list.length > 0 && list.every((address) => /^[^\s:]+:\d{1,5}$/.test(address)), {
      message: `--${flag} must be HOST:PORT, or several separated by commas`,
    });

const databaseUrl = z
  .string()
  .refine((text) => /^postgres(?:ql)?:\/\//.test(text) && URL.canParse(text), {
    message: "--database-url must be a postgresql:// URL",
  });

const registryUrl = z
  .string()
  .refine((text) => /^https?:\/\//.test(text) && URL.canParse(text), {
    message: "--schema-registry must be an http:// or https:// URL",
  })
  .transform((text) => text.replace(/\/+$/, ""));

/** The change to the payments schema a run rolls out (payments-avro.ts has the schemas). */
export const SCHEMA_CHANGES = ["compatible", "breaking", "none"] as const;
export type SchemaChange = (typeof SCHEMA_CHANGES)[number];

const flagsSchema = z.object({
  kafka: brokerList("kafka").optional(),
  "warehouse-kafka": brokerList("warehouse-kafka").optional(),
  rabbitmq: z
    .string()
    .refine((text) => /^amqps?:\/\//.test(text) && URL.canParse(text), { message: "--rabbitmq must be an amqp:// URL such as amqp://127.0.0.1:5672" })
    .optional(),
  "email-failure-rate": share("email-failure-rate").default(0.1),
  "database-url": databaseUrl.optional(),
  "schema-registry": registryUrl.optional(),
  rate: z.coerce
    .number({ error: "--rate must be a number of orders per second from 0.01 to 10000" })
    .min(0.01, "--rate must be a number of orders per second from 0.01 to 10000")
    .max(10_000, "--rate must be a number of orders per second from 0.01 to 10000")
    .default(2),
  "decline-rate": share("decline-rate").default(0.1),
  "transient-rate": share("transient-rate").default(0.1),
  "malformed-rate": share("malformed-rate").default(0.03),
  "shipping-failure-rate": share("shipping-failure-rate").default(0.05),
  "outage-every": count("outage-every", 0, 86_400, "a number of seconds").default(180),
  "outage-length": count("outage-length", 1, 86_400, "a number of seconds").default(8),
  "max-attempts": count("max-attempts", 1, 100).default(3),
  "duplicate-rate": share("duplicate-rate").default(0.02),
  "rekey-rate": share("rekey-rate").default(0.01),
  "stall-every": count("stall-every", 0, 86_400, "a number of seconds").default(600),
  "stall-length": count("stall-length", 1, 86_400, "a number of seconds").default(120),
  "analytics-delay-ms": count("analytics-delay-ms", 0, 60_000).default(200),
  "spans-file": z.string().min(1, "--spans-file must name a file").optional(),
  compression: z.enum(COMPRESSION_NAMES, { error: `--compression must be one of ${COMPRESSION_NAMES.join(", ")}` }).default("none"),
  "schema-change": z.enum(SCHEMA_CHANGES, { error: `--schema-change must be one of ${SCHEMA_CHANGES.join(", ")}` }).default("compatible"),
  "schema-change-after": count("schema-change-after", 0, 86_400, "a number of seconds").default(120),
});

export interface DemoOptions {
  brokers: string[];
  /** The warehouse's cluster (warehouse.ts); undefined: no warehouse services. */
  warehouseBrokers: string[] | undefined;
  /** RabbitMQ (email.ts): e-mail jobs go through it; undefined: no e-mail jobs. guest/guest unless the URL says otherwise. */
  rabbitmqUrl: string | undefined;
  /** Share of e-mail jobs the (simulated) mail server refuses: dead-lettered in RabbitMQ. */
  emailFailureRate: number;
  databaseUrl: string;
  /** The Schema Registry's base URL, without a trailing slash. */
  schemaRegistryUrl: string;
  ordersPerSecond: number;
  declineRate: number;
  transientRate: number;
  malformedRate: number;
  shippingFailureRate: number;
  /** Seconds between outage starts; 0: no outages. */
  outageEverySeconds: number;
  outageLengthSeconds: number;
  maxAttempts: number;
  /** Share of payment-service's payments events sent a second time, unchanged. */
  duplicateRate: number;
  /** Share of order-service's outcome events (OrderConfirmed, OrderCancelled) sent with another key. */
  rekeyRate: number;
  /** Seconds between order-service stall starts; 0: no stalls. */
  stallEverySeconds: number;
  stallLengthSeconds: number;
  analyticsDelayMs: number;
  spansFile: string | undefined;
  /** The codec every message the services produce is sent with. */
  compression: CompressionName;
  /** The payments schema change rolled out `schemaChangeAfterSeconds` after start. */
  schemaChange: SchemaChange;
  schemaChangeAfterSeconds: number;
}

export type ParsedCommandLine = { help: true } | { help: false; options: DemoOptions };

const STRING_FLAGS = Object.keys(flagsSchema.shape) as (keyof typeof flagsSchema.shape)[];

/**
 * Parses `argv` (without node and the script). `defaults` are the brokers, database URL and
 * Schema Registry URL from the environment. Throws UsageError naming the flag that is wrong.
 */
export function parseDemoCommandLine(
  argv: readonly string[],
  defaults: { brokers?: string[]; databaseUrl?: string; schemaRegistryUrl?: string } = {},
): ParsedCommandLine {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(STRING_FLAGS.map((flag) => [flag, { type: "string" as const }])),
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs names the option in its message ("Unknown option '--x'").
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { help: true };

  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((issue) => issue.message).join("; "));
  }
  const flags = parsed.data;
  const brokers = flags.kafka ?? defaults.brokers;
  if (!brokers || brokers.length === 0) throw new UsageError("--kafka is required (or set KAFKA_BROKERS)");
  const url = flags["database-url"] ?? defaults.databaseUrl;
  if (!url) throw new UsageError("--database-url is required (or set DATABASE_URL)");
  const registry = flags["schema-registry"] ?? defaults.schemaRegistryUrl;
  if (!registry) throw new UsageError("--schema-registry is required (or set SCHEMA_REGISTRY_URL)");
  if (flags["outage-every"] > 0 && flags["outage-length"] >= flags["outage-every"]) {
    throw new UsageError("--outage-length must be shorter than --outage-every");
  }
  if (flags["stall-every"] > 0 && flags["stall-length"] >= flags["stall-every"]) {
    throw new UsageError("--stall-length must be shorter than --stall-every");
  }
  return {
    help: false,
    options: {
      brokers,
      warehouseBrokers: flags["warehouse-kafka"],
      rabbitmqUrl: flags.rabbitmq,
      emailFailureRate: flags["email-failure-rate"],
      databaseUrl: url,
      schemaRegistryUrl: registry,
      ordersPerSecond: flags.rate,
      declineRate: flags["decline-rate"],
      transientRate: flags["transient-rate"],
      malformedRate: flags["malformed-rate"],
      shippingFailureRate: flags["shipping-failure-rate"],
      outageEverySeconds: flags["outage-every"],
      outageLengthSeconds: flags["outage-length"],
      maxAttempts: flags["max-attempts"],
      duplicateRate: flags["duplicate-rate"],
      rekeyRate: flags["rekey-rate"],
      stallEverySeconds: flags["stall-every"],
      stallLengthSeconds: flags["stall-length"],
      analyticsDelayMs: flags["analytics-delay-ms"],
      spansFile: flags["spans-file"],
      compression: flags.compression,
      schemaChange: flags["schema-change"],
      schemaChangeAfterSeconds: flags["schema-change-after"],
    },
  };
}
