/**
 * Conformance: Confluent's own Python registry client (Debian's `python3-confluent-kafka`, run by
 * `/usr/bin/python3`) registers, fetches, lists, looks up and configures through the embedded
 * registry. The client's calls are in `confluent-python-client.py`, which prints what it saw.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { uniqueName } from "../broker/test-support.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "./index.ts";

const run = promisify(execFile);
/** Debian's interpreter, where Debian's modules are; another python3 on PATH may lack them. */
const PYTHON = "/usr/bin/python3";
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "confluent-python-client.py");
const MISSING = "install the Debian packages python3-confluent-kafka and python3-requests";

let server: RunningSchemaRegistry;

beforeAll(async () => {
  if (!fs.existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: ${MISSING}`);
  try {
    await run(PYTHON, ["-c", "import confluent_kafka.schema_registry"]);
  } catch (err) {
    throw new Error(`${PYTHON} cannot import confluent_kafka.schema_registry: ${MISSING}\n${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  server = await startSchemaRegistry({ port: 0 });
});

afterAll(async () => {
  await server?.stop();
});

it("serves Confluent's Python client: register, get by id, latest, versions, subjects, lookup, compatibility, errors", async () => {
  const prefix = uniqueName("python");
  const { stdout } = await run(PYTHON, [SCRIPT, server.url, prefix]);
  const seen = JSON.parse(stdout) as Record<string, unknown> & { id1: number; id2: number; protoId: number };

  expect(seen.id1Again).toBe(seen.id1);
  expect(seen.id2).not.toBe(seen.id1);
  expect(seen.byId).toEqual({
    type: "AVRO",
    schema: { type: "record", name: "OrderPlaced", fields: [{ name: "orderId", type: "string" }] },
  });
  expect(seen.protoById).toEqual({ type: "PROTOBUF", schema: 'syntax = "proto3";\nmessage Shipped { string order_id = 1; }\n' });
  expect(seen.latest).toEqual({
    id: seen.id2,
    version: 2,
    subject: `${prefix}-value`,
    schema: { type: "record", name: "OrderPlaced", fields: [{ name: "total", type: "double" }] },
  });
  expect(seen.versions).toEqual([1, 2]);
  expect(seen.subjects).toEqual([`${prefix}-shipped`, `${prefix}-value`]);
  expect(seen.lookup).toEqual({ id: seen.id1, version: 1, subject: `${prefix}-value` });
  expect(seen.globalCompatibility).toBe("BACKWARD");
  expect(seen.subjectCompatibility).toBe("FULL");
  expect(seen.unknownSubject).toBe(40401);
  expect(seen.unknownSchema).toBe(40403);
  expect(seen.unknownId).toBe(40403);
  expect(seen.invalidSchema).toBe(42201);
});
