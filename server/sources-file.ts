import fs from "node:fs";
import YAML from "yaml";
import { z } from "zod";
import { compileMaskRules, maskedEntityFields } from "../lib/mask.ts";
import {
  emptyAsUnset,
  isFieldPath,
  isHostPort,
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
  type KafkaSecurity,
  type SchemaRegistrySettings,
} from "./config-values.ts";

/**
 * EVENTSCOPE_SOURCES_FILE: several sources (one Kafka cluster each, later RabbitMQ, Redis and NATS
 * servers) in one YAML or JSON file, checked at start like every other setting. The format and its
 * rules are in the README ("Several clusters: the sources file"). Secrets never stand in the file:
 * `passwordEnv` names the environment variable that holds one.
 *
 * Adding a kind: its strict schema next to `kafkaSourceSchema` in `sourceSchema`'s union, its
 * `…SourceConfig` in `SourceConfig`, its branch in `toSourceConfig`, and out of PLANNED_KINDS.
 */

/** The source KAFKA_BROKERS (with KAFKA_SASL_*, KAFKA_SSL*, SCHEMA_REGISTRY_*) defines. */
export const DEFAULT_SOURCE_NAME = "default";

/**
 * One Kafka cluster. Its fields have the types of Config's same-named ones, so a source is what
 * createKafka (server/kafka/client.ts) and the Schema Registry client take, as it is.
 */
export interface KafkaSourceConfig {
  /** Lowercase letters, digits and dashes, 1-40 characters, unique. */
  name: string;
  kind: "kafka";
  kafkaBrokers: string[];
  kafka: KafkaSecurity;
  /** Unset: values are read as bytes. */
  schemaRegistry: SchemaRegistrySettings | undefined;
  topicsInclude: RegExp | undefined;
  topicsExclude: RegExp | undefined;
  entityFields: string[];
}

/**
 * One RabbitMQ server (or cluster, through one node's addresses): AMQP for reading messages,
 * the management HTTP API for exchanges, bindings, queues and consumers. Read-only on the
 * user's broker: Eventscope declares only its own `eventscope.*` queues and their bindings.
 */
export interface RabbitMqSourceConfig {
  name: string;
  kind: "rabbitmq";
  /** amqp:// or amqps://, without credentials (host, port, no vhost: vhosts are listed apart). */
  amqpUrl: string;
  /** http(s):// of the management plugin, without credentials. */
  managementUrl: string;
  username: string;
  password: string;
  /** The virtual hosts collected; default ["/"]. */
  vhosts: string[];
  exchangesInclude: RegExp | undefined;
  exchangesExclude: RegExp | undefined;
  queuesInclude: RegExp | undefined;
  queuesExclude: RegExp | undefined;
  /** How messages are read (server/collector/README.md, "RabbitMQ", says what each mode sees). */
  collect: RabbitMqCollectMode;
  /**
   * `firehose`: also store deliveries (which queue received a message, redelivered or not) from
   * RabbitMQ's firehose, which the user turns on (`rabbitmqctl trace_on -p <vhost>`); `off`: none.
   */
  deliveries: RabbitMqDeliveriesMode;
  /**
   * Messages no binding of the user's routes anywhere: `collect` (default) stores them, and so they
   * are no longer returned to a publisher that set `mandatory`; `leave` stores only what the user's
   * bindings route, and unroutable messages stay unroutable. An exchange with an alternate exchange
   * is always left its unroutable messages (stored there when it is collected).
   */
  unroutable: RabbitMqUnroutableMode;
  entityFields: string[];
}

/** `bindings`: the collector's own stream queues bound to the collected exchanges. */
export const RABBITMQ_COLLECT_MODES = ["bindings"] as const;
export type RabbitMqCollectMode = (typeof RABBITMQ_COLLECT_MODES)[number];

/** `off` (default): no deliveries; `firehose`: deliveries from `amq.rabbitmq.trace` (server/collector/README.md). */
export const RABBITMQ_DELIVERIES_MODES = ["off", "firehose"] as const;
export type RabbitMqDeliveriesMode = (typeof RABBITMQ_DELIVERIES_MODES)[number];

