import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { Connection, type HandlerResult, type RequestHeader } from "./connection.ts";
import { GroupCoordinator, type CommittedOffset } from "./group-coordinator.ts";
import { BackgroundSync, FilePartitionLog, LEADER_EPOCH, MemoryPartitionLog, type PartitionLog } from "./partition-log.ts";
import { decodeMessage, encodeMessage, isFlexible, supportedVersions, Writer, type Message, type Reader } from "./protocol/codec.ts";
import { ErrorCode } from "./protocol/errors.ts";
import { ApiKey, apiSpecs, apiVersions } from "./protocol/messages.ts";
import type { ApiSpec } from "./protocol/types.ts";
import { CorruptBatchError, stampLogAppendTime, validateBatches, type BatchHeader } from "./record-batch.ts";
import { SASL_MECHANISMS, SaslSession, SaslUsers, type SaslMechanism } from "./sasl.ts";
import { ConfigSource, ConfigType, TOPIC_CONFIGS, describeTopicConfigs, topicConfigError, topicConfigsConflict, topicConfigValue, type DescribedConfig } from "./topic-configs.ts";

export interface BrokerOptions {
  /** 0 picks a free port. Default 9092. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The host clients are told to connect to; defaults to `host` (127.0.0.1 when `host` is a wildcard). */
  advertisedHost?: string;
  /** Keep logs, topics and committed offsets in files under this directory; in memory without it. */
  dataDir?: string;
  /** Partitions of an auto-created topic (and of CreateTopics with -1). Default 3. */
  partitions?: number;
  /** A file of `user:password` lines, or users already loaded: SASL is required when given. */
  saslUsers?: string | SaslUsers;
  /** Create a topic when a client asks for its metadata. Default true, as in Kafka. */
  autoCreateTopics?: boolean;
  /** Where the broker reports what it refused or noticed. Default: stderr. */
  log?: (line: string) => void;
  /** Lower bound of a consumer's session timeout. Kafka's default is 6000; lower keeps tests quick. */
  minSessionTimeoutMs?: number;
  /** TLS on the port (then TLS only): the broker's certificate and key, PEM. */
  tls?: BrokerTlsOptions;
}

export interface BrokerTlsOptions {
  /** The broker's certificate (chain), PEM. */
  cert: string | Buffer;
  /** Its private key, PEM, unencrypted. */
  key: string | Buffer;
  /** CA certificate(s), PEM: when given, every client must present a certificate they signed (mutual TLS). */
  clientCa?: string | Buffer;
}

export interface RunningBroker {
  host: string;
  port: number;
  /** `host:port`, ready for a client's broker list. */
  address: string;
  stop(): Promise<void>;
}

interface Topic {
  name: string;
  /** Kafka's topic id (16 bytes), for Metadata v10+ and the APIs that name topics by id. */
  id: Buffer;
  partitions: PartitionLog[];
  configs: Map<string, string>;
}

/** A topic in `topics.json`. */
interface SavedTopic {
  /** Hex; absent in files written before topic ids were served. */
  id?: string;
  partitions: number;
  configs: Record<string, string>;
  /** Per partition; absent in files written before DeleteRecords was served. */
  logStartOffsets?: number[];
}

interface ProducerPartitionState {
  lastSequence: number;
  /** The last five batches, so a retried one is recognised (Kafka keeps five as well). */
  recent: { firstSequence: number; lastSequence: number; baseOffset: number }[];
}

interface ProducerState {
  epoch: number;
  partitions: Map<string, ProducerPartitionState>;
}

const NODE_ID = 0;
const CLUSTER_ID = "eventscope-embedded";
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const SYNC_INTERVAL_MS = 1000;
/** How often retention.ms and retention.bytes are applied (Kafka's log.retention.check.interval.ms). */
const RETENTION_CHECK_MS = 1000;
/** DescribeConfigs resource types. */
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
/** IncrementalAlterConfigs operations. */
const CONFIG_OP_SET = 0;
const CONFIG_OP_DELETE = 1;
const CONFIG_OP_APPEND = 2;
const CONFIG_OP_SUBTRACT = 3;

type Handler = (conn: Connection, header: RequestHeader, req: Message) => Message | null | Promise<Message | null>;

/** A random topic id; never all zeros, which Kafka reserves for "no id". */
function newTopicId(): Buffer {
  const id = randomBytes(16);
  id[0] = id[0]! | 1;
  return id;
}

/** What Kafka accepts as ApiVersions v3's client software name and version. */
const CLIENT_SOFTWARE = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

function nextSequence(seq: number): number {
  return seq === 0x7fffffff ? 0 : seq + 1;
}

function addSequence(seq: number, delta: number): number {
  return (seq + delta) % 0x80000000;
}

export class Broker {
  readonly topics = new Map<string, Topic>();
  private readonly coordinator: GroupCoordinator;
  private readonly producers = new Map<number, ProducerState>();
  private nextProducerId = 1000;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly connections = new Set<Connection>();
  private readonly sockets = new Set<net.Socket>();
  private readonly handlers = new Map<number, Handler>();
  private readonly sasl: SaslUsers | null;
  private readonly log: (line: string) => void;
  private readonly partitionsPerTopic: number;
  private readonly autoCreate: boolean;
  private offsetsFd: number | null = null;
  private offsetsSync: BackgroundSync | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private server: net.Server | null = null;
  private connectionCount = 0;
  advertisedHost = "127.0.0.1";
  port = 0;

  constructor(private readonly options: BrokerOptions = {}) {
    this.log = options.log ?? ((line) => process.stderr.write(`[broker] ${line}\n`));
    this.partitionsPerTopic = options.partitions ?? 3;
    if (!Number.isInteger(this.partitionsPerTopic) || this.partitionsPerTopic < 1) {
      throw new Error(`partitions must be a positive integer, got ${options.partitions}`);
    }
    this.autoCreate = options.autoCreateTopics ?? true;
    const users = options.saslUsers;
    this.sasl = users === undefined ? null : typeof users === "string" ? SaslUsers.fromFile(users) : users;
    this.coordinator = new GroupCoordinator({
      minSessionTimeoutMs: options.minSessionTimeoutMs ?? 1000,
      maxSessionTimeoutMs: 30 * 60 * 1000,
      onCommit: (g, t, p, o) => this.persistOffset(g, t, p, o),
      log: this.log,
    });
    this.registerHandlers();
    if (options.dataDir) this.loadDataDir(options.dataDir);
  }

  // ------------------------------------------------------------------ lifecycle

