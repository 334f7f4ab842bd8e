/**
 * Request/response layouts for the APIs the embedded broker serves.
 *
 * Transcribed from Apache Kafka's JSON message definitions
 * (`clients/src/main/resources/common/message/*Request.json` / `*Response.json` in apache/kafka).
 * Field order, types, version ranges, nullableVersions and non-zero defaults follow those files;
 * names are Kafka's PascalCase names in camelCase.
 *
 * Flexible versions (KIP-482) are served up to the newest version whose layout the broker can
 * honour; `flexibleVersions` is Kafka's. Tagged fields are left out: every one is optional, the
 * codec reads past those a client sends and writes none. Field ranges are kept as Kafka writes
 * them ("0+", "2-4", ...); the codec never asks about a version above `validVersions`.
 */
import type { ApiSpec, FieldSpec, FieldType } from "./types.ts";

type Extra = Pick<FieldSpec, "nullableVersions" | "default">;

/** A primitive (or primitive-array) field. */
function f(name: string, type: FieldType, versions: string, extra?: Extra): FieldSpec {
  return { name, type, versions, ...extra };
}

/** An array of structs. */
function arr(name: string, versions: string, fields: FieldSpec[], extra?: Extra): FieldSpec {
  return { name, type: "[]", versions, ...extra, fields };
}

function api(
  apiKey: number,
  name: string,
  validVersions: string,
  request: FieldSpec[],
  response: FieldSpec[],
  flexibleVersions?: string,
): ApiSpec {
  const flexible = flexibleVersions ? { flexibleVersions } : {};
  return {
    request: { apiKey, name: `${name}Request`, validVersions, ...flexible, fields: request },
    response: { apiKey, name: `${name}Response`, validVersions, ...flexible, fields: response },
  };
}

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  DeleteRecords: 21,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
  IncrementalAlterConfigs: 44,
} as const;

const throttleTimeMs = (versions: string): FieldSpec => f("throttleTimeMs", "int32", versions);

// ---------------------------------------------------------------- Produce (0), flexible 9+

export const produce = api(
  ApiKey.Produce,
  "Produce",
  "3-11",
  [
    f("transactionalId", "string", "3+", { nullableVersions: "3+", default: null }),
    f("acks", "int16", "0+"),
    f("timeoutMs", "int32", "0+"),
    arr("topicData", "0+", [
      f("name", "string", "0+"),
      arr("partitionData", "0+", [
        f("index", "int32", "0+"),
        f("records", "records", "0+", { nullableVersions: "0+" }),
      ]),
    ]),
  ],
  [
    arr("responses", "0+", [
      f("name", "string", "0+"),
      arr("partitionResponses", "0+", [
        f("index", "int32", "0+"),
        f("errorCode", "int16", "0+"),
        f("baseOffset", "int64", "0+"),
        f("logAppendTimeMs", "int64", "2+", { default: -1 }),
        f("logStartOffset", "int64", "5+", { default: -1 }),
        arr("recordErrors", "8+", [
          f("batchIndex", "int32", "8+"),
          f("batchIndexErrorMessage", "string", "8+", { nullableVersions: "8+", default: null }),
        ]),
        f("errorMessage", "string", "8+", { nullableVersions: "8+", default: null }),
      ]),
    ]),
    throttleTimeMs("1+"),
  ],
  "9+",
);

// ---------------------------------------------------------------- Fetch (1), flexible 12+

