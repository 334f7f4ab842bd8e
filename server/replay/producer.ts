import type { Admin, Producer } from "kafkajs";
import { createKafka, explainKafkaError } from "../kafka/index.ts";
import { configForSource, getConfig, sourceNamed, type Config, type SourceConfig } from "../config.ts";

/**
 * The replay producer, and the admin client whose metadata says which topics and partitions a
 * replay can go to: one of each per source (cluster) and server process, created on the first
 * replay to that source. The producer is idempotent (a retried produce request is not written
 * twice). Kept on globalThis so that Next's hot reload does not leave clients behind. Never
 * instrumented: it writes headers exactly as given.
 */

const CLIENTS = Symbol.for("eventscope.replayClients");
type Holder = typeof globalThis & { [CLIENTS]?: Map<string, Promise<unknown>> };

export class ReplayUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplayUnavailableError";
  }
}

/**
 * A source's settings, by name: the sources file's source of that name, or the cluster of
 * KAFKA_BROKERS for the source named default (server/config.ts owns both).
 */
export function replaySourceConfig(source: string, config: Config = getConfig()): SourceConfig {
  const found = sourceNamed(config, source);
  if (found) return found;
  const known = config.sources.map((s) => s.name);
  throw new ReplayUnavailableError(
    known.length === 0
      ? "replay needs a source: neither KAFKA_BROKERS nor EVENTSCOPE_SOURCES_FILE is set for the web server"
      : `replay cannot reach source ${JSON.stringify(source)}: the web server is configured with ${known.map((name) => JSON.stringify(name)).join(", ")} only`,
  );
}

/** The Kafka connection settings of a source, by name (a RabbitMQ source replays through rabbitmq.ts). */
export function replayConfigOfSource(source: string, config: Config = getConfig()): Pick<Config, "kafkaBrokers" | "kafka"> {
  const found = replaySourceConfig(source, config);
  if (found.kind === "kafka") return configForSource(config, found);
  throw new ReplayUnavailableError(`source ${JSON.stringify(source)} is a ${found.kind} source, not a Kafka cluster`);
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

/** This process's client `slot`, connected; a failed connect is not kept (the next replay tries again). */
function shared<T>(slot: string, create: () => Promise<T>): Promise<T> {
  const holder = globalThis as Holder;
  const clients = (holder[CLIENTS] ??= new Map());
  const existing = clients.get(slot);
  if (existing) return existing as Promise<T>;
  const connecting = create().catch((error: unknown) => {
    clients.delete(slot);
    throw error;
  });
  clients.set(slot, connecting);
  return connecting;
}

/** The replay producer of a source (by name; default `default`). */
export function getReplayProducer(source = "default"): Promise<Producer> {
  return shared(`producer\u0000${source}`, async () => createReplayProducer(replayConfigOfSource(source)));
}

/** The replay admin client of a source (by name; default `default`). */
export function getReplayAdmin(source = "default"): Promise<Admin> {
  return shared(`admin\u0000${source}`, async () => createReplayAdmin(replayConfigOfSource(source)));
}

/** Disconnects this process's producers and admin clients, if they were made (tests, shutdown). */
export async function closeReplayProducer(): Promise<void> {
  const holder = globalThis as Holder;
  const clients = [...(holder[CLIENTS]?.values() ?? [])];
  holder[CLIENTS]?.clear();
  for (const client of clients) {
    await client.then((c) => (c as { disconnect(): Promise<void> }).disconnect()).catch(() => {});
  }
}
