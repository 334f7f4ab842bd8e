import { NextResponse, type NextRequest } from "next/server";
import { authConfig, authenticateHeaders } from "@/server/auth";

/**
 * In front of every page and API route (Next's proxy, Node runtime):
 * - writes (anything but GET/HEAD/OPTIONS) from another origin are refused with 403: the browser's
 *   Sec-Fetch-Site says cross-site/same-site, or the Origin header names another host. The session
 *   cookie is SameSite=Strict as well; this also stops a foreign page posting with a Bearer-less
 *   form, and a same-site sibling (another port on the same host).
 * - with EVENTSCOPE_READ_TOKEN set, reads need a token too: pages go to /login, API calls get
 *   401, /api/health included (it names hosts, pids and errors). Sign-in itself and the liveness
 *   check for load balancers (/api/health/live, which says only up or down) stay open.
 * Writes are authenticated again by each write handler (requireWriter): this is not the only check.
 */

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const OPEN_PATHS = [/^\/login(?:\/|$)/, /^\/api\/auth\//, /^\/api\/health\/live$/];

function refuse(status: number, error: string, message: string): NextResponse {
  return NextResponse.json({ error, message }, { status, headers: { "cache-control": "no-store" } });
}

function isForeignWrite(request: NextRequest): string | null {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") return `the browser says this request is ${site}`;
  const origin = request.headers.get("origin");
  if (origin === null) return null;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return `its Origin ${JSON.stringify(origin)} is not a URL`;
  }
  const hosts = [request.headers.get("host"), request.headers.get("x-forwarded-host"), request.nextUrl.host].filter(Boolean);
  return hosts.includes(originHost) ? null : `it comes from ${origin}`;
}

export function proxy(request: NextRequest): NextResponse {
  if (!SAFE_METHODS.has(request.method)) {
    const foreign = isForeignWrite(request);
    if (foreign !== null) return refuse(403, "forbidden", `writes from another site are refused: ${foreign}`);
  }
  const path = request.nextUrl.pathname;
  if (OPEN_PATHS.some((pattern) => pattern.test(path))) return NextResponse.next();
  const config = authConfig();
  if (config.readToken === undefined) return NextResponse.next();
  const state = authenticateHeaders(request.headers, config);
  if (state.principal !== null) return NextResponse.next();
  if (path.startsWith("/api/")) {
    return refuse(401, "unauthorized", "reads need a token here: send Authorization: Bearer <token>, or sign in at /login");
  }
  // A relative Location: Next's request URL says "localhost" for 127.0.0.1, and the session
  // cookie set on one host is not sent to the other.
  const login = `/login?${new URLSearchParams({ next: `${path}${request.nextUrl.search}` })}`;
  return new NextResponse(null, { status: 307, headers: { location: login, "cache-control": "no-store" } });
}

export const config = {
  // Everything but Next's own static files and the icons.
  matcher: ["/((?!_next/static|_next/image|favicon.ico|favicon.svg).*)"],
};
