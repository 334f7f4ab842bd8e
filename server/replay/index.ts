/**
 * server/replay's public face: replay of dead letters (the only place besides the collector that
 * produces to the user's cluster) and resolve/discard, for app/ to import. Authentication has its
 * own face, server/auth.
 */
import { getDatabase } from "../db/index.ts";
import { getConfig } from "../config.ts";
import { partitionCountOf } from "../kafka/index.ts";
import { getReplayAdmin, getReplayProducer } from "./producer.ts";
import type { ReplayDeps } from "./replay.ts";

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
} from "./message.ts";
export {
  getReplayProducer,
  getReplayAdmin,
  createReplayProducer,
  createReplayAdmin,
  closeReplayProducer,
  ReplayUnavailableError,
} from "./producer.ts";

/** The web server's replay dependencies: its database (unmasked), its one producer and admin client. */
export async function serverReplayDeps(): Promise<ReplayDeps> {
  const db = await getDatabase();
  // Only the pool: masking (EVENTSCOPE_MASK_FIELDS) is for what is shown, a replay sends the original bytes.
  return {
    db: { pool: db.pool },
    producer: getReplayProducer,
    partitionCount: async (topic) => partitionCountOf(await getReplayAdmin(), topic),
    compression: getConfig().replayCompression,
  };
}
