import { Prisma } from "@prisma/client";
import { maskReplayEdits, type MaskRules } from "../../../lib/mask.ts";
import type { AuditLogPage } from "../../../lib/api-schemas/dead-letters.ts";
import { checkLimit, decodeIdCursor, encodeIdCursor, maskRulesOf, runQuery, select, type Queryable } from "./shared.ts";

export interface ListAuditLogOptions {
  actor?: string;
  action?: string;
  /** e.g. dead-letter + its id: one thing's history. */
  targetType?: string;
  targetId?: string;
  cursor?: string;
  /** 1..500, default 100. */
  limit?: number;
}

const CURSOR_TAG = "audit";

/** The audit log, newest first, keyset-paged on (at, id). Index: audit_log_at_idx (target: audit_log_target_type_target_id_idx). */
export async function listAuditLog(db: Queryable, options: ListAuditLogOptions = {}): Promise<AuditLogPage> {
  const limit = checkLimit(options.limit, 100, 500);
  const conditions: Prisma.Sql[] = [];
  if (options.actor) conditions.push(Prisma.sql`a.actor = ${options.actor}::text`);
  if (options.action) conditions.push(Prisma.sql`a.action = ${options.action}::text`);
  if (options.targetType) conditions.push(Prisma.sql`a.target_type = ${options.targetType}::text`);
  if (options.targetId) conditions.push(Prisma.sql`a.target_id = ${options.targetId}::text`);
  if (options.cursor !== undefined) {
    const before = decodeIdCursor(CURSOR_TAG, options.cursor);
    conditions.push(Prisma.sql`(a.at, a.id) < (${new Date(before.timestampMs)}::timestamptz, ${before.id}::bigint)`);
  }
  const where = conditions.length > 0 ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty;
  return runQuery("reading the audit log", async () => {
    const rows = await select<{
      id: string;
      at: Date;
      actor: string;
      action: string;
      target_type: string;
      target_id: string;
      details: unknown;
      result: string;
      error: string | null;
    }>(
      db,
      Prisma.sql`SELECT a.id::text AS id, a.at, a.actor, a.action, a.target_type, a.target_id, a.details, a.result, a.error
        FROM audit_log a ${where} ORDER BY a.at DESC, a.id DESC LIMIT ${limit + 1}::int`,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const mask = maskRulesOf(db);
    return {
      entries: page.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actor: r.actor,
        action: r.action,
        targetType: r.target_type,
        targetId: r.target_id,
        details: maskDetails(r.details, mask),
        result: r.result,
        error: r.error,
      })),
      nextCursor: rows.length > limit && last ? encodeIdCursor(CURSOR_TAG, last.at.getTime(), last.id) : null,
    };
  });
}

/** A replay's entry records the edits it sent: masked fields stay masked in the log too. */
function maskDetails(details: unknown, mask: MaskRules): unknown {
  if (typeof details !== "object" || details === null || !("edits" in details)) return details;
  const edits = maskReplayEdits(details.edits, mask);
  return edits === details.edits ? details : { ...details, edits };
}