export const fetch = api(
  ApiKey.Fetch,
  "Fetch",
  "4-13",
  [
    f("replicaId", "int32", "0-14", { default: -1 }),
    f("maxWaitMs", "int32", "0+"),
    f("minBytes", "int32", "0+"),
    f("maxBytes", "int32", "3+", { default: 0x7fffffff }),
    f("isolationLevel", "int8", "4+"),
    f("sessionId", "int32", "7+"),
    f("sessionEpoch", "int32", "7+", { default: -1 }),
    arr("topics", "0+", [
      f("topic", "string", "0-12"),
      f("topicId", "uuid", "13+"),
      arr("partitions", "0+", [
        f("partition", "int32", "0+"),
        f("currentLeaderEpoch", "int32", "9+", { default: -1 }),
        f("fetchOffset", "int64", "0+"),
        f("lastFetchedEpoch", "int32", "12+", { default: -1 }),
        f("logStartOffset", "int64", "5+", { default: -1 }),
        f("partitionMaxBytes", "int32", "0+"),
      ]),
    ]),
    arr("forgottenTopicsData", "7+", [
      f("topic", "string", "7-12"),
      f("topicId", "uuid", "13+"),
      f("partitions", "[]int32", "7+"),
    ]),
    f("rackId", "string", "11+"),
  ],
  [
    throttleTimeMs("1+"),
    f("errorCode", "int16", "7+"),
    f("sessionId", "int32", "7+"),
    arr("responses", "0+", [
      f("topic", "string", "0-12"),
      f("topicId", "uuid", "13+"),
      arr("partitions", "0+", [
        f("partitionIndex", "int32", "0+"),
        f("errorCode", "int16", "0+"),
        f("highWatermark", "int64", "0+"),
        f("lastStableOffset", "int64", "4+", { default: -1 }),
        f("logStartOffset", "int64", "5+", { default: -1 }),
        arr(
          "abortedTransactions",
          "4+",
          [f("producerId", "int64", "4+"), f("firstOffset", "int64", "4+")],
          { nullableVersions: "4+" },
        ),
        f("preferredReadReplica", "int32", "11+", { default: -1 }),
        f("records", "records", "0+", { nullableVersions: "0+" }),
      ]),
    ]),
  ],
  "12+",
);

// ---------------------------------------------------------------- ListOffsets (2), flexible 6+

export const listOffsets = api(
  ApiKey.ListOffsets,
  "ListOffsets",
  "0-8",
  [
    f("replicaId", "int32", "0+"),
    f("isolationLevel", "int8", "2+"),
    arr("topics", "0+", [
      f("name", "string", "0+"),
      arr("partitions", "0+", [
        f("partitionIndex", "int32", "0+"),
        f("currentLeaderEpoch", "int32", "4+", { default: -1 }),
        f("timestamp", "int64", "0+"),
        f("maxNumOffsets", "int32", "0", { default: 1 }),
      ]),
    ]),
  ],
  [
    throttleTimeMs("2+"),
    arr("topics", "0+", [
      f("name", "string", "0+"),
      arr("partitions", "0+", [
        f("partitionIndex", "int32", "0+"),
        f("errorCode", "int16", "0+"),
        f("oldStyleOffsets", "[]int64", "0"),
        f("timestamp", "int64", "1+", { default: -1 }),
        f("offset", "int64", "1+", { default: -1 }),
        f("leaderEpoch", "int32", "4+", { default: -1 }),
      ]),
    ]),
  ],
  "6+",
);

// ---------------------------------------------------------------- Metadata (3), flexible 9+

export const metadata = api(
  ApiKey.Metadata,
  "Metadata",
  "0-12",
  [
    arr("topics", "0+", [f("topicId", "uuid", "10+"), f("name", "string", "0+", { nullableVersions: "10+" })], {
      nullableVersions: "1+",
    }),
    f("allowAutoTopicCreation", "bool", "4+", { default: true }),
    f("includeClusterAuthorizedOperations", "bool", "8-10"),
    f("includeTopicAuthorizedOperations", "bool", "8+"),
  ],
  [
    throttleTimeMs("3+"),
    arr("brokers", "0+", [
      f("nodeId", "int32", "0+"),
      f("host", "string", "0+"),
      f("port", "int32", "0+"),
      f("rack", "string", "1+", { nullableVersions: "1+", default: null }),
    ]),
    f("clusterId", "string", "2+", { nullableVersions: "2+", default: null }),
    f("controllerId", "int32", "1+", { default: -1 }),
    arr("topics", "0+", [
      f("errorCode", "int16", "0+"),
      f("name", "string", "0+", { nullableVersions: "12+" }),
      f("topicId", "uuid", "10+"),
      f("isInternal", "bool", "1+"),
      arr("partitions", "0+", [
        f("errorCode", "int16", "0+"),
        f("partitionIndex", "int32", "0+"),
        f("leaderId", "int32", "0+"),
        f("leaderEpoch", "int32", "7+", { default: -1 }),
        f("replicaNodes", "[]int32", "0+"),
        f("isrNodes", "[]int32", "0+"),
        f("offlineReplicas", "[]int32", "5+"),
      ]),
      f("topicAuthorizedOperations", "int32", "8+", { default: -2147483648 }),
    ]),
    f("clusterAuthorizedOperations", "int32", "8-10", { default: -2147483648 }),
  ],
  "9+",
);