/** `collect` (default): the streams take every message; `leave`: they mirror the user's bindings (server/collector/README.md). */
export const RABBITMQ_UNROUTABLE_MODES = ["collect", "leave"] as const;
export type RabbitMqUnroutableMode = (typeof RABBITMQ_UNROUTABLE_MODES)[number];

/** A source of any kind; narrow on `kind`. */
export type SourceConfig = KafkaSourceConfig | RabbitMqSourceConfig;

export type SourceKind = SourceConfig["kind"];

/** Kinds the architecture plans, not read yet: a file naming one stops start-up saying so. */
const PLANNED_KINDS = ["redis", "nats"];
const SUPPORTED_KINDS = "kafka, rabbitmq";

/** The source named `default` from the top-level settings of Config (KAFKA_BROKERS and the rest), or the embedded broker's address. */
export function defaultSource(settings: Omit<KafkaSourceConfig, "name" | "kind">): KafkaSourceConfig {
  return {
    name: DEFAULT_SOURCE_NAME,
    kind: "kafka",
    kafkaBrokers: settings.kafkaBrokers,
    kafka: settings.kafka,
    schemaRegistry: settings.schemaRegistry,
    topicsInclude: settings.topicsInclude,
    topicsExclude: settings.topicsExclude,
    entityFields: settings.entityFields,
  };
}

export interface SourcesFileContext {
  /** Where `passwordEnv` variables are read (loadConfig's environment). */
  env: Readonly<Record<string, string | undefined>>;
  /** What a source that sets no entityFields or topics gets: EVENTSCOPE_ENTITY_FIELDS, EVENTSCOPE_TOPICS_INCLUDE / _EXCLUDE. */
  defaults: Pick<KafkaSourceConfig, "entityFields" | "topicsInclude" | "topicsExclude">;
  /** EVENTSCOPE_MASK_FIELDS: a source's own entityFields may not be masked. */
  maskFields: readonly string[];
}

/** The sources, or every problem of the file, each naming the source and the field (`sources[1] (prod-us).brokers: …`). */
export type SourcesFileResult = { sources: SourceConfig[]; problems: [] } | { sources: []; problems: string[] };

// --- the file's shape ---------------------------------------------------------------------------

/** A source's name: lowercase letters, digits and dashes, 1-40 (no colon or slash: names prefix event places). */
export const SOURCE_NAME_PATTERN = /^[a-z0-9-]{1,40}$/;

const PASSWORD_IN_FILE =
  "a password is not written in the sources file: put it in an environment variable and name that variable with passwordEnv";

/**
 * A strict object: an unknown key (a typo) is an error listing the keys it can have; a `password`
 * is refused with the pointer to passwordEnv. `what` is the message when the value is no object.
 */
function sectionObject<T extends z.core.$ZodLooseShape>(shape: T, what?: string) {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        if (issue.keys.includes("password")) return PASSWORD_IN_FILE;
        return issue.keys.length === 1
          ? `unknown key (expected ${keys})`
          : `unknown keys ${issue.keys.map((key) => JSON.stringify(key)).join(", ")} (expected ${keys})`;
      }
      if (issue.code === "invalid_type" && what !== undefined) return `expected ${what}`;
      return undefined;
    },
  });
}

/** A list in YAML/JSON, or one comma-separated string. */
function listOf(what: string, isValid: (item: string) => boolean) {
  return z.unknown().transform((value, ctx) => {
    const items = typeof value === "string" ? list(value) : Array.isArray(value) ? value : undefined;
    const bad = items?.find((item) => typeof item !== "string" || !isValid(item));
    if (items === undefined || items.length === 0 || bad !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `expected ${what}${bad !== undefined ? `, got ${JSON.stringify(bad)}` : items === undefined ? "" : ", got an empty list"}`,
      });
      return z.NEVER;
    }
    return items as string[];
  });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A variable name; its value is read later (resolveSecrets), so a message never holds a password. */
const passwordEnv = z
  .string({ error: "expected the name of an environment variable that holds the password" })
  // The value is not repeated: a password written here by mistake must not reach a log.
  .refine((name) => ENV_NAME.test(name), "expected the name of an environment variable (letters, digits and _) that holds the password");

const sourceName = z.string({ error: "expected a name: lowercase letters, digits and dashes, 1-40 characters" }).superRefine((name, ctx) => {
  if (!SOURCE_NAME_PATTERN.test(name)) {
    ctx.addIssue({ code: "custom", message: `expected lowercase letters, digits and dashes, 1-40 characters, got ${JSON.stringify(name)}` });
  }
});

