import { Prisma } from "@prisma/client";
import { runQuery, select, type Queryable } from "./queries/shared.ts";

/**
 * The audit log's write side: one row per write (replay, resolve, discard, failed sign-in): who,
 * what, when, result. No foreign keys: the log outlives what it talks about.
 */
export interface AuditEntryInput {
  actor: string;
  /** replay, replay-bulk, resolve, discard, login-failed, … */
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown> | null;
  result: "ok" | "error";
  error?: string | null;
}

/** Appends one entry; returns its id (decimal). */
export async function recordAudit(db: Queryable, entry: AuditEntryInput): Promise<string> {
  return runQuery("writing the audit log", async () => {
    const rows = await select<{ id: string }>(
      db,
      Prisma.sql`
        INSERT INTO audit_log (actor, action, target_type, target_id, details, result, error)
        VALUES (${entry.actor}::text, ${entry.action}::text, ${entry.targetType}::text, ${entry.targetId}::text,
          ${entry.details === undefined || entry.details === null ? null : JSON.stringify(entry.details)}::jsonb,
          ${entry.result}::text, ${entry.error ?? null}::text)
        RETURNING id::text AS id`,
    );
    return rows[0]!.id;
  });
}
