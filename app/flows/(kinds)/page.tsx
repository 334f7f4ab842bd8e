import Link from "next/link";
import { getDatabase, listFlowKinds } from "@/server/db";
import { PageFrame } from "@/components/events/page-parts";
import { KindsTable } from "@/components/flows/kinds-table";

export const dynamic = "force-dynamic";

export const metadata = { title: "Flows · Eventscope" };

/** The same list as JSON: an API route, not a page (so not a <Link>). */
const API_HREF = "/api/flows";

/** /flows: the entity kinds, each linking to the pathways its entities take. */
export default async function FlowsPage() {
  const { kinds } = await listFlowKinds(await getDatabase());
  return (
    <PageFrame>
      <h1>Flows</h1>
      <p style={{ color: "var(--es-muted)", maxWidth: "52rem" }}>
        The pathways entities take through your events: which steps they reach, where they go next, how long each step takes, where they
        retry, dead-letter or stop. <a href={API_HREF}>JSON</a>
      </p>
      {kinds.length === 0 ? (
        <div role="status" style={{ maxWidth: "48rem", lineHeight: 1.5 }}>
          <p>
            <strong>No entity kind yet.</strong> An entity is the thing a set of events is about (an order, a payment, a customer), and its
            kind is the JSON field that names it: each field listed in <code>EVENTSCOPE_ENTITY_FIELDS</code> (comma-separated names or
            dotted paths, default <code>orderId</code>) is a kind, and events without one are grouped by their message key, one kind per
            topic (<code>key:orders</code>).
          </p>
          <p>
            Once the collector stores events that carry such a field, their kinds appear here within seconds. The{" "}
            <Link href="/events">event search</Link> shows what has been stored so far.
          </p>
        </div>
      ) : (
        <KindsTable kinds={kinds} />
      )}
    </PageFrame>
  );
}