// ---------------------------------------------------------------- OffsetCommit (8), flexible 8+

export const offsetCommit = api(
  ApiKey.OffsetCommit,
  "OffsetCommit",
  "0-9",
  [
    f("groupId", "string", "0+"),
    f("generationId", "int32", "1+", { default: -1 }),
    f("memberId", "string", "1+"),
    f("groupInstanceId", "string", "7+", { nullableVersions: "7+", default: null }),
    f("retentionTimeMs", "int64", "2-4", { default: -1 }),
    arr("topics", "0+", [
      f("name", "string", "0+", { nullableVersions: "9+" }),
      arr("partitions", "0+", [
        f("partitionIndex", "int32", "0+"),
        f("committedOffset", "int64", "0+"),
        f("committedLeaderEpoch", "int32", "6+", { default: -1 }),
        f("commitTimestamp", "int64", "1", { default: -1 }),
        f("committedMetadata", "string", "0+", { nullableVersions: "0+" }),
      ]),
    ]),
  ],
  [
    throttleTimeMs("3+"),
    arr("topics", "0+", [
      f("name", "string", "0+"),
      arr("partitions", "0+", [f("partitionIndex", "int32", "0+"), f("errorCode", "int16", "0+")]),
    ]),
  ],
  "8+",
);

// ---------------------------------------------------------------- OffsetFetch (9), flexible 6+

export const offsetFetch = api(
  ApiKey.OffsetFetch,
  "OffsetFetch",
  "0-9",
  [
    f("groupId", "string", "0-7"),
    arr(
      "topics",
      "0-7",
      [f("name", "string", "0-7"), f("partitionIndexes", "[]int32", "0-7")],
      { nullableVersions: "2-7" },
    ),
    arr("groups", "8+", [
      f("groupId", "string", "8+"),
      f("memberId", "string", "9+", { nullableVersions: "9+", default: null }),
      f("memberEpoch", "int32", "9+", { default: -1 }),
      arr("topics", "8+", [f("name", "string", "8+"), f("partitionIndexes", "[]int32", "8+")], { nullableVersions: "8+" }),
    ]),
    f("requireStable", "bool", "7+"),
  ],
  [
    throttleTimeMs("3+"),
    arr("topics", "0-7", [
      f("name", "string", "0-7"),
      arr("partitions", "0-7", [
        f("partitionIndex", "int32", "0-7"),
        f("committedOffset", "int64", "0-7"),
        f("committedLeaderEpoch", "int32", "5-7", { default: -1 }),
        f("metadata", "string", "0-7", { nullableVersions: "0-7" }),
        f("errorCode", "int16", "0-7"),
      ]),
    ]),
    f("errorCode", "int16", "2-7"),
    arr("groups", "8+", [
      f("groupId", "string", "8+"),
      arr("topics", "8+", [
        f("name", "string", "8+"),
        arr("partitions", "8+", [
          f("partitionIndex", "int32", "8+"),
          f("committedOffset", "int64", "8+"),
          f("committedLeaderEpoch", "int32", "8+", { default: -1 }),
          f("metadata", "string", "8+", { nullableVersions: "8+" }),
          f("errorCode", "int16", "8+"),
        ]),
      ]),
      f("errorCode", "int16", "8+"),
    ]),
  ],
  "6+",
);

// ---------------------------------------------------------------- FindCoordinator (10), flexible 3+

export const findCoordinator = api(
  ApiKey.FindCoordinator,
  "FindCoordinator",
  "0-6",
  [f("key", "string", "0-3"), f("keyType", "int8", "1+"), f("coordinatorKeys", "[]string", "4+")],
  [
    throttleTimeMs("1+"),
    f("errorCode", "int16", "0-3"),
    f("errorMessage", "string", "1-3", { nullableVersions: "1-3" }),
    f("nodeId", "int32", "0-3"),
    f("host", "string", "0-3"),
    f("port", "int32", "0-3"),
    arr("coordinators", "4+", [
      f("key", "string", "4+"),
      f("nodeId", "int32", "4+"),
      f("host", "string", "4+"),
      f("port", "int32", "4+"),
      f("errorCode", "int16", "4+"),
      f("errorMessage", "string", "4+", { nullableVersions: "4+", default: null }),
    ]),
  ],
  "3+",
);

