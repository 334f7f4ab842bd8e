import { vi } from "vitest";

/** One request a component made: where, how, and its JSON body (undefined without one). */
export interface SentRequest {
  url: string;
  method: string;
  body: unknown;
}

/**
 * Replaces fetch for one test: `answer` decides each response (a thrown error is a network
 * failure, as a real fetch rejects). Returns the list of requests made, in order.
 */
export function stubFetch(answer: (request: SentRequest) => Response | Promise<Response>): SentRequest[] {
  const sent: SentRequest[] = [];
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const text = typeof init.body === "string" ? init.body : undefined;
    const request: SentRequest = { url: String(input), method: init.method ?? "GET", body: text === undefined ? undefined : (JSON.parse(text) as unknown) };
    sent.push(request);
    return answer(request);
  });
  return sent;
}

/** A JSON response as the API answers. */
export function jsonResponse(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}
