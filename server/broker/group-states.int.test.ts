/**
 * The group coordinator's answers to OffsetCommit and Heartbeat in each group state, over the wire
 * with hand-made requests, compared with what Apache Kafka's classic group coordinator answers:
 * the generation is checked first (ILLEGAL_GENERATION), commits of the current generation are
 * stored in Stable and PreparingRebalance and refused with REBALANCE_IN_PROGRESS only in
 * CompletingRebalance, and heartbeats get REBALANCE_IN_PROGRESS only in PreparingRebalance (in
 * CompletingRebalance a member of the new generation is answered NONE, as Kafka 2.x to 4.x do).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "./broker.ts";
import { ErrorCode } from "./protocol/errors.ts";
import { describeGroups, heartbeat, joinGroup, metadata, offsetCommit, offsetFetch, syncGroup } from "./protocol/messages.ts";
import { RawClient } from "./raw-client.ts";
import { uniqueName } from "./test-support.ts";

let broker: RunningBroker;
const clients: RawClient[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, minSessionTimeoutMs: 1000, log: () => {} });
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

const PROTOCOL = [{ name: "range", metadata: Buffer.from("m") }];

function join(c: RawClient, groupId: string, memberId = ""): Promise<{ errorCode: number; generationId: number; memberId: string; leader: string }> {
  return c.call(joinGroup, 5, {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: PROTOCOL,
  }) as Promise<{ errorCode: number; generationId: number; memberId: string; leader: string }>;
}

async function beat(c: RawClient, groupId: string, generationId: number, memberId: string): Promise<number> {
  const r = await c.call(heartbeat, 3, { groupId, generationId, memberId, groupInstanceId: null });
  return r.errorCode as number;
}

async function commit(c: RawClient, groupId: string, generationId: number, memberId: string, topic: string, offset: number): Promise<number> {
  const r = await c.call(offsetCommit, 7, {
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
  return (r.topics as { partitions: { errorCode: number }[] }[])[0]!.partitions[0]!.errorCode;
}

async function committed(c: RawClient, groupId: string, topic: string): Promise<number> {
  const r = await c.call(offsetFetch, 5, { groupId, topics: [{ name: topic, partitionIndexes: [0] }] });
  return (r.topics as { partitions: { committedOffset: number }[] }[])[0]!.partitions[0]!.committedOffset;
}

async function state(c: RawClient, groupId: string): Promise<string> {
  const r = await c.call(describeGroups, 4, { groups: [groupId], includeAuthorizedOperations: false });
  return (r.groups as { groupState: string }[])[0]!.groupState;
}

/** A topic with one partition, created by a metadata request (auto-creation). */
async function makeTopic(c: RawClient): Promise<string> {
  const topic = uniqueName("group-states");
  await c.call(metadata, 8, { topics: [{ name: topic }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  return topic;
}

describe("group coordinator states", () => {
  test("CompletingRebalance: a commit of the new generation gets REBALANCE_IN_PROGRESS, its heartbeat NONE; an older generation ILLEGAL_GENERATION", async () => {
    const a = await connect();
    const topic = await makeTopic(a);
    const groupId = uniqueName("completing");
    const joined = await join(a, groupId);
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    expect(await state(a, groupId)).toBe("CompletingRebalance");

    expect(await commit(a, groupId, joined.generationId, joined.memberId, topic, 5)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(await committed(a, groupId, topic)).toBe(-1);
    expect(await beat(a, groupId, joined.generationId, joined.memberId)).toBe(ErrorCode.NONE);
    expect(await beat(a, groupId, joined.generationId - 1, joined.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await commit(a, groupId, joined.generationId - 1, joined.memberId, topic, 5)).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  test("Stable: commits and heartbeats of the current generation are accepted", async () => {
    const a = await connect();
    const topic = await makeTopic(a);
    const groupId = uniqueName("stable");
    const joined = await join(a, groupId);
    const synced = await a.call(syncGroup, 3, {
      groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from("all") }],
    });
    expect(synced.errorCode).toBe(ErrorCode.NONE);
    expect(await state(a, groupId)).toBe("Stable");
    expect(await beat(a, groupId, joined.generationId, joined.memberId)).toBe(ErrorCode.NONE);
    expect(await commit(a, groupId, joined.generationId, joined.memberId, topic, 7)).toBe(ErrorCode.NONE);
    expect(await committed(a, groupId, topic)).toBe(7);
    expect(await beat(a, groupId, joined.generationId + 1, joined.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  test("PreparingRebalance: a member of the current generation commits the partitions it gives up; its heartbeat says REBALANCE_IN_PROGRESS", async () => {
    const a = await connect();
    const b = await connect();
    const topic = await makeTopic(a);
    const groupId = uniqueName("preparing");
    const joined = await join(a, groupId);
    await a.call(syncGroup, 3, {
      groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from("all") }],
    });
    // A second member joins: the group waits for the first to rejoin.
    const secondJoin = join(b, groupId);
    for (let i = 0; i < 100 && (await state(a, groupId)) !== "PreparingRebalance"; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await state(a, groupId)).toBe("PreparingRebalance");

    expect(await commit(a, groupId, joined.generationId, joined.memberId, topic, 11)).toBe(ErrorCode.NONE);
    expect(await committed(a, groupId, topic)).toBe(11);
    expect(await beat(a, groupId, joined.generationId, joined.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    // The generation is checked before the state.
    expect(await beat(a, groupId, joined.generationId - 1, joined.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await commit(a, groupId, joined.generationId - 1, joined.memberId, topic, 12)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await committed(a, groupId, topic)).toBe(11);

    // The first member rejoins and both are in the next generation.
    const [again, second] = await Promise.all([join(a, groupId, joined.memberId), secondJoin]);
    expect(again.errorCode).toBe(ErrorCode.NONE);
    expect(second.errorCode).toBe(ErrorCode.NONE);
    expect(again.generationId).toBe(joined.generationId + 1);
  });
});
