import fs from "node:fs";
import { z } from "zod";
import {
  brokers,
  emptyAsUnset,
  fieldList,
  isKeyOfCertificate,
  kafkaSecurity,
  list,
  maskedEntityFieldsMessage,
  regExp,
  registryUrl,
  saslMechanism,
  sslCa,
  sslCert,
  sslKey,
} from "./config-values.ts";
import { defaultSource, readSourcesFile, type KafkaSourceConfig, type SourceConfig } from "./sources-file.ts";
import { COMPRESSION_NAMES } from "./kafka/compression-names.ts";
import { compileMaskRules, maskedEntityFields } from "../lib/mask.ts";
import type { CompensationPair } from "../lib/flows.ts";
import { ADMIN_TOKEN_USER, READ_TOKEN_USER } from "./auth/tokens.ts";

/**
 * Every environment variable Eventscope reads, parsed and validated once (ARCHITECTURE.md,
 * "Environment"). An invalid value stops start-up with a message that names the variable and
 * says what is expected. An empty value counts as unset.
 */

export class ConfigError extends Error {
  readonly issues: readonly { variable: string; message: string }[];

  constructor(issues: readonly { variable: string; message: string }[]) {
    super(
      `invalid configuration:\n${issues.map((issue) => `  ${issue.variable}: ${issue.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
    this.issues = issues;
  }
}

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d", "12h", "30m", "45s", "500ms", "2w" → milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] as keyof typeof DURATION_UNITS_MS;
  return amount * DURATION_UNITS_MS[unit];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A dead-letter topic name template as CONVENTIONS.md writes them (`<t>.DLT`, `dlq.<t>`,
 * `<group>-dlq`) → a RegExp over the whole name; `<t>` becomes the named group `topic`,
 * `<group>` the named group `group`.
 */
export function dlqTemplateToRegExp(template: string): RegExp {
  let source = "";
  let rest = template;
  const placeholder = /<(t|group)>/;
  for (let match = placeholder.exec(rest); match; match = placeholder.exec(rest)) {
    source += escapeRegExp(rest.slice(0, match.index));
    source += match[1] === "t" ? "(?<topic>.+)" : "(?<group>.+)";
    rest = rest.slice(match.index + match[0].length);
  }
  return new RegExp(`^${source}${escapeRegExp(rest)}$`);
}

// --- building blocks: each says in words what it expects --------------------------------------

function optionalVar<T extends z.ZodType>(schema: T) {
  return z.preprocess(emptyAsUnset, schema.optional());
}

function integer(what: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.string().transform((text, ctx) => {
    const value = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      ctx.addIssue({
        code: "custom",
        message: `expected ${what}: a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    }
    return value;
  });
}

const booleanFlag = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  ctx.addIssue({ code: "custom", message: `expected true or false, got ${JSON.stringify(text)}` });
  return z.NEVER;
});

const databaseUrl = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !["postgres:", "postgresql:"].includes(url.protocol) || !url.hostname) {
    ctx.addIssue({
      code: "custom",
      message: "expected a PostgreSQL connection URL: postgresql://user:password@host:5432/database",
    });
    return z.NEVER;
  }
  return text;
});

/** EVENTSCOPE_FLOW_TERMINAL_STEPS: event types, comma-separated. */
const eventTypeList = z.string().transform((text) => list(text));

/** EVENTSCOPE_COMPENSATIONS: `Failure->Compensation` pairs of event types, comma-separated. */
const compensationPairs = z.string().transform((text, ctx) => {
  const pairs: CompensationPair[] = [];
  for (const item of list(text)) {
    const parts = item.split(/->|→/).map((part) => part.trim());
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      ctx.addIssue({
        code: "custom",
        message: `expected failure->compensation pairs of event types, comma-separated (e.g. PaymentFailed->PaymentRefunded), got ${JSON.stringify(item)}`,
      });
      return z.NEVER;
    }
    pairs.push({ failure: parts[0]!, compensation: parts[1]! });
  }
  return pairs;
});

const positiveNumber = (what: string) =>
  z.string().transform((text, ctx) => {
    const value = Number(text.trim());
    if (!Number.isFinite(value) || value <= 0 || text.trim() === "") {
      ctx.addIssue({ code: "custom", message: `expected ${what}, a number above 0, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return value;
  });

const startPosition = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (value === "earliest" || value === "latest") return value;
  ctx.addIssue({ code: "custom", message: `expected earliest or latest, got ${JSON.stringify(text)}` });
  return z.NEVER;
});

const retention = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration such as 7d, 12h, 30m (units ms, s, m, h, d, w), got ${JSON.stringify(text)}`,
    });
    return z.NEVER;
  }
  return ms;
});

const dlqPatterns = z.string().transform((text, ctx) => {
  const templates = list(text);
  if (templates.length === 0) {
    ctx.addIssue({
      code: "custom",
      message: `expected a comma-separated list of topic name patterns such as <t>.failed or errors-<t>, got ${JSON.stringify(text)}`,
    });
    return z.NEVER;
  }
  return templates.map(dlqTemplateToRegExp);
});

const token = z.string().transform((text, ctx) => {
  if (text.trim().length < 8) {
    ctx.addIssue({ code: "custom", message: "expected a secret of at least 8 characters" });
    return z.NEVER;
  }
  return text.trim();
});

const traceUrl = z.string().transform((text, ctx) => {
  let ok = text.includes("{traceId}");
  try {
    ok &&= ["http:", "https:"].includes(new URL(text.replace("{traceId}", "x")).protocol);
  } catch {
    ok = false;
  }
  if (!ok) {
    ctx.addIssue({
      code: "custom",
      message: `expected an http(s) URL template containing {traceId}, e.g. https://jaeger.example/trace/{traceId}, got ${JSON.stringify(text)}`,
    });
    return z.NEVER;
  }
  return text;
});

