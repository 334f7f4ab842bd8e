/**
 * The REST API over real HTTP, as curl or any client sees it: answers, Confluent's error codes and
 * statuses, and a server that keeps serving after bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../broker/test-support.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "./index.ts";

let server: RunningSchemaRegistry;
const logged: string[] = [];

beforeAll(async () => {
  server = await startSchemaRegistry({ port: 0, log: (line) => logged.push(line) });
});

afterAll(async () => {
  await server?.stop();
  // Bad input is answered, never an unexpected error.
  expect(logged).toEqual([]);
});

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

interface Answer {
  status: number;
  contentType: string | null;
  body: unknown;
}

async function call(method: string, path: string, body?: unknown, contentType = CONTENT_TYPE): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": contentType },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The raw schema endpoints answer a schema's text, which need not be JSON (Protobuf).
  }
  return { status: res.status, contentType: res.headers.get("content-type"), body: parsed };
}

const avro = (name: string, fields: unknown[] = []) => JSON.stringify({ type: "record", name, fields });

function expectError(answer: Answer, status: number, errorCode: number): void {
  expect(answer.status).toBe(status);
  expect(answer.contentType).toBe(CONTENT_TYPE);
  expect(answer.body).toMatchObject({ error_code: errorCode, message: expect.any(String) });
}

describe("registering and reading", () => {
  it("answers in Confluent's shapes and content type, omitting schemaType for Avro", async () => {
    const subject = uniqueName("orders-value");
    const schema = avro("Order", [{ name: "orderId", type: "string" }]);
    const registered = await call("POST", `/subjects/${subject}/versions`, { schema });
    expect(registered).toEqual({ status: 200, contentType: CONTENT_TYPE, body: { id: expect.any(Number) } });
    const id = (registered.body as { id: number }).id;

    expect((await call("GET", `/schemas/ids/${id}`)).body).toEqual({ schema });
    expect((await call("GET", `/subjects/${subject}/versions/1`)).body).toEqual({ subject, version: 1, id, schema });
    expect((await call("GET", `/subjects/${subject}/versions/latest`)).body).toEqual({ subject, version: 1, id, schema });
    expect((await call("GET", `/subjects/${subject}/versions/1/schema`)).body).toEqual(JSON.parse(schema));
    expect((await call("POST", `/subjects/${subject}`, { schema })).body).toEqual({ subject, version: 1, id, schema });
    expect((await call("GET", "/subjects")).body).toContain(subject);
    expect((await call("GET", "/schemas/types")).body).toEqual(expect.arrayContaining(["AVRO", "PROTOBUF", "JSON"]));
  });

  it("treats the same Avro or JSON schema written with other spacing or key order as the same schema", async () => {
    const subject = uniqueName("orders-value");
    const first = await call("POST", `/subjects/${subject}/versions`, { schema: '{"type": "record", "name": "A", "fields": []}' });
    const reordered = await call("POST", `/subjects/${subject}/versions`, { schema: '{ "fields":[],"name":"A","type":"record" }' });
    expect(reordered.body).toEqual(first.body);
    expect((await call("GET", `/subjects/${subject}/versions`)).body).toEqual([1]);

    const json = { schemaType: "JSON", schema: '{"type": "object", "required": ["a"]}' };
    const j1 = await call("POST", `/subjects/${subject}-json/versions`, json);
    const j2 = await call("POST", `/subjects/${subject}-json/versions`, { ...json, schema: '{"required":["a"],"type":"object"}' });
    expect(j2.body).toEqual(j1.body);
    expect((await call("GET", `/schemas/ids/${(j1.body as { id: number }).id}`)).body).toEqual({
      schemaType: "JSON",
      schema: '{"type":"object","required":["a"]}',
    });
  });

  it("accepts bodies as application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json and application/json", async () => {
    const subject = uniqueName("types-value");
    for (const type of [CONTENT_TYPE, "application/vnd.schemaregistry+json", "application/json; charset=utf-8"]) {
      const answer = await call("POST", `/subjects/${subject}/versions`, { schema: avro("T") }, type);
      expect(answer.status).toBe(200);
    }
    expectError(await call("POST", `/subjects/${subject}/versions`, { schema: avro("T") }, "text/plain"), 415, 415);
  });

  it("stores references and serves them with the schema; a reference to nothing is an invalid schema", async () => {
    const base = uniqueName("customer");
    await call("POST", `/subjects/${base}/versions`, { schema: avro("com.example.Customer") });
    const subject = uniqueName("orders-value");
    const references = [{ name: "com.example.Customer", subject: base, version: 1 }];
    const schema = avro("com.example.Order", [{ name: "customer", type: "com.example.Customer" }]);
    const { body } = await call("POST", `/subjects/${subject}/versions`, { schema, references });
    const id = (body as { id: number }).id;
    expect((await call("GET", `/schemas/ids/${id}`)).body).toEqual({ schema, references });
    expect((await call("GET", `/subjects/${subject}/versions/latest`)).body).toEqual({ subject, version: 1, id, schema, references });

    const dangling = [{ name: "com.example.Customer", subject: uniqueName("nobody"), version: 1 }];
    expectError(await call("POST", `/subjects/${subject}/versions`, { schema, references: dangling }), 422, 42201);
  });
});

describe("compatibility settings", () => {
  it("reports the global level, a subject's own level, and 40408 for a subject without one", async () => {
    const subject = uniqueName("config-value");
    expect((await call("GET", "/config")).body).toEqual({ compatibilityLevel: "BACKWARD" });
    expectError(await call("GET", `/config/${subject}`), 404, 40408);
    expect((await call("GET", `/config/${subject}?defaultToGlobal=true`)).body).toEqual({ compatibilityLevel: "BACKWARD" });

    expect((await call("PUT", `/config/${subject}`, { compatibility: "NONE" })).body).toEqual({ compatibility: "NONE" });
    expect((await call("GET", `/config/${subject}`)).body).toEqual({ compatibilityLevel: "NONE" });
    expectError(await call("PUT", `/config/${subject}`, { compatibility: "SOMETIMES" }), 422, 42203);
    expect((await call("GET", `/config/${subject}`)).body).toEqual({ compatibilityLevel: "NONE" });
  });

  it("changes the global level", async () => {
    expect((await call("PUT", "/config", { compatibility: "FULL" })).body).toEqual({ compatibility: "FULL" });
    expect((await call("GET", "/config")).body).toEqual({ compatibilityLevel: "FULL" });
    expect((await call("GET", `/config/${uniqueName("other")}?defaultToGlobal=true`)).body).toEqual({ compatibilityLevel: "FULL" });
    await call("PUT", "/config", { compatibility: "BACKWARD" });
  });
});

describe("bad input", () => {
  it("answers each with Confluent's error code and status, and keeps serving", async () => {
    const subject = uniqueName("bad-value");
    const versions = `/subjects/${subject}/versions`;
    expectError(await call("POST", versions, "{not json"), 422, 42201);
    expectError(await call("POST", versions, { schema: 42 }), 422, 42201);
    expectError(await call("POST", versions, ["schema"]), 422, 42201);
    expectError(await call("POST", versions, { schema: "{not json" }), 422, 42201);
    expectError(await call("POST", versions, { schema: '{"fields": []}' }), 422, 42201);
    expectError(await call("POST", versions, { schema: '{"type": "record", "name": "NoFields"}' }), 422, 42201);
    expectError(await call("POST", versions, { schema: '"no such type!"' }), 422, 42201);
    expectError(await call("POST", versions, { schema: avro("A"), schemaType: "XML" }), 422, 42201);
    expectError(await call("POST", versions, { schema: avro("A"), references: [{ name: "x" }] }), 422, 42201);
    expectError(await call("POST", versions, { schema: "   ", schemaType: "PROTOBUF" }), 422, 42201);
    expectError(await call("POST", versions, { schema: "[1]", schemaType: "JSON" }), 422, 42201);
    // Nothing of that was stored.
    expectError(await call("GET", versions), 404, 40401);

    expectError(await call("GET", `${versions}/latest`), 404, 40401);
    expectError(await call("POST", `/subjects/${subject}`, { schema: avro("A") }), 404, 40401);
    await call("POST", versions, { schema: avro("A") });
    expectError(await call("GET", `${versions}/2`), 404, 40402);
    expectError(await call("GET", `${versions}/two`), 422, 42202);
    expectError(await call("GET", `${versions}/0`), 422, 42202);
    expectError(await call("POST", `/subjects/${subject}`, { schema: avro("B") }), 404, 40403);
    expectError(await call("GET", "/schemas/ids/987654321"), 404, 40403);
    expectError(await call("GET", "/schemas/ids/nope"), 404, 40403);
    expectError(await call("GET", "/no/such/path"), 404, 404);
    expectError(await call("GET", "/subjects/%E0%A4%A/versions"), 404, 404);
    expectError(await call("DELETE", versions), 405, 405);

    // Still serving.
    const ok = await call("POST", versions, { schema: avro("B") });
    expect(ok.status).toBe(200);
    expect((await call("GET", versions)).body).toEqual([1, 2]);
  });
});
