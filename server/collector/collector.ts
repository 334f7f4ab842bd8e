import type { Kafka } from "kafkajs";
import { redactSecrets, type Config } from "../config.ts";
import { type Database, type DatabaseError, type SourceRef } from "../db/index.ts";
import { ConsumerSession, type SessionTag } from "./consumer-session.ts";
import { fetchSchemas } from "./schemas/fetch-schemas.ts";
import { startRegistryCatchUp } from "./schemas/registry-catch-up.ts";
import { WireFormatDecoder } from "../schemas/wire-format.ts";
import { EventWriter, oneLine, type EventWriterOptions } from "./event-writer.ts";
import { createKafka, explainKafkaError, installUndecodableBatchHandling, registerCompressionCodecs } from "../kafka/index.ts";
import { settlesWithin } from "./time-limit.ts";
import { startTopicWatcher, type TopicWatcher } from "./topic-watcher.ts";
import { startFlowFolder } from "./flow-folder.ts";
import { startRetentionTimer } from "./retention-timer.ts";
import { newInstanceId, startHealthReporter } from "./health-reporter.ts";

/**
 * The collector's ingest pipeline: every collected topic of the cluster (topic-filter.ts) into the
 * `events` table, as consumer group EVENTSCOPE_COLLECTOR_GROUP, committing an offset only after
 * the rows up to it are stored (consumer-session.ts, event-writer.ts).
 *
 * Topic discovery: kafkajs fixes a consumer's subscription when it starts, so a topic watcher
 * lists the topics every few seconds and, when the collected set changes, the consumer is
 * replaced: the old one stops fetching, what it queued is stored and committed, it leaves the
 * group, and a new one subscribes to the new set and starts from the committed offsets. Nothing
 * is lost (commits never pass stored rows) and nothing is stored twice (ingest keeps one row per
 * topic/partition/offset, and after a clean hand-over nothing is even read twice). Topics that
 * appear while the collector runs are read from their beginning whatever EVENTSCOPE_START says:
 * they did not exist when the collector started, so "latest" would only lose their first events.
 *
 * Also: the collector's health row (collector_instances) every few seconds, and retention
 * (EVENTSCOPE_RETENTION) on a timer, and the flows fold (flow-folder.ts). The admin poller (admin-poller.ts) is separate.
 */

export interface CollectorOptions {
  db: Pick<Database, "pool" | "prisma">;
  /**
   * The source this collector pipeline reads (ensureSource() gives it): every row it writes
   * carries its id, its health row's stalled partitions its name. All per-source state lives in
   * the pipeline this function starts, so one process can run one pipeline per source.
   */
  source: SourceRef;
  log(line: string): void;
  /** Default: createKafka(config), logging kafkajs's warnings through `log`. */
  kafka?: Kafka;
  /** Default: `<host>-<pid>-<random>`. */
  instanceId?: string;
  /** How often the topic list is polled. Default 3 s (a new topic is collected within ~10 s). */
  topicRefreshMs?: number;
  /** How often the health row is written. Default 5 s. */
  healthIntervalMs?: number;
  /** How often retention runs. Default 10 min; the first run is a minute after start. */
  pruneIntervalMs?: number;
  /** kafkajs group session timeout. Default 10 s: a killed collector's partitions move on quickly. */
  sessionTimeoutMs?: number;
  /** How often events stored during a Schema Registry outage are tried again. Default 15 s. */
  registryCatchUpMs?: number;
  /** Backoff before the first re-fetch of a batch that does not decode (doubles each time). Default 1 s. */
  decodeRetryMs?: number;
  /** On a topic change, how long the old consumer may take to store, commit and leave. Default 20 s. */
  drainTimeoutMs?: number;
  /**
   * How long stop() may take, whatever the broker's or the database's state. Default 10 s. What
   * it has not finished by then is left (and logged): stored rows stay, nothing unstored was
   * committed, and the next consumer reads those events again.
   */
  stopTimeoutMs?: number;
  /**
   * Flows (server/db/flows.ts): mark stored entities and fold them every `flowFoldMs` (default
   * 2 s). Default: config.flows (EVENTSCOPE_FLOWS, on unless set off).
   */
  flows?: boolean;
  flowFoldMs?: number;
  /** Write sizes and queue limits (event-writer.ts). */
  writer?: Pick<
    EventWriterOptions<SessionTag>,
    "maxRowsPerWrite" | "maxBytesPerWrite" | "maxQueuedRows" | "maxQueuedBytes" | "initialRetryDelayMs" | "maxRetryDelayMs"
  >;
}

