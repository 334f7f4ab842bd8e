/**
 * Kafka's topic configs: every name Apache Kafka documents (its `LogConfig` definitions, 3.x and
 * 4.x), with its type, default, valid values and the broker property that is its server default.
 * CreateTopics and IncrementalAlterConfigs validate against this table; DescribeConfigs reports it.
 *
 * The broker acts on `max.message.bytes`, `message.timestamp.type`, `retention.ms` and
 * `retention.bytes` (see README.md); every other config is validated, stored and reported.
 */

/** DescribeConfigs' ConfigType (KIP-569). */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9 } as const;

/** DescribeConfigs' ConfigSource. */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

type Kind = "int" | "long" | "double" | "boolean" | "string" | "list";

interface TopicConfigDef {
  kind: Kind;
  default: string;
  /** The broker property whose value is the topic's default, and that property's own default. */
  server: { name: string; value: string } | null;
  /** Checks a value already known to parse as `kind`; returns what is wrong, or null. */
  check?: (value: string) => string | null;
}

const LONG_MAX = "9223372036854775807";
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

const atLeast =
  (min: number) =>
  (v: string): string | null =>
    Number(v) >= min ? null : `Value must be at least ${min}`;

const between =
  (min: number, max: number) =>
  (v: string): string | null =>
    Number(v) >= min && Number(v) <= max ? null : `Value must be in the range [${min}, ${max}]`;

const oneOf =
  (...values: string[]) =>
  (v: string): string | null =>
    values.includes(v) ? null : `String must be one of: ${values.join(", ")}`;

const listOf =
  (...values: string[]) =>
  (v: string): string | null => {
    const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const bad = items.find((i) => !values.includes(i));
    return bad === undefined ? null : `Invalid value ${bad} for configuration: String must be one of: ${values.join(", ")}`;
  };

/** `[PartitionId]:[BrokerId],...` or `*`, as Kafka's throttled-replica validator accepts. */
const throttledReplicas = (v: string): string | null => {
  const t = v.trim();
  if (t === "" || t === "*") return null;
  return t.split(",").every((s) => /^\s*\d+\s*:\s*\d+\s*$/.test(s)) ? null : "Value must be a list of [PartitionId]:[BrokerId] or the wildcard '*'";
};

/** A Kafka version string such as 2.8, 3.0-IV1. */
const kafkaVersion = (v: string): string | null => (/^\d+\.\d+(\.\d+)?(-IV\d+)?$/.test(v) ? null : `Version \`${v}\` is not a valid version`);

function def(kind: Kind, value: string, server: string | [string, string] | null, check?: (value: string) => string | null): TopicConfigDef {
  const s = server === null ? null : typeof server === "string" ? { name: server, value } : { name: server[0], value: server[1] };
  return { kind, default: value, server: s, ...(check ? { check } : {}) };
}

const WEEK_MS = String(7 * 24 * 60 * 60 * 1000);

