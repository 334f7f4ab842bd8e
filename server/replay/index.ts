/**
 * server/replay's public face: replay of dead letters (the only place besides the collector that
 * produces to the user's cluster) and resolve/discard, for app/ to import. Authentication has its
 * own face, server/auth.
 */
import { getDatabase } from "../db/index.ts";
import { getConfig } from "../config.ts";
import { partitionCountOf } from "../kafka/index.ts";
import { getReplayAdmin, getReplayProducer, replaySourceConfig, ReplayUnavailableError } from "./producer.ts";
import { getRabbitReplayPublisher, vhostOfChannel } from "./rabbitmq.ts";
import type { ReplayDeps } from "./replay.ts";
import { SchemaRegistryClient } from "../schemas/registry-client.ts";

export {
  replayDeadLetter,
  replayDeadLetters,
  changeDeadLetterStatus,
  MAX_BULK_REPLAY,
  type ReplayDeps,
  type ReplayRequest,
  type ReplayResult,
  type BulkReplayRequest,
  type BulkReplayItem,
  type BulkReplaySummary,
} from "./replay.ts";
export {
  buildReplayMessage,
  replayableHeaders,
  isDeadLetterHeader,
  headerText,
  REPLAY_ID_HEADER,
  REPLAY_OF_HEADER,
  type EditableHeader,
  type ReplayEdits,
  type ReencodedValue,
} from "./message.ts";
export { reencodeEditedValue, type SchemaSource } from "./reencode.ts";
export {
  getReplayProducer,
  getReplayAdmin,
  createReplayProducer,
  createReplayAdmin,
  closeReplayProducer,
  ReplayUnavailableError,
} from "./producer.ts";
export { closeRabbitReplayPublishers } from "./rabbitmq.ts";

const SCHEMAS = Symbol.for("eventscope.replaySchemas");

/**
 * This process's Schema Registry client for replays (SCHEMA_REGISTRY_URL), null without one. Kept
 * on globalThis like the producer: its cache of schemas by id outlives Next's hot reload.
 */
function replaySchemas(): SchemaRegistryClient | null {
  const settings = getConfig().schemaRegistry;
  if (!settings) return null;
  const holder = globalThis as typeof globalThis & { [SCHEMAS]?: { key: string; client: SchemaRegistryClient } };
  // A new client when the settings change (the configuration is read again when the environment does).
  const key = JSON.stringify([settings.url, settings.username ?? null, settings.password ?? null]);
  if (holder[SCHEMAS]?.key !== key) {
    // A user waits on it: a little longer than a collector batch would.
    holder[SCHEMAS] = { key, client: new SchemaRegistryClient({ ...settings, timeoutMs: 5_000 }) };
  }
  return holder[SCHEMAS].client;
}

/**
 * The web server's replay dependencies: its database (unmasked), a producer and admin client per
 * Kafka source, a publisher per RabbitMQ source and vhost.
 */
export async function serverReplayDeps(): Promise<ReplayDeps> {
  const db = await getDatabase();
  // Only the pool: masking (EVENTSCOPE_MASK_FIELDS) is for what is shown, a replay sends the original bytes.
  return {
    db: { pool: db.pool },
    producer: (source) => getReplayProducer(source),
    partitionCount: async (topic, source) => partitionCountOf(await getReplayAdmin(source), topic),
    compression: getConfig().replayCompression,
    schemas: replaySchemas(),
    rabbitmq: async (source, channel) => {
      const config = replaySourceConfig(source);
      if (config.kind !== "rabbitmq") throw new ReplayUnavailableError(`source ${JSON.stringify(source)} is a ${config.kind} source, not RabbitMQ`);
      return { publisher: await getRabbitReplayPublisher(config, vhostOfChannel(config.vhosts, channel)), username: config.username };
    },
  };
}
