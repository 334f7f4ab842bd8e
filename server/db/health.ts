import type { PrismaClient } from "@prisma/client";
import type { StalledPartition } from "../../lib/api-schemas/health.ts";
import { toDatabaseError } from "./errors.ts";

/** A collector process's own health, as GET /api/health serves it. */
export interface CollectorHealthUpdate {
  instanceId: string;
  /** The source the reporting pipeline collects (sources.id). */
  sourceId: number;
  host: string;
  pid: number;
  startedAt: Date;
  /** Fields left undefined keep their stored value; null clears it (e.g. lastError after recovery). */
  lastPollAt?: Date | null;
  lastStoredAt?: Date | null;
  lastAdminPollAt?: Date | null;
  /** Records the collector's own group is behind, over its partitions. */
  ownLag?: number | bigint | null;
  lastError?: string | null;
  lastErrorAt?: Date | null;
  /** Partitions held up by a batch that does not decode, being fetched again (replaces the stored list). */
  stalled?: readonly StalledPartitionUpdate[];
  /** Conditions that stop nothing but that the user should act on, in words (replaces the stored list). */
  warnings?: readonly string[];
  /** Whether this pipeline stores RabbitMQ deliveries (a source with `deliveries: firehose`). */
  deliveries?: boolean;
}

/** A partition being retried, as the collector reports it (GET /api/health adds its state). */
export type StalledPartitionUpdate = Omit<StalledPartition, "since" | "state"> & { since: Date };

/** Upserts the instance's row; cheap enough to call on every poll (one row per process). */
export async function recordCollectorHealth(
  db: { prisma: PrismaClient },
  update: CollectorHealthUpdate,
): Promise<void> {
  const ownLag =
    update.ownLag === undefined || update.ownLag === null ? update.ownLag : BigInt(update.ownLag);
  const fields = {
    sourceId: update.sourceId,
    host: update.host,
    pid: update.pid,
    startedAt: update.startedAt,
    lastPollAt: update.lastPollAt,
    lastStoredAt: update.lastStoredAt,
    lastAdminPollAt: update.lastAdminPollAt,
    ownLag,
    lastError: update.lastError,
    lastErrorAt: update.lastErrorAt,
    stalled:
      update.stalled === undefined
        ? undefined
        : update.stalled.map((stall) => ({ ...stall, since: stall.since.toISOString() })),
    warnings: update.warnings === undefined ? undefined : [...update.warnings],
    deliveries: update.deliveries,
    updatedAt: new Date(),
  };
  try {
    await db.prisma.collectorInstance.upsert({
      where: { instanceId: update.instanceId },
      create: { instanceId: update.instanceId, ...fields },
      update: fields,
    });
  } catch (error) {
    throw toDatabaseError(error, "recording collector health");
  }
}

/** Every collector instance's row, most recently updated first. */
export async function listCollectorHealth(db: { prisma: PrismaClient }) {
  try {
    return await db.prisma.collectorInstance.findMany({ orderBy: { updatedAt: "desc" } });
  } catch (error) {
    throw toDatabaseError(error, "reading collector health");
  }
}
