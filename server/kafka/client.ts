import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from "kafkajs";
import type { Config } from "../config.ts";
import { registerCompressionCodecs } from "./codecs.ts";

/**
 * The one place Eventscope's Kafka clients are made (collector, admin poller, replay producer),
 * from the configuration: brokers, SASL (PLAIN, SCRAM-SHA-256/512), TLS with an optional CA and
 * client certificate (mutual TLS), and every compression codec (codecs.ts).
 *
 * Never instrumented with OpenTelemetry: the instrumentation rewrites message headers on produce
 * and adds its own spans, and Eventscope must read (and, on replay, write) headers exactly as they
 * are on the wire.
 */

export interface KafkaClientOptions {
  /** Shown in the broker's group and connection listings. Default `eventscope-collector`. */
  clientId?: string;
  /** Where kafkajs's own warnings and errors go (prefixed `kafkajs`). Default: dropped. */
  log?: (line: string) => void;
  /** Default WARN: kafkajs's INFO lines (every join, every commit) drown the collector's own. */
  logLevel?: logLevel;
}

/** kafkajs's `logLevel` is a plain object at run time: its type's reverse mapping does not exist. */
const LEVEL_NAMES: Record<number, string> = { 1: "ERROR", 2: "WARN", 4: "INFO", 5: "DEBUG" };

/** The kafkajs configuration for `config`, without side effects (what createKafka uses). */
export function kafkaClientConfig(
  config: Pick<Config, "kafkaBrokers" | "kafka">,
  options: KafkaClientOptions = {},
): KafkaConfig {
  const brokers = config.kafkaBrokers;
  if (!brokers || brokers.length === 0) {
    // The CLI starts the embedded broker and fills this in; a caller that did not is a bug.
    throw new Error("no Kafka brokers: set KAFKA_BROKERS (or start the embedded broker first)");
  }
  const { sasl, ssl } = kafkaSecurityOptions(config.kafka);
  const log = options.log;
  return {
    clientId: options.clientId ?? "eventscope-collector",
    brokers,
    sasl,
    ssl,
    // A broker that is down must not make any client give up for good: kafkajs retries a request
    // this many times (about a minute with these times), then the consumer crashes with a
    // retriable error and restarts itself (see consumer-session.ts).
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000 },
    connectionTimeout: 3_000,
    authenticationTimeout: 10_000,
    logLevel: options.logLevel ?? logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (!log) return;
      const { message, error } = entry.log as { message?: string; error?: unknown };
      const detail = typeof error === "string" ? error : error instanceof Error ? error.message : undefined;
      const level = LEVEL_NAMES[entry.level] ?? String(entry.level);
      log(`kafkajs ${level} [${entry.namespace}] ${message ?? ""}${detail && detail !== message ? `: ${detail}` : ""}`);
    },
  };
}

/** kafkajs's `sasl` and `ssl` options for the KAFKA_SASL_* / KAFKA_SSL* settings. */
export function kafkaSecurityOptions(security: Config["kafka"]): Pick<KafkaConfig, "sasl" | "ssl"> {
  const sasl = security.sasl ? saslOptions(security.sasl) : undefined;
  // kafkajs takes `true` for TLS with the system's CAs and no client certificate, or tls.connect options.
  if (security.ssl === false) return { sasl, ssl: false };
  const { ca, cert, key } = security.ssl;
  if (ca === undefined && cert === undefined) return { sasl, ssl: true };
  return { sasl, ssl: { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined && key !== undefined ? { cert, key } : {}) } };
}

/** What a TLS failure means for the settings, by the text Node's TLS layer gives it. */
const TLS_FAILURES: [RegExp, string][] = [
  [
    /self[- ]signed certificate|unable to get local issuer certificate|unable to verify the first certificate/i,
    "the broker's certificate is not signed by a CA Eventscope trusts: set KAFKA_SSL_CA to the CA that signed it",
  ],
  [/does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/i, "the broker's certificate is not for the host name in KAFKA_BROKERS"],
  [
    /alert (?:certificate required|unknown ca|bad certificate|certificate unknown)/i,
    "the broker did not accept Eventscope without a client certificate it trusts: set KAFKA_SSL_CERT and KAFKA_SSL_KEY",
  ],
];

/**
 * A Kafka client's error as a user should read it: a TLS failure gets a sentence saying which
 * setting to look at after Node's own words. Other errors are returned as they are.
 */
export function explainKafkaError(message: string): string {
  const hint = TLS_FAILURES.find(([pattern]) => pattern.test(message))?.[1];
  return hint === undefined ? message : `${message} (${hint})`;
}

function saslOptions({ mechanism, username, password }: { mechanism: string; username: string; password: string }): SASLOptions {
  switch (mechanism) {
    case "plain":
      return { mechanism: "plain", username, password };
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", username, password };
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", username, password };
    default:
      // server/config.ts accepts only the three above.
      throw new Error(`unsupported SASL mechanism ${JSON.stringify(mechanism)}`);
  }
}

/**
 * A kafkajs client for a cluster (see kafkaClientConfig), with every codec registered: `config` is
 * the Config (the source named default) or one of `Config.sources` (server/sources-file.ts).
 */
export function createKafka(config: Pick<Config, "kafkaBrokers" | "kafka">, options: KafkaClientOptions = {}): Kafka {
  registerCompressionCodecs();
  return new Kafka(kafkaClientConfig(config, options));
}
