import { createRequire } from "node:module";
import type { LogEntry } from "kafkajs";
import type { Config } from "../config.ts";
import { kafkaSecurityOptions, registerCompressionCodecs } from "../kafka/index.ts";

type KafkajsModule = typeof import("kafkajs");

let loaded: KafkajsModule | undefined;

/** The same kafkajs log line is repeated at most this often (milliseconds). */
const REPEAT_LOG_MS = 30_000;

/**
 * kafkajs, loaded through `require` so that OpenTelemetry's kafkajs instrumentation (which hooks
 * `require`) patches it: call only after server/telemetry has started. An ESM `import` of kafkajs
 * would get an unpatched copy and no `traceparent` on any message.
 */
export function loadKafkajs(): KafkajsModule {
  loaded ??= createRequire(import.meta.url)("kafkajs") as KafkajsModule;
  return loaded;
}

export interface DemoKafkaOptions {
  brokers: string[];
  /** SASL and TLS settings from the environment (KAFKA_SASL_*, KAFKA_SSL*), for a real cluster. */
  security?: Config["kafka"];
  log(line: string): void;
}

/**
 * The services' kafkajs client. kafkajs retries a failed request with backoff (about a minute
 * with these times) and a crashed consumer restarts itself, so a broker that is away for a while
 * is waited for rather than crashing the process.
 */
export function createDemoKafka(options: DemoKafkaOptions) {
  const lastLogged = new Map<string, number>();
  const { Kafka, logLevel } = loadKafkajs();
  // The services read and write whatever codec --compression (or a real cluster's producers) use.
  registerCompressionCodecs();
  const { sasl, ssl } = kafkaSecurityOptions(options.security ?? { sasl: undefined, ssl: false });
  return new Kafka({
    clientId: "eventscope-demo-services",
    brokers: options.brokers,
    sasl,
    ssl,
    connectionTimeout: 3_000,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: logLevel.ERROR,
    logCreator: () => (entry: LogEntry) => {
      const { message, error } = entry.log as { message?: string; error?: unknown };
      const detail = typeof error === "string" ? error : error instanceof Error ? error.message : undefined;
      const line = `kafkajs [${entry.namespace}] ${message ?? ""}${detail && detail !== message ? `: ${detail}` : ""}`;
      // A broker that is away makes every client say the same thing at every retry: once per
      // REPEAT_LOG_MS is enough.
      const now = Date.now();
      if (now - (lastLogged.get(line) ?? 0) < REPEAT_LOG_MS) return;
      lastLogged.set(line, now);
      if (lastLogged.size > 1_000) lastLogged.clear();
      options.log(line);
    },
  });
}

export type DemoKafka = ReturnType<typeof createDemoKafka>;
