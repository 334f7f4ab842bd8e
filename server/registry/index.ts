/**
 * The embedded schema registry: Confluent's Schema Registry REST API (the part serializers and
 * Eventscope use) over HTTP, in memory or in `dataDir`. For demos and tests only.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequestHandler } from "./http-api.ts";
import { Journal } from "./journal.ts";
import { SchemaStore } from "./store.ts";

export interface SchemaRegistryOptions {
  /** Default 8081; 0 picks a free port (read it back from `address`). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Keep schemas and settings in `dataDir/registry.jsonl`; in memory without it. */
  dataDir?: string;
  /** Where unexpected errors go; default stderr. */
  log?: (line: string) => void;
}

export interface RunningSchemaRegistry {
  /** `host:port`, the port being the real one. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, for a client's `host`/`url` setting. */
  readonly url: string;
  /** Stops accepting requests, ends open connections and closes the storage. */
  stop(): Promise<void>;
}

export async function startSchemaRegistry(options: SchemaRegistryOptions = {}): Promise<RunningSchemaRegistry> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const journal = options.dataDir !== undefined ? Journal.open(options.dataDir) : undefined;
  const server = http.createServer(createRequestHandler(new SchemaStore(journal), log));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 8081, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    journal?.close();
    throw err;
  }
  const { address: host, port } = server.address() as AddressInfo;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return {
    address: `${hostForUrl}:${port}`,
    host,
    port,
    url: `http://${hostForUrl}:${port}`,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      journal?.close();
    },
  };
}
