import Link from "next/link";
import { notFound } from "next/navigation";
import { getDatabase, getFlow } from "@/server/db";
import { flowKindSchema, parseFlowEntitiesQuery, type FlowEntitiesQuery } from "@/lib/api-schemas/flows";
import { inputErrorMessage } from "@/lib/api-schemas/events";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { InputError, PageFrame } from "@/components/events/page-parts";
import { FlowView } from "@/components/flows/flow-view";
import { WindowLinks } from "@/components/flows/window-links";
import type { FlowSelection } from "@/components/flows/to-flow";

export const dynamic = "force-dynamic";

type Props = {
  params: Promise<{ kind: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props) {
  return { title: `${(await params).kind} · flow · Eventscope` };
}

/**
 * /flows/[kind]?window=1h|24h|7d (default 24h): the pathways entities of a kind take, step by step,
 * with latencies and outcomes; `step=`, `from=&to=` or `outcome=` opens the list of entities behind
 * a step, a transition or an outcome (the stuck ones with what they wait for).
 */
export default async function FlowPage({ params, searchParams }: Props) {
  const { kind: rawKind } = await params;
  let kind: string;
  let query: FlowEntitiesQuery;
  try {
    kind = flowKindSchema.parse(rawKind);
    query = parseFlowEntitiesQuery(await searchParams);
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <PageFrame>
        <h1>Flow</h1>
        <InputError title="Cannot show this flow" message={message}>
          {" "}
          <Link href={`/flows/${encodeURIComponent(rawKind)}`}>Show the last 24 hours</Link>
        </InputError>
      </PageFrame>
    );
  }
  const flow = await getFlow(await getDatabase(), kind, { window: query.window });
  if (flow === null) notFound();
  const selection: FlowSelection | null =
    query.outcome !== undefined
      ? { outcome: query.outcome }
      : query.step !== undefined
        ? { step: query.step }
        : query.from !== undefined && query.to !== undefined
          ? { from: query.from, to: query.to }
          : null;
  return (
    <PageFrame>
      <h1 style={{ marginBottom: "0.25rem" }}>Flow of {kind}</h1>
      <p style={{ margin: 0, color: "var(--es-muted)" }}>
        The steps entities of this kind took, from {new Date(flow.from).toISOString().slice(0, 16).replace("T", " ")} to{" "}
        {new Date(flow.to).toISOString().slice(0, 16).replace("T", " ")} UTC. Click a step or a transition to list its entities.{" "}
        <Link href="/flows">All kinds</Link> · <a href={`/api/flows/${encodeURIComponent(kind)}?window=${flow.window}`}>JSON</a>{" "}
        <AutoRefresh everyMs={15_000} pausable />
      </p>
      <WindowLinks kind={kind} current={flow.window} />
      <FlowView flow={flow} initialSelection={selection} />
    </PageFrame>
  );
}
