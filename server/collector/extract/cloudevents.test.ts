import { describe, expect, it } from "vitest";
import {
  AMQP_CLOUDEVENT_PREFIXES,
  contentTypeSaysJson,
  isStructuredContentType,
  readBinaryCloudEvent,
  readStructuredCloudEvent,
} from "./cloudevents.ts";
import { flattenHeaders, indexHeaders } from "./headers.ts";

describe("content types", () => {
  it("recognise structured mode by the CloudEvents media type, parameters and case aside", () => {
    expect(isStructuredContentType("application/cloudevents+json; charset=UTF-8")).toBe(true);
    expect(isStructuredContentType("Application/CloudEvents+JSON")).toBe(true);
    expect(isStructuredContentType("application/json")).toBe(false);
    expect(isStructuredContentType(null)).toBe(false);
  });

  it("say JSON for JSON and +json types only", () => {
    expect(contentTypeSaysJson("application/json")).toBe(true);
    expect(contentTypeSaysJson("application/vnd.acme.order.v2+json; charset=utf-8")).toBe(true);
    expect(contentTypeSaysJson("application/cloudevents")).toBe(true);
    expect(contentTypeSaysJson("application/cloudevents+avro")).toBe(false);
    expect(contentTypeSaysJson("text/plain")).toBe(false);
    expect(contentTypeSaysJson(";")).toBe(false);
  });
});

describe("readBinaryCloudEvent", () => {
  it("reads the ce_ headers, with content-type as the data's type", () => {
    const headers = indexHeaders(
      flattenHeaders({
        ce_specversion: Buffer.from("1.0"),
        ce_id: Buffer.from("evt-81"),
        ce_source: Buffer.from("/services/orders"),
        ce_type: Buffer.from("com.acme.order.placed"),
        ce_subject: Buffer.from("ord-1"),
        ce_time: Buffer.from("2025-01-01T00:00:00Z"),
        "content-type": Buffer.from("application/json"),
      }),
    );
    expect(readBinaryCloudEvent(headers)).toEqual({
      event: {
        mode: "binary",
        specVersion: "1.0",
        id: "evt-81",
        source: "/services/orders",
        type: "com.acme.order.placed",
        subject: "ord-1",
        time: "2025-01-01T00:00:00Z",
        dataContentType: "application/json",
      },
      flags: [],
    });
  });

  it("is not a CloudEvent without ce_ attributes, even with a ce_traceparent", () => {
    expect(readBinaryCloudEvent(indexHeaders(flattenHeaders({ ce_traceparent: "x", type: "OrderPlaced" })))).toEqual({
      event: null,
      flags: [],
    });
  });

  it("flags a binary CloudEvent missing a required attribute", () => {
    const result = readBinaryCloudEvent(indexHeaders(flattenHeaders({ ce_type: "com.acme.order.placed" })));
    expect(result.event).toMatchObject({ type: "com.acme.order.placed", id: null, source: null });
    expect(result.flags).toEqual(["cloudevent-invalid"]);
  });
});

describe("readBinaryCloudEvent on AMQP", () => {
  const AMQP = AMQP_CLOUDEVENT_PREFIXES;

  it("reads the binding's cloudEvents: application properties, with the content_type property as the data's type", () => {
    const headers = indexHeaders(
      flattenHeaders({
        "cloudEvents:specversion": "1.0",
        "cloudEvents:id": "evt-5",
        "cloudEvents:source": "/services/orders",
        "cloudEvents:type": "com.acme.order.placed",
        "cloudEvents:subject": "ord-5",
      }),
    );
    expect(readBinaryCloudEvent(headers, "application/json", AMQP)).toEqual({
      event: {
        mode: "binary",
        specVersion: "1.0",
        id: "evt-5",
        source: "/services/orders",
        type: "com.acme.order.placed",
        subject: "ord-5",
        time: null,
        dataContentType: "application/json",
      },
      flags: [],
    });
  });

  it("reads cloudEvents_ and ce_ too, in any case, and prefers cloudEvents: when several carry an attribute", () => {
    const headers = indexHeaders(
      flattenHeaders({
        cloudEvents_specversion: "1.0",
        "CloudEvents_ID": "evt-6",
        ce_source: "/services/payments",
        ce_type: "ce.type",
        "cloudEvents:type": "com.acme.payment.captured",
      }),
    );
    expect(readBinaryCloudEvent(headers, null, AMQP).event).toMatchObject({
      specVersion: "1.0",
      id: "evt-6",
      source: "/services/payments",
      type: "com.acme.payment.captured",
      dataContentType: null,
    });
  });

  it("leaves cloudEvents: headers alone on Kafka, whose binding knows ce_ only", () => {
    const headers = indexHeaders(flattenHeaders({ "cloudEvents:type": "t", "cloudEvents:id": "1" }));
    expect(readBinaryCloudEvent(headers)).toEqual({ event: null, flags: [] });
  });
});

describe("readStructuredCloudEvent", () => {
  it("splits the envelope's attributes from its data", () => {
    const result = readStructuredCloudEvent({
      specversion: "1.0",
      id: "evt-9",
      source: "/services/payments",
      type: "com.acme.payment.captured",
      datacontenttype: "application/json",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      data: { orderId: "ord-1", amount: 42 },
    });
    expect(result).toEqual({
      event: {
        attributes: {
          mode: "structured",
          specVersion: "1.0",
          id: "evt-9",
          source: "/services/payments",
          type: "com.acme.payment.captured",
          subject: null,
          time: null,
          dataContentType: "application/json",
        },
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        data: { orderId: "ord-1", amount: 42 },
      },
      flags: [],
    });
  });

  it("flags an envelope that is not an object, or lacks required attributes", () => {
    expect(readStructuredCloudEvent([1, 2])).toEqual({ event: null, flags: ["cloudevent-invalid"] });
    const partial = readStructuredCloudEvent({ type: 7, data: {} });
    expect(partial.event?.attributes.type).toBeNull();
    expect(partial.flags).toEqual(["cloudevent-invalid"]);
  });
});
