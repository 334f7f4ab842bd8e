/**
 * Values in the Schema Registry wire format, end to end: encoded by a client library we did not
 * write (@kafkajs/confluent-schema-registry) against Eventscope's embedded registry, produced over
 * TCP to the embedded broker, collected with SCHEMA_REGISTRY_URL, stored decoded and on the
 * entity's timeline. What cannot be decoded is stored as bytes with the flag that says why.
 */
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { ProducerRecord } from "kafkajs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeTempDir, uniqueName, waitUntil } from "../broker/test-support.ts";
import { getEntityTimeline, getEvent, getSchemaHistory } from "../db/index.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "../registry/index.ts";
import { createTopics, useCollectorTestBed } from "./test-support.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);
/** Debian's Python, which sees Debian's python3-avro (another python3 may come first on PATH). */
const PYTHON = "/usr/bin/python3";

// Fails the file, never skips it, without the implementations it checks against.
try {
  execFileSync(PYTHON, ["-c", "import avro.io, avro.schema, google.protobuf, jsonschema, confluent_kafka.schema_registry.protobuf"], { stdio: "pipe" });
  execFileSync("protoc", ["--version"], { stdio: "pipe" });
} catch (error) {
  throw new Error(
    `${PYTHON} with Debian's python3-avro, python3-protobuf, python3-jsonschema, python3-confluent-kafka and python3-requests, and protoc (protobuf-compiler), are required by these tests: ${(error as Error).message}`,
  );
}

const bed = useCollectorTestBed();

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
let registry: RunningSchemaRegistry;

beforeAll(async () => {
  registry = await startSchemaRegistry({ port: 0 });
});

afterAll(async () => {
  await registry?.stop();
});

interface StoredRow {
  offset: string;
  event_type: string | null;
  entity_keys: string[];
  value_kind: string | null;
  value_json: unknown;
  value_bytes: Buffer | null;
  schema_id: number | null;
  flags: string[];
}

async function rowsOf(topic: string): Promise<StoredRow[]> {
  const { rows } = await bed.db.pool.query<StoredRow>(
    `SELECT position::text AS "offset", event_type, entity_keys, value_kind::text AS value_kind, value_json, value_bytes, schema_id, flags
     FROM events e WHERE channel = $1 ORDER BY e.position`,
    [topic],
  );
  return rows;
}

/** Sends with a kafkajs producer of its own, connected for this send only. */
async function produce(record: ProducerRecord): Promise<void> {
  const producer = bed.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send(record);
  } finally {
    await producer.disconnect();
  }
}

async function waitForRows(topic: string, count: number): Promise<StoredRow[]> {
  return waitUntil(`${count} rows of ${topic}`, async () => {
    const rows = await rowsOf(topic);
    return rows.length >= count ? rows : false;
  }, { timeoutMs: 30_000, describe: () => bed.logs.text() });
}

const PAYMENT_SCHEMA = {
  type: "record",
  name: "PaymentProcessed",
  namespace: "com.example.payments",
  fields: [
    { name: "orderId", type: "string" },
    { name: "amount", type: { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 } },
    { name: "paidOn", type: { type: "int", logicalType: "date" } },
    { name: "paidAt", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "paymentId", type: { type: "string", logicalType: "uuid" } },
    { name: "status", type: { type: "enum", name: "Status", symbols: ["CAPTURED", "DECLINED"] } },
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attributes", type: { type: "map", values: "int" } },
    { name: "note", type: ["null", "string"], default: null },
  ],
};

