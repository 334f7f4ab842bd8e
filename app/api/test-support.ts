/**
 * For route tests: a route handler called as Next calls it, with a request for `path` and the
 * dynamic segments in `params`; its status and JSON body.
 */
export async function callRoute(handler: (request: Request, context: never) => Promise<Response>, path: string, params: object = {}) {
  const response = await handler(new Request(`http://127.0.0.1${path}`), { params: Promise.resolve(params) } as never);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { message?: string; field?: string } };
}
