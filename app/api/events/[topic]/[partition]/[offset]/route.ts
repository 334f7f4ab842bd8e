import { getDatabase, getEvent } from "@/server/db";
import { eventAddressSchema } from "@/lib/api-schemas/events";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";
import { sourceParam } from "@/lib/api-schemas/query-params";

export const dynamic = "force-dynamic";

type Params = { topic: string; partition: string; offset: string };

/**
 * GET /api/events/[topic]/[partition]/[offset]?source=: one event with everything known about it
 * (headers, whole value, consumption per group, dead-letter details). 404 when not stored; 422 when
 * several sources have an event there and `source` does not say which, or names no source.
 */
export const GET = withErrorMapping(async (request: Request, context: { params: Promise<Params> }) => {
  const { topic, partition, offset } = eventAddressSchema.parse(await context.params);
  const source = sourceParam(new URL(request.url).searchParams);
  const event = await getEvent(await getDatabase(), topic, partition, offset, { source });
  if (!event) throw new NotFoundError(`no stored event at ${topic}/${partition}/${offset}`);
  return Response.json(event, { headers: { "cache-control": "no-store" } });
});
