import { describe, expect, it } from "vitest";
import type { CollectorHealthReport } from "@/lib/api-schemas/health";
import { staleMessage } from "./stale-banner";

const checkedAt = "2026-12-05T10:00:00.000Z";

function report(fields: Partial<CollectorHealthReport>): CollectorHealthReport {
  return {
    checkedAt,
    pollMs: 5_000,
    collectorGroup: "eventscope-collector",
    instances: [
      {
        instanceId: "host-1-abc",
        host: "host",
        pid: 1,
        startedAt: checkedAt,
        lastPollAt: checkedAt,
        lastStoredAt: checkedAt,
        lastAdminPollAt: checkedAt,
        ownLag: "0",
        lastError: null,
        lastErrorAt: null,
        updatedAt: checkedAt,
        status: "running",
      },
    ],
    lastPollAt: checkedAt,
    lastAdminPollAt: checkedAt,
    ownLag: { offsetLag: "0", timeLagMs: 0, sampledAt: checkedAt },
    lastError: null,
    stalled: [],
    stale: false,
    staleReason: null,
    sources: [],
    ...fields,
  };
}

const stall = {
  source: "default",
  topic: "orders",
  partition: 2,
  fromOffset: "1040",
  toOffset: "1042",
  codec: "zstd",
  error: "Unknown frame descriptor",
  attempts: 2,
  since: checkedAt,
} as const;

const sourceHealth = (name: string, staleReason: string | null, lastError: string | null = null) => ({
  name,
  kind: "kafka",
  instances: 1,
  lastPollAt: checkedAt,
  lastAdminPollAt: checkedAt,
  lastError: lastError === null ? null : { message: lastError, at: checkedAt, instanceId: `host-1-${name}` },
  stalled: 0,
  stale: staleReason !== null,
  staleReason,
});

describe("the data-is-stale banner's words", () => {
  it("names the source that is down, its error, and the sources still collected", () => {
    const text = staleMessage(
      report({
        stale: true,
        staleReason: "source warehouse: the collector has not polled Kafka for 1 min",
        sources: [
          sourceHealth("default", null),
          sourceHealth("warehouse", "the collector has not polled Kafka for 1 min", "Connection error: connect ECONNREFUSED 127.0.0.1:9093"),
        ],
      }),
    );
    expect(text).toBe(
      "Source warehouse is stale: the collector has not polled Kafka for 1 min. Last error: Connection error: connect ECONNREFUSED 127.0.0.1:9093 Still collected: default.",
    );
  });

  it("says nothing while the data is current and nothing was skipped", () => {
    expect(staleMessage(report({}))).toBeNull();
  });

  it("names the topic-partition, the offsets and the error of a partition being retried", () => {
    const text = staleMessage(
      report({
        stale: true,
        staleReason: "orders-2 offsets 1040..1042 (zstd) cannot be decoded: Unknown frame descriptor, fetched 2 time(s) so far",
        stalled: [{ ...stall, state: "retrying" }],
        lastError: null,
      }),
    );
    expect(text).toContain("Why: orders-2 offsets 1040..1042 (zstd) cannot be decoded: Unknown frame descriptor");
  });

  it("tells about ranges skipped within the hour even when the data is current", () => {
    const text = staleMessage(report({ stalled: [{ ...stall, state: "stored" }] }));
    expect(text).toBe(
      "Not decodable, stored as flagged rows and skipped in the last hour: orders-2 offsets 1040..1042 (zstd) cannot be decoded: Unknown frame descriptor.",
    );
  });

  it("shows the last error, a consumer crash included", () => {
    const text = staleMessage(
      report({
        stale: true,
        lastPollAt: "2026-12-05T09:58:00.000Z",
        staleReason: "the collector has not polled Kafka for 2 min",
        lastError: { message: "consumer crashed: KafkaJSProtocolError: broker gone", at: checkedAt, instanceId: "host-1-abc" },
      }),
    );
    expect(text).toBe("Data is stale: the collector last polled Kafka 2 min ago. Last error: consumer crashed: KafkaJSProtocolError: broker gone");
  });

  it("names RabbitMQ, not Kafka, when the only source is a RabbitMQ one", () => {
    const text = staleMessage(
      report({
        stale: true,
        lastPollAt: "2026-12-05T09:58:00.000Z",
        staleReason: "the collector has not polled RabbitMQ for 2 min",
        sources: [{ ...sourceHealth("shop-rabbit", "the collector has not polled RabbitMQ for 2 min"), kind: "rabbitmq" }],
      }),
    );
    expect(text).toBe("Data is stale: the collector last polled RabbitMQ 2 min ago.");
  });
});
