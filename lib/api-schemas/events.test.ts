import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { entityHref, entityTimelineQuerySchema, parseEntityPageQuery, parseEntityTimelineQuery } from "./entities.ts";
import { eventAddressSchema, eventSearchParams, hasSearchFilters, parseEventSearchQuery } from "./events.ts";
import { queryRecord } from "./query-params.ts";
import { traceIdSchema } from "./traces.ts";

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ZodError) return error.issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
    throw error;
  }
  throw new Error("expected a validation error");
}

describe("event search query", () => {
  it("reads every filter, treating empty form fields as absent", () => {
    const query = parseEventSearchQuery(
      new URLSearchParams(
        "entity=ord-9182&key=&type=OrderPlaced&topic=orders&header=ce_type%3DOrderPlaced&traceId=4BF92F3577B34DA6A3CE929D0E0E4736&from=2026-11-23T08:00&to=2026-11-23T09:00:00Z&limit=25",
      ),
    );
    expect(query).toEqual({
      entity: "ord-9182",
      type: "OrderPlaced",
      topic: "orders",
      header: { name: "ce_type", value: "OrderPlaced" },
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      from: new Date("2026-11-23T08:00:00Z"),
      to: new Date("2026-11-23T09:00:00Z"),
      limit: 25,
    });
    expect(hasSearchFilters({})).toBe(false);
    expect(hasSearchFilters({ topic: "orders" })).toBe(true);
  });

  it("reads a header name alone, and a value that itself holds '='", () => {
    expect(parseEventSearchQuery({ header: "x-replay-id" }).header).toEqual({ name: "x-replay-id" });
    expect(parseEventSearchQuery({ header: "tracestate=vendor=abc" }).header).toEqual({ name: "tracestate", value: "vendor=abc" });
    expect(parseEventSearchQuery({ header: "x-empty=" }).header).toEqual({ name: "x-empty", value: "" });
  });

  it("takes the first of a repeated parameter", () => {
    expect(queryRecord({ topic: ["orders", "payments"], type: undefined })).toEqual({ topic: "orders" });
  });

  it("refuses a header filter without a name", () => {
    expect(messageOf(() => parseEventSearchQuery({ header: "=OrderPlaced" }))).toMatch(/header filter is name or name=value/);
  });

  it("refuses an inverted or empty time range and a time that is not ISO 8601", () => {
    expect(messageOf(() => parseEventSearchQuery({ from: "2026-11-23T09:00:00Z", to: "2026-11-23T08:00:00Z" }))).toMatch(
      /from must be before to/,
    );
    expect(messageOf(() => parseEventSearchQuery({ from: "2026-11-23T09:00:00Z", to: "2026-11-23T09:00:00Z" }))).toMatch(/empty/);
    expect(messageOf(() => parseEventSearchQuery({ from: "yesterday" }))).toMatch(/^from: must be an ISO 8601 time/);
    expect(messageOf(() => parseEventSearchQuery({ to: "2026-13-45T99:00:00Z" }))).toMatch(/^to: must be an ISO 8601 time/);
  });

  it("refuses a limit out of range and a malformed cursor or trace id", () => {
    expect(messageOf(() => parseEventSearchQuery({ limit: "0" }))).toMatch(/^limit: must be a whole number from 1 to 500/);
    expect(messageOf(() => parseEventSearchQuery({ limit: "501" }))).toMatch(/1 to 500/);
    expect(messageOf(() => parseEventSearchQuery({ limit: "ten" }))).toMatch(/1 to 500/);
    expect(messageOf(() => parseEventSearchQuery({ cursor: "a b" }))).toMatch(/^cursor: is malformed/);
    expect(messageOf(() => parseEventSearchQuery({ traceId: "xyz" }))).toMatch(/32 hexadecimal characters/);
  });

  it("writes a search back into the same parameters", () => {
    const query = parseEventSearchQuery({ entity: "ord-1", header: "ce_id=a=b", from: "2026-11-23T08:00:00.000Z", cursor: "abc_-", limit: "10" });
    expect(parseEventSearchQuery(eventSearchParams(query))).toEqual(query);
  });
});

