import type { IncomingMessage, ServerResponse } from "node:http";
import { CLIENT_ADDRESS_HEADER } from "../../server/auth/sign-in.ts";

/**
 * Wraps a request handler so that the app learns each request's socket address (Next's route
 * handlers cannot see the socket, and the X-Forwarded-For that Next fills in is the client's own
 * when it sent one). Whatever a client sent under CLIENT_ADDRESS_HEADER is replaced.
 */
export function withClientAddress(
  handle: (request: IncomingMessage, response: ServerResponse) => unknown,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    request.headers[CLIENT_ADDRESS_HEADER] = request.socket.remoteAddress ?? "unknown";
    void handle(request, response);
  };
}