/**
 * EVENTSCOPE_USERS_FILE: per-user tokens, so the audit names people. The file holds either lines
 * `name:token` (blank lines and `#` comments ignored) or JSON: `{"alice": "token", …}` or
 * `[{"name": "alice", "token": "…"}, …]`. Names and tokens must be unique, tokens 8+ characters.
 */
export function parseUsersFile(text: string): { users: { name: string; token: string }[]; problem?: string } {
  let entries: [unknown, unknown][];
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      return { users: [], problem: `not valid JSON: ${(error as Error).message}` };
    }
    entries = Array.isArray(parsed)
      ? parsed.map((item: unknown) =>
          typeof item === "object" && item !== null ? [(item as Record<string, unknown>).name, (item as Record<string, unknown>).token] : [undefined, undefined],
        )
      : Object.entries(parsed as Record<string, unknown>);
  } else {
    entries = [];
    for (const [index, line] of text.split(/\r?\n/).entries()) {
      const content = line.trim();
      if (content === "" || content.startsWith("#")) continue;
      const colon = content.indexOf(":");
      if (colon <= 0) return { users: [], problem: `line ${index + 1}: expected name:token` };
      entries.push([content.slice(0, colon).trim(), content.slice(colon + 1).trim()]);
    }
  }
  const users: { name: string; token: string }[] = [];
  for (const [name, token] of entries) {
    if (typeof name !== "string" || !/^[\w.@-]{1,64}$/.test(name)) {
      return { users: [], problem: `user names are 1-64 letters, digits, or . _ @ -; got ${JSON.stringify(name)}` };
    }
    if ([ADMIN_TOKEN_USER, READ_TOKEN_USER].includes(name.toLowerCase())) {
      return {
        users: [],
        problem: `the user name ${name} is reserved: the audit names the holder of EVENTSCOPE_ADMIN_TOKEN "${ADMIN_TOKEN_USER}" and of EVENTSCOPE_READ_TOKEN "${READ_TOKEN_USER}"`,
      };
    }
    if (typeof token !== "string" || token.length < 8) return { users: [], problem: `the token of ${name} must be at least 8 characters` };
    if (users.some((user) => user.name === name)) return { users: [], problem: `user ${name} is listed twice` };
    if (users.some((user) => user.token === token)) return { users: [], problem: `user ${name} shares a token with another user` };
    users.push({ name, token });
  }
  if (users.length === 0) return { users, problem: "no users in the file" };
  return { users };
}

