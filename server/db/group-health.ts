import { Prisma } from "@prisma/client";
import { evaluateGroupHealth, HEALTH_WINDOW_MS, type GroupHealth } from "../../lib/lag-health.ts";
import { toDatabaseError } from "./errors.ts";
import { readSampleWindows } from "./queries/group-lag.ts";
import { groupBy, select, type Queryable } from "./queries/shared.ts";

/**
 * Group health judged on write: after each poll, the admin poller has every group's lag samples of
 * the last HEALTH_WINDOW_MS judged by lib/lag-health.ts and stored on consumer_groups, so the flow
 * graph reads one status per group instead of thousands of samples per request (shipping 9,000
 * samples to JavaScript cost ~60 ms on the 2-core machine; 100 groups would be several times that).
 * The group page, which shows one group over a window the user picks, judges its own samples.
 */


/**
 * Judges every live group over the samples in (at − windowMs, at] and stores the verdicts. A
 * group without samples in the window gets OK with the reason "no committed offsets to judge".
 * Returns the verdicts by group id.
 */
export async function updateGroupHealth(
  db: Queryable,
  /** The source whose groups are judged (sources.id). */
  sourceId: number,
  options: { at?: Date; windowMs?: number } = {},
): Promise<Map<string, GroupHealth>> {
  const at = options.at ?? new Date();
  const windowMs = options.windowMs ?? HEALTH_WINDOW_MS;
  try {
    const [groups, windows] = await Promise.all([
      select<{ group_id: string; state: string }>(db, Prisma.sql`
        SELECT group_id, state FROM consumer_groups WHERE source_id = ${sourceId} AND deleted_at IS NULL ORDER BY group_id`),
      readSampleWindows(db, new Date(at.getTime() - windowMs), at, { sourceId }),
    ]);
    const windowsByGroup = groupBy(windows, (w) => w.groupId);
    const verdicts = new Map<string, GroupHealth>();
    for (const group of groups) verdicts.set(group.group_id, evaluateGroupHealth(group.state, windowsByGroup.get(group.group_id) ?? [], { windowMs }));
    const ids = [...verdicts.keys()];
    await db.pool.query(
      `UPDATE consumer_groups g SET health_status = u.status, health_reason = u.reason, health_at = $4
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u(group_id, status, reason)
       WHERE g.source_id = $5 AND g.group_id = u.group_id`,
      [ids, ids.map((id) => verdicts.get(id)!.status), ids.map((id) => verdicts.get(id)!.reason), at, sourceId],
    );
    return verdicts;
  } catch (error) {
    throw toDatabaseError(error, "judging consumer group health");
  }
}
