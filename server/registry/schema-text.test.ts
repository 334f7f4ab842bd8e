import { describe, expect, it } from "vitest";
import { InvalidSchemaError, normaliseSchema } from "./schema-text.ts";

describe("normaliseSchema", () => {
  it("stores Avro and JSON Schema without whitespace, in the key order they were written", () => {
    expect(normaliseSchema("AVRO", '{ "type": "record",\n  "name": "A", "fields": [] }').text).toBe('{"type":"record","name":"A","fields":[]}');
    expect(normaliseSchema("JSON", '{ "type" : "object" }').text).toBe('{"type":"object"}');
  });

  it("matches schemas that differ in key order but not ones that differ in field order", () => {
    const a = normaliseSchema("AVRO", '{"type":"record","name":"A","fields":[{"name":"x","type":"int"},{"name":"y","type":"int"}]}');
    const reordered = normaliseSchema("AVRO", '{"fields":[{"type":"int","name":"x"},{"type":"int","name":"y"}],"name":"A","type":"record"}');
    const swapped = normaliseSchema("AVRO", '{"type":"record","name":"A","fields":[{"name":"y","type":"int"},{"name":"x","type":"int"}]}');
    expect(reordered.matchKey).toBe(a.matchKey);
    expect(swapped.matchKey).not.toBe(a.matchKey);
  });

  it("keeps Protobuf text as sent", () => {
    const proto = 'syntax = "proto3";\nmessage A { string id = 1; }\n';
    expect(normaliseSchema("PROTOBUF", proto)).toEqual({ text: proto, matchKey: proto });
  });

  it("accepts the Avro shapes serializers send", () => {
    for (const schema of [
      '"string"',
      '["null", "long"]',
      '{"type": "long", "logicalType": "timestamp-millis"}',
      '{"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}',
      '{"type": "fixed", "name": "Hash", "size": 16}',
      '{"type": "array", "items": {"type": "map", "values": "com.example.Order"}}',
      '{"type": "record", "name": "com.example.Order", "fields": [{"name": "lines", "type": {"type": "array", "items": "string"}}]}',
    ]) {
      expect(() => normaliseSchema("AVRO", schema), schema).not.toThrow();
    }
  });

  it("refuses what is not an Avro schema, saying where", () => {
    for (const [schema, where] of [
      ["{not json", "not JSON"],
      ["42", "schema"],
      ['{"fields": []}', 'no "type"'],
      ['{"type": "record", "name": "A"}', '"fields"'],
      ['{"type": "record", "name": "A", "fields": [{"name": "x"}]}', 'field "x" has no "type"'],
      ['{"type": "enum", "name": "E", "symbols": [1]}', '"symbols"'],
      ['{"type": "fixed", "name": "F"}', '"size"'],
      ['{"type": "array"}', '"items"'],
      ['{"type": "record", "name": "A", "fields": [{"name": "x", "type": "not a name"}]}', "schema.fields[0].type"],
    ]) {
      expect(() => normaliseSchema("AVRO", schema!), schema).toThrow(InvalidSchemaError);
      expect(() => normaliseSchema("AVRO", schema!), schema).toThrow(where);
    }
  });

  it("refuses a JSON Schema that is not an object or a boolean, and an empty Protobuf schema", () => {
    expect(() => normaliseSchema("JSON", "[1]")).toThrow(InvalidSchemaError);
    expect(() => normaliseSchema("JSON", "true")).not.toThrow();
    expect(() => normaliseSchema("PROTOBUF", " \n")).toThrow(InvalidSchemaError);
  });
});