describe("event address", () => {
  it("reads partition as a number and offset as a canonical decimal string", () => {
    expect(eventAddressSchema.parse({ topic: "orders", partition: "2", offset: "0030" })).toEqual({
      topic: "orders",
      partition: 2,
      offset: "30",
    });
    expect(eventAddressSchema.parse({ topic: "t", partition: "0", offset: "9223372036854775807" }).offset).toBe("9223372036854775807");
  });

  it("refuses a bad offset or partition", () => {
    expect(messageOf(() => eventAddressSchema.parse({ topic: "t", partition: "0", offset: "-1" }))).toMatch(/^offset: must be a non-negative whole number/);
    expect(messageOf(() => eventAddressSchema.parse({ topic: "t", partition: "0", offset: "9223372036854775808" }))).toMatch(/^offset: .*64-bit/);
    expect(messageOf(() => eventAddressSchema.parse({ topic: "t", partition: "0", offset: "x" }))).toMatch(/^offset: must be a non-negative whole number$/);
    expect(messageOf(() => eventAddressSchema.parse({ topic: "t", partition: "x", offset: "1" }))).toMatch(/^partition: must be a non-negative whole number/);
    expect(messageOf(() => eventAddressSchema.parse({ topic: "t", partition: "2147483648", offset: "1" }))).toMatch(/^partition: .*32-bit/);
    expect(messageOf(() => eventAddressSchema.parse({ topic: "x".repeat(250), partition: "0", offset: "1" }))).toMatch(/249/);
  });
});

describe("entity timeline query", () => {
  it("takes a cursor and a limit up to 1000", () => {
    expect(parseEntityTimelineQuery(new URLSearchParams("cursor=WyJ0aW1lbGluZSJd&limit=1000"))).toEqual({ cursor: "WyJ0aW1lbGluZSJd", limit: 1000 });
    expect(entityTimelineQuerySchema.parse({})).toEqual({});
    expect(messageOf(() => parseEntityTimelineQuery({ limit: "1001" }))).toMatch(/1 to 1000/);
  });

  it("lets the page carry the selected event, and links to it", () => {
    const href = entityHref("ord 1", { topic: "orders.v1", partition: 2, offset: "30" });
    expect(href).toBe("/entities/ord%201?event=orders.v1%2F2%2F30");
    expect(parseEntityPageQuery(new URL(href, "http://x").searchParams)).toEqual({ event: "orders.v1/2/30" });
    expect(messageOf(() => parseEntityPageQuery({ event: "orders" }))).toMatch(/^event: must be \[<source>:\]<topic>\/<partition>\/<offset>/);
  });

  it("names an event of another source than default by its source too, so two sources' same offsets stay apart", () => {
    expect(entityHref("ord-1", { source: "default", topic: "orders", partition: 0, offset: "5" })).toBe("/entities/ord-1?event=orders%2F0%2F5");
    const href = entityHref("ord-1", { source: "warehouse", topic: "orders", partition: 0, offset: "5" });
    expect(href).toBe("/entities/ord-1?event=warehouse%3Aorders%2F0%2F5");
    expect(parseEntityPageQuery(new URL(href, "http://x").searchParams)).toEqual({ event: "warehouse:orders/0/5" });
  });
});

describe("trace id", () => {
  it("accepts 32 hex digits in either case and lowercases them", () => {
    expect(traceIdSchema.parse(" 4BF92F3577B34DA6A3CE929D0E0E4736 ")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
  });
  it("refuses other lengths, non-hex digits and all zeros", () => {
    expect(messageOf(() => traceIdSchema.parse("4bf92f3577b34da6a3ce929d0e0e473"))).toMatch(/32 hexadecimal/);
    expect(messageOf(() => traceIdSchema.parse("4bf92f3577b34da6a3ce929d0e0e473g"))).toMatch(/32 hexadecimal/);
    expect(messageOf(() => traceIdSchema.parse("0".repeat(32)))).toMatch(/all zeros/);
  });
});
