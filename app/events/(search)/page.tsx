import Link from "next/link";
import { getDatabase, searchEvents, type EventSearchPage } from "@/server/db";
import {
  eventSearchParams,
  hasSearchFilters,
  inputErrorMessage,
  parseEventSearchQuery,
  type EventSearchQuery,
} from "@/lib/api-schemas/events";
import { queryRecord } from "@/lib/api-schemas/query-params";
import { EventSearchForm } from "@/components/events/event-search-form";
import { EventSearchResults } from "@/components/events/event-search-results";
import { InputError, PageFrame } from "@/components/events/page-parts";

export const dynamic = "force-dynamic";
export const metadata = { title: "Events · Eventscope" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** /events: search by entity, key, type, topic, header, trace id and time; newest first, paged by cursor. */
export default async function EventsPage({ searchParams }: Props) {
  const raw = queryRecord(await searchParams);
  let query: EventSearchQuery | null = null;
  let error: string | null = null;
  let page: EventSearchPage | null = null;
  try {
    query = parseEventSearchQuery(raw);
    page = await searchEvents(await getDatabase(), query);
  } catch (caught) {
    error = inputErrorMessage(caught);
    if (error === null) throw caught;
  }
  return (
    <PageFrame>
      <h1 style={{ margin: "0 0 0.5rem" }}>Events</h1>
      <EventSearchForm values={raw} />
      {error !== null ? <InputError title="Cannot search" message={error} /> : null}
      {query && page ? <Results query={query} page={page} /> : null}
    </PageFrame>
  );
}

function Results({ query, page }: { query: EventSearchQuery; page: EventSearchPage }) {
  const { cursor, ...rest } = query;
  const firstPage = `/events?${eventSearchParams(rest)}`;
  const nextPage = page.nextCursor ? `/events?${eventSearchParams({ ...rest, cursor: page.nextCursor })}` : null;
  if (page.events.length === 0) {
    return (
      <p role="status" style={{ color: "var(--es-muted)" }}>
        {cursor !== undefined
          ? "No more events: this was the last page."
          : hasSearchFilters(rest)
            ? "No event matches these filters. Filters are exact (a header value, a key, a type as written); loosen one or widen the time range."
            : "No events yet: is the collector running against the right cluster?"}
        {cursor !== undefined ? (
          <>
            {" "}
            <Link href={firstPage}>Back to the first page</Link>
          </>
        ) : null}
      </p>
    );
  }
  return (
    <>
      <p role="status" style={{ margin: "0 0 0.4rem", color: "var(--es-muted)", fontSize: "0.85rem" }}>
        {page.events.length} event{page.events.length === 1 ? "" : "s"}
        {cursor !== undefined ? " on this page" : ""}, newest first{nextPage ? "; older ones on the next page" : ""}.{" "}
        <a href={`/api/events?${eventSearchParams(query)}`}>JSON</a>
      </p>
      <EventSearchResults events={page.events} />
      <nav aria-label="Pages" style={{ display: "flex", gap: "1rem", marginTop: "0.5rem", fontSize: "0.85rem" }}>
        {cursor !== undefined ? <Link href={firstPage}>First page</Link> : null}
        {nextPage ? <Link href={nextPage}>Next page (older) →</Link> : <span style={{ color: "var(--es-muted)" }}>Last page</span>}
      </nav>
    </>
  );
}
