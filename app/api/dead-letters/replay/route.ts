import { requireWriter } from "@/server/auth";
import { replayDeadLetters, serverReplayDeps } from "@/server/replay";
import { bulkReplayRequestSchema, parseJsonBody } from "@/lib/api-schemas/dead-letters";
import { withErrorMapping } from "@/lib/route-handler";

export const dynamic = "force-dynamic";

/**
 * POST /api/dead-letters/replay — bulk: `{ ids } | { group: { originTopic, errorClass, source? } }`,
 * `dryRun`, `ratePerSecond`. Answers with NDJSON as it goes: one `{"type":"item",…}` line per
 * dead letter (with done/total: the progress), then `{"type":"summary",…}` (or `{"type":"error"}`).
 */
export const POST = withErrorMapping(async (request: Request) => {
  const actor = requireWriter(request);
  const body = await parseJsonBody(request, bulkReplayRequestSchema);
  const deps = await serverReplayDeps();
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const line = (value: unknown) => {
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
        } catch {
          // The client went away: the replays go on (each is claimed and audited), unreported.
        }
      };
      try {
        const summary = await replayDeadLetters(deps, { ...body, actor: actor.name }, (item, done, total) =>
          line({ type: "item", done, total, item }),
        );
        line({ type: "summary", ...summary });
      } catch (error) {
        console.error(`bulk replay failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        line({ type: "error", message: error instanceof Error ? error.message : String(error) });
      }
      try {
        controller.close();
      } catch {
        // Already closed by the client.
      }
    },
  });
  return new Response(stream, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" } });
});
