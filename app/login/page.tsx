import { headers } from "next/headers";
import { authenticateHeaders } from "@/server/auth";
import { safeNextPath } from "@/lib/api-schemas/auth";
import { LoginForm } from "@/components/auth/login-form";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in · Eventscope" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** /login: a token field and "Sign in"; /login#token=… (the link `npm run demo` prints) signs in by itself. */
export default async function LoginPage({ searchParams }: Props) {
  const raw = await searchParams;
  const next = safeNextPath(typeof raw.next === "string" ? raw.next : undefined);
  const auth = authenticateHeaders(await headers());
  return (
    <main style={{ padding: "2rem 1.5rem", maxWidth: "28rem", margin: "0 auto" }}>
      <h1 style={{ fontSize: 20, margin: "0 0 0.75rem" }}>Sign in</h1>
      {!auth.writesEnabled && !auth.readsProtected ? (
        <p role="note">
          No token is configured: Eventscope is read-only and open to read, so there is nothing to sign in to. Set
          EVENTSCOPE_ADMIN_TOKEN (or EVENTSCOPE_USERS_FILE) to enable replay.
        </p>
      ) : (
        <>
          {auth.principal ? <p role="status">You are signed in as {auth.principal.name}.</p> : null}
          <LoginForm next={next} />
        </>
      )}
    </main>
  );
}
