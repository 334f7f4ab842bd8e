import type { Producer } from "kafkajs";
import { createKafka, explainKafkaError } from "../kafka/index.ts";
import { loadConfig, type Config } from "../config.ts";

/**
 * The replay producer: one per server process, created on the first replay, idempotent (a
 * retried produce request is not written twice). Kept on globalThis so that Next's hot reload
 * does not leave producers behind. Never instrumented: it writes headers exactly as given.
 */

const SHARED = Symbol.for("eventscope.replayProducer");
type Holder = typeof globalThis & { [SHARED]?: Promise<Producer> };

export class ReplayUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplayUnavailableError";
  }
}

export function createReplayProducer(config: Pick<Config, "kafkaBrokers" | "kafka">): Promise<Producer> {
  if (!config.kafkaBrokers || config.kafkaBrokers.length === 0) {
    return Promise.reject(new ReplayUnavailableError("replay needs a Kafka cluster: KAFKA_BROKERS is not set for the web server"));
  }
  const kafka = createKafka(config, { clientId: "eventscope-replay", log: (line) => console.warn(line) });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  return producer.connect().then(
    () => producer,
    (error: unknown) => {
      throw new ReplayUnavailableError(`cannot connect to the Kafka cluster: ${explainKafkaError(error instanceof Error ? error.message : String(error))}`);
    },
  );
}

/** This process's producer, connected; a failed connect is not kept (the next replay tries again). */
export function getReplayProducer(): Promise<Producer> {
  const holder = globalThis as Holder;
  const existing = holder[SHARED];
  if (existing) return existing;
  const connecting = createReplayProducer(loadConfig()).catch((error: unknown) => {
    delete holder[SHARED];
    throw error;
  });
  holder[SHARED] = connecting;
  return connecting;
}

/** Disconnects this process's producer, if one was made (tests, shutdown). */
export async function closeReplayProducer(): Promise<void> {
  const holder = globalThis as Holder;
  const existing = holder[SHARED];
  delete holder[SHARED];
  if (existing) await existing.then((p) => p.disconnect()).catch(() => {});
}
