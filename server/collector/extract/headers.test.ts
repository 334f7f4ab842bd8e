import { describe, expect, it } from "vitest";
import { flattenHeaders, headerEntries, indexHeaders, lastHeaderText } from "./headers.ts";

describe("flattenHeaders", () => {
  it("expands kafkajs's arrays in place, keeping repeated keys in order", () => {
    const headers = flattenHeaders({
      "content-type": Buffer.from("application/json"),
      traceparent: [Buffer.from("first"), Buffer.from("second")],
      tracestate: Buffer.from("a=1"),
    });
    expect(headers.map((h) => [h.key, h.text])).toEqual([
      ["content-type", "application/json"],
      ["traceparent", "first"],
      ["traceparent", "second"],
      ["tracestate", "a=1"],
    ]);
  });

  it("accepts strings as well as Buffers, and keeps a null header value as null", () => {
    const headers = flattenHeaders({ service: "orders", empty: undefined, nothing: null, list: ["a", null] });
    expect(headers).toEqual([
      { key: "service", value: Buffer.from("orders"), text: "orders" },
      { key: "empty", value: null, text: null },
      { key: "nothing", value: null, text: null },
      { key: "list", value: Buffer.from("a"), text: "a" },
      { key: "list", value: null, text: null },
    ]);
  });

  it("keeps binary values as bytes, with no text", () => {
    const partition = Buffer.alloc(4);
    partition.writeInt32BE(3);
    const [entry] = flattenHeaders({ "kafka_dlt-original-partition": partition, blob: Buffer.from([0xc3, 0x28]) });
    expect(entry).toEqual({ key: "kafka_dlt-original-partition", value: partition, text: null });
    expect(flattenHeaders({ blob: Buffer.from([0xc3, 0x28]) })[0]!.text).toBeNull();
  });

  it("returns no headers for a missing header object", () => {
    expect(flattenHeaders(undefined)).toEqual([]);
    expect(flattenHeaders(null)).toEqual([]);
  });
});

describe("header lookups", () => {
  it("ignore the key's case and return every occurrence in order", () => {
    const index = indexHeaders(flattenHeaders({ "Content-Type": "text/plain", "content-type": "application/json" }));
    expect(headerEntries(index, "CONTENT-TYPE").map((h) => h.text)).toEqual(["text/plain", "application/json"]);
  });

  it("read the last non-empty text of a repeated header", () => {
    const index = indexHeaders(flattenHeaders({ producer: ["billing", "orders", "", null] }));
    expect(lastHeaderText(index, "producer")).toBe("orders");
    expect(lastHeaderText(index, "absent")).toBeNull();
  });
});