// ---------------------------------------------------------------- JoinGroup (11), flexible 6+

export const joinGroup = api(
  ApiKey.JoinGroup,
  "JoinGroup",
  "0-9",
  [
    f("groupId", "string", "0+"),
    f("sessionTimeoutMs", "int32", "0+"),
    f("rebalanceTimeoutMs", "int32", "1+", { default: -1 }),
    f("memberId", "string", "0+"),
    f("groupInstanceId", "string", "5+", { nullableVersions: "5+", default: null }),
    f("protocolType", "string", "0+"),
    arr("protocols", "0+", [f("name", "string", "0+"), f("metadata", "bytes", "0+")]),
    f("reason", "string", "8+", { nullableVersions: "8+", default: null }),
  ],
  [
    throttleTimeMs("2+"),
    f("errorCode", "int16", "0+"),
    f("generationId", "int32", "0+", { default: -1 }),
    f("protocolType", "string", "7+", { nullableVersions: "7+", default: null }),
    f("protocolName", "string", "0+", { nullableVersions: "7+" }),
    f("leader", "string", "0+"),
    f("skipAssignment", "bool", "9+"),
    f("memberId", "string", "0+"),
    arr("members", "0+", [
      f("memberId", "string", "0+"),
      f("groupInstanceId", "string", "5+", { nullableVersions: "5+", default: null }),
      f("metadata", "bytes", "0+"),
    ]),
  ],
  "6+",
);

// ---------------------------------------------------------------- Heartbeat (12), flexible 4+

export const heartbeat = api(
  ApiKey.Heartbeat,
  "Heartbeat",
  "0-4",
  [
    f("groupId", "string", "0+"),
    f("generationId", "int32", "0+"),
    f("memberId", "string", "0+"),
    f("groupInstanceId", "string", "3+", { nullableVersions: "3+", default: null }),
  ],
  [throttleTimeMs("1+"), f("errorCode", "int16", "0+")],
  "4+",
);

// ---------------------------------------------------------------- LeaveGroup (13), flexible 4+

export const leaveGroup = api(
  ApiKey.LeaveGroup,
  "LeaveGroup",
  "0-5",
  [
    f("groupId", "string", "0+"),
    f("memberId", "string", "0-2"),
    arr("members", "3+", [
      f("memberId", "string", "3+"),
      f("groupInstanceId", "string", "3+", { nullableVersions: "3+", default: null }),
      f("reason", "string", "5+", { nullableVersions: "5+", default: null }),
    ]),
  ],
  [
    throttleTimeMs("1+"),
    f("errorCode", "int16", "0+"),
    arr("members", "3+", [
      f("memberId", "string", "3+"),
      f("groupInstanceId", "string", "3+", { nullableVersions: "3+" }),
      f("errorCode", "int16", "3+"),
    ]),
  ],
  "4+",
);

// ---------------------------------------------------------------- SyncGroup (14), flexible 4+

export const syncGroup = api(
  ApiKey.SyncGroup,
  "SyncGroup",
  "0-5",
  [
    f("groupId", "string", "0+"),
    f("generationId", "int32", "0+"),
    f("memberId", "string", "0+"),
    f("groupInstanceId", "string", "3+", { nullableVersions: "3+", default: null }),
    f("protocolType", "string", "5+", { nullableVersions: "5+", default: null }),
    f("protocolName", "string", "5+", { nullableVersions: "5+", default: null }),
    arr("assignments", "0+", [f("memberId", "string", "0+"), f("assignment", "bytes", "0+")]),
  ],
  [
    throttleTimeMs("1+"),
    f("errorCode", "int16", "0+"),
    f("protocolType", "string", "5+", { nullableVersions: "5+", default: null }),
    f("protocolName", "string", "5+", { nullableVersions: "5+", default: null }),
    f("assignment", "bytes", "0+"),
  ],
  "4+",
);

// ---------------------------------------------------------------- DescribeGroups (15), flexible 5+

