import { describe, expect, test } from "vitest";
import { buildReplayMessage, toKafkajsHeaders, type OutgoingMessage } from "./message.ts";

const stored: OutgoingMessage = {
  key: Buffer.from("ord-1"),
  value: Buffer.from('{ "a":1 }'),
  headers: [
    { key: "traceparent", value: Buffer.from("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") },
    { key: "kafka_dlt-original-offset", value: Buffer.from([0, 0, 0, 0, 0, 0, 0, 7]) },
    { key: "X-Original-Topic", value: Buffer.from("orders") },
    { key: "__connect.errors.exception.message", value: Buffer.from("boom") },
    { key: "x-replay-id", value: Buffer.from("an-earlier-replay") },
    { key: "retry_topic-attempts", value: Buffer.from([0, 0, 0, 3]) },
    { key: "x-null", value: null },
  ],
};
const marks = { replayId: "6f1c0e8e-0d3c-4d0e-9b7a-1a2b3c4d5e6f", replayOf: "orders-dlq/0/12" };

describe("buildReplayMessage", () => {
  test("keeps key, value and ordinary headers; drops every convention's failure headers and earlier replay marks", () => {
    const { message, diff } = buildReplayMessage(stored, marks);
    expect(diff).toBeNull();
    expect(message.key).toEqual(stored.key);
    expect(message.value).toEqual(stored.value);
    expect(message.headers).toEqual([
      stored.headers[0],
      { key: "x-null", value: null },
      { key: "x-replay-of", value: Buffer.from("orders-dlq/0/12") },
      { key: "x-replay-id", value: Buffer.from(marks.replayId) },
    ]);
  });

  test("edits change what is sent and are described in the diff", () => {
    const { message, diff } = buildReplayMessage(stored, marks, {
      value: '{"a":2}',
      headers: [{ key: "traceparent", value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }, { key: "x-bin", value: "base64:AP8=" }],
    });
    expect(message.value).toEqual(Buffer.from('{"a":2}'));
    expect(message.headers.find((h) => h.key === "x-bin")?.value).toEqual(Buffer.from([0, 0xff]));
    expect(diff).toEqual({
      value: { before: '{ "a":1 }', after: '{"a":2}' },
      headers: { removed: [{ key: "x-null", value: null }], added: [{ key: "x-bin", value: "base64:AP8=" }] },
    });
  });

  test("an edit may not smuggle dead-letter or replay headers", () => {
    expect(() => buildReplayMessage(stored, marks, { headers: [{ key: "x-replay-id", value: "mine" }] })).toThrow(/cannot be sent/);
  });
});

test("kafkajs headers keep repeated keys as arrays in first-appearance order", () => {
  const headers = toKafkajsHeaders([
    { key: "a", value: Buffer.from("1") },
    { key: "b", value: Buffer.from("2") },
    { key: "a", value: Buffer.from("3") },
  ]);
  expect(Object.keys(headers)).toEqual(["a", "b"]);
  expect(headers.a).toEqual([Buffer.from("1"), Buffer.from("3")]);
});
