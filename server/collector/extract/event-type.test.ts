import { describe, expect, it } from "vitest";
import type { CloudEventAttributes } from "./cloudevents.ts";
import { resolveEventType } from "./event-type.ts";
import { flattenHeaders, indexHeaders } from "./headers.ts";
import { resolveProducer } from "./producer.ts";
import type { RawHeaderValue } from "./types.ts";

const index = (headers: Record<string, RawHeaderValue | RawHeaderValue[]>) => indexHeaders(flattenHeaders(headers));

function cloudEvent(mode: "binary" | "structured", type: string | null, source: string | null): CloudEventAttributes {
  return { mode, specVersion: "1.0", id: "e1", source, type, subject: null, time: null, dataContentType: null };
}

describe("resolveEventType", () => {
  it("prefers CloudEvents over headers and fields", () => {
    const headers = index({ "event-type": "Header", type: "TypeHeader" });
    expect(resolveEventType(headers, cloudEvent("binary", "com.acme.order.placed", null), { type: "Field" })).toEqual({
      eventType: "com.acme.order.placed",
      source: "ce_type",
    });
    expect(resolveEventType(headers, cloudEvent("structured", "com.acme.order.placed", null), undefined).source).toBe(
      "cloudevent",
    );
  });

  it("then an event-type header, then a type header", () => {
    expect(resolveEventType(index({ "event-type": "OrderPlaced", type: "x" }), null, undefined)).toEqual({
      eventType: "OrderPlaced",
      source: "event-type-header",
    });
    expect(resolveEventType(index({ type: "OrderPlaced" }), null, { type: "x" })).toEqual({
      eventType: "OrderPlaced",
      source: "type-header",
    });
  });

  it("then a top-level type or eventType field of the JSON value", () => {
    expect(resolveEventType(index({}), null, { type: "OrderPlaced", eventType: "x" })).toEqual({
      eventType: "OrderPlaced",
      source: "value-type",
    });
    expect(resolveEventType(index({}), null, { eventType: "PaymentCaptured" })).toEqual({
      eventType: "PaymentCaptured",
      source: "value-eventType",
    });
  });

  it("ignores nested, non-string and empty type fields, and an empty header", () => {
    expect(resolveEventType(index({ type: "" }), null, { payment: { type: "card" }, type: 3 })).toEqual({
      eventType: null,
      source: null,
    });
    expect(resolveEventType(index({}), null, [{ type: "OrderPlaced" }]).eventType).toBeNull();
  });

  it("takes the transport's type property (AMQP `type`) after CloudEvents and before every header and field", () => {
    const headers = index({ "event-type": "Header", type: "TypeHeader" });
    expect(resolveEventType(headers, null, { type: "Field" }, null, "OrderPlaced")).toEqual({
      eventType: "OrderPlaced",
      source: "amqp-type",
    });
    expect(resolveEventType(headers, cloudEvent("binary", "com.acme.order.placed", null), undefined, null, "OrderPlaced")).toEqual({
      eventType: "com.acme.order.placed",
      source: "ce_type",
    });
    expect(resolveEventType(headers, null, undefined, null, "")).toEqual({ eventType: "Header", source: "event-type-header" });
  });

  it("falls through a CloudEvent without a type", () => {
    expect(resolveEventType(index({ "event-type": "OrderPlaced" }), cloudEvent("binary", null, "/x"), undefined).source).toBe(
      "event-type-header",
    );
  });
});

describe("resolveProducer", () => {
  it("takes the CloudEvents source first", () => {
    expect(resolveProducer(index({ producer: "p" }), cloudEvent("binary", "t", "/services/orders"))).toEqual({
      producer: "/services/orders",
      source: "ce_source",
    });
    expect(resolveProducer(index({}), cloudEvent("structured", "t", "/services/orders")).source).toBe("cloudevent");
  });

  it("then a producer header, then a service header", () => {
    expect(resolveProducer(index({ producer: "order-service", service: "x" }), null)).toEqual({
      producer: "order-service",
      source: "producer-header",
    });
    expect(resolveProducer(index({ service: "payment-service" }), null)).toEqual({
      producer: "payment-service",
      source: "service-header",
    });
  });

  it("with a transport's identities: CloudEvents source, then app_id, then the headers, then the connection name", () => {
    const transport = { appId: "order-service", connectionName: "orders-api@host-7" };
    expect(resolveProducer(index({ producer: "p" }), cloudEvent("binary", "t", "/services/orders"), transport)).toEqual({
      producer: "/services/orders",
      source: "ce_source",
    });
    expect(resolveProducer(index({ producer: "p" }), null, transport)).toEqual({ producer: "order-service", source: "amqp-app-id" });
    expect(resolveProducer(index({ service: "s" }), null, { ...transport, appId: "" })).toEqual({
      producer: "s",
      source: "service-header",
    });
    expect(resolveProducer(index({}), null, { appId: null, connectionName: "orders-api@host-7" })).toEqual({
      producer: "orders-api@host-7",
      source: "amqp-connection",
    });
  });

  it("is an unknown producer otherwise", () => {
    expect(resolveProducer(index({ "content-type": "application/json" }), null)).toEqual({ producer: null, source: null });
  });
});