/** Reads and parses a users file: the users, or what is wrong (unreadable, or parseUsersFile's problem). */
function readUsersFile(path: string): { users: { name: string; token: string }[]; problem?: string } {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (error) {
    return {
      users: [],
      problem: `expected the path of a readable users file; cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    };
  }
  const { users, problem } = parseUsersFile(text);
  return problem === undefined ? { users } : { users: [], problem: `${JSON.stringify(path)}: ${problem}` };
}

const usersFile = z.string().transform((path, ctx) => {
  const { users, problem } = readUsersFile(path);
  if (problem !== undefined) {
    ctx.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  }
  return users;
});

const nonEmpty = z.string().transform((text) => text.trim());

const compression = z.string().transform((text, ctx) => {
  const name = text.trim().toLowerCase();
  const known = COMPRESSION_NAMES.find((candidate) => candidate === name);
  if (known) return known;
  ctx.addIssue({ code: "custom", message: `expected one of ${COMPRESSION_NAMES.join(", ")}, got ${JSON.stringify(text)}` });
  return z.NEVER;
});

const publicUrl = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:"].includes(url.protocol) || url.username !== "" || url.password !== "") {
    ctx.addIssue({
      code: "custom",
      message: `expected the http(s) address users reach Eventscope at, e.g. https://eventscope.example.com, got ${JSON.stringify(text)}`,
    });
    return z.NEVER;
  }
  return url.origin;
});

// --- the environment, variable by variable -------------------------------------------------------

const environmentSchema = z.object({
  KAFKA_BROKERS: optionalVar(brokers),
  DATABASE_URL: optionalVar(databaseUrl),
  PORT: optionalVar(integer("a TCP port", 1, 65_535)),
  HOST: optionalVar(nonEmpty),
  KAFKA_SASL_MECHANISM: optionalVar(saslMechanism),
  KAFKA_SASL_USERNAME: optionalVar(z.string()),
  KAFKA_SASL_PASSWORD: optionalVar(z.string()),
  KAFKA_SSL: optionalVar(booleanFlag),
  KAFKA_SSL_CA: optionalVar(sslCa()),
  KAFKA_SSL_CERT: optionalVar(sslCert()),
  KAFKA_SSL_KEY: optionalVar(sslKey()),
  EVENTSCOPE_ENTITY_FIELDS: optionalVar(fieldList("entity fields")),
  EVENTSCOPE_TOPICS_INCLUDE: optionalVar(regExp),
  EVENTSCOPE_TOPICS_EXCLUDE: optionalVar(regExp),
  EVENTSCOPE_START: optionalVar(startPosition),
  EVENTSCOPE_RETENTION: optionalVar(retention),
  EVENTSCOPE_FLOWS: optionalVar(booleanFlag),
  EVENTSCOPE_FLOW_TERMINAL_STEPS: optionalVar(eventTypeList),
  EVENTSCOPE_COMPENSATIONS: optionalVar(compensationPairs),
  EVENTSCOPE_STATE_IGNORE: optionalVar(fieldList("fields an entity's state leaves out")),
  EVENTSCOPE_STUCK_FACTOR: optionalVar(positiveNumber("how many times the next step's p99 an entity may wait before it is stuck")),
  EVENTSCOPE_AUDIT_RETENTION: optionalVar(retention),
  SCHEMA_REGISTRY_URL: optionalVar(registryUrl),
  SCHEMA_REGISTRY_USERNAME: optionalVar(z.string()),
  SCHEMA_REGISTRY_PASSWORD: optionalVar(z.string()),
  EVENTSCOPE_COLLECTOR_GROUP: optionalVar(nonEmpty),
  EVENTSCOPE_POLL_MS: optionalVar(integer("milliseconds between admin polls", 100, 3_600_000)),
  EVENTSCOPE_DLQ_PATTERNS: optionalVar(dlqPatterns),
  EVENTSCOPE_MAX_VALUE_BYTES: optionalVar(integer("a size in bytes", 1, 1_073_741_824)),
  EVENTSCOPE_ADMIN_TOKEN: optionalVar(token),
  EVENTSCOPE_READ_TOKEN: optionalVar(token),
  EVENTSCOPE_USERS_FILE: optionalVar(usersFile),
  EVENTSCOPE_MASK_FIELDS: optionalVar(fieldList("fields to mask")),
  EVENTSCOPE_TRACE_URL: optionalVar(traceUrl),
  EVENTSCOPE_REPLAY_COMPRESSION: optionalVar(compression),
  EVENTSCOPE_DECODE_ATTEMPTS: optionalVar(integer("a number of attempts", 1, 100)),
  EVENTSCOPE_PUBLIC_URL: optionalVar(publicUrl),
  EVENTSCOPE_TRUST_PROXY: optionalVar(booleanFlag),
  /** A path: read by readSourcesFile (server/sources-file.ts), which needs the rest of the environment. */
  EVENTSCOPE_SOURCES_FILE: optionalVar(nonEmpty),
});