/** Sorted by name, as Kafka lists them. */
export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDef> = new Map<string, TopicConfigDef>([
  ["cleanup.policy", def("list", "delete", "log.cleanup.policy", listOf("compact", "delete"))],
  ["compression.gzip.level", def("int", "-1", "compression.gzip.level", (v) => (v === "-1" || (Number(v) >= 1 && Number(v) <= 9) ? null : "Value must be in [1,...,9] or -1"))],
  ["compression.lz4.level", def("int", "9", "compression.lz4.level", between(1, 17))],
  ["compression.type", def("string", "producer", "compression.type", oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"))],
  ["compression.zstd.level", def("int", "3", "compression.zstd.level", between(-131072, 22))],
  ["delete.retention.ms", def("long", "86400000", "log.cleaner.delete.retention.ms", atLeast(0))],
  ["file.delete.delay.ms", def("long", "60000", "log.segment.delete.delay.ms", atLeast(0))],
  ["flush.messages", def("long", LONG_MAX, "log.flush.interval.messages", atLeast(1))],
  ["flush.ms", def("long", LONG_MAX, "log.flush.interval.ms", atLeast(0))],
  ["follower.replication.throttled.replicas", def("list", "", null, throttledReplicas)],
  ["index.interval.bytes", def("int", "4096", "log.index.interval.bytes", atLeast(0))],
  ["leader.replication.throttled.replicas", def("list", "", null, throttledReplicas)],
  ["local.retention.bytes", def("long", "-2", "log.local.retention.bytes", atLeast(-2))],
  ["local.retention.ms", def("long", "-2", "log.local.retention.ms", atLeast(-2))],
  ["max.compaction.lag.ms", def("long", LONG_MAX, "log.cleaner.max.compaction.lag.ms", atLeast(1))],
  ["max.message.bytes", def("int", "1048588", "message.max.bytes", atLeast(0))],
  ["message.downconversion.enable", def("boolean", "true", "log.message.downconversion.enable")],
  ["message.format.version", def("string", "3.0-IV1", "log.message.format.version", kafkaVersion)],
  ["message.timestamp.after.max.ms", def("long", LONG_MAX, "log.message.timestamp.after.max.ms", atLeast(0))],
  ["message.timestamp.before.max.ms", def("long", LONG_MAX, "log.message.timestamp.before.max.ms", atLeast(0))],
  ["message.timestamp.difference.max.ms", def("long", LONG_MAX, "log.message.timestamp.difference.max.ms", atLeast(0))],
  ["message.timestamp.type", def("string", "CreateTime", "log.message.timestamp.type", oneOf("CreateTime", "LogAppendTime"))],
  ["min.cleanable.dirty.ratio", def("double", "0.5", "log.cleaner.min.cleanable.ratio", between(0, 1))],
  ["min.compaction.lag.ms", def("long", "0", "log.cleaner.min.compaction.lag.ms", atLeast(0))],
  ["min.insync.replicas", def("int", "1", "min.insync.replicas", atLeast(1))],
  ["preallocate", def("boolean", "false", "log.preallocate")],
  ["remote.log.copy.disable", def("boolean", "false", null)],
  ["remote.log.delete.on.disable", def("boolean", "false", null)],
  ["remote.storage.enable", def("boolean", "false", null)],
  ["retention.bytes", def("long", "-1", "log.retention.bytes")],
  ["retention.ms", def("long", WEEK_MS, ["log.retention.hours", "168"], atLeast(-1))],
  ["segment.bytes", def("int", "1073741824", "log.segment.bytes", atLeast(14))],
  ["segment.index.bytes", def("int", "10485760", "log.index.size.max.bytes", atLeast(4))],
  ["segment.jitter.ms", def("long", "0", "log.roll.jitter.ms", atLeast(0))],
  ["segment.ms", def("long", WEEK_MS, ["log.roll.hours", "168"], atLeast(1))],
  ["unclean.leader.election.enable", def("boolean", "false", "unclean.leader.election.enable")],
]);

const CONFIG_TYPES: Record<Kind, number> = {
  int: ConfigType.INT,
  long: ConfigType.LONG,
  double: ConfigType.DOUBLE,
  boolean: ConfigType.BOOLEAN,
  string: ConfigType.STRING,
  list: ConfigType.LIST,
};

function parses(kind: Kind, value: string): boolean {
  const v = value.trim();
  switch (kind) {
    case "int":
      return /^-?\d+$/.test(v) && Number(v) >= INT_MIN && Number(v) <= INT_MAX;
    case "long":
      return /^-?\d+$/.test(v) && BigInt(v) >= -(2n ** 63n) && BigInt(v) < 2n ** 63n;
    case "double":
      return v !== "" && Number.isFinite(Number(v));
    case "boolean":
      return v.toLowerCase() === "true" || v.toLowerCase() === "false";
    default:
      return true;
  }
}

/**
 * What is wrong with setting topic config `name` to `value`, in the words Kafka's INVALID_CONFIG
 * uses (naming the config and the value), or null when it is valid.
 */
export function topicConfigError(name: string, value: string | null): string | null {
  const d = TOPIC_CONFIGS.get(name);
  if (!d) return `Unknown topic config name: ${name}`;
  if (value === null) return `Invalid value null for configuration ${name}: a value is required`;
  if (!parses(d.kind, value)) return `Invalid value ${value} for configuration ${name}: Expected value to be a ${d.kind === "int" ? "32-bit integer" : d.kind === "long" ? "64-bit integer" : d.kind}`;
  const problem = d.check?.(value.trim());
  return problem ? `Invalid value ${value} for configuration ${name}: ${problem}` : null;
}

/** Checks that hold between two configs (Kafka's LogConfig.validateValues). */
export function topicConfigsConflict(configs: ReadonlyMap<string, string>): string | null {
  const min = BigInt(configs.get("min.compaction.lag.ms") ?? TOPIC_CONFIGS.get("min.compaction.lag.ms")!.default);
  const max = BigInt(configs.get("max.compaction.lag.ms") ?? TOPIC_CONFIGS.get("max.compaction.lag.ms")!.default);
  return min > max ? `conflict topic config setting min.compaction.lag.ms (${min}) > max.compaction.lag.ms (${max})` : null;
}

/** The value in effect: the topic's own, else Kafka's default. */
export function topicConfigValue(configs: ReadonlyMap<string, string>, name: string): string {
  return configs.get(name) ?? TOPIC_CONFIGS.get(name)!.default;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

/**
 * A topic's configs as Kafka's DescribeConfigs reports them: the topic's own value (source
 * DYNAMIC_TOPIC_CONFIG) or the default (DEFAULT_CONFIG), and, when asked, the synonyms in order of
 * precedence: the topic's value, then the server default under the broker property's name.
 */
export function describeTopicConfigs(configs: ReadonlyMap<string, string>, keys: string[] | null, includeSynonyms: boolean): DescribedConfig[] {
  const names = keys === null ? [...TOPIC_CONFIGS.keys()] : keys.filter((k) => TOPIC_CONFIGS.has(k));
  return names.map((name) => {
    const d = TOPIC_CONFIGS.get(name)!;
    const own = configs.get(name);
    const synonyms: DescribedConfig["synonyms"] = [];
    if (includeSynonyms) {
      if (own !== undefined) synonyms.push({ name, value: own, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
      if (d.server) synonyms.push({ name: d.server.name, value: d.server.value, source: ConfigSource.DEFAULT_CONFIG });
    }
    return {
      name,
      value: own ?? d.default,
      readOnly: false,
      isDefault: own === undefined,
      configSource: own === undefined ? ConfigSource.DEFAULT_CONFIG : ConfigSource.DYNAMIC_TOPIC_CONFIG,
      isSensitive: false,
      synonyms,
      configType: CONFIG_TYPES[d.kind],
      documentation: null,
    };
  });
}
