/**
 * Replay of Schema Registry values, end to end: a dead letter encoded by a client library we did
 * not write (@kafkajs/confluent-schema-registry) against Eventscope's embedded registry, collected
 * with SCHEMA_REGISTRY_URL, shown decoded, replayed as it was (the original bytes) and with an
 * edited value, which the same library decodes from the target topic under the same schema id.
 * A value that does not fit, or a registry that cannot be reached, claims and produces nothing.
 */
import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import type { Kafka, Producer } from "kafkajs";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startBroker, type RunningBroker } from "../broker/index.ts";
import { uniqueName, waitUntil } from "../broker/test-support.ts";
import { startCollector, type RunningCollector } from "../collector/collector.ts";
import { createTopics, testKafka } from "../collector/test-support.ts";
import { loadConfig } from "../config.ts";
import { getDeadLetter } from "../db/index.ts";
import { createTestDatabase, type TestDatabase } from "../db/test-support.ts";
import { partitionCountOf } from "../kafka/index.ts";
import { startSchemaRegistry, type RunningSchemaRegistry } from "../registry/index.ts";
import { SchemaRegistryClient } from "../schemas/registry-client.ts";
import { ValidationError } from "../../lib/errors.ts";
import { createReplayAdmin, createReplayProducer } from "./producer.ts";
import { replayDeadLetter, type ReplayDeps } from "./replay.ts";

const PREFIX = uniqueName("reencode");
const HERE = path.dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);
/** Debian's Python, which sees Debian's python3-avro (another python3 may come first on PATH). */
const PYTHON = "/usr/bin/python3";

let broker: RunningBroker;
let registry: RunningSchemaRegistry;
let db: TestDatabase;
let kafka: Kafka;
let collector: RunningCollector;
let producer: Producer;
let deps: ReplayDeps;
let client: SchemaRegistry;
const logs: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  broker = await startBroker({ port: 0, log: () => {} });
  registry = await startSchemaRegistry({ port: 0 });
  db = await createTestDatabase();
  kafka = testKafka(broker.address);
  const config = loadConfig({
    KAFKA_BROKERS: broker.address,
    SCHEMA_REGISTRY_URL: registry.url,
    EVENTSCOPE_COLLECTOR_GROUP: `${PREFIX}-collector`,
    EVENTSCOPE_TOPICS_INCLUDE: `^${PREFIX}-`,
    EVENTSCOPE_POLL_MS: "300",
  });
  collector = startCollector(config, { source: { id: 1, name: "default" }, db, log: (line) => logs.push(line), topicRefreshMs: 500, healthIntervalMs: 500 });
  producer = kafka.producer();
  await producer.connect();
  const replayProducer = await createReplayProducer(config);
  cleanups.push(() => replayProducer.disconnect());
  const replayAdmin = await createReplayAdmin(config);
  cleanups.push(() => replayAdmin.disconnect());
  deps = {
    db,
    producer: async () => replayProducer,
    partitionCount: (topic) => partitionCountOf(replayAdmin, topic),
    schemas: new SchemaRegistryClient({ url: registry.url }),
  };
  client = new SchemaRegistry({ host: registry.url });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await producer?.disconnect();
  await collector?.stop();
  await db?.drop();
  await registry?.stop();
  await broker?.stop();
});

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Produces a dead letter as the demo services write one and waits until it is stored; its id. */
async function produceDeadLetter(dlq: string, origin: string, key: string, value: Buffer): Promise<string> {
  await producer.send({
    topic: dlq,
    messages: [
      {
        key,
        value,
        headers: { "x-original-topic": origin, "x-original-partition": "0", "x-original-offset": "5", "x-error": "declined", "x-error-class": "PaymentDeclined" },
      },
    ],
  });
  return waitUntil(
    `dead letter ${key} in ${dlq}`,
    async () => {
      const { rows } = await db.pool.query<{ id: string }>(`SELECT id::text AS id FROM dead_letters WHERE channel = $1 ORDER BY id DESC LIMIT 1`, [dlq]);
      return rows[0]?.id;
    },
    { timeoutMs: 30_000, intervalMs: 100, describe: () => logs.slice(-20).join("\n") },
  );
}

