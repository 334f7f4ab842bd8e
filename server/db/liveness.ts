import type { Liveness } from "../../lib/api-schemas/liveness.ts";
import type { Queryable } from "./queries/shared.ts";

/**
 * Whether the web server can serve: its database opens and answers. Never throws, and keeps why
 * it is down to itself: the answer is public (GET /api/health/live), and a connection error names
 * hosts and users.
 */
export async function checkLiveness(open: () => Promise<Queryable>): Promise<Liveness> {
  try {
    const db = await open();
    await db.pool.query("SELECT 1");
    return { status: "up" };
  } catch {
    return { status: "down" };
  }
}