export interface CollectorStats {
  instanceId: string;
  /** Collected topics as last listed (null: not listed yet). */
  topics: string[] | null;
  /** Consumers started so far (1 + topic changes + replaced crashed ones). */
  sessions: number;
  storedRows: number;
  insertedRows: number;
  writes: number;
  failedWrites: number;
  queuedRows: number;
  lastPollAt: Date | null;
  lastStoredAt: Date | null;
  ownLag: bigint | null;
  lastError: string | null;
}

export interface RunningCollector {
  readonly instanceId: string;
  stats(): CollectorStats;
  /** Records the admin poller's last successful poll in the health row. */
  noteAdminPoll(at: Date): void;
  /** Stops consuming, stores and commits what was fetched, leaves the group: within stopTimeoutMs. */
  stop(): Promise<void>;
}

type ErrorSource = "database" | "kafka" | "topics";

/** Of a stop's time, what stopping the consumer leaves for the writer's last write and the health row. */
const STOP_RESERVE_MS = 1_500;

export function startCollector(config: Config, options: CollectorOptions): RunningCollector {
  const log = options.log;
  // Before the first fetch: a batch that does not decode must not fail its whole fetch.
  installUndecodableBatchHandling();
  // Also when the caller brings its own client: the codecs are process-wide.
  registerCompressionCodecs();
  const kafka = options.kafka ?? createKafka(config, { log, clientId: "eventscope-collector" });
  const instanceId = options.instanceId ?? newInstanceId();
  const topicRefreshMs = options.topicRefreshMs ?? 3_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 20_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  // SCHEMA_REGISTRY_URL: values in the registry's wire format are decoded (server/schemas/wire-format.ts).
  const wireFormat = config.schemaRegistry ? new WireFormatDecoder(config.schemaRegistry) : undefined;
  const extractOptions = {
    entityFields: config.entityFields,
    dlqPatterns: config.dlqPatterns,
    maxValueBytes: config.maxValueBytes,
    wireFormat,
  };

  let stopped = false;
  let session: ConsumerSession | null = null;
  let sessionCount = 0;
  let sessionFailed = false;
  /** A consumer being stopped for its replacement (stop() waits for it too). */
  let replacing: Promise<void> | null = null;
  /** The collected topics as last listed; null until the first listing. */
  let desired: string[] | null = null;
  /** Topics of the first listing: the only ones EVENTSCOPE_START applies to. */
  let initialTopics: Set<string> | null = null;
  let lastPollAt: Date | null = null;
  let lastAdminPollAt: Date | null = null;
  const errors = new Map<ErrorSource, { message: string; at: Date }>();

  // Shown by /api/health: without the configuration's secrets, whatever an error quotes.
  const setError = (source: ErrorSource, message: string | null) => {
    if (message === null) errors.delete(source);
    else errors.set(source, { message: redactSecrets(source === "database" ? message : explainKafkaError(message), config), at: new Date() });
  };
  const latestError = () => [...errors.values()].sort((a, b) => b.at.getTime() - a.at.getTime())[0] ?? null;

  // --- the write path -------------------------------------------------------------------------
  const maxRowsPerWrite = options.writer?.maxRowsPerWrite ?? 5_000;
  const writer = new EventWriter<SessionTag>({
    db: options.db,
    log,
    ...options.writer,
    maxRowsPerWrite,
    flows: options.flows ?? config.flows,
    onStored: (chunks) => session?.onStored(chunks),
    onAvailabilityChange: (available: boolean, error: DatabaseError | null) => {
      // Stop fetching while the database is failing: the batch in hand is retried by the writer,
      // and nothing new piles up behind it. Resumed once a write succeeds again.
      session?.setPaused(!available);
      setError("database", available ? null : `database: ${error ? oneLine(error.message) : "unavailable"}`);
      if (!available) log("consumption paused until the database accepts writes again");
      else log("consumption resumed");
    },
  });

  // --- the consumer, replaced when the topic list changes -------------------------------------
  let wakeSupervisor: (() => void) | null = null;
  const signal = () => wakeSupervisor?.();
  const waitForSignal = (timeoutMs?: number) =>
    new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs);
      wakeSupervisor = () => {
        clearTimeout(timer);
        wakeSupervisor = null;
        resolve();
      };
    });

  const sameTopics = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((topic, i) => topic === b[i]);

  /** Consumers in a row that crashed for good before fetching anything (reset by a fetch). */
  let fatalCrashes = 0;
  const supervise = async () => {
    let failures = 0;
    while (!stopped) {
      const want = desired;
      if (want === null || (session && !sessionFailed && sameTopics(session.topics, want)) || (!session && want.length === 0)) {
        await waitForSignal();
        continue;
      }
      if (session) {
        const before = new Set(session.topics);
        const after = new Set(want);
        const added = want.filter((topic) => !before.has(topic));
        const removed = session.topics.filter((topic) => !after.has(topic));
        log(
          sessionFailed
            ? "replacing the consumer"
            : `topics changed (${[...added.map((t) => `+${t}`), ...removed.map((t) => `-${t}`)].join(" ")}): replacing the consumer`,
        );
        const old = session;
        session = null;
        replacing = old.stop(drainTimeoutMs).then(() => undefined);
        await replacing;
        replacing = null;
        if (stopped) return;
        if (sessionFailed && fatalCrashes > 0) {
          // A consumer that crashes again at once must not be replaced in a tight loop.
          const backoffMs = Math.min(30_000, 1_000 * 2 ** Math.min(fatalCrashes - 1, 5));
          log(`the consumer crashed ${fatalCrashes} time(s) in a row: replacing it in ${backoffMs / 1000}s`);
          await waitForSignal(backoffMs);
          if (stopped) return;
        }
      }
      sessionFailed = false;
      if (want.length === 0) continue;
      const next = new ConsumerSession({
        sourceId: options.source.id,
        id: ++sessionCount,
        kafka,
        groupId: config.collectorGroup,
        topics: want,
        fromBeginning: (topic) => config.start === "earliest" || (initialTopics !== null && !initialTopics.has(topic)),
        writer,
        extractOptions,
        prepareBatch: wireFormat
          ? (messages) => fetchSchemas(options.db, options.source.id, wireFormat, messages.flatMap((m) => [m.key ?? null, m.value ?? null]), log)
          : undefined,
        maxRowsPerChunk: maxRowsPerWrite,
        paused: writer.isFailing(),
        consumerConfig: {
          sessionTimeout: options.sessionTimeoutMs ?? 10_000,
          heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 10_000) / 3)),
          rebalanceTimeout: 30_000,
          // Catch-up fetches big enough to keep the writer fed; a partition's first batch is
          // returned whole whatever its size (KIP-74), so a 1 MB value still gets through.
          maxBytes: 16 * 1024 * 1024,
          maxBytesPerPartition: 4 * 1024 * 1024,
          // A fetch returns as soon as there is data; this bounds how long stop() waits for one.
          maxWaitTimeInMs: 1_000,
        },
        log,
        onFatal: () => {
          fatalCrashes += 1;
          if (session === next) {
            sessionFailed = true;
            signal();
          }
        },
        onKafkaError: (message) => setError("kafka", message),
        onFetch: () => {
          lastPollAt = new Date();
          fatalCrashes = 0;
        },
        decodeAttempts: config.decodeAttempts,
        decodeRetryMs: options.decodeRetryMs,
      });
      session = next;
      try {
        await next.start();
        failures = 0;
        log(`consuming ${want.length} topic(s) as group ${config.collectorGroup}: ${want.join(", ")}`);
      } catch (error) {
        failures += 1;
        const message = error instanceof Error ? error.message : String(error);
        setError("kafka", `starting the consumer failed: ${message}`);
        const retryMs = Math.min(30_000, 1_000 * 2 ** Math.min(failures - 1, 5));
        log(`starting the consumer failed (retrying in ${retryMs / 1000}s): ${message}`);
        sessionFailed = true;
        await waitForSignal(retryMs);
      }
    }
  };

  const watcher: TopicWatcher = startTopicWatcher({
    kafka,
    filter: { include: config.topicsInclude, exclude: config.topicsExclude },
    intervalMs: topicRefreshMs,
    log,
    onChange: (topics) => {
      if (initialTopics === null) initialTopics = new Set(topics);
      else {
        // A topic that disappeared and comes back is a new topic (deleted and created again): it is
        // read from its beginning like any topic created while the collector runs.
        const listed = new Set(topics);
        for (const topic of initialTopics) if (!listed.has(topic)) initialTopics.delete(topic);
      }
      desired = topics;
      if (topics.length === 0) log("no topics to collect yet");
      signal();
    },
    onError: (message) => setError("topics", message),
  });
  const supervisor = supervise().catch((error: unknown) => {
    // A bug, not an outage: say so loudly; the health row shows the collector stopped polling.
    log(`collector supervisor failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  });

  // --- health ---------------------------------------------------------------------------------
  const health = startHealthReporter({
    db: options.db,
    log,
    identity: { instanceId, sourceId: options.source.id },
    intervalMs: options.healthIntervalMs,
    snapshot: () => {
      const error = latestError();
      return {
        lastPollAt,
        lastStoredAt: writer.getStats().lastStoredAt,
        lastAdminPollAt: lastAdminPollAt ?? undefined,
        ownLag: session?.ownLag() ?? null,
        // Cleared once every source of error has recovered.
        lastError: error?.message ?? null,
        lastErrorAt: error?.at ?? null,
        stalled: (session?.stalledPartitions() ?? []).map((stall) => ({ ...stall, source: options.source.name })),
      };
    },
  });

  // --- retention ------------------------------------------------------------------------------
  const retention = startRetentionTimer({ db: options.db, config, log, intervalMs: options.pruneIntervalMs });

  // --- flows: the entities stored since the last fold, counted ------------------------------------
  const flowFolder = !(options.flows ?? config.flows) ? null : startFlowFolder({
        db: options.db,
        log,
        intervalMs: options.flowFoldMs,
        compensations: config.compensations,
        ownLag: () => session?.ownLag() ?? null,
      });

  // --- events stored while the Schema Registry was unavailable, decoded once it is back ---------
  const registryCatchUp = wireFormat
    ? startRegistryCatchUp({
        db: options.db,
        sourceId: options.source.id,
        decoder: wireFormat,
        extractOptions,
        topics: () => desired ?? [],
        log,
        intervalMs: options.registryCatchUpMs,
      })
    : null;

  let stopping: Promise<void> | null = null;
  return {
    instanceId,
    noteAdminPoll(at) {
      lastAdminPollAt = at;
    },
    stats() {
      const writerStats = writer.getStats();
      return {
        instanceId,
        topics: desired,
        sessions: sessionCount,
        storedRows: writerStats.storedRows,
        insertedRows: writerStats.insertedRows,
        writes: writerStats.writes,
        failedWrites: writerStats.failedAttempts,
        queuedRows: writerStats.queuedRows,
        lastPollAt,
        lastStoredAt: writerStats.lastStoredAt,
        ownLag: session?.ownLag() ?? null,
        lastError: latestError()?.message ?? null,
      };
    },
    stop() {
      return (stopping ??= (async () => {
        const startedAt = Date.now();
        const deadline = startedAt + stopTimeoutMs;
        const left = () => Math.max(0, deadline - Date.now());
        const cutShort: string[] = [];
        const waitFor = async (what: string, work: Promise<unknown> | undefined) => {
          if (!(await settlesWithin(work, left()))) cutShort.push(what);
        };
        stopped = true;
        const healthStopped = health.stop();
        const retentionStopped = retention.stop();
        const catchUpStopped = registryCatchUp?.stop();
        const foldStopped = flowFolder?.stop();
        signal();
        // Not awaited first: a listing stuck in kafkajs's retries must not delay storing what was fetched.
        const watcherStopped = watcher.stop();
        // The supervisor may be inside a consumer's connect, which kafkajs retries for a while
        // when the broker is down: do not wait for that; the session is stopped below anyway.
        await settlesWithin(supervisor, Math.min(5_000, left()));
        await waitFor("replacing the consumer", replacing ?? undefined);
        const last = session;
        session = null;
        if (last) {
          let sessionCutShort: string[] = [];
          // A little is kept back for the writer and the health row after it.
          const sessionStop = last.stop(Math.max(0, left() - STOP_RESERVE_MS)).then((list) => void (sessionCutShort = list));
          await waitFor("stopping the consumer", sessionStop);
          cutShort.push(...sessionCutShort);
        }
        // Cut short, the rows queued now are the ones dropped: none of them is committed.
        let dropped = writer.getStats().queuedRows;
        await waitFor("the write in progress", writer.stop().then((n) => void (dropped = n)));
        if (dropped > 0) log(`stopped with ${dropped} events unstored and uncommitted: they will be read again`);
        await waitFor("listing topics", watcherStopped);
        await waitFor("retention", retentionStopped);
        await waitFor("decoding events stored during a registry outage", catchUpStopped);
        await waitFor("folding flows", foldStopped);
        await waitFor("recording health", healthStopped);
        await waitFor("recording health", health.writeNow());
        if (cutShort.length > 0) {
          log(
            `stop cut short after ${Math.round((Date.now() - startedAt) / 1000)} s: ${[...new Set(cutShort)].join(", ")} did not finish ` +
              `(the broker or the database did not answer); what was stored stays, and nothing unstored was committed: it will be read again`,
          );
        }
      })());
    },
  };
}