const kafkaSourceSchema = sectionObject({
  name: sourceName,
  kind: z.literal("kafka"),
  brokers: listOf("a list of host:port (e.g. [kafka-1:9092, kafka-2:9092])", isHostPort),
  sasl: sectionObject({ mechanism: saslMechanism, username: z.string().min(1), passwordEnv }, "{ mechanism, username, passwordEnv }").optional(),
  ssl: z.preprocess(
    // `ssl: true` is TLS with the system's CAs, `ssl: false` none (as when absent).
    (value) => (value === true ? {} : value === false ? undefined : value),
    sectionObject(
      { caFile: sslCa(true).optional(), certFile: sslCert(true).optional(), keyFile: sslKey(true).optional() },
      "true, false or { caFile, certFile, keyFile }",
    )
      .superRefine((ssl, ctx) => {
        if ((ssl.certFile === undefined) !== (ssl.keyFile === undefined)) {
          ctx.addIssue({
            code: "custom",
            path: [ssl.certFile === undefined ? "certFile" : "keyFile"],
            message: `expected with ${ssl.certFile === undefined ? "keyFile" : "certFile"}: a client certificate needs its private key`,
          });
        } else if (ssl.certFile !== undefined && ssl.keyFile !== undefined && !isKeyOfCertificate(ssl.certFile, ssl.keyFile)) {
          ctx.addIssue({ code: "custom", path: ["keyFile"], message: "is not the private key of the certificate in certFile" });
        }
      })
      .optional(),
  ),
  schemaRegistry: sectionObject(
    {
      url: z
        .string()
        // Credentials in the URL would be a password in the file; the URL is not repeated.
        .refine((url) => !/^[a-z+.-]*:\/\/[^/@]*@/i.test(url.trim()), "expected a URL without credentials: put the user name in username and the password in an environment variable named by passwordEnv")
        .pipe(registryUrl),
      username: z.string().min(1).optional(),
      passwordEnv: passwordEnv.optional(),
    },
    "{ url, username, passwordEnv }",
  )
    .superRefine((registry, ctx) => {
      if ((registry.username === undefined) !== (registry.passwordEnv === undefined)) {
        ctx.addIssue({
          code: "custom",
          path: [registry.username === undefined ? "username" : "passwordEnv"],
          message: "expected with the other of username / passwordEnv: basic authentication needs both",
        });
      }
    })
    .optional(),
  topics: sectionObject({ include: regExp.optional(), exclude: regExp.optional() }, "{ include, exclude }").optional(),
  entityFields: listOf("a list of field names or dotted paths such as customer.id", isFieldPath).optional(),
});

/** A URL of one of `protocols`, without credentials (they go in username and passwordEnv). */
function serviceUrl(protocols: readonly string[], example: string) {
  return z.string({ error: `expected a URL such as ${example}` }).transform((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text.trim());
    } catch {
      url = undefined;
    }
    if (url === undefined || !protocols.includes(url.protocol)) {
      // Not repeated: a URL may hold a password.
      ctx.addIssue({ code: "custom", message: `expected a ${protocols.map((p) => p.replace(/:$/, "")).join(" or ")} URL such as ${example}` });
      return z.NEVER;
    }
    if (url.username !== "" || url.password !== "") {
      ctx.addIssue({ code: "custom", message: "expected a URL without credentials: put the user name in username and the password in an environment variable named by passwordEnv" });
      return z.NEVER;
    }
    return url.toString().replace(/\/+$/, "");
  });
}

const includeExclude = sectionObject({ include: regExp.optional(), exclude: regExp.optional() }, "{ include, exclude }").optional();

