/**
 * The web server's handing of the socket address to the app, over real TCP: a client cannot
 * choose the address its sign-ins count against.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLIENT_ADDRESS_HEADER } from "../../server/auth/sign-in.ts";
import { withClientAddress } from "./client-address.ts";

let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer(
    withClientAddress((request, response) => {
      response.end(JSON.stringify({ address: request.headers[CLIENT_ADDRESS_HEADER] }));
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

it("tells the app the socket's address, whatever the client sends under that header", async () => {
  expect(await (await fetch(url)).json()).toEqual({ address: "127.0.0.1" });
  const spoofed = await fetch(url, { headers: { [CLIENT_ADDRESS_HEADER]: "203.0.113.1", "x-forwarded-for": "203.0.113.2" } });
  expect(await spoofed.json()).toEqual({ address: "127.0.0.1" });
});
