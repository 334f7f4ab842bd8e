import type { Admin, Producer } from "kafkajs";
import { createKafka, explainKafkaError } from "../kafka/index.ts";
import { getConfig, type Config } from "../config.ts";

/**
 * The replay producer, and the admin client whose metadata says which topics and partitions a
 * replay can go to: one of each per server process, created on the first replay. The producer is
 * idempotent (a retried produce request is not written twice). Kept on globalThis so that Next's
 * hot reload does not leave clients behind. Never instrumented: it writes headers exactly as given.
 */

const PRODUCER = Symbol.for("eventscope.replayProducer");
const ADMIN = Symbol.for("eventscope.replayAdmin");
type Holder = typeof globalThis & { [PRODUCER]?: Promise<Producer>; [ADMIN]?: Promise<Admin> };

export class ReplayUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplayUnavailableError";
  }
}

function replayKafka(config: Pick<Config, "kafkaBrokers" | "kafka">) {
  if (!config.kafkaBrokers || config.kafkaBrokers.length === 0) {
    throw new ReplayUnavailableError("replay needs a Kafka cluster: KAFKA_BROKERS is not set for the web server");
  }
  return createKafka(config, { clientId: "eventscope-replay", log: (line) => console.warn(line) });
}

/** What a client that cannot connect says to the user: the cause, and the setting to check. */
function unavailable(error: unknown): ReplayUnavailableError {
  return new ReplayUnavailableError(`cannot connect to the Kafka cluster: ${explainKafkaError(error instanceof Error ? error.message : String(error))}`);
}

export async function createReplayProducer(config: Pick<Config, "kafkaBrokers" | "kafka">): Promise<Producer> {
  const producer = replayKafka(config).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect().catch((error: unknown) => {
    throw unavailable(error);
  });
  return producer;
}

/** An admin client for the replays' metadata (kafkajs's admin never creates topics). */
export async function createReplayAdmin(config: Pick<Config, "kafkaBrokers" | "kafka">): Promise<Admin> {
  // Few retries: a replay waits on it, and an unreachable cluster is answered as such.
  const admin = replayKafka(config).admin({ retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 } });
  await admin.connect().catch((error: unknown) => {
    throw unavailable(error);
  });
  return admin;
}

/** This process's client in `slot`, connected; a failed connect is not kept (the next replay tries again). */
function shared<T>(slot: typeof PRODUCER | typeof ADMIN, create: () => Promise<T>): Promise<T> {
  const holder = globalThis as Record<symbol, Promise<unknown> | undefined>;
  const existing = holder[slot];
  if (existing) return existing as Promise<T>;
  const connecting = create().catch((error: unknown) => {
    delete holder[slot];
    throw error;
  });
  holder[slot] = connecting;
  return connecting;
}

export function getReplayProducer(): Promise<Producer> {
  return shared(PRODUCER, () => createReplayProducer(getConfig()));
}

export function getReplayAdmin(): Promise<Admin> {
  return shared(ADMIN, () => createReplayAdmin(getConfig()));
}

/** Disconnects this process's producer and admin client, if they were made (tests, shutdown). */
export async function closeReplayProducer(): Promise<void> {
  const holder = globalThis as Holder;
  const producer = holder[PRODUCER];
  const admin = holder[ADMIN];
  delete holder[PRODUCER];
  delete holder[ADMIN];
  await producer?.then((p) => p.disconnect()).catch(() => {});
  await admin?.then((a) => a.disconnect()).catch(() => {});
}