type Environment = z.output<typeof environmentSchema>;

const DEFAULT_ENTITY_FIELDS = ["orderId"];

/** The settings of the source KAFKA_BROKERS defines; with the sources file each source has its own. */
const DEFAULT_SOURCE_VARIABLES = [
  "KAFKA_SASL_MECHANISM",
  "KAFKA_SASL_USERNAME",
  "KAFKA_SASL_PASSWORD",
  "KAFKA_SSL",
  "KAFKA_SSL_CA",
  "KAFKA_SSL_CERT",
  "KAFKA_SSL_KEY",
  "SCHEMA_REGISTRY_URL",
  "SCHEMA_REGISTRY_USERNAME",
  "SCHEMA_REGISTRY_PASSWORD",
];

/**
 * `fileSources`: the sources of EVENTSCOPE_SOURCES_FILE, when it is set (then KAFKA_BROKERS,
 * KAFKA_SASL_*, KAFKA_SSL* and SCHEMA_REGISTRY_* are not).
 */
function toConfig(env: Environment, fileSources: SourceConfig[] | undefined) {
  const settings = {
    /**
     * The top-level Kafka and registry settings describe the source named `default` (KAFKA_*,
     * SCHEMA_REGISTRY_*): unset with a sources file. Unset outside `npm start`: start the
     * embedded broker.
     */
    kafkaBrokers: env.KAFKA_BROKERS,
    /** Unset outside `npm start`: start the embedded PostgreSQL (server/db/embedded.ts). */
    databaseUrl: env.DATABASE_URL,
    port: env.PORT ?? 3000,
    host: env.HOST ?? "127.0.0.1",
    /**
     * SASL, and TLS: false, or TLS options: `ca` when KAFKA_SSL_CA is set, the client certificate
     * and key (mutual TLS) when KAFKA_SSL_CERT and KAFKA_SSL_KEY are; each of them implies TLS.
     */
    kafka: kafkaSecurity({
      sasl:
        env.KAFKA_SASL_MECHANISM === undefined
          ? undefined
          : {
              mechanism: env.KAFKA_SASL_MECHANISM,
              username: env.KAFKA_SASL_USERNAME ?? "",
              password: env.KAFKA_SASL_PASSWORD ?? "",
            },
      tls: env.KAFKA_SSL === true,
      ca: env.KAFKA_SSL_CA,
      cert: env.KAFKA_SSL_CERT,
      key: env.KAFKA_SSL_KEY,
    }),
    /** Global: a source of the sources file that sets none gets these. */
    entityFields: env.EVENTSCOPE_ENTITY_FIELDS ?? DEFAULT_ENTITY_FIELDS,
    topicsInclude: env.EVENTSCOPE_TOPICS_INCLUDE,
    topicsExclude: env.EVENTSCOPE_TOPICS_EXCLUDE,
    start: env.EVENTSCOPE_START ?? "earliest",
    retentionMs: env.EVENTSCOPE_RETENTION ?? 7 * DURATION_UNITS_MS.d,
    /**
     * Flows (server/db/flows.ts): ingest marks each stored event's entities and the collector
     * folds them into pathways. Off: no flows are kept (and ingest does a little less).
     */
    flows: env.EVENTSCOPE_FLOWS ?? true,
    /** Event types at which an entity is completed, besides the steps where most of its kind end. */
    flowTerminalSteps: env.EVENTSCOPE_FLOW_TERMINAL_STEPS ?? [],
    /** Failure → compensation pairs, besides the types named like a failure and an undo (lib/step-outcome.ts). */
    compensations: env.EVENTSCOPE_COMPENSATIONS ?? [],
    /** An open entity is stuck after this many times the p99 of the step that usually comes next. */
    stuckFactor: env.EVENTSCOPE_STUCK_FACTOR ?? 3,
    /** Fields an entity's folded state (lib/entity-state.ts) leaves out: names at any depth or dotted paths. */
    stateIgnore: env.EVENTSCOPE_STATE_IGNORE ?? [],
    /** Dead letters (with their replays) and the audit log: kept longer than events. */
    auditRetentionMs: env.EVENTSCOPE_AUDIT_RETENTION ?? 90 * DURATION_UNITS_MS.d,
    collectorGroup: env.EVENTSCOPE_COLLECTOR_GROUP ?? "eventscope-collector",
    pollMs: env.EVENTSCOPE_POLL_MS ?? 5_000,
    /** Extra dead-letter topic patterns, added to CONVENTIONS.md's; `topic`/`group` named groups. */
    dlqPatterns: env.EVENTSCOPE_DLQ_PATTERNS ?? [],
    /** Values above this are stored truncated and flagged. */
    maxValueBytes: env.EVENTSCOPE_MAX_VALUE_BYTES ?? 1_048_576,
    /** Unset: Eventscope is read-only. */
    adminToken: env.EVENTSCOPE_ADMIN_TOKEN,
    /** Unset: reads are open (to whoever can reach HOST:PORT). */
    readToken: env.EVENTSCOPE_READ_TOKEN,
    /** Per-user write tokens (EVENTSCOPE_USERS_FILE), next to the admin token's user "admin". */
    users: env.EVENTSCOPE_USERS_FILE ?? [],
    maskFields: env.EVENTSCOPE_MASK_FIELDS ?? [],
    /** e.g. https://jaeger.example/trace/{traceId} */
    traceUrl: env.EVENTSCOPE_TRACE_URL,
    /** The codec replays are produced with. */
    replayCompression: env.EVENTSCOPE_REPLAY_COMPRESSION ?? "none",
    /**
     * Fetches of a record batch that fail to decode the same way before its offset range is
     * stored as one row flagged `batch-undecodable` and collection moves past it.
     */
    decodeAttempts: env.EVENTSCOPE_DECODE_ATTEMPTS ?? 3,
    /** A Confluent-compatible Schema Registry: values in its wire format are decoded. Unset: read as bytes. */
    schemaRegistry:
      env.SCHEMA_REGISTRY_URL === undefined
        ? undefined
        : { url: env.SCHEMA_REGISTRY_URL, username: env.SCHEMA_REGISTRY_USERNAME, password: env.SCHEMA_REGISTRY_PASSWORD },
    /** The origin users reach Eventscope at (https: session cookies are Secure). */
    publicUrl: env.EVENTSCOPE_PUBLIC_URL,
    /**
     * A reverse proxy in front: its X-Forwarded-For names the client (for the sign-in limit) and
     * its X-Forwarded-Proto the scheme. Unset: those headers are ignored, anyone can send them.
     */
    trustProxy: env.EVENTSCOPE_TRUST_PROXY ?? false,
  };
  const { kafkaBrokers } = settings;
  return {
    ...settings,
    /**
     * The list the collector iterates, one consumer per source: the sources file's, or the source
     * named `default` (the top-level settings above) when KAFKA_BROKERS is set, or none: the
     * embedded broker, for which the caller makes the default source itself (defaultSource in
     * server/sources-file.ts) once the broker listens.
     */
    sources: fileSources ?? (kafkaBrokers === undefined ? [] : [defaultSource({ ...settings, kafkaBrokers })]),
  };
}

