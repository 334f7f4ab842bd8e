import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { kafkaClientConfig } from "./client.ts";

describe("kafkaClientConfig", () => {
  it("takes brokers, SASL and TLS from the environment as server/config.ts parses it", () => {
    const config = loadConfig({
      KAFKA_BROKERS: "kafka-1:9093,kafka-2:9093",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "eventscope",
      KAFKA_SASL_PASSWORD: "s3cret",
      KAFKA_SSL_CA: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    });
    const client = kafkaClientConfig(config);
    expect(client.brokers).toEqual(["kafka-1:9093", "kafka-2:9093"]);
    expect(client.sasl).toEqual({ mechanism: "scram-sha-512", username: "eventscope", password: "s3cret" });
    expect(client.ssl).toEqual({ ca: ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"] });
  });

  it("uses TLS with the system's CAs for KAFKA_SSL=true, and no TLS or SASL by default", () => {
    expect(kafkaClientConfig(loadConfig({ KAFKA_BROKERS: "k:9093", KAFKA_SSL: "true" })).ssl).toBe(true);
    const plain = kafkaClientConfig(loadConfig({ KAFKA_BROKERS: "k:9092" }));
    expect(plain.ssl).toBe(false);
    expect(plain.sasl).toBeUndefined();
  });

  it("refuses to build a client without brokers (the embedded broker's address must be filled in first)", () => {
    expect(() => kafkaClientConfig(loadConfig({}))).toThrow(/KAFKA_BROKERS/);
  });
});
