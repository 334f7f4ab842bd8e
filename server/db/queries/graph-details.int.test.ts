/**
 * The flow graph's side-panel queries against a real PostgreSQL, with cluster state written
 * through the admin poller's functions. Expectations worked out by hand from the fixture.
 */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, ValidationError } from "../../../lib/errors.ts";
import { syncConsumerGroups, syncTopics, upsertCommittedOffsets } from "../cluster-state.ts";
import { undecodableRangeRow } from "../../collector/to-event-row.ts";
import { ingestEvents } from "../ingest.ts";
import { createTestDatabase, type TestDatabase } from "../test-support.ts";
import { getGroupDetail, getTopicDetail } from "./index.ts";

const suffix = crypto.randomBytes(3).toString("hex");
const ORDERS = `orders-${suffix}`;
const PAYMENTS = `payments-${suffix}`;
const INVENTORY = `inventory-service-${suffix}`;
const IDLE = `idle-${suffix}`;
const AT = new Date(Math.floor(Date.now() / 1000) * 1000);

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  const partitions = (ends: number[], start = 0) => ends.map((end, partition) => ({ partition, leader: 1, endOffset: String(end), startOffset: String(start) }));
  await syncTopics(
    db,
    1,
    [
      { name: ORDERS, kind: "normal", of: null, internal: false, partitions: partitions([10, 7, 0], 0) },
      { name: PAYMENTS, kind: "normal", of: null, internal: false, partitions: partitions([4]) },
    ],
    { at: AT },
  );
  await syncConsumerGroups(
    db,
    1,
    [
      {
        groupId: INVENTORY,
        state: "Stable",
        protocolType: "consumer",
        protocol: "range",
        members: [
          { memberId: "m-2", clientId: "inventory", clientHost: "/10.0.0.2", assignments: [{ topic: ORDERS, partition: 2 }, { topic: PAYMENTS, partition: 0 }] },
          { memberId: "m-1", clientId: "inventory", clientHost: "/10.0.0.1", assignments: [{ topic: ORDERS, partition: 1 }, { topic: ORDERS, partition: 0 }] },
        ],
      },
      { groupId: IDLE, state: "Empty", protocolType: "consumer", protocol: null, members: [] },
    ],
    { at: AT },
  );
  await upsertCommittedOffsets(
    db,
    1,
    [
      { groupId: INVENTORY, topic: ORDERS, partition: 0, committedOffset: "8" },
      { groupId: INVENTORY, topic: ORDERS, partition: 1, committedOffset: "7" },
      { groupId: INVENTORY, topic: ORDERS, partition: 2, committedOffset: "-1" },
      { groupId: INVENTORY, topic: PAYMENTS, partition: 0, committedOffset: "1" },
    ],
    { at: AT },
  );
});

afterAll(async () => {
  await db?.drop();
});

describe("getTopicDetail", () => {
  it("lists the partitions with their offsets and the groups reading the topic with their lag", async () => {
    const detail = await getTopicDetail(db, ORDERS);
    expect(detail.partitions).toEqual([
      { partition: 0, startOffset: "0", endOffset: "10" },
      { partition: 1, startOffset: "0", endOffset: "7" },
      { partition: 2, startOffset: "0", endOffset: "0" },
    ]);
    expect(detail.consumers.map((g) => [g.groupId, g.offsetLag, g.unknownLagPartitions])).toEqual([[INVENTORY, "2", 1]]);
    expect(detail.consumers[0]!.members.map((m) => [m.memberId, m.partitions])).toEqual([
      ["m-1", [0, 1]],
      ["m-2", [2]],
    ]);
  });

  it("lists the ranges stored as undecodable batches, and none for a topic without", async () => {
    await ingestEvents(db, [
      undecodableRangeRow(1, PAYMENTS, 0, { firstOffset: "1", lastOffset: "3", recordCount: 3, codec: "zstd", error: "Unknown frame descriptor", raw: Buffer.from([0x28, 0xb5]), firstTimestamp: AT.getTime() }, {
        fromOffset: "1",
        attempts: 3,
        since: AT,
        maxValueBytes: 1_048_576,
      }),
    ]);
    const detail = await getTopicDetail(db, PAYMENTS);
    expect(detail.undecodable).toEqual([
      { partition: 0, fromOffset: "1", toOffset: "3", codec: "zstd", error: "Unknown frame descriptor", storedAt: expect.any(String) },
    ]);
    expect((await getTopicDetail(db, ORDERS)).undecodable).toEqual([]);
  });

  it("is a NotFoundError for a topic never seen, a ValidationError for an empty name", async () => {
    await expect(getTopicDetail(db, `nope-${suffix}`)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getTopicDetail(db, "")).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("getGroupDetail", () => {
  it("lists members with their assignments by topic and the lag of every partition", async () => {
    const detail = await getGroupDetail(db, INVENTORY);
    expect(detail.state).toBe("Stable");
    expect(detail.members).toEqual([
      { memberId: "m-1", clientId: "inventory", clientHost: "/10.0.0.1", assignments: [{ topic: ORDERS, partitions: [0, 1] }] },
      {
        memberId: "m-2",
        clientId: "inventory",
        clientHost: "/10.0.0.2",
        assignments: [
          { topic: ORDERS, partitions: [2] },
          { topic: PAYMENTS, partitions: [0] },
        ],
      },
    ]);
    // orders: 10−8 + 7−7 + unknown; payments: 4−1.
    expect(detail.totalLag).toBe("5");
    expect(detail.partitions.map((p) => [p.topic, p.partition, p.committedOffset, p.offsetLag])).toEqual([
      [ORDERS, 0, "8", "2"],
      [ORDERS, 1, "7", "0"],
      [ORDERS, 2, null, null],
      [PAYMENTS, 0, "1", "3"],
    ]);
  });

  it("shows a group without members or offsets, and 404s an unknown one", async () => {
    const idle = await getGroupDetail(db, IDLE);
    expect(idle).toMatchObject({ state: "Empty", members: [], totalLag: null, partitions: [] });
    await expect(getGroupDetail(db, `nope-${suffix}`)).rejects.toBeInstanceOf(NotFoundError);
  });
});