export const describeGroups = api(
  ApiKey.DescribeGroups,
  "DescribeGroups",
  "0-5",
  [f("groups", "[]string", "0+"), f("includeAuthorizedOperations", "bool", "3+")],
  [
    throttleTimeMs("1+"),
    arr("groups", "0+", [
      f("errorCode", "int16", "0+"),
      f("groupId", "string", "0+"),
      f("groupState", "string", "0+"),
      f("protocolType", "string", "0+"),
      f("protocolData", "string", "0+"),
      arr("members", "0+", [
        f("memberId", "string", "0+"),
        f("groupInstanceId", "string", "4+", { nullableVersions: "4+", default: null }),
        f("clientId", "string", "0+"),
        f("clientHost", "string", "0+"),
        f("memberMetadata", "bytes", "0+"),
        f("memberAssignment", "bytes", "0+"),
      ]),
      f("authorizedOperations", "int32", "3+", { default: -2147483648 }),
    ]),
  ],
  "5+",
);

// ---------------------------------------------------------------- ListGroups (16), flexible 3+

export const listGroups = api(
  ApiKey.ListGroups,
  "ListGroups",
  "0-4",
  [f("statesFilter", "[]string", "4+")],
  [
    throttleTimeMs("1+"),
    f("errorCode", "int16", "0+"),
    arr("groups", "0+", [f("groupId", "string", "0+"), f("protocolType", "string", "0+"), f("groupState", "string", "4+")]),
  ],
  "3+",
);

// ---------------------------------------------------------------- SaslHandshake (17), never flexible

// v0 is advertised although only v1 (tokens in SaslAuthenticate) is served: librdkafka enables
// SASL only when SaslHandshake v0 is in the range (its check for a broker >= 0.10). The broker
// answers a v0 handshake with UNSUPPORTED_VERSION in the body (see Broker.handleSaslHandshake).
export const saslHandshake = api(
  ApiKey.SaslHandshake,
  "SaslHandshake",
  "0-1",
  [f("mechanism", "string", "0+")],
  [f("errorCode", "int16", "0+"), f("mechanisms", "[]string", "0+")],
);

// ---------------------------------------------------------------- ApiVersions (18), flexible 3+

export const apiVersions = api(
  ApiKey.ApiVersions,
  "ApiVersions",
  "0-4",
  [f("clientSoftwareName", "string", "3+"), f("clientSoftwareVersion", "string", "3+")],
  [
    f("errorCode", "int16", "0+"),
    arr("apiKeys", "0+", [
      f("apiKey", "int16", "0+"),
      f("minVersion", "int16", "0+"),
      f("maxVersion", "int16", "0+"),
    ]),
    throttleTimeMs("1+"),
  ],
  "3+",
);

// ---------------------------------------------------------------- CreateTopics (19), flexible 5+

export const createTopics = api(
  ApiKey.CreateTopics,
  "CreateTopics",
  "0-7",
  [
    arr("topics", "0+", [
      f("name", "string", "0+"),
      f("numPartitions", "int32", "0+"),
      f("replicationFactor", "int16", "0+"),
      arr("assignments", "0+", [
        f("partitionIndex", "int32", "0+"),
        f("brokerIds", "[]int32", "0+"),
      ]),
      arr("configs", "0+", [
        f("name", "string", "0+"),
        f("value", "string", "0+", { nullableVersions: "0+" }),
      ]),
    ]),
    f("timeoutMs", "int32", "0+", { default: 60000 }),
    f("validateOnly", "bool", "1+"),
  ],
  [
    throttleTimeMs("2+"),
    arr("topics", "0+", [
      f("name", "string", "0+"),
      f("topicId", "uuid", "7+"),
      f("errorCode", "int16", "0+"),
      f("errorMessage", "string", "1+", { nullableVersions: "0+" }),
      f("numPartitions", "int32", "5+", { default: -1 }),
      f("replicationFactor", "int16", "5+", { default: -1 }),
      arr(
        "configs",
        "5+",
        [
          f("name", "string", "5+"),
          f("value", "string", "5+", { nullableVersions: "5+" }),
          f("readOnly", "bool", "5+"),
          f("configSource", "int8", "5+", { default: -1 }),
          f("isSensitive", "bool", "5+"),
        ],
        { nullableVersions: "5+", default: null },
      ),
    ]),
  ],
  "5+",
);

// ---------------------------------------------------------------- DeleteTopics (20), flexible 4+

