import { notFound } from "next/navigation";
import { getDatabase, getSchemaHistory } from "@/server/db";
import { inputErrorMessage } from "@/lib/api-schemas/events";
import { eventTypeParamSchema } from "@/lib/api-schemas/schema-history";
import { NotFoundError } from "@/lib/errors";
import { InputError, PageFrame } from "@/components/events/page-parts";
import { SchemaHistoryView } from "@/components/schemas/schema-history-view";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ type: string }> };

export async function generateMetadata({ params }: Props) {
  return { title: `${(await params).type} · schema history · Eventscope` };
}

/** /event-types/[type]: how the event type's shape changed over time, and whether each change breaks its consumers. */
export default async function EventTypePage({ params }: Props) {
  let type: string;
  try {
    type = eventTypeParamSchema.parse((await params).type);
  } catch (error) {
    const message = inputErrorMessage(error);
    if (message === null) throw error;
    return (
      <PageFrame>
        <h1>Schema history</h1>
        <InputError title="Cannot show this event type" message={message} />
      </PageFrame>
    );
  }
  let history;
  try {
    history = await getSchemaHistory(await getDatabase(), type);
  } catch (error) {
    if (error instanceof NotFoundError) notFound();
    throw error;
  }
  return (
    <PageFrame>
      <SchemaHistoryView history={history} />
    </PageFrame>
  );
}
