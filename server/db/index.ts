/**
 * server/db's public face: everything outside server/db imports from here (ESLint enforces it for
 * app/; components/ and lib/ import nothing from server/, and take the response types from
 * lib/api-schemas/). Eventscope code touches the database only through these functions.
 */
import { getConfig } from "../config.ts";
import { getSharedDatabase, openDatabase, type OpenedDatabase } from "./open.ts";

export { connectDatabase, type ConnectOptions, type Database } from "./client.ts";
export { openDatabase, type OpenDatabaseOptions, type OpenedDatabase } from "./open.ts";
export { runMigrations, readMigrations, type MigrationResult } from "./migrate.ts";
export {
  startEmbeddedPostgres,
  findFreePort,
  makeTemporaryDataDir,
  DEFAULT_EMBEDDED_PORT,
  DEFAULT_EMBEDDED_DATA_DIR,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from "./embedded.ts";
export { DatabaseError, isRetriableDatabaseError, toDatabaseError } from "./errors.ts";
export { checkLiveness } from "./liveness.ts";
export {
  foldFlows,
  pendingFlowSteps,
  queueStoredFlowSteps,
  recomputeFlows,
  readFlowState,
  FOLD_BATCH,
  type FoldResult,
  type FlowState,
  type QueuedStoredSteps,
} from "./flows.ts";
export {
  ingestEvents,
  fingerprintOfEventRow,
  replaceDecodedEvents,
  listRecordsAwaitingRegistry,
  INGEST_FLAGS,
  MAX_INDEXED_TEXT,
  type EventRow,
  type EventHeaderInput,
  type FailureInfo,
  type StoredRecord,
  type IngestMethod,
  type IngestOptions,
  type IngestResult,
} from "./ingest.ts";
export {
  syncTopics,
  syncConsumerGroups,
  upsertCommittedOffsets,
  recordLagSamples,
  findRecordTimestamps,
  type TopicSnapshot,
  type ConsumerGroupSnapshot,
  type CommittedOffsetSnapshot,
  type LagSampleInput,
  type SyncOptions,
} from "./cluster-state.ts";
export {
  ensureSource,
  listSources,
  resolveSourceOf,
  resolveSourceName,
  DEFAULT_SOURCE_NAME,
  SOURCE_NAME_PATTERN,
  type SourceRow,
  type SourceRef,
  type SourceKind,
  type NamedThing,
} from "./sources.ts";
export { saveRegistrySchemas, type RegistrySchemaRow } from "./registry-schemas.ts";
export { recordCollectorHealth, listCollectorHealth, type CollectorHealthUpdate, type StalledPartitionUpdate } from "./health.ts";
export { pruneOlderThan, type PruneResult } from "./retention.ts";
export { highestStoredPositions } from "./stored-positions.ts";
export { tryAcquirePollerLock, pollerLockKey, type PollerLock } from "./poller-lock.ts";
export { updateGroupHealth } from "./group-health.ts";
export {
  syncRabbitVhost,
  queueTimeLagMs,
  type RabbitVhostSnapshot,
  type RabbitQueueSnapshot,
  type RabbitBindingSnapshot,
  type RabbitConsumerSnapshot,
  type RabbitExchangeSnapshot,
  type RabbitExchangeBindingSnapshot,
  type SyncRabbitVhostOptions,
} from "./rabbitmq-state.ts";
export { insertRabbitDeliveries, type RabbitDeliveryRow } from "./rabbitmq-deliveries.ts";
export { recordDefaultExchangeRoutes } from "./rabbitmq-default-routes.ts";
export * from "./queries/index.ts";
export { recordAudit, type AuditEntryInput } from "./audit.ts";
export {
  loadReplaySource,
  claimReplay,
  markReplaySent,
  markReplayFailed,
  setDeadLetterStatus,
  listDeadLetterIdsOfGroup,
  type ReplaySource,
  type ClaimReplayInput,
  type ClaimResult,
  type PreviousReplay,
} from "./replays.ts";

// Row types of the schema, for code that may not import Prisma itself (app/).
export type {
  Event,
  Topic,
  Partition,
  EndOffsetSample,
  ConsumerGroup,
  GroupMember,
  GroupAssignment,
  CommittedOffset,
  LagSample,
  Producer,
  DeadLetter,
  Replay,
  AuditLogEntry,
  CollectorInstance,
  TopicKind,
  ValueKind,
  DeadLetterStatus,
  ReplayStatus,
} from "@prisma/client";

/**
 * The web server's database, opened on first use from the environment (server/config.ts):
 * DATABASE_URL, or the embedded PostgreSQL when it is unset outside production.
 */
export function getDatabase(): Promise<OpenedDatabase> {
  return getSharedDatabase(async () => {
    const config = getConfig();
    // maskFields: every query returning message content masks EVENTSCOPE_MASK_FIELDS (lib/mask.ts).
    // hiddenGroup: every query about consumer groups leaves the collector's own out (groupShown).
    // flowSettings: how flows tell completed, stuck and in-flight entities apart (queries/flows.ts).
    return {
      ...(await openDatabase({ url: config.databaseUrl })),
      maskFields: config.maskFields,
      hiddenGroup: config.collectorGroup,
      flowSettings: { terminalSteps: config.flowTerminalSteps, stuckFactor: config.stuckFactor },
      stateIgnore: config.stateIgnore,
    };
  });
}
