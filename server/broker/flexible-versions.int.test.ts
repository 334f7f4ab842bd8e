/**
 * The flexible versions (KIP-482) of the broker's APIs over the wire, with hand-made requests in
 * request header v2 and responses read past response header v1: ApiVersions v3 with the client's
 * software name, topic ids in Metadata, CreateTopics and DeleteTopics, a produce and fetch round
 * trip, batched FindCoordinator and OffsetFetch, and the group APIs' new fields.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { decodeMessage, Reader } from "./protocol/codec.ts";
import { ErrorCode } from "./protocol/errors.ts";
import {
  ApiKey,
  apiVersions,
  createTopics,
  deleteTopics,
  fetch,
  findCoordinator,
  listOffsets,
  joinGroup,
  listGroups,
  metadata,
  offsetCommit,
  offsetFetch,
  produce,
  syncGroup,
} from "./protocol/messages.ts";
import { encodeBody, RawClient } from "./raw-client.ts";
import { decodeRecords, encodeRecordBatch } from "./record-batch.ts";
import { BrokerLogCollector, uniqueName } from "./test-support.ts";

let broker: RunningBroker;
const brokerLog = new BrokerLogCollector();
const clients: RawClient[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, minSessionTimeoutMs: 1000, log: brokerLog.log });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

afterAll(async () => {
  await broker?.stop();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(broker.address);
  clients.push(c);
  return c;
}

async function createTopic(c: RawClient, name: string, numPartitions: number): Promise<Buffer> {
  const r = await c.call(createTopics, 7, {
    topics: [{ name, numPartitions, replicationFactor: -1, assignments: [], configs: [{ name: "retention.ms", value: "3600000" }] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const t = (r.topics as { errorCode: number; topicId: Buffer; numPartitions: number; replicationFactor: number; configs: { name: string; value: string; configSource: number }[] }[])[0]!;
  expect(t.errorCode).toBe(0);
  expect(t.numPartitions).toBe(numPartitions);
  expect(t.replicationFactor).toBe(1);
  expect(t.configs.find((x) => x.name === "retention.ms")).toMatchObject({ value: "3600000", configSource: 1 });
  expect(t.configs.find((x) => x.name === "cleanup.policy")).toMatchObject({ value: "delete", configSource: 5 });
  expect(t.topicId.equals(Buffer.alloc(16))).toBe(false);
  return t.topicId;
}

describe("flexible versions", () => {
  test("ApiVersions v3 answers in header v0 with every API's range; a bad client software name is INVALID_REQUEST", async () => {
    const c = await connect();
    const r = await c.call(apiVersions, 3, { clientSoftwareName: "eventscope-test", clientSoftwareVersion: "1.0.0" });
    expect(r.errorCode).toBe(0);
    const keys = new Map((r.apiKeys as { apiKey: number; maxVersion: number }[]).map((k) => [k.apiKey, k.maxVersion]));
    expect(keys.get(ApiKey.ApiVersions)).toBe(4);
    expect(keys.get(ApiKey.Fetch)).toBe(13);
    expect(keys.get(ApiKey.Metadata)).toBe(12);
    const bad = await c.call(apiVersions, 3, { clientSoftwareName: "-bad name-", clientSoftwareVersion: "1" });
    expect(bad.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  test("topic ids: CreateTopics v7 gives one, Metadata v12 finds the topic by it, DeleteTopics v6 deletes by it", async () => {
    const c = await connect();
    const name = uniqueName("flex-ids");
    const id = await createTopic(c, name, 2);
    const byName = await c.call(metadata, 12, { topics: [{ topicId: Buffer.alloc(16), name }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const t = (byName.topics as { name: string; topicId: Buffer; partitions: unknown[] }[])[0]!;
    expect(t.topicId).toEqual(id);
    expect(t.partitions).toHaveLength(2);
    const byId = await c.call(metadata, 12, { topics: [{ topicId: id, name: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect((byId.topics as { name: string }[])[0]!.name).toBe(name);

    const deleted = await c.call(deleteTopics, 6, { topics: [{ name: null, topicId: id }], timeoutMs: 5000 });
    expect(deleted.responses).toEqual([{ name, topicId: id, errorCode: 0, errorMessage: null }]);
    const gone = await c.call(metadata, 12, { topics: [{ topicId: id, name: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect((gone.topics as { errorCode: number }[])[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  test("Produce v9 and Fetch v12 (by name) and v13 (by topic id) carry record batches in compact records", async () => {
    const c = await connect();
    const topic = uniqueName("flex-data");
    const topicId = await createTopic(c, topic, 1);
    const batch = encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: Buffer.from("k"), value: Buffer.from("flexible"), headers: [{ key: "h", value: Buffer.from("v") }] }] });
    const produced = await c.call(produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
    expect(produced.responses).toMatchObject([{ name: topic, partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 0 }] }]);

    const fetched = await c.call(fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: "",
    });
    const part = (fetched.responses as { partitions: { errorCode: number; highWatermark: number; records: Buffer }[] }[])[0]!.partitions[0]!;
    expect(part).toMatchObject({ errorCode: 0, highWatermark: 1 });
    const [record] = decodeRecords(part.records);
    expect(record).toMatchObject({ offset: 0, key: Buffer.from("k"), value: Buffer.from("flexible"), headers: [{ key: "h", value: Buffer.from("v") }] });

    const fetchById = (id: Buffer) =>
      c.call(fetch, 13, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topicId: id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: "",
      });
    const byId = (await fetchById(topicId)).responses as { topicId: Buffer; partitions: { errorCode: number; records: Buffer }[] }[];
    expect(byId[0]!.topicId).toEqual(topicId);
    expect(byId[0]!.partitions[0]!.errorCode).toBe(0);
    expect(byId[0]!.partitions[0]!.records).toEqual(part.records);
    const unknown = (await fetchById(Buffer.alloc(16, 7))).responses as { partitions: { errorCode: number }[] }[];
    expect(unknown[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  test("ListOffsets v7 finds the record with the largest timestamp (-3), v8 the earliest local offset (-4)", async () => {
    const c = await connect();
    const topic = uniqueName("flex-max-ts");
    await createTopic(c, topic, 1);
    const base = Date.now() - 60_000;
    // Offsets 0-1 at base+1000 and base+9000, offsets 2-3 at base+5000 and base+9000.
    for (const deltas of [[1000, 9000], [5000, 9000]]) {
      const batch = encodeRecordBatch({ baseTimestamp: base, records: deltas.map((d) => ({ key: null, value: Buffer.from(String(d)), timestampDelta: d })) });
      const r = await c.call(produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
      expect((r.responses as { partitionResponses: { errorCode: number }[] }[])[0]!.partitionResponses[0]!.errorCode).toBe(0);
    }
    const list = async (version: number, timestamp: number) => {
      const r = await c.call(listOffsets, version, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
      });
      const p = (r.topics as { partitions: { errorCode: number; offset: number; timestamp: number }[] }[])[0]!.partitions[0]!;
      return { errorCode: p.errorCode, offset: p.offset, timestamp: p.timestamp };
    };
    expect(await list(7, -3)).toEqual({ errorCode: 0, offset: 1, timestamp: base + 9000 });
    expect(await list(8, -4)).toEqual({ errorCode: 0, offset: 0, timestamp: -1 });
    expect(await list(8, -1)).toEqual({ errorCode: 0, offset: 4, timestamp: -1 });
  });

  test("a tagged field in the request header is read past", async () => {
    const c = await connect();
    const body = encodeBody(apiVersions.request, 3, { clientSoftwareName: "tagged", clientSoftwareVersion: "1" });
    // Header v2 with one tagged field (tag 0, two bytes) instead of the empty section.
    const head = Buffer.concat([Buffer.from([0, ApiKey.ApiVersions, 0, 3, 0, 0, 0, 99, 0, 1, 0x78]), Buffer.from([0x01, 0x00, 0x02, 0xab, 0xcd])]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(head.length + body.length);
    const response = new Promise<Buffer>((resolve) => c.socket.once("data", (d: Buffer) => resolve(d)));
    c.write(Buffer.concat([size, head, body]));
    const frame = await response;
    expect(frame.readInt32BE(4)).toBe(99);
    expect(decodeMessage(apiVersions.response, 3, new Reader(frame.subarray(8))).errorCode).toBe(0);
  });

  test("FindCoordinator v4 answers each key; OffsetFetch v8 answers several groups; JoinGroup v7+ and SyncGroup v5 name the protocol", async () => {
    const c = await connect();
    const topic = uniqueName("flex-groups");
    await createTopic(c, topic, 1);
    const coordinators = await c.call(findCoordinator, 4, { keyType: 0, coordinatorKeys: ["g1", "g2"] });
    expect((coordinators.coordinators as { key: string; nodeId: number; port: number; errorCode: number }[]).map((x) => [x.key, x.nodeId, x.port, x.errorCode])).toEqual([
      ["g1", 0, broker.port, 0],
      ["g2", 0, broker.port, 0],
    ]);

    const groupId = uniqueName("flex-group");
    const joined = await c.call(joinGroup, 9, {
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: Buffer.from("m") }],
      reason: null,
    });
    expect(joined).toMatchObject({ errorCode: 0, protocolType: "consumer", protocolName: "range", skipAssignment: false });
    const synced = await c.call(syncGroup, 5, {
      groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: "range",
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from("a") }],
    });
    expect(synced).toMatchObject({ errorCode: 0, protocolType: "consumer", protocolName: "range", assignment: Buffer.from("a") });
    const committed = await c.call(offsetCommit, 9, {
      groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: "md" }] }],
    });
    expect(committed.topics).toEqual([{ name: topic, partitions: [{ partitionIndex: 0, errorCode: 0 }] }]);

    const offsets = await c.call(offsetFetch, 8, {
      groups: [
        { groupId, topics: [{ name: topic, partitionIndexes: [0] }] },
        { groupId: uniqueName("flex-nobody"), topics: null },
      ],
      requireStable: false,
    });
    expect(offsets.groups).toEqual([
      { groupId, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, metadata: "md", errorCode: 0 }] }], errorCode: 0 },
      { groupId: expect.stringMatching(/^flex-nobody/), topics: [], errorCode: 0 },
    ]);

    const stable = await c.call(listGroups, 4, { statesFilter: ["stable"] });
    expect((stable.groups as { groupId: string; groupState: string }[]).find((g) => g.groupId === groupId)).toEqual({ groupId, protocolType: "consumer", groupState: "Stable" });
    const empty = await c.call(listGroups, 4, { statesFilter: ["Empty"] });
    expect((empty.groups as { groupId: string }[]).some((g) => g.groupId === groupId)).toBe(false);
  });
});
