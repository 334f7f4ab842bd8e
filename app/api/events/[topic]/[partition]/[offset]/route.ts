import { getDatabase, getEvent } from "@/server/db";
import { eventAddressSchema } from "@/lib/api-schemas/events";
import { NotFoundError } from "@/lib/errors";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

type Params = { topic: string; partition: string; offset: string };

/**
 * GET /api/events/[topic]/[partition]/[offset]: one event with everything known about it
 * (headers, whole value, consumption per group, dead-letter details). 404 when not stored.
 */
export const GET = withErrorMapping(async (_request: Request, context: { params: Promise<Params> }) => {
  const { topic, partition, offset } = eventAddressSchema.parse(await context.params);
  const event = await getEvent(await getDatabase(), topic, partition, offset);
  if (!event) throw new NotFoundError(`no stored event at ${topic}/${partition}/${offset}`);
  return Response.json(event, { headers: { "cache-control": "no-store" } });
});