export type Config = ReturnType<typeof toConfig>;

/**
 * The configuration one source's pipeline runs with: the whole configuration, with the cluster,
 * its security, its Schema Registry, its topic filters and its entity fields taken from the
 * source. The collector runs one pipeline per source with it; replay reaches a source with it.
 */
export function configForSource(config: Config, source: KafkaSourceConfig): Config {
  return {
    ...config,
    kafkaBrokers: source.kafkaBrokers,
    kafka: source.kafka,
    schemaRegistry: source.schemaRegistry,
    topicsInclude: source.topicsInclude,
    topicsExclude: source.topicsExclude,
    entityFields: source.entityFields,
  };
}

/** The source of this name, or undefined. */
export function sourceNamed(config: Pick<Config, "sources">, name: string): SourceConfig | undefined {
  return config.sources.find((source) => source.name === name);
}

/** The sources' types and the default source, for code that may import only this module (app/). */
export {
  DEFAULT_SOURCE_NAME,
  defaultSource,
  type KafkaSourceConfig,
  type RabbitMqSourceConfig,
  type SourceConfig,
  type SourceKind,
} from "./sources-file.ts";

export interface LoadConfigOptions {
  /** `npm start`: KAFKA_BROKERS or EVENTSCOPE_SOURCES_FILE, and DATABASE_URL, are required (no embedded defaults). */
  production?: boolean;
}