export const deleteTopics = api(
  ApiKey.DeleteTopics,
  "DeleteTopics",
  "0-6",
  [
    arr("topics", "6+", [f("name", "string", "6+", { nullableVersions: "6+" }), f("topicId", "uuid", "6+")]),
    f("topicNames", "[]string", "0-5"),
    f("timeoutMs", "int32", "0+"),
  ],
  [
    throttleTimeMs("1+"),
    arr("responses", "0+", [
      f("name", "string", "0+", { nullableVersions: "6+" }),
      f("topicId", "uuid", "6+"),
      f("errorCode", "int16", "0+"),
      f("errorMessage", "string", "5+", { nullableVersions: "5+", default: null }),
    ]),
  ],
  "4+",
);

// ---------------------------------------------------------------- InitProducerId (22), flexible 2+

export const initProducerId = api(
  ApiKey.InitProducerId,
  "InitProducerId",
  "0-4",
  [
    f("transactionalId", "string", "0+", { nullableVersions: "0+" }),
    f("transactionTimeoutMs", "int32", "0+"),
    f("producerId", "int64", "3+", { default: -1 }),
    f("producerEpoch", "int16", "3+", { default: -1 }),
  ],
  [
    throttleTimeMs("0+"),
    f("errorCode", "int16", "0+"),
    f("producerId", "int64", "0+", { default: -1 }),
    f("producerEpoch", "int16", "0+"),
  ],
  "2+",
);

// ---------------------------------------------------------------- OffsetForLeaderEpoch (23), flexible 4+

export const offsetForLeaderEpoch = api(
  ApiKey.OffsetForLeaderEpoch,
  "OffsetForLeaderEpoch",
  "0-4",
  [
    f("replicaId", "int32", "3+", { default: -2 }),
    arr("topics", "0+", [
      f("topic", "string", "0+"),
      arr("partitions", "0+", [
        f("partition", "int32", "0+"),
        f("currentLeaderEpoch", "int32", "2+", { default: -1 }),
        f("leaderEpoch", "int32", "0+"),
      ]),
    ]),
  ],
  [
    throttleTimeMs("2+"),
    arr("topics", "0+", [
      f("topic", "string", "0+"),
      arr("partitions", "0+", [
        f("errorCode", "int16", "0+"),
        f("partition", "int32", "0+"),
        f("leaderEpoch", "int32", "1+", { default: -1 }),
        f("endOffset", "int64", "0+", { default: -1 }),
      ]),
    ]),
  ],
  "4+",
);

// ---------------------------------------------------------------- DescribeConfigs (32), flexible 4+

export const describeConfigs = api(
  ApiKey.DescribeConfigs,
  "DescribeConfigs",
  "0-4",
  [
    arr("resources", "0+", [
      f("resourceType", "int8", "0+"),
      f("resourceName", "string", "0+"),
      f("configurationKeys", "[]string", "0+", { nullableVersions: "0+" }),
    ]),
    f("includeSynonyms", "bool", "1+"),
    f("includeDocumentation", "bool", "3+"),
  ],
  [
    throttleTimeMs("0+"),
    arr("results", "0+", [
      f("errorCode", "int16", "0+"),
      f("errorMessage", "string", "0+", { nullableVersions: "0+" }),
      f("resourceType", "int8", "0+"),
      f("resourceName", "string", "0+"),
      arr("configs", "0+", [
        f("name", "string", "0+"),
        f("value", "string", "0+", { nullableVersions: "0+" }),
        f("readOnly", "bool", "0+"),
        f("isDefault", "bool", "0"),
        f("configSource", "int8", "1+", { default: -1 }),
        f("isSensitive", "bool", "0+"),
        arr("synonyms", "1+", [
          f("name", "string", "1+"),
          f("value", "string", "1+", { nullableVersions: "0+" }),
          f("source", "int8", "1+"),
        ]),
        f("configType", "int8", "3+"),
        f("documentation", "string", "3+", { nullableVersions: "0+" }),
      ]),
    ]),
  ],
  "4+",
);

// ---------------------------------------------------------------- SaslAuthenticate (36), flexible 2+

export const saslAuthenticate = api(
  ApiKey.SaslAuthenticate,
  "SaslAuthenticate",
  "0-2",
  [f("authBytes", "bytes", "0+")],
  [
    f("errorCode", "int16", "0+"),
    f("errorMessage", "string", "0+", { nullableVersions: "0+" }),
    f("authBytes", "bytes", "0+"),
    f("sessionLifetimeMs", "int64", "1+"),
  ],
  "2+",
);

