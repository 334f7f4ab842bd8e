/**
 * Message layouts, transcribed from the JSON definitions in Apache Kafka's
 * `clients/src/main/resources/common/message/`. Flexible versions use compact encodings and
 * tagged fields (see codec.ts); no tagged field is described here: they are all optional.
 *
 * Field names are the Kafka names in camelCase (`TopicName` → `topicName`).
 * int64 values are JavaScript numbers: offsets, timestamps and producer ids stay far
 * below 2^53 in practice.
 */
export type Primitive =
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "bool"
  | "string"
  | "bytes"
  | "records"
  | "float64"
  | "uuid";

export type FieldType = Primitive | `[]${Primitive}` | "[]" | "struct";

export interface FieldSpec {
  name: string;
  /** `"[]"` is an array of structs described by `fields`; `"struct"` a single struct. */
  type: FieldType;
  /** Kafka's version range syntax: `"0+"`, `"3-5"`, `"2"`. */
  versions: string;
  nullableVersions?: string;
  /** Value written when an encoder is given `undefined`; otherwise the type's zero. */
  default?: number | string | boolean | null;
  fields?: FieldSpec[];
}

export interface MessageSpec {
  apiKey: number;
  name: string;
  /** The versions Eventscope's broker serves for this API. */
  validVersions: string;
  /** Kafka's `flexibleVersions` (KIP-482), e.g. `"9+"`; absent for an API that is never flexible. */
  flexibleVersions?: string;
  fields: FieldSpec[];
}

export interface ApiSpec {
  request: MessageSpec;
  response: MessageSpec;
}

export interface VersionRange {
  min: number;
  max: number;
}

export function parseVersionRange(range: string): VersionRange {
  if (range === "none") return { min: 1, max: 0 };
  const plus = /^(\d+)\+$/.exec(range);
  if (plus) return { min: Number(plus[1]), max: Number.POSITIVE_INFINITY };
  const span = /^(\d+)-(\d+)$/.exec(range);
  if (span) return { min: Number(span[1]), max: Number(span[2]) };
  const single = /^(\d+)$/.exec(range);
  if (single) return { min: Number(single[1]), max: Number(single[1]) };
  throw new Error(`invalid version range "${range}"`);
}

export function inRange(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}
