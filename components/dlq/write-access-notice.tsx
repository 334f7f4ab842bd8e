import Link from "next/link";
import type { AuthState } from "@/lib/api-schemas/auth";
import styles from "./dlq.module.css";

/** Why replay buttons are absent, when they are: read-only, not signed in, or a read-only token. */
export function WriteAccessNotice({ auth, next = "/dead-letters" }: { auth: AuthState; next?: string }) {
  if (!auth.writesEnabled) {
    return (
      <p className={styles.dlqNotice} role="note">
        Read-only: no admin token is configured, so replay, resolve and discard are off. Set EVENTSCOPE_ADMIN_TOKEN (or
        EVENTSCOPE_USERS_FILE) to enable them.
      </p>
    );
  }
  if (auth.principal === null) {
    return (
      <p className={styles.dlqNotice} role="note">
        <Link href={`/login?next=${encodeURIComponent(next)}`}>Sign in</Link> to replay, resolve or discard dead letters.
      </p>
    );
  }
  if (auth.principal.role !== "admin") {
    return (
      <p className={styles.dlqNotice} role="note">
        Signed in with a read-only token: replay needs an admin token.
      </p>
    );
  }
  return null;
}