const rabbitmqSourceSchema = sectionObject({
  name: sourceName,
  kind: z.literal("rabbitmq"),
  url: serviceUrl(["amqp:", "amqps:"], "amqp://rabbitmq:5672"),
  managementUrl: serviceUrl(["http:", "https:"], "http://rabbitmq:15672"),
  username: z.string({ error: "expected the user name Eventscope connects as" }).min(1, "expected the user name Eventscope connects as"),
  passwordEnv,
  vhosts: listOf("a list of virtual host names such as [/, orders]", (vhost) => vhost.length > 0).optional(),
  exchanges: includeExclude,
  queues: includeExclude,
  collect: z.enum(RABBITMQ_COLLECT_MODES, { error: `expected one of ${RABBITMQ_COLLECT_MODES.join(", ")}` }).optional(),
  deliveries: z
    .enum(RABBITMQ_DELIVERIES_MODES, {
      error: `expected one of ${RABBITMQ_DELIVERIES_MODES.join(", ")} (firehose: deliveries from RabbitMQ's firehose, which you turn on with rabbitmqctl trace_on -p <vhost>)`,
    })
    .optional(),
  unroutable: z
    .enum(RABBITMQ_UNROUTABLE_MODES, {
      error: `expected one of ${RABBITMQ_UNROUTABLE_MODES.join(", ")} (collect: store messages no queue of yours is bound for, which then are not returned to mandatory publishers; leave: do not)`,
    })
    .optional(),
  entityFields: listOf("a list of field names or dotted paths such as customer.id", isFieldPath).optional(),
});

const sourceSchema = z.discriminatedUnion("kind", [kafkaSourceSchema, rabbitmqSourceSchema], {
  error: (issue) => {
    // A value that is no object: zod reports invalid_type here, though the union's issue type does not say so.
    if ((issue.code as string) === "invalid_type") return "expected a source: { name, kind, brokers, … }";
    if (issue.code !== "invalid_union") return undefined;
    const kind = (issue.input as { kind?: unknown } | undefined)?.kind;
    if (typeof kind === "string" && PLANNED_KINDS.includes(kind)) return `kind ${kind} is not supported yet (supported: ${SUPPORTED_KINDS})`;
    return kind === undefined ? `missing (expected ${SUPPORTED_KINDS})` : `expected ${SUPPORTED_KINDS}, got ${JSON.stringify(kind)}`;
  },
});

const sourcesFileSchema = sectionObject(
  {
    sources: z
      .array(sourceSchema, { error: "expected a list of sources" })
      .min(1, "expected at least one source"),
  },
  "an object with a list under sources",
);

type ParsedSource = z.output<typeof sourceSchema>;

// --- reading ------------------------------------------------------------------------------------

/** Reads EVENTSCOPE_SOURCES_FILE: see parseSourcesFile. An unreadable file is a problem naming it. */
export function readSourcesFile(path: string, context: SourcesFileContext): SourcesFileResult {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (error) {
    return {
      sources: [],
      problems: [`cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`],
    };
  }
  return parseSourcesFile(text, context, path);
}

/**
 * The sources of a sources file's text (YAML; JSON is YAML too, and its errors get lines the same
 * way): checked, secrets read from `context.env`, TLS files read, defaults applied. `path` names the
 * file in a problem that is about the file as a whole.
 */
