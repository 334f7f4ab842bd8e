import { getDatabase, getFlowGraph } from "@/server/db";
import { FlowGraphView } from "@/components/graph/flow-graph-view";
import { InputError, PageFrame } from "@/components/events/page-parts";
import { parseOverviewPageQuery, type OverviewPageQuery } from "@/lib/api-schemas/graph";
import { inputErrorMessage } from "@/lib/api-schemas/events";

// The graph is the cluster now: never prerendered.
export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/**
 * `/`: the live flow graph, producers → topics → consumer groups, and on RabbitMQ publishers →
 * exchanges → queues → consumers; `?node=topic:orders` (or `exchange:`, `queue:`, `consumer:`) selects a
 * node, `?source=<name>` draws one source only (every source side by side by default).
 */
export default async function OverviewPage({ searchParams }: Props) {
  let graph;
  let initialSelected: OverviewPageQuery["node"] | null;
  try {
    const query: OverviewPageQuery = parseOverviewPageQuery(await searchParams);
    // An unknown ?source= is refused too, naming the known sources.
    graph = await getFlowGraph(await getDatabase(), query.source ? { source: query.source } : {});
    initialSelected = query.node ?? null;
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <PageFrame>
        <h1>Overview</h1>
        <InputError title="Cannot show the graph" message={message} />
      </PageFrame>
    );
  }
  if (graph.topics.length === 0 && graph.exchanges.length === 0 && graph.queues.length === 0 && graph.source === null) {
    return (
      <main className="graph-empty">
        <h1>No events yet</h1>
        <p>
          Eventscope has not seen any topic. Is the collector running against the right cluster? Start it with{" "}
          <code>npm run collector</code> (it reads <code>KAFKA_BROKERS</code>), or try everything at once with <code>npm run demo</code>.
          This page fills in by itself once topics appear: reload it in a few seconds.
        </p>
      </main>
    );
  }
  return <FlowGraphView initialGraph={graph} initialSelected={initialSelected} />;
}