/** Parses and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: LoadConfigOptions = {},
): Config {
  const parsed = environmentSchema.safeParse(
    Object.fromEntries(Object.keys(environmentSchema.shape).map((name) => [name, env[name]])),
  );
  const issues: { variable: string; message: string }[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? "environment"),
        message: issue.message,
      }));
  const data = parsed.success ? parsed.data : undefined;

  const isSet = (name: string) => emptyAsUnset(env[name]) !== undefined;
  if (isSet("KAFKA_SASL_MECHANISM") || isSet("KAFKA_SASL_USERNAME") || isSet("KAFKA_SASL_PASSWORD")) {
    for (const name of ["KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"]) {
      if (!isSet(name)) {
        issues.push({
          variable: name,
          message:
            "expected with the other KAFKA_SASL_* variables: SASL needs a mechanism, a user name and a password",
        });
      }
    }
  }
  if (isSet("KAFKA_SSL_CERT") !== isSet("KAFKA_SSL_KEY")) {
    const missing = isSet("KAFKA_SSL_CERT") ? "KAFKA_SSL_KEY" : "KAFKA_SSL_CERT";
    issues.push({
      variable: missing,
      message: "expected with the other of KAFKA_SSL_CERT / KAFKA_SSL_KEY: a client certificate needs its private key",
    });
  } else if (data?.KAFKA_SSL_CERT !== undefined && data.KAFKA_SSL_KEY !== undefined) {
    if (!isKeyOfCertificate(data.KAFKA_SSL_CERT, data.KAFKA_SSL_KEY)) {
      issues.push({ variable: "KAFKA_SSL_KEY", message: "is not the private key of the certificate in KAFKA_SSL_CERT" });
    }
  }
  if (data !== undefined && data.EVENTSCOPE_MASK_FIELDS !== undefined) {
    const entityFields = data.EVENTSCOPE_ENTITY_FIELDS ?? DEFAULT_ENTITY_FIELDS;
    const conflicts = maskedEntityFields(entityFields, compileMaskRules(data.EVENTSCOPE_MASK_FIELDS));
    if (conflicts.length > 0) {
      issues.push({
        variable: "EVENTSCOPE_MASK_FIELDS",
        message: maskedEntityFieldsMessage(
          conflicts,
          `EVENTSCOPE_ENTITY_FIELDS${data.EVENTSCOPE_ENTITY_FIELDS === undefined ? ", default orderId" : ""}`,
        ),
      });
    }
  }
  let fileSources: SourceConfig[] | undefined;
  const sourcesFile = emptyAsUnset(env.EVENTSCOPE_SOURCES_FILE);
  if (typeof sourcesFile === "string") {
    if (isSet("KAFKA_BROKERS")) {
      issues.push({
        variable: "EVENTSCOPE_SOURCES_FILE",
        message:
          "set together with KAFKA_BROKERS: set one of the two, KAFKA_BROKERS for one cluster (the source named default) or the sources file for several (it can list that cluster too)",
      });
    }
    for (const name of DEFAULT_SOURCE_VARIABLES) {
      if (isSet(name)) {
        issues.push({
          variable: name,
          message: "belongs to the cluster of KAFKA_BROKERS: with EVENTSCOPE_SOURCES_FILE, write each source's settings in the file",
        });
      }
    }
    const result = readSourcesFile(sourcesFile.trim(), {
      env,
      defaults: {
        entityFields: data?.EVENTSCOPE_ENTITY_FIELDS ?? DEFAULT_ENTITY_FIELDS,
        topicsInclude: data?.EVENTSCOPE_TOPICS_INCLUDE,
        topicsExclude: data?.EVENTSCOPE_TOPICS_EXCLUDE,
      },
      maskFields: data?.EVENTSCOPE_MASK_FIELDS ?? [],
    });
    issues.push(...result.problems.map((message) => ({ variable: "EVENTSCOPE_SOURCES_FILE", message })));
    fileSources = result.sources;
  }
  if (options.production) {
    if (!isSet("KAFKA_BROKERS") && sourcesFile === undefined) {
      issues.push({
        variable: "KAFKA_BROKERS",
        message: "required by npm start, or EVENTSCOPE_SOURCES_FILE for several clusters (production has no embedded broker)",
      });
    }
    if (!isSet("DATABASE_URL")) {
      issues.push({ variable: "DATABASE_URL", message: "required by npm start (production has no embedded database)" });
    }
  }
  if (issues.length > 0 || !data) throw new ConfigError(issues);
  return toConfig(data, fileSources);
}

// --- this process's configuration, parsed once --------------------------------------------------

interface CurrentConfig {
  /** The variables it was parsed from: parsed again only when one of them changes (tests do that). */
  key: string;
  config: Config;
  stopWatching: (() => void) | null;
}