export function parseSourcesFile(text: string, context: SourcesFileContext, path = "the sources file"): SourcesFileResult {
  const document = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    return { sources: [], problems: document.errors.map((error) => `${JSON.stringify(path)} is not valid YAML or JSON: ${describeYamlError(error)}`) };
  }
  const raw: unknown = document.toJS();
  const parsed = sourcesFileSchema.safeParse(raw);
  // Names are compared on the file as it is, so a duplicate shows among the other problems.
  const duplicates = duplicateNames(raw);
  if (!parsed.success || duplicates.length > 0) {
    const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${describePath(issue, raw)}: ${describeMessage(issue)}`);
    return { sources: [], problems: [...problems, ...duplicates] };
  }
  const problems: string[] = [];
  const sources = parsed.data.sources.map((source, index) => toSourceConfig(source, context, (field, message) => problems.push(`${sourceLabel(index, source.name)}.${field}: ${message}`)));
  return problems.length > 0 ? { sources: [], problems } : { sources, problems: [] };
}

/** A checked source with its secrets resolved and the global defaults applied. */
function toSourceConfig(source: ParsedSource, context: SourcesFileContext, problem: (field: string, message: string) => void): SourceConfig {
  const secret = (field: string, name: string): string => {
    const value = emptyAsUnset(context.env[name]);
    if (typeof value === "string") return value;
    problem(field, `the environment variable ${name} is not set`);
    return "";
  };
  if (source.entityFields !== undefined && context.maskFields.length > 0) {
    const conflicts = maskedEntityFields(source.entityFields, compileMaskRules(context.maskFields));
    if (conflicts.length > 0) problem("entityFields", `EVENTSCOPE_MASK_FIELDS ${maskedEntityFieldsMessage(conflicts, "this source's entityFields")}`);
  }
  if (source.kind === "rabbitmq") {
    return {
      name: source.name,
      kind: source.kind,
      amqpUrl: source.url,
      managementUrl: source.managementUrl,
      username: source.username,
      password: secret("passwordEnv", source.passwordEnv),
      vhosts: source.vhosts ?? ["/"],
      exchangesInclude: source.exchanges?.include,
      exchangesExclude: source.exchanges?.exclude,
      queuesInclude: source.queues?.include,
      queuesExclude: source.queues?.exclude,
      collect: source.collect ?? "bindings",
      deliveries: source.deliveries ?? "off",
      unroutable: source.unroutable ?? "collect",
      entityFields: source.entityFields ?? context.defaults.entityFields,
    };
  }
  return {
    name: source.name,
    kind: source.kind,
    kafkaBrokers: source.brokers,
    kafka: kafkaSecurity({
      sasl:
        source.sasl === undefined
          ? undefined
          : { mechanism: source.sasl.mechanism, username: source.sasl.username, password: secret("sasl.passwordEnv", source.sasl.passwordEnv) },
      tls: source.ssl !== undefined,
      ca: source.ssl?.caFile,
      cert: source.ssl?.certFile,
      key: source.ssl?.keyFile,
    }),
    schemaRegistry:
      source.schemaRegistry === undefined
        ? undefined
        : {
            url: source.schemaRegistry.url,
            username: source.schemaRegistry.username,
            password:
              source.schemaRegistry.passwordEnv === undefined ? undefined : secret("schemaRegistry.passwordEnv", source.schemaRegistry.passwordEnv),
          },
    topicsInclude: source.topics?.include ?? context.defaults.topicsInclude,
    topicsExclude: source.topics?.exclude ?? context.defaults.topicsExclude,
    entityFields: source.entityFields ?? context.defaults.entityFields,
  };
}

function duplicateNames(raw: unknown): string[] {
  const sources: unknown = (raw as { sources?: unknown } | null)?.sources;
  if (!Array.isArray(sources)) return [];
  const names = sources.map((source: unknown) => (source as { name?: unknown } | null)?.name);
  return names.flatMap((name, index) => {
    const first = names.indexOf(name);
    return typeof name === "string" && first !== index
      ? [`${sourceLabel(index, name)}.name: ${JSON.stringify(name)} is already the name of sources[${first}]: names are unique`]
      : [];
  });
}

// --- messages -----------------------------------------------------------------------------------

/** `sources[1] (prod-us)`, or `sources[1]` while the name is not a valid one. */
function sourceLabel(index: number, name: unknown): string {
  return typeof name === "string" && SOURCE_NAME_PATTERN.test(name) ? `sources[${index}] (${name})` : `sources[${index}]`;
}

/** `sources[1] (prod-us).sasl.mechanism`; an unknown key is added to the path of its object. */
function describePath(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = [...issue.path];
  if (issue.code === "unrecognized_keys" && issue.keys.length === 1) path.push(issue.keys[0]!);
  if (path.length === 0) return "(the whole file)";
  let text = String(path[0]);
  let value: unknown = (raw as Record<PropertyKey, unknown> | null)?.[path[0] as PropertyKey];
  for (const [position, key] of path.slice(1).entries()) {
    if (typeof key === "number") {
      const item = Array.isArray(value) ? (value[key] as unknown) : undefined;
      text += position === 0 && path[0] === "sources" ? sourceLabel(key, (item as { name?: unknown } | null)?.name).slice("sources".length) : `[${key}]`;
      value = item;
    } else {
      text += `.${String(key)}`;
      value = typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    }
  }
  return text;
}

function describeMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) return `missing (expected ${issue.expected})`;
  return issue.message;
}

function describeYamlError(error: YAML.YAMLError): string {
  // The message's first line only: the lines after it quote the file, which may hold secrets.
  const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  const at = error.linePos?.[0];
  return at === undefined ? message : `line ${at.line}, column ${at.col}: ${message}`;
}
