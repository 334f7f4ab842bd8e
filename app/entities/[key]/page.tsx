import Link from "next/link";
import { notFound } from "next/navigation";
import { getDatabase, getEntityTimeline } from "@/server/db";
import { getConfig } from "@/server/config";
import { entityKeySchema, parseEntityPageQuery } from "@/lib/api-schemas/entities";
import { inputErrorMessage } from "@/lib/api-schemas/events";
import { EntityTimelineView } from "@/components/timeline/entity-timeline";
import { EntityFlows } from "@/components/timeline/entity-flows";
import { InputError, PageFrame } from "@/components/events/page-parts";

export const dynamic = "force-dynamic";

type Props = {
  params: Promise<{ key: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props) {
  return { title: `${(await params).key} · timeline · Eventscope` };
}

/** /entities/[key]: what happened to one entity (an order…), every event across topics in time order. */
export default async function EntityPage({ params, searchParams }: Props) {
  const { key: rawKey } = await params;
  let key: string;
  let query;
  try {
    key = entityKeySchema.parse(rawKey);
    query = parseEntityPageQuery(await searchParams);
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <PageFrame>
        <h1>Entity timeline</h1>
        <InputError title="Cannot show this timeline" message={message} />
      </PageFrame>
    );
  }
  const config = getConfig();
  const timeline = await getEntityTimeline(await getDatabase(), key, { cursor: query.cursor, limit: query.limit });
  if (timeline.events.length === 0 && query.cursor === undefined) notFound();
  return (
    <PageFrame>
      <h1 style={{ marginBottom: "0.25rem" }}>{key}</h1>
      <p style={{ margin: "0 0 0.5rem", color: "var(--es-muted)", fontSize: "0.9rem" }}>
        Every event of this entity across all topics, in time order: retries, dead letters and replays included.{" "}
        <Link href={`/events?entity=${encodeURIComponent(key)}`}>Search its events</Link> ·{" "}
        <a href={`/api/entities/${encodeURIComponent(key)}`}>JSON</a>
      </p>
      <EntityFlows flows={timeline.flows} />
      <EntityTimelineView
        // Another entity or page start is a new list, not an update of this one.
        key={`${key}\u0000${query.cursor ?? ""}`}
        entityKey={key}
        initial={timeline}
        traceUrlTemplate={config.traceUrl ?? null}
        selectedEvent={query.event ?? null}
        live={query.cursor === undefined}
      />
    </PageFrame>
  );
}
