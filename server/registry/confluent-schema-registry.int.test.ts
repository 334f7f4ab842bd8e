/**
 * Conformance: `@kafkajs/confluent-schema-registry`, the registry client Node serializers use,
 * registers, looks up, encodes and decodes through the embedded registry over real HTTP.
 */
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../broker/test-support.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "./index.ts";

let server: RunningSchemaRegistry;
let registry: SchemaRegistry;

beforeAll(async () => {
  server = await startSchemaRegistry({ port: 0 });
  registry = new SchemaRegistry({ host: server.url, retry: { retries: 0 } });
});

afterAll(async () => {
  await server?.stop();
});

const orderPlaced = {
  type: "record",
  name: "OrderPlaced",
  namespace: "com.example.orders",
  fields: [
    { name: "orderId", type: "string" },
    { name: "quantity", type: "int" },
    { name: "note", type: ["null", "string"], default: null },
  ],
};

/** Confluent's framing: magic byte 0, then the schema id as a big-endian 32-bit integer. */
function framedId(buffer: Buffer): number {
  expect(buffer[0]).toBe(0);
  return buffer.readUInt32BE(1);
}

describe("Avro", () => {
  it("registers once: the same schema again gets the same id, and the library finds it by subject and by schema", async () => {
    const subject = uniqueName("orders-value");
    const schema = { type: SchemaType.AVRO as const, schema: JSON.stringify(orderPlaced) };
    const { id } = await registry.register(schema, { subject });
    const again = await registry.register(schema, { subject });
    expect(again.id).toBe(id);
    // Whitespace does not make another schema.
    const spaced = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderPlaced, null, 2) }, { subject });
    expect(spaced.id).toBe(id);

    expect(await registry.getLatestSchemaId(subject)).toBe(id);
    expect(await registry.getRegistryIdBySchema(subject, schema)).toBe(id);
    const versions = await fetch(`${server.url}/subjects/${subject}/versions`).then((r) => r.json());
    expect(versions).toEqual([1]);
  });

  it("encodes with the registered id and decodes through a fresh client that only has the id", async () => {
    const subject = uniqueName("orders-value");
    const { id } = await registry.register({ type: SchemaType.AVRO as const, schema: JSON.stringify(orderPlaced) }, { subject });
    const value = { orderId: "ord-9182", quantity: 3, note: "gift" };
    const encoded = await registry.encode(id, value);
    expect(framedId(encoded)).toBe(id);

    const reader = new SchemaRegistry({ host: server.url, retry: { retries: 0 } });
    expect(await reader.decode(encoded)).toEqual(value);
  });

  it("a new schema is a new version with a new id, and a breaking change is accepted (levels are reported, not enforced)", async () => {
    const subject = uniqueName("orders-value");
    const v1 = await registry.register({ type: SchemaType.AVRO as const, schema: JSON.stringify(orderPlaced) }, { subject });
    // Dropping a field without a default and adding one without a default breaks BACKWARD.
    const breaking = { ...orderPlaced, fields: [{ name: "total", type: "double" }] };
    const v2 = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(breaking) }, { subject });
    expect(v2.id).not.toBe(v1.id);
    expect(await registry.getLatestSchemaId(subject)).toBe(v2.id);
    // The library set the subject's level on first registration; the registry reports it.
    const config = await fetch(`${server.url}/config/${subject}`).then((r) => r.json());
    expect(config).toEqual({ compatibilityLevel: "BACKWARD" });

    const value = { total: 12.5 };
    expect(await registry.decode(await registry.encode(v2.id, value))).toEqual(value);
    // Messages written with the first version still decode with it.
    const old = { orderId: "ord-1", quantity: 1, note: null };
    expect(await registry.decode(await registry.encode(v1.id, old))).toEqual(old);
  });

  it("the same schema under another subject keeps its id", async () => {
    const schema = { type: SchemaType.AVRO as const, schema: JSON.stringify({ type: "record", name: uniqueName("Shared").replace("-", "_"), fields: [] }) };
    const first = uniqueName("a-value");
    const second = uniqueName("b-value");
    const { id } = await registry.register(schema, { subject: first });
    expect((await registry.register(schema, { subject: second })).id).toBe(id);
    const holders = await fetch(`${server.url}/schemas/ids/${id}/versions`).then((r) => r.json());
    expect(holders).toEqual(expect.arrayContaining([{ subject: first, version: 1 }, { subject: second, version: 1 }]));
  });
});

describe("Protobuf", () => {
  it("registers, finds and round-trips a message", async () => {
    const subject = uniqueName("payments-value");
    const schema = {
      type: SchemaType.PROTOBUF as const,
      schema: `syntax = "proto3";
package eventscope.test;

message PaymentFailed {
  string order_id = 1;
  int32 attempt = 2;
  string reason = 3;
}
`,
    };
    const { id } = await registry.register(schema, { subject });
    expect((await registry.register(schema, { subject })).id).toBe(id);
    expect(await registry.getRegistryIdBySchema(subject, schema)).toBe(id);

    const byId = await fetch(`${server.url}/schemas/ids/${id}`).then((r) => r.json());
    expect(byId).toEqual({ schemaType: "PROTOBUF", schema: schema.schema });

    const value = { orderId: "ord-1", attempt: 2, reason: "card declined" };
    const encoded = await registry.encode(id, value);
    expect(framedId(encoded)).toBe(id);
    const reader = new SchemaRegistry({ host: server.url, retry: { retries: 0 } });
    expect(await reader.decode(encoded)).toMatchObject(value);
  });
});

describe("JSON Schema", () => {
  it("registers, finds and round-trips a document, and the library's validation uses the stored schema", async () => {
    const subject = uniqueName("shipments-value");
    const schema = {
      type: SchemaType.JSON as const,
      schema: JSON.stringify({
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        properties: { orderId: { type: "string" }, carrier: { type: "string" } },
        required: ["orderId"],
      }),
    };
    const { id } = await registry.register(schema, { subject });
    expect(await registry.getLatestSchemaId(subject)).toBe(id);
    expect(await registry.getRegistryIdBySchema(subject, schema)).toBe(id);

    const value = { orderId: "ord-7", carrier: "DHL" };
    const encoded = await registry.encode(id, value);
    expect(framedId(encoded)).toBe(id);
    expect(JSON.parse(encoded.subarray(5).toString("utf8"))).toEqual(value);
    const reader = new SchemaRegistry({ host: server.url, retry: { retries: 0 } });
    expect(await reader.decode(encoded)).toEqual(value);
    await expect(registry.encode(id, { carrier: "DHL" })).rejects.toThrow();
  });
});