describe("Schema Registry values", () => {
  test("Avro and JSON Schema values are stored decoded, typed and on the entity's timeline; the wire bytes are kept", async () => {
    const prefix = uniqueName("schemas");
    const payments = `${prefix}-payments`;
    const shipments = `${prefix}-shipments`;
    await createTopics(bed.kafka, [payments, shipments], 1);
    const client = new SchemaRegistry({ host: registry.url });
    const { id: avroId } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_SCHEMA) }, { subject: `${payments}-value` });
    const { id: jsonId } = await client.register(
      { type: SchemaType.JSON, schema: JSON.stringify({ title: "ShipmentSent", type: "object", properties: { orderId: { type: "string" }, carrier: { type: "string" } } }) },
      { subject: `${shipments}-value` },
    );
    const orderId = `ord-${prefix}`;
    const avroValue = await client.encode(avroId, {
      orderId,
      amount: Buffer.from([0x04, 0xe2]), // 1250 → "12.50"
      paidOn: 20_427, // 2025-12-05
      paidAt: 1_764_900_000_123,
      paymentId: "3f2c1b6e-8a1d-4c5e-9b7a-2d4e6f8a0b1c",
      status: "CAPTURED",
      tags: ["card"],
      attributes: { tries: 2 },
      note: null,
    });
    const jsonValue = await client.encode(jsonId, { orderId, carrier: "dhl" });
    // The key in the wire format too (a record schema under <topic>-key).
    const keySchema = { type: "record", name: "PaymentKey", namespace: "com.example.payments", fields: [{ name: "orderId", type: "string" }] };
    const { id: keyId } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(keySchema) }, { subject: `${payments}-key` });
    const avroKey = await client.encode(keyId, { orderId });

    await produce({ topic: payments, messages: [{ key: avroKey, value: avroValue }] });
    await produce({ topic: shipments, messages: [{ key: orderId, value: jsonValue }] });

    bed.collect(prefix, { SCHEMA_REGISTRY_URL: registry.url });
    const [payment] = await waitForRows(payments, 1);
    expect(payment).toMatchObject({
      event_type: "com.example.payments.PaymentProcessed",
      entity_keys: [orderId],
      value_kind: "json",
      schema_id: avroId,
      flags: [],
      value_json: {
        orderId,
        amount: "12.50",
        paidOn: "2025-12-05",
        paidAt: "2025-12-05T02:00:00.123Z",
        paymentId: "3f2c1b6e-8a1d-4c5e-9b7a-2d4e6f8a0b1c",
        status: "CAPTURED",
        tags: ["card"],
        attributes: { tries: 2 },
        note: null,
      },
    });
    expect(payment!.value_bytes!.equals(avroValue)).toBe(true);
    // The key is shown decoded, and its wire bytes are kept for a replay.
    const { rows: keys } = await bed.db.pool.query<{ key: string; key_bytes: Buffer }>(`SELECT key, key_bytes FROM events WHERE channel = $1`, [payments]);
    expect(keys[0]!.key).toBe(JSON.stringify({ orderId }));
    expect(keys[0]!.key_bytes.equals(avroKey)).toBe(true);
    const [shipment] = await waitForRows(shipments, 1);
    expect(shipment).toMatchObject({ event_type: "ShipmentSent", schema_id: jsonId, value_json: { orderId, carrier: "dhl" }, flags: [] });

    // The event's page says which schema it was read with, and keeps the wire bytes for a replay.
    const detail = await getEvent(bed.db, payments, 0, "0");
    expect(detail).toMatchObject({
      schemaId: avroId,
      schemaSubject: `${payments}-value`,
      schemaVersion: 1,
      valueBytesBase64: avroValue.toString("base64"),
      value: { kind: "json" },
    });

    const timeline = await getEntityTimeline(bed.db, orderId);
    expect(timeline.events.map((e) => e.eventType)).toEqual(["com.example.payments.PaymentProcessed", "ShipmentSent"]);
  });

  test("Avro written by Apache Avro's own implementation (python3-avro), framed by hand, is read the same", async () => {
    const prefix = uniqueName("schemas-py");
    const topic = `${prefix}-orders`;
    await createTopics(bed.kafka, [topic], 1);
    const schema = {
      type: "record",
      name: "OrderPlaced",
      namespace: "com.example.orders",
      fields: [
        { name: "orderId", type: "string" },
        { name: "items", type: { type: "array", items: { type: "record", name: "Item", fields: [{ name: "sku", type: "string" }, { name: "qty", type: "int" }] } } },
        { name: "placedAt", type: { type: "long", logicalType: "timestamp-millis" } },
        { name: "coupon", type: ["null", "string"], default: null },
        // A long beyond 2^53 (a ledger sequence, a nanosecond clock): read exactly, as its text.
        { name: "ledgerSeq", type: "long" },
      ],
    };
    const { id } = await new SchemaRegistry({ host: registry.url }).register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: `${topic}-value` });
    const orderId = `ord-${prefix}`;
    const hex = execFileSync(PYTHON, [
      path.join(HERE, "schemas", "avro-python-writer.py"),
      String(id),
      JSON.stringify(schema),
      // The long as a JSON number Python reads exactly (a JS number cannot hold it).
      JSON.stringify({ orderId, items: [{ sku: "sku-1", qty: 2 }], placedAt: "2025-12-05T02:00:00.000Z", coupon: "WINTER", ledgerSeq: 0 }).replace(
        '"ledgerSeq":0',
        '"ledgerSeq":9007199254740993',
      ),
    ], { encoding: "utf8" }).trim();
    await produce({ topic, messages: [{ key: orderId, value: Buffer.from(hex, "hex") }] });

    bed.collect(prefix, { SCHEMA_REGISTRY_URL: registry.url });
    const [row] = await waitForRows(topic, 1);
    expect(row).toMatchObject({
      event_type: "com.example.orders.OrderPlaced",
      entity_keys: [orderId],
      schema_id: id,
      flags: [],
      value_json: { orderId, items: [{ sku: "sku-1", qty: 2 }], placedAt: "2025-12-05T02:00:00.000Z", coupon: "WINTER", ledgerSeq: "9007199254740993" },
    });
  });

  test("Protobuf written by Confluent's own Python serializer (an imported file, a nested enum) is read with its message type", async () => {
    const prefix = uniqueName("schemas-proto");
    const topic = `${prefix}-shipments`;
    await createTopics(bed.kafka, [topic], 1);
    const dir = makeTempDir("eventscope-protobuf");
    try {
      fs.writeFileSync(
        path.join(dir, "common.proto"),
        ['syntax = "proto3";', "package com.example.common;", "message Parcel { string id = 1; int32 grams = 2; }"].join("\n"),
      );
      fs.writeFileSync(
        path.join(dir, "shipping.proto"),
        [
          'syntax = "proto3";',
          "package com.example.shipping;",
          'import "common.proto";',
          "message ShipmentSent {",
          "  enum Status { UNKNOWN = 0; SENT = 1; }",
          "  string order_id = 1;",
          "  string carrier = 2;",
          "  int64 weight_grams = 3;",
          "  Status status = 4;",
          "  repeated com.example.common.Parcel parcels = 5;",
          "}",
        ].join("\n"),
      );
      execFileSync("protoc", [`--proto_path=${dir}`, `--python_out=${dir}`, "common.proto", "shipping.proto"]);
      const orderId = `ord-${prefix}`;
      // Not execFileSync: the broker and the registry answer from this process's event loop.
      await execFileAsync(PYTHON, [path.join(HERE, "schemas", "protobuf-python-producer.py"), dir, registry.url, bed.broker.address, topic, orderId], {
        timeout: 60_000,
      });

      bed.collect(prefix, { SCHEMA_REGISTRY_URL: registry.url, EVENTSCOPE_ENTITY_FIELDS: "order_id" });
      const [row] = await waitForRows(topic, 1);
      expect(row).toMatchObject({
        event_type: "com.example.shipping.ShipmentSent",
        entity_keys: [orderId],
        value_kind: "json",
        flags: [],
        value_json: {
          order_id: orderId,
          carrier: "dhl",
          weight_grams: "1250",
          status: "SENT",
          parcels: [
            { id: "p-1", grams: 500 },
            { id: "p-2", grams: 750 },
          ],
        },
      });
      expect(row!.schema_id).toEqual(expect.any(Number));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("JSON Schema written by Confluent's own Python serializer is read with the schema's title as its type", async () => {
    const prefix = uniqueName("schemas-json-py");
    const topic = `${prefix}-invoices`;
    await createTopics(bed.kafka, [topic], 1);
    const orderId = `ord-${prefix}`;
    await execFileAsync(PYTHON, [path.join(HERE, "schemas", "json-python-producer.py"), registry.url, bed.broker.address, topic, orderId], {
      timeout: 60_000,
    });
    bed.collect(prefix, { SCHEMA_REGISTRY_URL: registry.url });
    const [row] = await waitForRows(topic, 1);
    expect(row).toMatchObject({
      event_type: "InvoiceIssued",
      entity_keys: [orderId],
      value_kind: "json",
      flags: [],
      value_json: { orderId, totalCents: 4250 },
    });
  });

  test("an unknown schema id, bytes that do not decode, and a registry that cannot be reached: stored as bytes, flagged", async () => {
    const prefix = uniqueName("schema-flags");
    const topic = `${prefix}-events`;
    await createTopics(bed.kafka, [topic], 1);
    const client = new SchemaRegistry({ host: registry.url });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_SCHEMA) }, { subject: `${topic}-value` });
    const frame = (schemaId: number, payload: Buffer) => {
      const header = Buffer.alloc(5);
      header.writeUInt32BE(schemaId, 1);
      return Buffer.concat([header, payload]);
    };
    await produce({
      topic,
      messages: [
        { key: "a", value: frame(987_654, Buffer.from("whatever")) },
        { key: "b", value: frame(id, Buffer.from([0xff, 0xff, 0xff])) },
        // And an ordinary JSON value after them: collection goes on past what it could not read.
        { key: "c", value: JSON.stringify({ orderId: "ord-after", type: "OrderPlaced" }) },
      ],
    });

    bed.collect(prefix, { SCHEMA_REGISTRY_URL: registry.url });
    const rows = await waitForRows(topic, 3);
    expect(rows.map((row) => [row.value_kind, row.schema_id, row.flags])).toEqual([
      ["binary", null, ["schema-unknown"]],
      ["binary", null, ["schema-decode-failed"]],
      ["json", null, []],
    ]);

    // Nothing listens on this port: the registry is unavailable, and collection goes on.
    const closed = await freePort();
    const other = `${prefix}-down`;
    await createTopics(bed.kafka, [other], 1);
    await produce({ topic: other, messages: [{ key: "c", value: frame(id, Buffer.from([0x02])) }] });
    bed.collect(prefix + "x", { SCHEMA_REGISTRY_URL: `http://127.0.0.1:${closed}`, EVENTSCOPE_TOPICS_INCLUDE: `^${other}$` });
    const [down] = await waitForRows(other, 1);
    expect(down).toMatchObject({ value_kind: "binary", flags: ["schema-registry-unavailable"] });
  });

  test("the schema history shows each registry version the events carried, with the subject's level and each change judged", async () => {
    const prefix = uniqueName("schema-history");
    const topic = `${prefix}-payments`;
    const subject = `${topic}-value`;
    await createTopics(bed.kafka, [topic], 1);
    const client = new SchemaRegistry({ host: registry.url });
    const record = (fields: unknown[]) => JSON.stringify({ type: "record", name: "Refund", namespace: prefix.replaceAll("-", "_"), fields });
    const base = [
      { name: "orderId", type: "string" },
      { name: "amount", type: "double" },
    ];
    // FULL for this subject: a new optional field with a default is fine both ways; a type change
    // from double to string is not. The embedded registry reports the level and enforces none.
    await fetch(`${registry.url}/config/${subject}`, {
      method: "PUT",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ compatibility: "FULL" }),
    });
    const full = { subject, compatibility: COMPATIBILITY.FULL };
    const v1 = await client.register({ type: SchemaType.AVRO, schema: record(base) }, full);
    const v2 = await client.register({ type: SchemaType.AVRO, schema: record([...base, { name: "reason", type: ["null", "string"], default: null }]) }, full);
    const v3 = await client.register({ type: SchemaType.AVRO, schema: record([base[0], { name: "amount", type: "string" }]) }, full);
    const orderId = `ord-${prefix}`;
    const at = Date.now() - 60_000;
    await produce({
      topic,
      messages: [
        { key: orderId, value: await client.encode(v1.id, { orderId, amount: 1.5 }), timestamp: String(at) },
        { key: orderId, value: await client.encode(v1.id, { orderId, amount: 2.5 }), timestamp: String(at + 1) },
        { key: orderId, value: await client.encode(v2.id, { orderId, amount: 3.5, reason: "late" }), timestamp: String(at + 2) },
        { key: orderId, value: await client.encode(v3.id, { orderId, amount: "4.50" }), timestamp: String(at + 3) },
      ],
    });

    bed.collect(prefix, { SCHEMA_REGISTRY_URL: registry.url });
    await waitForRows(topic, 4);
    const type = `${prefix.replaceAll("-", "_")}.Refund`;
    const history = await waitUntil("the schemas stored for the history", async () => {
      const found = await getSchemaHistory(bed.db, type);
      return found.registry.every((version) => version.subject !== null) ? found : false;
    }, { describe: () => bed.logs.text() });
    expect(history.registry.map((v) => [v.subject, v.version, v.schemaId, v.count, v.compatibility.level, v.breaking])).toEqual([
      [subject, 1, v1.id, 2, "FULL", false],
      [subject, 2, v2.id, 1, "FULL", false],
      [subject, 3, v3.id, 1, "FULL", true],
    ]);
    expect(history.registry[1]!.changes).toEqual([expect.objectContaining({ path: "reason", kind: "added", compatible: true })]);
    expect(history.registry[2]!.changes).toEqual([
      expect.objectContaining({ path: "amount", kind: "type-changed", before: "double", after: "string", compatible: false }),
      // Removing a field with a default: old readers fill it in, new readers skip it.
      expect.objectContaining({ path: "reason", kind: "removed", compatible: true }),
    ]);
  });

  test("events stored while the registry was down are decoded once it is back, and join their entity's timeline", async () => {
    const prefix = uniqueName("schema-outage");
    const topic = `${prefix}-payments`;
    await createTopics(bed.kafka, [topic], 1);
    // A registry of its own, on a port it comes back to, with its data on disk.
    const dataDir = makeTempDir("eventscope-registry-outage");
    const port = await freePort();
    let own = await startSchemaRegistry({ port, dataDir });
    const client = new SchemaRegistry({ host: own.url });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_SCHEMA) }, { subject: `${topic}-value` });
    const orderId = `ord-${prefix}`;
    const value = await client.encode(id, {
      orderId,
      amount: Buffer.from([0x01, 0x00]),
      paidOn: 20_427,
      paidAt: 1_764_900_000_123,
      paymentId: "3f2c1b6e-8a1d-4c5e-9b7a-2d4e6f8a0b1c",
      status: "DECLINED",
      tags: [],
      attributes: {},
      note: "card expired",
    });
    await own.stop();
    try {
      await produce({ topic, messages: [{ key: orderId, value }] });

      bed.collect(prefix, { SCHEMA_REGISTRY_URL: own.url }, { registryCatchUpMs: 300 });
      const [stored] = await waitForRows(topic, 1);
      expect(stored).toMatchObject({ value_kind: "binary", event_type: null, entity_keys: [orderId], flags: ["schema-registry-unavailable"] });

      own = await startSchemaRegistry({ port, dataDir });
      const decoded = await waitUntil("the event decoded after the outage", async () => {
        const [row] = await rowsOf(topic);
        return row && row.flags.length === 0 ? row : false;
      }, { timeoutMs: 30_000, describe: () => bed.logs.text() });
      expect(decoded).toMatchObject({
        value_kind: "json",
        event_type: "com.example.payments.PaymentProcessed",
        schema_id: id,
        value_json: { orderId, amount: "2.56", status: "DECLINED", note: "card expired" },
      });
      expect(decoded.value_bytes!.equals(value)).toBe(true);
      expect((await getEntityTimeline(bed.db, orderId)).events.map((e) => e.eventType)).toEqual(["com.example.payments.PaymentProcessed"]);
      await waitUntil("the log to say so", () => /schema registry is back: decoded 1 event/.test(bed.logs.text()), { describe: () => bed.logs.text() });
    } finally {
      await own.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
