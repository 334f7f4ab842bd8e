/**
 * The demo's payments serializer against the embedded schema registry over HTTP: the wire format
 * it writes, the versions it registers, and reading across them.
 */
import avro from "avsc";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startSchemaRegistry, type RunningSchemaRegistry } from "../registry/index.ts";
import { isUnknownSchemaError, isWireFormat, PAYMENT_SCHEMAS, PaymentsAvro, type Payment } from "./payments-avro.ts";

let registry: RunningSchemaRegistry;

beforeAll(async () => {
  registry = await startSchemaRegistry({ port: 0 });
});

afterAll(async () => {
  await registry?.stop();
});

const payment: Payment = {
  orderId: "ord-1a2b3c4d5e",
  paymentId: "pay-1",
  status: "CAPTURED",
  amount: 203.5,
  currency: "EUR",
  reason: null,
  occurredAt: Date.UTC(2026, 11, 5, 12, 0, 0, 123),
  cardLast4: "4242",
};

async function versionsOf(subject: string): Promise<number[]> {
  return (await (await fetch(`${registry.url}/subjects/${subject}/versions`)).json()) as number[];
}

describe("payments in Avro through the registry", () => {
  test("the wire format: byte 0, the registered id big-endian, Avro binary of the registered schema", async () => {
    const writer = new PaymentsAvro({ url: registry.url });
    await expect(writer.encode(payment)).rejects.toThrow(/no payments schema registered/);
    const id = await writer.register("initial");
    expect(await versionsOf("payments-value")).toEqual([1]);
    const bytes = await writer.encode(payment);
    expect(isWireFormat(bytes)).toBe(true);
    expect(bytes.readUInt32BE(1)).toBe(id);
    // Read by Avro's own library with the schema as the registry serves it (the field the first
    // version lacks is not written).
    const served = (await (await fetch(`${registry.url}/schemas/ids/${id}`)).json()) as { schema: string };
    const { cardLast4: _notInFirst, ...written } = payment;
    expect(avro.Type.forSchema(JSON.parse(served.schema) as avro.Schema).fromBuffer(bytes.subarray(5))).toEqual(written);
  });

  test("each change registers a new version; a reader decodes every version by its id", async () => {
    const writer = new PaymentsAvro({ url: registry.url });
    const first = await writer.register("initial");
    const before = await writer.encode(payment);
    const compatible = await writer.register("compatible");
    const afterCompatible = await writer.encode(payment);
    const breaking = await writer.register("breaking");
    const afterBreaking = await writer.encode({ ...payment, status: "REFUNDED", cardLast4: null });
    expect(new Set([first, compatible, breaking]).size).toBe(3);
    expect(await versionsOf("payments-value")).toEqual([1, 2, 3]);
    expect(writer.writerSchema).toEqual({ version: "breaking", id: breaking });

    const reader = new PaymentsAvro({ url: registry.url });
    const { cardLast4: _notInFirst, ...firstFields } = payment;
    expect(await reader.decode(before)).toEqual(firstFields);
    expect(await reader.decode(afterCompatible)).toEqual(payment);
    // The breaking version requires the field: a payment whose card is unknown writes "".
    expect(await reader.decode(afterBreaking)).toEqual({ ...payment, status: "REFUNDED", cardLast4: "" });
  });

  test("the changes are what they say under BACKWARD: the compatible one reads old data, the breaking one cannot", () => {
    const old = avro.Type.forSchema(PAYMENT_SCHEMAS.initial as avro.Schema);
    const oldBytes = old.toBuffer({ ...payment, cardLast4: undefined });
    const compatible = avro.Type.forSchema(PAYMENT_SCHEMAS.compatible as avro.Schema);
    expect(compatible.fromBuffer(oldBytes, compatible.createResolver(old))).toMatchObject({ orderId: payment.orderId, cardLast4: null });
    const breaking = avro.Type.forSchema(PAYMENT_SCHEMAS.breaking as avro.Schema);
    expect(() => breaking.createResolver(old)).toThrow(/cardLast4/);
  });

  test("an id the registry does not know is told apart from a registry that cannot answer", async () => {
    const unknown = Buffer.from([0, 0, 0, 0x7f, 0xff, 2, 0x61]);
    const failure = await new PaymentsAvro({ url: registry.url }).decode(unknown).catch((error: unknown) => error);
    expect(isUnknownSchemaError(failure)).toBe(true);
    const closed = await startSchemaRegistry({ port: 0 });
    await closed.stop();
    const away = await new PaymentsAvro({ url: closed.url }).decode(unknown).catch((error: unknown) => error);
    expect(away).toBeInstanceOf(Error);
    expect(isUnknownSchemaError(away)).toBe(false);
  });
});