  async listen(): Promise<RunningBroker> {
    const host = this.options.host ?? "127.0.0.1";
    const accept = (socket: net.Socket) => {
      const conn = new Connection(socket, String(++this.connectionCount), (c, h, r) => this.dispatch(c, h, r), this.log);
      this.connections.add(conn);
      socket.on("close", () => this.connections.delete(conn));
    };
    const secure = this.options.tls;
    const server: net.Server = secure
      ? tls.createServer(
          {
            cert: secure.cert,
            key: secure.key,
            ...(secure.clientCa !== undefined ? { ca: secure.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
          },
          accept,
        )
      : net.createServer(accept);
    // Every socket, also one still in its TLS handshake (not a connection yet), so stop() can end it.
    server.on("connection", (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    if (secure) {
      // A client that does not complete the handshake (no or an unknown certificate, plain TCP)
      // never becomes a connection: say why, once, and carry on.
      server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
        this.log(`TLS handshake with ${socket.remoteAddress ?? "unknown"} failed: ${error.message}`);
      });
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 9092, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    this.port = addr.port;
    const wildcard = host === "0.0.0.0" || host === "::";
    this.advertisedHost = this.options.advertisedHost ?? (wildcard ? "127.0.0.1" : host);
    if (this.options.dataDir) {
      this.syncTimer = setInterval(() => this.syncAll(), SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
    this.retentionTimer = setInterval(() => this.applyRetention(Date.now()), RETENTION_CHECK_MS);
    this.retentionTimer.unref();
    return {
      host: this.advertisedHost,
      port: this.port,
      address: `${this.advertisedHost}:${this.port}`,
      stop: () => this.stop(),
    };
  }

  async stop(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.coordinator.stop();
    for (const c of this.connections) c.socket.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await Promise.all([...this.topics.values()].flatMap((t) => t.partitions.map((p) => p.close())));
    if (this.offsetsFd !== null) {
      await this.offsetsSync?.finish();
      fs.closeSync(this.offsetsFd);
      this.offsetsFd = null;
    }
  }

  private syncAll(): void {
    for (const t of this.topics.values()) for (const p of t.partitions) void p.flush();
    void this.offsetsSync?.flush();
  }

  // ------------------------------------------------------------------ persistence

  private topicDir(topic: string, partition: number): string {
    return path.join(this.options.dataDir!, "logs", `${topic}-${partition}`);
  }

  private newLog(topic: string, partition: number): PartitionLog {
    if (!this.options.dataDir) return new MemoryPartitionLog();
    return new FilePartitionLog(path.join(this.topicDir(topic, partition), "00000000000000000000.log"));
  }

  private loadDataDir(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const topicsFile = path.join(dir, "topics.json");
    if (fs.existsSync(topicsFile)) {
      const saved = JSON.parse(fs.readFileSync(topicsFile, "utf8")) as Record<string, SavedTopic>;
      for (const [name, t] of Object.entries(saved)) {
        const partitions = Array.from({ length: t.partitions }, (_, i) => this.newLog(name, i));
        // Records deleted by DeleteRecords or retention stay in the file; the saved start hides them.
        partitions.forEach((log, i) => log.advanceStart(t.logStartOffsets?.[i] ?? 0));
        this.topics.set(name, { name, id: t.id ? Buffer.from(t.id, "hex") : newTopicId(), partitions, configs: new Map(Object.entries(t.configs)) });
        partitions.forEach((log, i) => {
          if (log instanceof FilePartitionLog && log.truncatedBytes > 0) {
            this.log(`${name}-${i}: cut ${log.truncatedBytes} bytes of a torn batch off the log's end; it continues at offset ${log.highWatermark}`);
          }
          for (const { baseOffset, header } of log.headers()) this.restoreProducer(name, i, baseOffset, header);
        });
      }
    }
    // Committed offsets: an append-only file of JSON lines, compacted at start-up.
    const offsetsFile = path.join(dir, "offsets.jsonl");
    const latest = new Map<string, { g: string; t: string; p: number; o: CommittedOffset | null }>();
    if (fs.existsSync(offsetsFile)) {
      for (const line of fs.readFileSync(offsetsFile, "utf8").split("\n")) {
        if (!line) continue;
        try {
          const e = JSON.parse(line) as { g: string; t: string; p: number; o: CommittedOffset | null };
          latest.set(`${e.g}\0${e.t}\0${e.p}`, e);
        } catch {
          // A line torn by a crash mid-write: everything before it is intact.
        }
      }
    }
    const compacted = [...latest.values()].filter((e): e is { g: string; t: string; p: number; o: CommittedOffset } => e.o !== null && this.topics.has(e.t));
    for (const e of compacted) this.coordinator.restoreOffset(e.g, e.t, e.p, e.o);
    const tmp = `${offsetsFile}.tmp`;
    fs.writeFileSync(tmp, compacted.map((e) => JSON.stringify(e) + "\n").join(""));
    fs.renameSync(tmp, offsetsFile);
    this.offsetsFd = fs.openSync(offsetsFile, "a");
    this.offsetsSync = new BackgroundSync(this.offsetsFd);
  }

  private saveTopics(): void {
    const dir = this.options.dataDir;
    if (!dir) return;
    const out: Record<string, SavedTopic> = {};
    for (const t of this.topics.values()) {
      out[t.name] = { id: t.id.toString("hex"), partitions: t.partitions.length, configs: Object.fromEntries(t.configs), logStartOffsets: t.partitions.map((p) => p.logStartOffset) };
    }
    const file = path.join(dir, "topics.json");
    const fd = fs.openSync(`${file}.tmp`, "w");
    fs.writeSync(fd, JSON.stringify(out, null, 2));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(`${file}.tmp`, file);
  }

  /** `o` null is a tombstone: the group's offset was deleted (DeleteGroups). */
  private persistOffset(g: string, t: string, p: number, o: CommittedOffset | null): void {
    if (this.offsetsFd === null) return;
    fs.writeSync(this.offsetsFd, JSON.stringify({ g, t, p, o }) + "\n");
    this.offsetsSync?.markDirty();
  }

  private restoreProducer(topic: string, partition: number, baseOffset: number, h: BatchHeader): void {
    if (h.producerId < 0) return;
    this.nextProducerId = Math.max(this.nextProducerId, h.producerId + 1);
    this.recordSequence(h.producerId, h.producerEpoch, `${topic}\0${partition}`, h, baseOffset);
  }

  // ------------------------------------------------------------------ topics

  createTopic(name: string, partitions = this.partitionsPerTopic, configs = new Map<string, string>()): Topic {
    const topic: Topic = { name, id: newTopicId(), partitions: Array.from({ length: partitions }, (_, i) => this.newLog(name, i)), configs };
    this.topics.set(name, topic);
    this.saveTopics();
    this.log(`created topic ${name} with ${partitions} partition(s)`);
    return topic;
  }

  private deleteTopic(name: string): void {
    const topic = this.topics.get(name);
    if (!topic) return;
    this.topics.delete(name);
    // Unlinking open files is fine on Linux; the descriptors close once their last sync is done.
    for (const p of topic.partitions) void p.close();
    if (this.options.dataDir) {
      topic.partitions.forEach((_, i) => fs.rmSync(this.topicDir(name, i), { recursive: true, force: true }));
    }
    this.coordinator.dropTopic(name);
    this.saveTopics();
    this.log(`deleted topic ${name}`);
  }

  /**
   * Applies `retention.ms` and `retention.bytes` where a topic sets them and its cleanup.policy
   * includes delete. Kafka's broker-wide defaults (7 days, unlimited) are reported but not applied:
   * a demo's data stays until it is deleted.
   */
  private applyRetention(now: number): void {
    let changed = false;
    for (const t of this.topics.values()) {
      const ms = t.configs.get("retention.ms");
      const bytes = t.configs.get("retention.bytes");
      if (ms === undefined && bytes === undefined) continue;
      if (!topicConfigValue(t.configs, "cleanup.policy").split(",").map((s) => s.trim()).includes("delete")) continue;
      t.partitions.forEach((log, i) => {
        const start = log.retentionStart(Number(ms ?? -1), Number(bytes ?? -1), now);
        if (log.advanceStart(start)) {
          changed = true;
          this.log(`${t.name}-${i}: retention deleted records before offset ${start}`);
        }
      });
    }
    if (changed) this.saveTopics();
  }

  private topicById(id: Buffer): Topic | undefined {
    for (const t of this.topics.values()) if (t.id.equals(id)) return t;
    return undefined;
  }

  private partition(topic: string, partition: number): PartitionLog | null {
    return this.topics.get(topic)?.partitions[partition] ?? null;
  }

  // ------------------------------------------------------------------ dispatch

  private dispatch(conn: Connection, header: RequestHeader, body: Reader): HandlerResult | Promise<HandlerResult> {
    const spec = apiSpecs.get(header.apiKey);
    const handler = this.handlers.get(header.apiKey);
    if (header.apiKey === ApiKey.ApiVersions && spec) {
      const range = supportedVersions(spec.request);
      if (header.apiVersion > range.max) {
        // Newer clients (librdkafka) probe with a flexible version first. Kafka answers in the v0
        // layout with UNSUPPORTED_VERSION and its ranges, and the client retries with what we serve.
        return this.encode(apiVersions, 0, this.apiVersionsBody(ErrorCode.UNSUPPORTED_VERSION));
      }
    }
    if (!spec || !handler) {
      this.log(`connection ${conn.id} (${header.clientId ?? "no client id"}): unknown API key ${header.apiKey}`);
      return this.errorOnly(ErrorCode.UNSUPPORTED_VERSION);
    }
    const range = supportedVersions(spec.request);
    if (header.apiVersion < range.min || header.apiVersion > range.max) {
      this.log(`connection ${conn.id}: ${spec.request.name} v${header.apiVersion} is not supported (serves v${range.min}-${range.max})`);
      return this.errorOnly(ErrorCode.UNSUPPORTED_VERSION);
    }
    if (this.sasl && !conn.authenticatedUser && header.apiKey !== ApiKey.ApiVersions && header.apiKey !== ApiKey.SaslHandshake && header.apiKey !== ApiKey.SaslAuthenticate) {
      conn.abort(`${spec.request.name} before SASL authentication`);
      return null;
    }
    // Request header v2 (flexible versions) ends with tagged fields of its own.
    if (isFlexible(spec.request, header.apiVersion)) body.skipTaggedFields();
    const req = decodeMessage(spec.request, header.apiVersion, body);
    const out = handler(conn, header, req);
    if (out instanceof Promise) return out.then((m) => (m === null ? null : this.encode(spec, header.apiVersion, m)));
    return out === null ? null : this.encode(spec, header.apiVersion, out);
  }

  private encode(spec: ApiSpec, version: number, body: Message): Writer {
    const w = new Writer();
    // Response header v1 (flexible versions): its empty tagged fields follow the correlation id.
    // ApiVersions keeps header v0 in every version, so a client can read it before it knows ours.
    if (spec.response.apiKey !== ApiKey.ApiVersions && isFlexible(spec.response, version)) w.uvarint(0);
    encodeMessage(spec.response, version, body, w);
    return w;
  }

  /** For an API or version we cannot lay out: just the error code, and the connection stays open. */
  private errorOnly(code: number): Writer {
    const w = new Writer();
    w.int16(code);
    return w;
  }

  private apiVersionsBody(errorCode: number): Message {
    return {
      errorCode,
      apiKeys: [...apiSpecs.values()].map((s) => {
        const r = supportedVersions(s.request);
        return { apiKey: s.request.apiKey, minVersion: r.min, maxVersion: r.max };
      }),
    };
  }

  private registerHandlers(): void {
    const on = (key: number, h: Handler) => this.handlers.set(key, h);
    on(ApiKey.ApiVersions, (c, h, req) => {
      if (h.apiVersion >= 3) {
        const name = req.clientSoftwareName as string;
        const version = req.clientSoftwareVersion as string;
        if (!CLIENT_SOFTWARE.test(name) || !CLIENT_SOFTWARE.test(version)) {
          this.log(`connection ${c.id}: ApiVersions with an invalid client software name or version ("${name}" "${version}")`);
          return this.apiVersionsBody(ErrorCode.INVALID_REQUEST);
        }
        c.clientSoftware = `${name} ${version}`;
      }
      return this.apiVersionsBody(ErrorCode.NONE);
    });
    on(ApiKey.Metadata, (_c, h, req) => this.handleMetadata(h.apiVersion, req));
    on(ApiKey.Produce, (_c, _h, req) => this.handleProduce(req));
    on(ApiKey.Fetch, (_c, _h, req) => this.handleFetch(req));
    on(ApiKey.ListOffsets, (_c, h, req) => this.handleListOffsets(h.apiVersion, req));
    on(ApiKey.InitProducerId, (_c, _h, req) => this.handleInitProducerId(req));
    on(ApiKey.CreateTopics, (_c, _h, req) => this.handleCreateTopics(req));
    on(ApiKey.DeleteTopics, (_c, _h, req) => this.handleDeleteTopics(req));
    on(ApiKey.DescribeConfigs, (_c, _h, req) => this.handleDescribeConfigs(req));
    on(ApiKey.AlterConfigs, (_c, _h, req) => this.handleAlterConfigs(req, false));
    on(ApiKey.IncrementalAlterConfigs, (_c, _h, req) => this.handleAlterConfigs(req, true));
    on(ApiKey.CreatePartitions, (_c, _h, req) => this.handleCreatePartitions(req));
    on(ApiKey.DeleteRecords, (_c, _h, req) => this.handleDeleteRecords(req));
    on(ApiKey.DeleteGroups, (_c, _h, req) => this.handleDeleteGroups(req));
    on(ApiKey.OffsetForLeaderEpoch, (_c, _h, req) => this.handleOffsetForLeaderEpoch(req));
    on(ApiKey.FindCoordinator, (_c, _h, req) => ({
      errorCode: 0,
      errorMessage: null,
      nodeId: NODE_ID,
      host: this.advertisedHost,
      port: this.port,
      // v4+: one answer per key; this node coordinates every group and transaction.
      coordinators: ((req.coordinatorKeys as string[] | undefined) ?? []).map((key) => ({
        key,
        nodeId: NODE_ID,
        host: this.advertisedHost,
        port: this.port,
        errorCode: 0,
        errorMessage: null,
      })),
    }));
    on(ApiKey.JoinGroup, (c, h, req) => this.handleJoinGroup(c, h, req));
    on(ApiKey.SyncGroup, (_c, _h, req) => this.handleSyncGroup(req));
    on(ApiKey.Heartbeat, (_c, _h, req) => ({
      errorCode: this.coordinator.heartbeat(req.groupId as string, req.generationId as number, req.memberId as string),
    }));
    on(ApiKey.LeaveGroup, (_c, h, req) => this.handleLeaveGroup(h.apiVersion, req));
    on(ApiKey.OffsetCommit, (_c, _h, req) => this.handleOffsetCommit(req));
    on(ApiKey.OffsetFetch, (_c, _h, req) => this.handleOffsetFetch(req));
    on(ApiKey.ListGroups, (_c, _h, req) => {
      // v4+: only groups in the given states (compared as Kafka does, ignoring case).
      const states = ((req.statesFilter as string[] | undefined) ?? []).map((x) => x.toLowerCase());
      return {
        errorCode: 0,
        groups: [...this.coordinator.groups.values()]
          .filter((g) => states.length === 0 || states.includes(g.state.toLowerCase()))
          .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state })),
      };
    });
    on(ApiKey.DescribeGroups, (_c, _h, req) => this.handleDescribeGroups(req));
    on(ApiKey.SaslHandshake, (c, h, req) => this.handleSaslHandshake(c, h.apiVersion, req));
    on(ApiKey.SaslAuthenticate, (c, _h, req) => this.handleSaslAuthenticate(c, req));
  }

  // ------------------------------------------------------------------ metadata and topics

  private topicNameError(name: string): string | null {
    if (!TOPIC_NAME.test(name) || name === "." || name === "..") {
      return `topic name "${name}" is invalid: 1-249 characters of ASCII letters, digits, '.', '_' and '-'`;
    }
    return null;
  }

  private topicMetadata(t: Topic): Message {
    return {
      errorCode: 0,
      name: t.name,
      topicId: t.id,
      isInternal: t.name.startsWith("__"),
      partitions: t.partitions.map((_, i) => ({
        errorCode: 0,
        partitionIndex: i,
        leaderId: NODE_ID,
        leaderEpoch: LEADER_EPOCH,
        replicaNodes: [NODE_ID],
        isrNodes: [NODE_ID],
        offlineReplicas: [],
      })),
    };
  }

  private handleMetadata(version: number, req: Message): Message {
    const requested = req.topics as { name: string | null; topicId?: Buffer }[] | null;
    const allowCreate = this.autoCreate && (version < 4 || req.allowAutoTopicCreation === true);
    let topics: Message[];
    if (requested === null || (version === 0 && requested.length === 0)) {
      topics = [...this.topics.values()].map((t) => this.topicMetadata(t));
    } else {
      topics = requested.map(({ name, topicId }) => {
        if (name === null) {
          // v10+: a topic asked for by id alone.
          const byId = topicId ? this.topicById(topicId) : undefined;
          return byId ? this.topicMetadata(byId) : { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId, partitions: [] };
        }
        const existing = this.topics.get(name);
        if (existing) return this.topicMetadata(existing);
        if (this.topicNameError(name)) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] };
        if (!allowCreate) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] };
        return this.topicMetadata(this.createTopic(name));
      });
    }
    return {
      brokers: [{ nodeId: NODE_ID, host: this.advertisedHost, port: this.port, rack: null }],
      clusterId: CLUSTER_ID,
      controllerId: NODE_ID,
      topics,
    };
  }

  private handleCreateTopics(req: Message): Message {
    const validateOnly = req.validateOnly === true;
    const topics = (req.topics as { name: string; numPartitions: number; replicationFactor: number; assignments: unknown[]; configs: { name: string; value: string | null }[] }[]).map(
      (t) => {
        const fail = (errorCode: number, errorMessage: string) => ({ name: t.name, errorCode, errorMessage });
        const invalid = this.topicNameError(t.name);
        if (invalid) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, invalid);
        if (this.topics.has(t.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
        const partitions = t.numPartitions === -1 ? (t.assignments.length || this.partitionsPerTopic) : t.numPartitions;
        if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10000) {
          return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be between 1 and 10000, got ${t.numPartitions}.`);
        }
        if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
          return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor ${t.replicationFactor} is larger than the 1 broker available.`);
        }
        const configs = new Map<string, string>();
        for (const c of t.configs) {
          const problem = topicConfigError(c.name, c.value);
          if (problem) return fail(ErrorCode.INVALID_CONFIG, problem);
          configs.set(c.name, c.value!.trim());
        }
        const conflict = topicConfigsConflict(configs);
        if (conflict) return fail(ErrorCode.INVALID_CONFIG, conflict);
        const created = validateOnly ? null : this.createTopic(t.name, partitions, configs);
        // v5+ also answer with what the topic got: partitions, replication and every config.
        return {
          name: t.name,
          topicId: created?.id ?? Buffer.alloc(16),
          errorCode: 0,
          errorMessage: null,
          numPartitions: partitions,
          replicationFactor: 1,
          configs: describeTopicConfigs(configs, null, false).map((c) => ({
            name: c.name,
            value: c.value,
            readOnly: c.readOnly,
            configSource: c.configSource,
            isSensitive: c.isSensitive,
          })),
        };
      },
    );
    return { topics };
  }

  private handleDeleteTopics(req: Message): Message {
    // v6+ name topics by name or by id; earlier versions by name only.
    const byIdOrName = (req.topics as { name: string | null; topicId: Buffer }[] | undefined) ?? (req.topicNames as string[]).map((name) => ({ name, topicId: null }));
    return {
      responses: byIdOrName.map(({ name, topicId }) => {
        const topic = name !== null ? this.topics.get(name) : topicId ? this.topicById(topicId) : undefined;
        if (!topic) {
          return name === null
            ? { name: null, topicId, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: "This server does not host this topic ID." }
            : { name, topicId: Buffer.alloc(16), errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: "This server does not host this topic-partition." };
        }
        this.deleteTopic(topic.name);
        return { name: topic.name, topicId: topic.id, errorCode: 0, errorMessage: null };
      }),
    };
  }

  /**
   * AlterConfigs replaces a topic's configs with the given set; IncrementalAlterConfigs applies
   * SET, DELETE, APPEND and SUBTRACT (the last two for list configs) to single keys. Either way
   * every change is validated first and nothing is applied when one is invalid.
   */
  private handleAlterConfigs(req: Message, incremental: boolean): Message {
    type Change = { name: string; value: string | null; configOperation?: number };
    const validateOnly = req.validateOnly === true;
    const responses = (req.resources as { resourceType: number; resourceName: string; configs: Change[] }[]).map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      const fail = (errorCode: number, errorMessage: string) => ({ ...base, errorCode, errorMessage });
      if (r.resourceType !== RESOURCE_TOPIC) return fail(ErrorCode.INVALID_REQUEST, "The embedded broker's own configs are fixed; only topic configs can be altered.");
      const topic = this.topics.get(r.resourceName);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${r.resourceName}' does not exist.`);
      const next = incremental ? new Map(topic.configs) : new Map<string, string>();
      for (const c of r.configs) {
        const op = incremental ? (c.configOperation ?? 0) : 0;
        if (op === CONFIG_OP_DELETE) {
          if (!TOPIC_CONFIGS.has(c.name)) return fail(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
          next.delete(c.name);
          continue;
        }
        let value = c.value;
        if (op === CONFIG_OP_APPEND || op === CONFIG_OP_SUBTRACT) {
          if (TOPIC_CONFIGS.get(c.name)?.kind !== "list") return fail(ErrorCode.INVALID_CONFIG, `Config value append and subtract are only allowed for list configs, not ${c.name}`);
          const current = topicConfigValue(next, c.name).split(",").map((x) => x.trim()).filter((x) => x !== "");
          const given = (c.value ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");
          value = (op === CONFIG_OP_APPEND ? [...current, ...given.filter((x) => !current.includes(x))] : current.filter((x) => !given.includes(x))).join(",");
        } else if (op !== CONFIG_OP_SET) {
          return fail(ErrorCode.INVALID_REQUEST, `Unknown config operation ${op} for ${c.name}`);
        }
        const problem = topicConfigError(c.name, value);
        if (problem) return fail(ErrorCode.INVALID_CONFIG, problem);
        next.set(c.name, value!.trim());
      }
      const conflict = topicConfigsConflict(next);
      if (conflict) return fail(ErrorCode.INVALID_CONFIG, conflict);
      if (!validateOnly) {
        topic.configs = next;
        this.saveTopics();
        this.log(`altered configs of topic ${topic.name}`);
      }
      return { ...base, errorCode: 0, errorMessage: null };
    });
    return { responses };
  }

  private handleCreatePartitions(req: Message): Message {
    const validateOnly = req.validateOnly === true;
    const results = (req.topics as { name: string; count: number; assignments: unknown[] | null }[]).map((t) => {
      const fail = (errorCode: number, errorMessage: string) => ({ name: t.name, errorCode, errorMessage });
      const topic = this.topics.get(t.name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`);
      const current = topic.partitions.length;
      if (t.count < current) return fail(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`);
      if (t.count === current) return fail(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
      if (t.count > 10000) return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most 10000, got ${t.count}.`);
      if (t.assignments !== null && t.assignments.length !== t.count - current) {
        return fail(ErrorCode.INVALID_REQUEST, `Increasing the number of partitions by ${t.count - current} but ${t.assignments.length} assignments provided.`);
      }
      if (!validateOnly) {
        for (let i = current; i < t.count; i++) topic.partitions.push(this.newLog(t.name, i));
        this.saveTopics();
        this.log(`topic ${t.name} grew from ${current} to ${t.count} partition(s)`);
      }
      return { name: t.name, errorCode: 0, errorMessage: null };
    });
    return { results };
  }

  /** Moves each partition's start to the given offset (-1: its end); the records before it are gone for every client. */
  private handleDeleteRecords(req: Message): Message {
    let changed = false;
    const topics = (req.topics as { name: string; partitions: { partitionIndex: number; offset: number }[] }[]).map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const log = this.partition(t.name, p.partitionIndex);
        if (!log) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        const target = p.offset === -1 ? log.highWatermark : p.offset;
        if (target < 0 || target > log.highWatermark) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
        if (log.advanceStart(target)) {
          changed = true;
          this.log(`${t.name}-${p.partitionIndex}: records before offset ${target} deleted`);
        }
        return { partitionIndex: p.partitionIndex, lowWatermark: log.logStartOffset, errorCode: 0 };
      }),
    }));
    if (changed) this.saveTopics();
    return { topics };
  }

  private handleDeleteGroups(req: Message): Message {
    return {
      results: (req.groupsNames as string[]).map((groupId) => {
        const { errorCode, dropped } = this.coordinator.deleteGroup(groupId);
        for (const d of dropped) this.persistOffset(groupId, d.topic, d.partition, null);
        return { groupId, errorCode };
      }),
    };
  }

  private handleDescribeConfigs(req: Message): Message {
    const includeSynonyms = req.includeSynonyms === true;
    const results = (req.resources as { resourceType: number; resourceName: string; configurationKeys: string[] | null }[]).map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName };
      // Kafka answers every config for a null (or empty) key list, and only the known ones otherwise.
      const keys = r.configurationKeys === null || r.configurationKeys.length === 0 ? null : r.configurationKeys;
      if (r.resourceType === RESOURCE_TOPIC) {
        const topic = this.topics.get(r.resourceName);
        if (!topic) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic '${r.resourceName}' does not exist.`, configs: [] };
        return { ...base, errorCode: 0, errorMessage: null, configs: describeTopicConfigs(topic.configs, keys, includeSynonyms) };
      }
      if (r.resourceType === RESOURCE_BROKER) {
        if (r.resourceName !== "" && r.resourceName !== String(NODE_ID)) {
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unexpected broker id, expected ${NODE_ID} or empty string, but received ${r.resourceName}`, configs: [] };
        }
        const all = this.brokerConfigs(includeSynonyms);
        return { ...base, errorCode: 0, errorMessage: null, configs: keys === null ? all : all.filter((c) => keys.includes(c.name)) };
      }
      return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Resource type ${r.resourceType} is not supported.`, configs: [] };
    });
    return { results };
  }

  /**
   * The broker's configs under Kafka's names, with the values this single node really has. A value
   * the embedded broker sets differently from Kafka's default is reported as a static broker
   * config, with Kafka's default as its synonym.
   */
  private brokerConfigs(includeSynonyms: boolean): DescribedConfig[] {
    const listener = `${this.sasl ? "SASL_" : ""}${this.options.tls ? "SSL" : "PLAINTEXT"}`;
    const host = this.options.host ?? "127.0.0.1";
    const entry = (name: string, value: string | null, type: number, kafkaDefault: string | null | undefined = value, readOnly = true): DescribedConfig => {
      const isDefault = kafkaDefault !== undefined && value === kafkaDefault;
      const source = isDefault ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG;
      const synonyms: DescribedConfig["synonyms"] = [];
      if (includeSynonyms) {
        synonyms.push({ name, value, source });
        if (!isDefault && kafkaDefault !== undefined) synonyms.push({ name, value: kafkaDefault, source: ConfigSource.DEFAULT_CONFIG });
      }
      return { name, value, readOnly, isDefault, configSource: source, isSensitive: false, synonyms, configType: type, documentation: null };
    };
    const { INT, LONG, BOOLEAN, STRING, LIST, SHORT } = ConfigType;
    return [
      entry("node.id", String(NODE_ID), INT, "-1"),
      entry("broker.id", String(NODE_ID), INT, "-1"),
      entry("num.partitions", String(this.partitionsPerTopic), INT, "1"),
      entry("default.replication.factor", "1", INT),
      entry("min.insync.replicas", "1", INT),
      entry("offsets.topic.replication.factor", "1", SHORT, "3"),
      entry("transaction.state.log.replication.factor", "1", SHORT, "3"),
      entry("auto.create.topics.enable", String(this.autoCreate), BOOLEAN, "true"),
      entry("delete.topic.enable", "true", BOOLEAN),
      // The data directory, or a name that says there is none: everything is in memory.
      entry("log.dirs", this.options.dataDir ? path.resolve(this.options.dataDir) : "memory (no data directory)", STRING, null),
      entry("listeners", `${listener}://${host}:${this.port}`, LIST, "PLAINTEXT://:9092"),
      entry("advertised.listeners", `${listener}://${this.advertisedHost}:${this.port}`, LIST, null),
      entry("sasl.enabled.mechanisms", this.sasl ? SASL_MECHANISMS.join(",") : "GSSAPI", LIST, "GSSAPI"),
      entry("group.min.session.timeout.ms", String(this.options.minSessionTimeoutMs ?? 1000), INT, "6000"),
      entry("group.max.session.timeout.ms", String(30 * 60 * 1000), INT, "1800000"),
      entry("group.initial.rebalance.delay.ms", "0", INT, "3000"),
      entry("message.max.bytes", "1048588", INT),
      entry("compression.type", "producer", STRING),
      entry("log.cleanup.policy", "delete", LIST),
      entry("log.retention.hours", "168", INT),
      entry("log.retention.bytes", "-1", LONG),
      entry("log.retention.check.interval.ms", String(RETENTION_CHECK_MS), LONG, "300000"),
      entry("log.segment.bytes", "1073741824", INT),
      entry("log.message.timestamp.type", "CreateTime", STRING),
      entry("unclean.leader.election.enable", "false", BOOLEAN),
    ];
  }

  // ------------------------------------------------------------------ produce

  private handleInitProducerId(req: Message): Message {
    if (req.transactionalId !== null && req.transactionalId !== "") {
      this.log(`refused InitProducerId for transactional id ${String(req.transactionalId)}: transactions are not supported`);
      return { errorCode: ErrorCode.INVALID_REQUEST, producerId: -1, producerEpoch: -1 };
    }
    const producerId = this.nextProducerId++;
    this.producers.set(producerId, { epoch: 0, partitions: new Map() });
    return { errorCode: 0, producerId, producerEpoch: 0 };
  }

  /** Checks an idempotent producer's batch. Returns an error code, or a base offset when it is a retry already stored. */
  private checkSequence(h: BatchHeader, tp: string): { errorCode: number; duplicateOf?: number } {
    const state = this.producers.get(h.producerId);
    const ps = state && state.epoch === h.producerEpoch ? state.partitions.get(tp) : undefined;
    if (state && h.producerEpoch < state.epoch) return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH };
    const lastSequence = addSequence(h.baseSequence, h.lastOffsetDelta);
    if (!ps) return { errorCode: h.baseSequence === 0 ? 0 : ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
    const dup = ps.recent.find((b) => b.firstSequence === h.baseSequence && b.lastSequence === lastSequence);
    if (dup) return { errorCode: 0, duplicateOf: dup.baseOffset };
    if (h.baseSequence !== nextSequence(ps.lastSequence)) return { errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER };
    return { errorCode: 0 };
  }

  private recordSequence(producerId: number, epoch: number, tp: string, h: BatchHeader, baseOffset: number): void {
    let state = this.producers.get(producerId);
    if (!state || epoch > state.epoch) {
      state = { epoch, partitions: new Map() };
      this.producers.set(producerId, state);
    }
    let ps = state.partitions.get(tp);
    if (!ps) {
      ps = { lastSequence: -1, recent: [] };
      state.partitions.set(tp, ps);
    }
    ps.lastSequence = addSequence(h.baseSequence, h.lastOffsetDelta);
    ps.recent.push({ firstSequence: h.baseSequence, lastSequence: ps.lastSequence, baseOffset });
    if (ps.recent.length > 5) ps.recent.shift();
  }

  private handleProduce(req: Message): Message | null {
    if (req.transactionalId !== null && req.transactionalId !== undefined) {
      this.log("refused a transactional produce: transactions are not supported");
    }
    const responses = (req.topicData as { name: string; partitionData: { index: number; records: Buffer | null }[] }[]).map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => {
        const fail = (errorCode: number, errorMessage: string | null = null) => ({ index: p.index, errorCode, baseOffset: -1, errorMessage });
        if (req.transactionalId !== null && req.transactionalId !== undefined) {
          return fail(ErrorCode.INVALID_REQUEST, "transactions are not supported by the embedded broker");
        }
        const log = this.partition(t.name, p.index);
        if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        if (!p.records || p.records.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, "no records");
        let batches;
        try {
          batches = validateBatches(p.records);
        } catch (err) {
          if (err instanceof CorruptBatchError) {
            this.log(`refused produce to ${t.name}-${p.index}: ${err.message}`);
            return fail(err.errorCode, err.message);
          }
          throw err;
        }
        const topicConfigs = this.topics.get(t.name)!.configs;
        const maxBatchBytes = Number(topicConfigValue(topicConfigs, "max.message.bytes"));
        const tooLarge = batches.find((b) => b.header.size > maxBatchBytes);
        if (tooLarge) {
          return fail(ErrorCode.MESSAGE_TOO_LARGE, `record batch of ${tooLarge.header.size} bytes exceeds max.message.bytes ${maxBatchBytes}`);
        }
        // LogAppendTime: the broker's clock is every record's timestamp, as Kafka stamps it.
        const logAppendTime = topicConfigs.get("message.timestamp.type") === "LogAppendTime" ? Date.now() : -1;
        if (logAppendTime >= 0) {
          for (const b of batches) {
            stampLogAppendTime(b.bytes, logAppendTime);
            b.header.maxTimestamp = logAppendTime;
          }
        }
        const tp = `${t.name}\0${p.index}`;
        let firstOffset = -1;
        for (const b of batches) {
          const h = b.header;
          if (h.producerId >= 0) {
            const check = this.checkSequence(h, tp);
            if (check.errorCode !== 0) return fail(check.errorCode);
            if (check.duplicateOf !== undefined) {
              if (firstOffset < 0) firstOffset = check.duplicateOf;
              continue;
            }
          }
          const [appended] = log.append([b]);
          if (h.producerId >= 0) this.recordSequence(h.producerId, h.producerEpoch, tp, h, appended!.baseOffset);
          if (firstOffset < 0) firstOffset = appended!.baseOffset;
        }
        this.notify(tp);
        return { index: p.index, errorCode: 0, baseOffset: firstOffset, logAppendTimeMs: logAppendTime, logStartOffset: log.logStartOffset, errorMessage: null };
      }),
    }));
    // acks=0: the producer expects no response at all.
    if (req.acks === 0) return null;
    return { responses };
  }

  // ------------------------------------------------------------------ fetch

  private notify(tp: string): void {
    const set = this.waiters.get(tp);
    if (!set) return;
    this.waiters.delete(tp);
    for (const wake of set) wake();
  }

  private handleFetch(req: Message): Message | Promise<Message> {
    type FetchTopic = { topic: string; topicId?: Buffer; partitions: { partition: number; fetchOffset: number; partitionMaxBytes: number }[] };
    let topics = req.topics as FetchTopic[];
    // v13+ name topics by id only; the partition logs are found by name.
    if (topics.length > 0 && topics[0]!.topic === undefined) {
      topics = topics.map((t) => ({ ...t, topic: (t.topicId && this.topicById(t.topicId)?.name) ?? "" }));
    }
    const minBytes = req.minBytes as number;
    const maxWaitMs = req.maxWaitMs as number;
    const first = this.readForFetch(topics, req.maxBytes as number);
    if (first.bytes >= minBytes || maxWaitMs <= 0 || first.hasError) return first.body;
    return new Promise<Message>((resolve) => {
      const keys = topics.flatMap((t) => t.partitions.map((p) => `${t.topic}\0${p.partition}`));
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        for (const k of keys) this.waiters.get(k)?.delete(wake);
        resolve(this.readForFetch(topics, req.maxBytes as number).body);
      };
      const wake = () => {
        if (done) return;
        const again = this.readForFetch(topics, req.maxBytes as number);
        if (again.bytes >= minBytes) finish();
        else for (const k of keys) this.waitOn(k, wake);
      };
      const timer = setTimeout(finish, maxWaitMs);
      for (const k of keys) this.waitOn(k, wake);
    });
  }

  private waitOn(key: string, wake: () => void): void {
    let set = this.waiters.get(key);
    if (!set) {
      set = new Set();
      this.waiters.set(key, set);
    }
    set.add(wake);
  }

  private readForFetch(
    topics: { topic: string; topicId?: Buffer; partitions: { partition: number; fetchOffset: number; partitionMaxBytes: number }[] }[],
    maxBytes: number,
  ): { body: Message; bytes: number; hasError: boolean } {
    let total = 0;
    let hasError = false;
    const responses = topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => {
        const log = this.partition(t.topic, p.partition);
        if (!log) {
          hasError = true;
          const errorCode = t.topic === "" && t.topicId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          return { partitionIndex: p.partition, errorCode, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, records: null };
        }
        const base = { partitionIndex: p.partition, highWatermark: log.highWatermark, lastStableOffset: log.highWatermark, logStartOffset: log.logStartOffset, abortedTransactions: null };
        if (p.fetchOffset < log.logStartOffset || p.fetchOffset > log.highWatermark) {
          hasError = true;
          return { ...base, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: null };
        }
        const room = Math.min(p.partitionMaxBytes, maxBytes - total);
        // KIP-74: the first non-empty partition returns at least one whole batch, however large.
        const { batches, bytes } = log.read(p.fetchOffset, Math.max(0, room), total === 0);
        total += bytes;
        return { ...base, errorCode: 0, records: batches };
      }),
    }));
    return { body: { errorCode: 0, sessionId: 0, responses }, bytes: total, hasError };
  }

  private handleListOffsets(version: number, req: Message): Message {
    type Part = { partitionIndex: number; timestamp: number };
    const topics = (req.topics as { name: string; partitions: Part[] }[]).map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const log = this.partition(t.name, p.partitionIndex);
        if (!log) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, oldStyleOffsets: [], timestamp: -1, offset: -1 };
        let found: { offset: number; timestamp: number };
        if (p.timestamp === -1) found = { offset: log.highWatermark, timestamp: -1 };
        // -2 earliest; -4 (v8+) earliest local, the same here: nothing is tiered.
        else if (p.timestamp === -2 || (p.timestamp === -4 && version >= 8)) found = { offset: log.logStartOffset, timestamp: -1 };
        else if (p.timestamp === -3 && version >= 7) found = log.offsetOfMaxTimestamp() ?? { offset: -1, timestamp: -1 };
        else found = log.offsetForTimestamp(p.timestamp) ?? { offset: version === 0 ? log.highWatermark : -1, timestamp: -1 };
        return {
          partitionIndex: p.partitionIndex,
          errorCode: 0,
          oldStyleOffsets: found.offset >= 0 ? [found.offset] : [],
          timestamp: found.timestamp,
          offset: found.offset,
          leaderEpoch: LEADER_EPOCH,
        };
      }),
    }));
    return { topics };
  }

  private handleOffsetForLeaderEpoch(req: Message): Message {
    const topics = (req.topics as { topic: string; partitions: { partition: number; leaderEpoch: number }[] }[]).map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        const log = this.partition(t.topic, p.partition);
        if (!log) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        // One leader epoch for the life of the log: its end is the end offset of every epoch ≥ 0.
        return { errorCode: 0, partition: p.partition, leaderEpoch: LEADER_EPOCH, endOffset: log.highWatermark };
      }),
    }));
    return { topics };
  }

  // ------------------------------------------------------------------ groups

  private async handleJoinGroup(conn: Connection, header: RequestHeader, req: Message): Promise<Message> {
    const rebalanceTimeoutMs = req.rebalanceTimeoutMs as number;
    const result = await this.coordinator.join({
      groupId: req.groupId as string,
      memberId: req.memberId as string,
      groupInstanceId: (req.groupInstanceId as string | null | undefined) ?? null,
      clientId: header.clientId ?? "",
      clientHost: `/${conn.remoteHost}`,
      sessionTimeoutMs: req.sessionTimeoutMs as number,
      rebalanceTimeoutMs: rebalanceTimeoutMs > 0 ? rebalanceTimeoutMs : (req.sessionTimeoutMs as number),
      protocolType: req.protocolType as string,
      protocols: req.protocols as { name: string; metadata: Buffer }[],
    });
    return { ...result, protocolType: result.errorCode === 0 ? (req.protocolType as string) : null };
  }

  private async handleSyncGroup(req: Message): Promise<Message> {
    const r = await this.coordinator.sync(
      req.groupId as string,
      req.generationId as number,
      req.memberId as string,
      req.assignments as { memberId: string; assignment: Buffer }[],
    );
    const g = this.coordinator.groups.get(req.groupId as string);
    const ok = r.errorCode === 0 && g !== undefined;
    return { errorCode: r.errorCode, protocolType: ok ? g.protocolType : null, protocolName: ok ? g.protocolName : null, assignment: r.assignment };
  }

  private handleLeaveGroup(version: number, req: Message): Message {
    const groupId = req.groupId as string;
    if (version < 3) {
      const [code] = this.coordinator.leave(groupId, [req.memberId as string]);
      return { errorCode: code };
    }
    const members = req.members as { memberId: string; groupInstanceId: string | null }[];
    const codes = this.coordinator.leave(groupId, members.map((m) => m.memberId));
    return { errorCode: 0, members: members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: codes[i] })) };
  }

  private handleOffsetCommit(req: Message): Message {
    type Part = { partitionIndex: number; committedOffset: number; committedLeaderEpoch?: number; committedMetadata: string | null };
    const topics = req.topics as { name: string; partitions: Part[] }[];
    const groupId = req.groupId as string;
    const generationId = (req.generationId as number | undefined) ?? -1;
    const memberId = (req.memberId as string | undefined) ?? "";
    const known = topics.flatMap((t) => t.partitions.filter(() => this.topics.has(t.name)).map((p) => ({ t: t.name, p })));
    const code = this.coordinator.commit(
      groupId,
      generationId,
      memberId,
      known
        .filter(({ t, p }) => this.partition(t, p.partitionIndex) !== null)
        .map(({ t, p }) => ({ topic: t, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata })),
    );
    return {
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: this.partition(t.name, p.partitionIndex) ? code : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    };
  }

  private handleOffsetFetch(req: Message): Message {
    type Requested = { name: string; partitionIndexes: number[] }[] | null;
    const groups = req.groups as { groupId: string; topics: Requested }[] | undefined;
    if (groups !== undefined) {
      // v8+: several groups in one request, each answered on its own.
      return { groups: groups.map((g) => ({ groupId: g.groupId, ...this.groupOffsets(g.groupId, g.topics) })) };
    }
    return this.groupOffsets(req.groupId as string, req.topics as Requested);
  }

  private groupOffsets(groupId: string, requested: { name: string; partitionIndexes: number[] }[] | null): Message {
    let topics = requested;
    if (topics === null) {
      // Every partition the group has an offset for.
      const byTopic = new Map<string, number[]>();
      for (const key of this.coordinator.groups.get(groupId)?.offsets.keys() ?? []) {
        const [t, p] = key.split("\0") as [string, string];
        byTopic.set(t, [...(byTopic.get(t) ?? []), Number(p)]);
      }
      topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    }
    return {
      errorCode: 0,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const o = this.coordinator.fetchOffset(groupId, t.name, p);
          return { partitionIndex: p, committedOffset: o?.offset ?? -1, committedLeaderEpoch: o?.leaderEpoch ?? -1, metadata: o?.metadata ?? "", errorCode: 0 };
        }),
      })),
    };
  }

  private handleDescribeGroups(req: Message): Message {
    return {
      groups: (req.groups as string[]).map((id) => {
        const g = this.coordinator.groups.get(id);
        if (!g) return { errorCode: 0, groupId: id, groupState: "Dead", protocolType: "", protocolData: "", members: [] };
        const stable = g.state === "Stable";
        return {
          errorCode: 0,
          groupId: id,
          groupState: g.state,
          protocolType: g.protocolType,
          protocolData: g.protocolName,
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: g.selectedMetadata(m),
            memberAssignment: stable ? m.assignment : Buffer.alloc(0),
          })),
        };
      }),
    };
  }

  // ------------------------------------------------------------------ SASL

  private handleSaslHandshake(conn: Connection, version: number, req: Message): Message {
    const mechanism = req.mechanism as string;
    const mechanisms = [...SASL_MECHANISMS];
    if (!this.sasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    if (version === 0) {
      // v0 would be followed by bare SASL tokens outside Kafka's framing, which are not served.
      this.log(`connection ${conn.id} from ${conn.remoteHost}: SaslHandshake v0 (unframed SASL tokens) is not supported; use v1`);
      return { errorCode: ErrorCode.UNSUPPORTED_VERSION, mechanisms };
    }
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    conn.saslState = new SaslSession(this.sasl, mechanism as SaslMechanism);
    return { errorCode: 0, mechanisms };
  }

  private handleSaslAuthenticate(conn: Connection, req: Message): Message {
    const session = conn.saslState;
    if (!(session instanceof SaslSession)) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: "SaslAuthenticate before SaslHandshake", authBytes: Buffer.alloc(0) };
    }
    const step = session.step(req.authBytes as Buffer);
    if ("failed" in step) {
      this.log(`connection ${conn.id} from ${conn.remoteHost}: SASL ${session.mechanism} failed: ${step.failed}`);
      conn.saslState = null;
      // Kafka answers, then closes the connection.
      setImmediate(() => conn.abort("SASL authentication failed"));
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: step.failed, authBytes: Buffer.alloc(0) };
    }
    if (step.done) {
      conn.authenticatedUser = step.user;
      conn.saslState = null;
    }
    return { errorCode: 0, errorMessage: null, authBytes: step.challenge, sessionLifetimeMs: 0 };
  }
}

export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const broker = new Broker(options);
  return broker.listen();
}