// ---------------------------------------------------------------- DeleteRecords (21), flexible 2+

export const deleteRecords = api(
  ApiKey.DeleteRecords,
  "DeleteRecords",
  "0-2",
  [
    arr("topics", "0+", [
      f("name", "string", "0+"),
      arr("partitions", "0+", [f("partitionIndex", "int32", "0+"), f("offset", "int64", "0+")]),
    ]),
    f("timeoutMs", "int32", "0+"),
  ],
  [
    throttleTimeMs("0+"),
    arr("topics", "0+", [
      f("name", "string", "0+"),
      arr("partitions", "0+", [f("partitionIndex", "int32", "0+"), f("lowWatermark", "int64", "0+"), f("errorCode", "int16", "0+")]),
    ]),
  ],
  "2+",
);

// ---------------------------------------------------------------- AlterConfigs (33), flexible 2+

const alterConfigsResponse = [
  throttleTimeMs("0+"),
  arr("responses", "0+", [
    f("errorCode", "int16", "0+"),
    f("errorMessage", "string", "0+", { nullableVersions: "0+" }),
    f("resourceType", "int8", "0+"),
    f("resourceName", "string", "0+"),
  ]),
];

export const alterConfigs = api(
  ApiKey.AlterConfigs,
  "AlterConfigs",
  "0-2",
  [
    arr("resources", "0+", [
      f("resourceType", "int8", "0+"),
      f("resourceName", "string", "0+"),
      arr("configs", "0+", [f("name", "string", "0+"), f("value", "string", "0+", { nullableVersions: "0+" })]),
    ]),
    f("validateOnly", "bool", "0+"),
  ],
  alterConfigsResponse,
  "2+",
);

// ---------------------------------------------------------------- CreatePartitions (37), flexible 2+

export const createPartitions = api(
  ApiKey.CreatePartitions,
  "CreatePartitions",
  "0-3",
  [
    arr("topics", "0+", [
      f("name", "string", "0+"),
      f("count", "int32", "0+"),
      arr("assignments", "0+", [f("brokerIds", "[]int32", "0+")], { nullableVersions: "0+" }),
    ]),
    f("timeoutMs", "int32", "0+"),
    f("validateOnly", "bool", "0+"),
  ],
  [
    throttleTimeMs("0+"),
    arr("results", "0+", [
      f("name", "string", "0+"),
      f("errorCode", "int16", "0+"),
      f("errorMessage", "string", "0+", { nullableVersions: "0+", default: null }),
    ]),
  ],
  "2+",
);

// ---------------------------------------------------------------- DeleteGroups (42), flexible 2+

export const deleteGroups = api(
  ApiKey.DeleteGroups,
  "DeleteGroups",
  "0-2",
  [f("groupsNames", "[]string", "0+")],
  [throttleTimeMs("0+"), arr("results", "0+", [f("groupId", "string", "0+"), f("errorCode", "int16", "0+")])],
  "2+",
);

// ---------------------------------------------------------------- IncrementalAlterConfigs (44), flexible 1+

export const incrementalAlterConfigs = api(
  ApiKey.IncrementalAlterConfigs,
  "IncrementalAlterConfigs",
  "0-1",
  [
    arr("resources", "0+", [
      f("resourceType", "int8", "0+"),
      f("resourceName", "string", "0+"),
      arr("configs", "0+", [
        f("name", "string", "0+"),
        f("configOperation", "int8", "0+"),
        f("value", "string", "0+", { nullableVersions: "0+" }),
      ]),
    ]),
    f("validateOnly", "bool", "0+"),
  ],
  alterConfigsResponse,
  "1+",
);

export const apiSpecs: ReadonlyMap<number, ApiSpec> = new Map<number, ApiSpec>(
  [
    produce,
    fetch,
    listOffsets,
    metadata,
    offsetCommit,
    offsetFetch,
    findCoordinator,
    joinGroup,
    heartbeat,
    leaveGroup,
    syncGroup,
    describeGroups,
    listGroups,
    saslHandshake,
    apiVersions,
    createTopics,
    deleteTopics,
    initProducerId,
    offsetForLeaderEpoch,
    describeConfigs,
    saslAuthenticate,
    deleteRecords,
    alterConfigs,
    createPartitions,
    deleteGroups,
    incrementalAlterConfigs,
  ].map((spec) => [spec.request.apiKey, spec]),
);