/** Every record's value in `topic` (one partition), read with a fresh consumer group from the start. */
async function valuesOf(topic: string, count: number): Promise<Buffer[]> {
  const values: Buffer[] = [];
  const consumer = kafka.consumer({ groupId: uniqueName(`${PREFIX}-reader`) });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value ?? Buffer.alloc(0)) });
  try {
    await waitUntil(`${count} records of ${topic}`, () => values.length >= count, { timeoutMs: 20_000 });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

async function endOffsetOf(topic: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic))[0]!.high;
  } finally {
    await admin.disconnect();
  }
}

async function replayCount(deadLetterId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM replays WHERE dead_letter_id = $1`, [deadLetterId]);
  return rows[0]!.n;
}

const PAYMENT_SCHEMA = {
  type: "record",
  name: "PaymentFailed",
  namespace: "com.example.payments",
  fields: [
    { name: "orderId", type: "string" },
    { name: "amount", type: { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 } },
    { name: "failedOn", type: { type: "int", logicalType: "date" } },
    { name: "reason", type: { type: "enum", name: "Reason", symbols: ["DECLINED", "TIMED_OUT"] } },
    { name: "note", type: ["null", "string"], default: null },
  ],
};

describe("replay of a Schema Registry value", () => {
  test("shown decoded; sent as the original bytes; an edit is re-encoded under the same schema id and decodes to the edit", async () => {
    const payments = `${PREFIX}-payments`;
    const dlq = `${PREFIX}-payments-dlq`;
    await createTopics(kafka, [payments, dlq], 1);
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_SCHEMA) }, { subject: `${payments}-value` });
    const original = await client.encode(id, {
      orderId: "ord-1",
      amount: Buffer.from([0x04, 0xe2]), // 1250: 12.50
      failedOn: 20_427, // 2025-12-05
      reason: "TIMED_OUT",
      note: null,
    });
    const deadLetterId = await produceDeadLetter(dlq, payments, "ord-1", original);

    // The page shows the value decoded, and says with which schema id.
    const detail = await getDeadLetter(db, deadLetterId);
    expect(detail?.valueSchemaId).toBe(id);
    expect(detail?.value?.kind).toBe("json");
    expect(JSON.parse((detail!.value as { text: string }).text)).toEqual({ orderId: "ord-1", amount: "12.50", failedOn: "2025-12-05", reason: "TIMED_OUT", note: null });

    // As it was: the original bytes.
    const plain = await replayDeadLetter(deps, { deadLetterId, actor: "alice" });
    expect(plain).toMatchObject({ status: "sent", targetTopic: payments, edits: null });

    // Edited as JSON: re-encoded under the same id.
    const edit = { orderId: "ord-1", amount: "99.95", failedOn: "2025-12-06", reason: "DECLINED", note: "card replaced" };
    const edited = await replayDeadLetter(deps, { deadLetterId, actor: "alice", again: true, seen: 1, value: JSON.stringify(edit, null, 2) });
    expect(edited).toMatchObject({ status: "sent", targetTopic: payments, sequence: 2 });

    const [first, second] = await valuesOf(payments, 2);
    expect(first!.equals(original)).toBe(true);
    expect(second!.readUInt32BE(1)).toBe(id);
    expect(await client.decode(second!)).toEqual({
      orderId: "ord-1",
      amount: Buffer.from([0x27, 0x0b]), // 9995: 99.95
      failedOn: 20_428,
      reason: "DECLINED",
      note: "card replaced",
    });
    // Apache Avro's own implementation reads the same bytes the same way.
    const { stdout } = await execFileAsync(PYTHON, [path.join(HERE, "avro-python-reader.py"), JSON.stringify(PAYMENT_SCHEMA), second!.toString("hex")]);
    expect(JSON.parse(stdout)).toEqual({
      schemaId: id,
      record: { orderId: "ord-1", amount: "99.95", failedOn: "2025-12-06", reason: "DECLINED", note: "card replaced" },
    });

    // The audit keeps the JSON before and after.
    const { rows } = await db.pool.query<{ edits: { value: { before: string; after: string; schemaId: number } } }>(
      `SELECT edits FROM replays WHERE dead_letter_id = $1 AND sequence = 2`,
      [deadLetterId],
    );
    expect(JSON.parse(rows[0]!.edits.value.before)).toMatchObject({ amount: "12.50", reason: "TIMED_OUT" });
    expect(JSON.parse(rows[0]!.edits.value.after)).toEqual(edit);
    expect(rows[0]!.edits.value.schemaId).toBe(id);
  });

  test("a value that does not fit the schema is refused naming the field; nothing is claimed or produced", async () => {
    const payments = `${PREFIX}-refused`;
    const dlq = `${PREFIX}-refused-dlq`;
    await createTopics(kafka, [payments, dlq], 1);
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_SCHEMA) }, { subject: `${payments}-value` });
    const original = await client.encode(id, { orderId: "ord-2", amount: Buffer.from([0x04, 0xe2]), failedOn: 20_427, reason: "DECLINED", note: null });
    const deadLetterId = await produceDeadLetter(dlq, payments, "ord-2", original);

    const misfit = { orderId: "ord-2", amount: "12.345", failedOn: "2025-12-05", reason: "DECLINED", note: null };
    const refusal = await replayDeadLetter(deps, { deadLetterId, actor: "alice", value: JSON.stringify(misfit) }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ValidationError);
    expect(refusal).toMatchObject({
      field: "value",
      message: 'amount: expected a decimal of at most 10 digits with at most 2 digits after the point, got "12.345"',
    });

    // The registry cannot be reached: said so, and nothing sent either.
    const unreachable = new SchemaRegistryClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 1_000 });
    const fine = { ...misfit, amount: "12.34" };
    const offline = await replayDeadLetter({ ...deps, schemas: unreachable }, { deadLetterId, actor: "alice", value: JSON.stringify(fine) });
    expect(offline).toMatchObject({ status: "unavailable", error: expect.stringMatching(/^cannot re-encode the edited value under schema id \d+: schema registry unavailable: .*nothing was sent/) });

    expect(await replayCount(deadLetterId)).toBe(0);
    expect(await endOffsetOf(payments)).toBe("0");
    expect((await getDeadLetter(db, deadLetterId))?.status).toBe("new");
  });

  test("Protobuf: the edit is written after the same message-index path and the library reads it", async () => {
    const orders = `${PREFIX}-orders`;
    const dlq = `${PREFIX}-orders-dlq`;
    await createTopics(kafka, [orders, dlq], 1);
    const proto = `syntax = "proto3";
package com.example.orders;
message OrderPlaced {
  string order_id = 1;
  repeated Line lines = 2;
  uint64 total_cents = 3;
  message Line { string sku = 1; int32 qty = 2; }
}
`;
    const { id } = await client.register({ type: SchemaType.PROTOBUF, schema: proto }, { subject: `${orders}-value` });
    const type = protobuf.parse(proto, { keepCase: true }).root.lookupType("com.example.orders.OrderPlaced");
    const message = type.encode(type.fromObject({ order_id: "ord-3", lines: [{ sku: "a", qty: 1 }], total_cents: 500 })).finish();
    // Confluent's framing: byte 0, the id, the message-index path ([0]: a lone 0), the message.
    const header = Buffer.alloc(5);
    header.writeUInt32BE(id, 1);
    const original = Buffer.concat([header, Buffer.from([0]), message]);
    const deadLetterId = await produceDeadLetter(dlq, orders, "ord-3", original);

    const detail = await getDeadLetter(db, deadLetterId);
    expect(detail?.valueSchemaId).toBe(id);
    const edit = { order_id: "ord-3", lines: [{ sku: "a", qty: 2 }, { sku: "b", qty: 1 }], total_cents: "900" };
    expect(await replayDeadLetter(deps, { deadLetterId, actor: "alice", value: JSON.stringify(edit) })).toMatchObject({ status: "sent" });

    const [sent] = await valuesOf(orders, 1);
    expect(sent!.subarray(0, 6)).toEqual(Buffer.concat([header, Buffer.from([0])]));
    // The library parses .proto files with protobufjs's default camelCase field names.
    const decoded = (await client.decode(sent!)) as protobuf.Message;
    expect(decoded.$type.toObject(decoded, { longs: String })).toEqual({ orderId: "ord-3", lines: edit.lines, totalCents: "900" });
  });
});

describe("replay of a JSON Schema value", () => {
  test("an edit is checked against the schema and sent under the same id; a misfit names the field", async () => {
    const shipments = `${PREFIX}-shipments`;
    const dlq = `${PREFIX}-shipments-dlq`;
    await createTopics(kafka, [shipments, dlq], 1);
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      title: "ShipmentSent",
      type: "object",
      properties: { orderId: { type: "string" }, parcels: { type: "integer", minimum: 1 } },
      required: ["orderId", "parcels"],
    };
    const { id } = await client.register({ type: SchemaType.JSON, schema: JSON.stringify(schema) }, { subject: `${shipments}-value` });
    const deadLetterId = await produceDeadLetter(dlq, shipments, "ord-5", await client.encode(id, { orderId: "ord-5", parcels: 1 }));

    const refusal = await replayDeadLetter(deps, { deadLetterId, actor: "alice", value: '{"orderId": "ord-5", "parcels": 0}' }).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ name: "ValidationError", field: "value", message: "parcels: must be >= 1, got 0" });
    expect(await replayCount(deadLetterId)).toBe(0);

    expect(await replayDeadLetter(deps, { deadLetterId, actor: "alice", value: '{"orderId": "ord-5", "parcels": 2}' })).toMatchObject({ status: "sent" });
    const [sent] = await valuesOf(shipments, 1);
    expect(sent!.readUInt32BE(1)).toBe(id);
    expect(await client.decode(sent!)).toEqual({ orderId: "ord-5", parcels: 2 });
  });
});

describe("the replay route handler with an edited Schema Registry value", () => {
  const ADMIN_TOKEN = "reencode-route-admin-token";
  const NAMES = ["DATABASE_URL", "KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "EVENTSCOPE_ADMIN_TOKEN", "EVENTSCOPE_READ_TOKEN", "EVENTSCOPE_USERS_FILE"];
  const saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));

  afterAll(async () => {
    const { closeReplayProducer } = await import("./producer.ts");
    const { getDatabase } = await import("../db/index.ts");
    await closeReplayProducer();
    await (await getDatabase()).close();
    for (const name of NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  test("a misfit is answered 422 naming the field, with nothing claimed or sent; a fitting edit is sent re-encoded", async () => {
    const payments = `${PREFIX}-route`;
    const dlq = `${PREFIX}-route-dlq`;
    await createTopics(kafka, [payments, dlq], 1);
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(PAYMENT_SCHEMA) }, { subject: `${payments}-value` });
    const original = await client.encode(id, { orderId: "ord-4", amount: Buffer.from([0x04, 0xe2]), failedOn: 20_427, reason: "DECLINED", note: null });
    const deadLetterId = await produceDeadLetter(dlq, payments, "ord-4", original);
    Object.assign(process.env, { DATABASE_URL: db.url, KAFKA_BROKERS: broker.address, SCHEMA_REGISTRY_URL: registry.url, EVENTSCOPE_ADMIN_TOKEN: ADMIN_TOKEN });
    delete process.env.EVENTSCOPE_READ_TOKEN;
    delete process.env.EVENTSCOPE_USERS_FILE;
    const { POST } = await import("../../app/api/dead-letters/[id]/replay/route.ts");
    const call = (body: unknown) =>
      POST(
        new Request(`http://127.0.0.1/api/dead-letters/${deadLetterId}/replay`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
        { params: Promise.resolve({ id: deadLetterId }) },
      );

    const refused = await call({ value: JSON.stringify({ orderId: "ord-4", amount: "1.00", failedOn: "2025-12-05", reason: "LOST", note: null }) });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ error: "validation", field: "value", message: 'reason: expected one of DECLINED, TIMED_OUT, got "LOST"' });
    expect(await replayCount(deadLetterId)).toBe(0);
    expect(await endOffsetOf(payments)).toBe("0");

    const sent = await call({ value: JSON.stringify({ orderId: "ord-4", amount: "1.00", failedOn: "2025-12-05", reason: "TIMED_OUT", note: null }) });
    expect(sent.status).toBe(200);
    const [value] = await valuesOf(payments, 1);
    expect(value!.readUInt32BE(1)).toBe(id);
    expect(await client.decode(value!)).toMatchObject({ orderId: "ord-4", amount: Buffer.from([0x64]), reason: "TIMED_OUT" });
  });
});
