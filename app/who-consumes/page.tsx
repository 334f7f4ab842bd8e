import Link from "next/link";
import { schemaHistoryHref } from "@/lib/api-schemas/schema-history";
import { getDatabase, whoConsumes } from "@/server/db";
import { sourceParam } from "@/lib/api-schemas/query-params";
import { InputError, PageFrame } from "@/components/events/page-parts";
import { describeQuery, WhoConsumesAnswerView } from "@/components/who-consumes/who-consumes-answer";
import { inputErrorMessage } from "@/lib/api-schemas/events";
import {
  parseWhoConsumesQuery,
  resolveWhoConsumes,
  WHO_CONSUMES_KEYS,
  whoConsumesHref,
  type WhoConsumesRequest,
} from "@/lib/api-schemas/who-consumes";

export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export async function generateMetadata({ searchParams }: Props) {
  const params = await searchParams;
  const term = WHO_CONSUMES_KEYS.map((k) => params[k]).find((v) => typeof v === "string" && v.trim() !== "");
  return { title: term ? `Who consumes ${String(term)} · Eventscope` : "Who consumes … · Eventscope" };
}

/**
 * /who-consumes?q=OrderPlaced (or ?type=, ?topic=, ?service=): which topics carry it, which groups
 * read them (live members, lag), who produces it. `q` is tried as an event type, a topic, a service.
 */
export default async function WhoConsumesPage({ searchParams }: Props) {
  const params = await searchParams;
  if (WHO_CONSUMES_KEYS.every((k) => params[k] === undefined || params[k] === "")) {
    return (
      <PageFrame>
        <h1>Who consumes …</h1>
        <p>
          Type an event type (<Link href={whoConsumesHref({ q: "OrderPlaced" })}>OrderPlaced</Link>), a topic or a service into the box
          at the top of the page. Eventscope answers which topics carry it, which consumer groups read those topics, their live members
          and lag, and who produces it. The same answer as JSON: <code>GET /api/who-consumes?type=OrderPlaced</code>.
        </p>
      </PageFrame>
    );
  }
  let request: WhoConsumesRequest;
  try {
    request = parseWhoConsumesQuery(params);
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <PageFrame>
        <h1>Who consumes …</h1>
        <InputError title="Cannot answer" message={message} />
      </PageFrame>
    );
  }
  const db = await getDatabase();
  const source = sourceParam(params);
  const answer = await resolveWhoConsumes(request, (q) => whoConsumes(db, q, { source }));
  const { kind, value } = describeQuery(answer.query);
  const apiHref = `/api/who-consumes?${new URLSearchParams({ [request.by]: request.value }).toString()}`;
  return (
    <PageFrame>
      <h1 className="wc-title">
        {kind === "service" && answer.topics.length > 0 ? (
          <>
            What <q>{value}</q> produces and consumes
          </>
        ) : (
          <>
            Who consumes <q>{value}</q>
          </>
        )}
      </h1>
      <p className="wc-muted">
        {answer.topics.length === 0
          ? ""
          : `As ${kind === "event type" ? "an" : "a"} ${kind}: ${answer.topics.length} ${answer.topics.length === 1 ? "topic" : "topics"}, ${answer.groups.length} consumer ${answer.groups.length === 1 ? "group" : "groups"}. `}
        <a href={apiHref}>JSON</a>
        {kind === "event type" && answer.topics.length > 0 ? (
          <>
            {" "}
            · <Link href={schemaHistoryHref(value)}>Schema history of {value}</Link>
          </>
        ) : null}
      </p>
      {answer.topics.length === 0 ? (
        <div className="wc-empty" role="status">
          <p>
            Nothing found for <q>{request.value}</q>: no {request.by === "q" ? "event type, topic or service" : kind} of that name has been
            seen. Names are case-sensitive (<code>OrderPlaced</code>, not <code>orderplaced</code>).
          </p>
          <p>
            If it should exist, is the collector reading the cluster that carries it? The <Link href="/">overview</Link> shows every topic
            and group seen so far.
          </p>
        </div>
      ) : (
        <WhoConsumesAnswerView answer={answer} />
      )}
    </PageFrame>
  );
}