const CURRENT = Symbol.for("eventscope.config");
type ConfigHolder = typeof globalThis & { [CURRENT]?: CurrentConfig };

/** How often the users file is checked for changes. */
const USERS_FILE_POLL_MS = 2_000;

/**
 * This process's configuration: process.env parsed once (files named by it, such as the users
 * file, the sources file and the TLS files, read then), not on every request, so a file that becomes unreadable later
 * cannot turn requests into errors. Throws ConfigError like loadConfig when the environment is
 * invalid. The users file (EVENTSCOPE_USERS_FILE) is watched: a valid new version replaces the
 * users; an invalid or unreadable one is logged and the last valid set stays.
 */
export function getConfig(log: (line: string) => void = (line) => console.error(line)): Config {
  const holder = globalThis as ConfigHolder;
  const key = Object.keys(environmentSchema.shape)
    .map((name) => `${name}=${process.env[name] ?? ""}`)
    .join("\u0000");
  const current = holder[CURRENT];
  if (current && current.key === key) return current.config;
  const config = loadConfig(process.env);
  current?.stopWatching?.();
  const next: CurrentConfig = { key, config, stopWatching: null };
  const usersPath = process.env.EVENTSCOPE_USERS_FILE?.trim();
  if (usersPath) next.stopWatching = watchUsersFile(usersPath, next, log);
  holder[CURRENT] = next;
  return config;
}

function watchUsersFile(path: string, current: CurrentConfig, log: (line: string) => void): () => void {
  let lastProblem: string | undefined;
  const onChange = (now: fs.Stats, before: fs.Stats) => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    const { users, problem } = readUsersFile(path);
    if (problem !== undefined) {
      if (problem !== lastProblem) log(`EVENTSCOPE_USERS_FILE changed but cannot be used, keeping the ${current.config.users.length} users read before: ${problem}`);
      lastProblem = problem;
      return;
    }
    lastProblem = undefined;
    current.config = { ...current.config, users };
    log(`EVENTSCOPE_USERS_FILE reloaded: ${users.length} users`);
  };
  fs.watchFile(path, { interval: USERS_FILE_POLL_MS, persistent: false }, onChange);
  return () => fs.unwatchFile(path, onChange);
}

/** A URL as it may be shown: its password, if any, as "***". */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * Text as it may be logged or shown (collector logs, its last error in /api/health): every secret
 * of the configuration (the database password, the SASL and registry passwords of every source, the
 * tokens) replaced by "***", in case an error message quotes one.
 */
export function redactSecrets(
  text: string,
  config: Pick<Config, "databaseUrl" | "kafka" | "adminToken" | "readToken" | "users"> & Partial<Pick<Config, "schemaRegistry" | "sources">>,
): string {
  const secrets = new Set<string>();
  if (config.databaseUrl !== undefined) {
    try {
      const password = new URL(config.databaseUrl).password;
      if (password !== "") {
        secrets.add(password);
        secrets.add(decodeURIComponent(password));
      }
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
  for (const secret of [
    config.kafka.sasl?.password,
    config.schemaRegistry?.password,
    ...(config.sources ?? []).flatMap((source) =>
      source.kind === "kafka" ? [source.kafka.sasl?.password, source.schemaRegistry?.password] : [source.password],
    ),
    config.adminToken,
    config.readToken,
    ...config.users.map((user) => user.token),
  ]) {
    if (secret) secrets.add(secret);
  }
  let redacted = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) redacted = redacted.split(secret).join("***");
  return redacted;
}
