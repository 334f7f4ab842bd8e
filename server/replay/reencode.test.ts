import { describe, expect, test } from "vitest";
import { ValidationError } from "../../lib/errors.ts";
import { avroReader } from "../schemas/avro.ts";
import type { RegistrySchema, SchemaLookup } from "../schemas/registry-client.ts";
import { buildReplayMessage } from "./message.ts";
import { reencodeEditedValue, type SchemaSource } from "./reencode.ts";

const SCHEMA: RegistrySchema = {
  id: 7,
  schemaType: "AVRO",
  schema: JSON.stringify({
    type: "record",
    name: "Payment",
    fields: [
      { name: "orderId", type: "string" },
      { name: "amount", type: { type: "bytes", logicalType: "decimal", precision: 9, scale: 2 } },
    ],
  }),
  subject: "payments-value",
  version: 1,
  references: [],
  compatibility: null,
};
/** ord-1, 12.50 (1250 = 0x04e2) under id 7. */
const WIRE = Buffer.from([0, 0, 0, 0, 7, 0x0a, ...Buffer.from("ord-1"), 0x04, 0x04, 0xe2]);
const source = { value: WIRE, decoded: { schemaId: 7, json: '{"amount": "12.50", "orderId": "ord-1"}' } };

function registry(answer: SchemaLookup): SchemaSource & { asked: number[] } {
  const asked: number[] = [];
  return { asked, get: async (id) => (asked.push(id), answer) };
}

describe("re-encoding an edited Schema Registry value", () => {
  test("the edit goes out under the same schema id; the audit diff has the JSON before and after", async () => {
    const schemas = registry({ status: "known", schema: SCHEMA });
    const prepared = await reencodeEditedValue(schemas, source, '{ "orderId": "ord-1", "amount": "99.95" }');
    expect(schemas.asked).toEqual([7]);
    if (prepared.status !== "changed") throw new Error(prepared.status);
    expect(prepared.value.bytes.subarray(0, 5)).toEqual(WIRE.subarray(0, 5));
    expect(avroReader(SCHEMA.schema).read(prepared.value.bytes.subarray(5))).toEqual({ orderId: "ord-1", amount: "99.95" });
    const { message, diff } = buildReplayMessage({ key: null, value: WIRE, headers: [] }, { replayId: "r", replayOf: "p/0/1" }, { reencoded: prepared.value });
    expect(message.value).toEqual(prepared.value.bytes);
    expect(diff).toEqual({
      value: { before: '{"amount":"12.50","orderId":"ord-1"}', after: '{"orderId":"ord-1","amount":"99.95"}', schemaId: 7 },
    });
  });

  test("the same JSON as decoded changes nothing: the original bytes go out, the registry is not asked", async () => {
    const schemas = registry({ status: "known", schema: SCHEMA });
    expect(await reencodeEditedValue(schemas, source, '{\n  "amount": "12.50",\n  "orderId": "ord-1"\n}')).toEqual({ status: "unchanged" });
    expect(schemas.asked).toEqual([]);
  });

  test("a misfit or text that is not JSON is a ValidationError on value naming the field", async () => {
    const schemas = registry({ status: "known", schema: SCHEMA });
    const refused = (text: string) => reencodeEditedValue(schemas, source, text).then(() => null, (error: unknown) => error);
    const misfit = await refused('{ "orderId": "ord-1", "amount": "12.345" }');
    expect(misfit).toBeInstanceOf(ValidationError);
    expect(misfit).toMatchObject({ field: "value", message: 'amount: expected a decimal of at most 9 digits with at most 2 digits after the point, got "12.345"' });
    expect(await refused("amount=12")).toMatchObject({ field: "value", message: expect.stringMatching(/^value: not valid JSON .* schema 7 is edited as JSON$/) });
  });

  test("no registry, an id it does not know, or one it cannot answer for: unavailable, saying why", async () => {
    const edit = '{ "orderId": "ord-2", "amount": "1.00" }';
    expect(await reencodeEditedValue(null, source, edit)).toMatchObject({ status: "unavailable", error: expect.stringMatching(/SCHEMA_REGISTRY_URL is not set/) });
    expect(await reencodeEditedValue(registry({ status: "unknown" }), source, edit)).toMatchObject({
      status: "unavailable",
      error: expect.stringMatching(/does not know schema id 7/),
    });
    expect(await reencodeEditedValue(registry({ status: "unavailable", error: "schema registry unavailable: no answer within 5000 ms" }), source, edit)).toMatchObject({
      status: "unavailable",
      error: expect.stringMatching(/no answer within 5000 ms; nothing was sent/),
    });
  });
});
