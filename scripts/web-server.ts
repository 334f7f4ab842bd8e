/**
 * The production web UI: Next's request handler behind a Node HTTP server of our own, which hands
 * each request's socket address to the app (support/client-address.ts) for the sign-in limit.
 * What `next start` would do otherwise. Run by `npm start` and `npm run demo`:
 * node --import tsx scripts/web-server.ts --port P --hostname H
 */
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import next from "next";
import { withClientAddress } from "./support/client-address.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const { values } = parseArgs({ options: { port: { type: "string", default: "3000" }, hostname: { type: "string", default: "127.0.0.1" } } });
const port = Number(values.port);
const hostname = values.hostname;

const app = next({ dev: false, dir: ROOT, hostname, port });
await app.prepare();
const server = http.createServer(withClientAddress(app.getRequestHandler()));
server.on("error", (error) => {
  console.error(`web UI: ${error.message}`);
  process.exit(1);
});
server.listen(port, hostname, () => {
  console.log(`web UI listening on ${hostname}:${port}`);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    server.close();
    void app.close().finally(() => process.exit(0));
  });
}
