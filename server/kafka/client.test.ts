import { describe, expect, it } from "vitest";
import { makeTestCertificates } from "../broker/tls-test-support.ts";
import { loadConfig } from "../config.ts";
import { explainKafkaError, kafkaClientConfig } from "./client.ts";

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

  it("passes a client certificate and key on for mutual TLS, with or without a CA", () => {
    const certs = makeTestCertificates();
    try {
      const env = { KAFKA_BROKERS: "k:9093", KAFKA_SSL_CERT: certs.files.clientCert, KAFKA_SSL_KEY: certs.files.clientKey };
      expect(kafkaClientConfig(loadConfig(env)).ssl).toEqual({ cert: certs.pem.clientCert, key: certs.pem.clientKey });
      expect(kafkaClientConfig(loadConfig({ ...env, KAFKA_SSL_CA: certs.files.ca })).ssl).toEqual({
        ca: [certs.pem.ca],
        cert: certs.pem.clientCert,
        key: certs.pem.clientKey,
      });
    } finally {
      certs.remove();
    }
  });

  it("refuses to build a client without brokers (the embedded broker's address must be filled in first)", () => {
    expect(() => kafkaClientConfig(loadConfig({}))).toThrow(/KAFKA_BROKERS/);
  });
});

describe("explainKafkaError", () => {
  it("says which setting a TLS failure points at, after Node's own words, and leaves other errors alone", () => {
    expect(explainKafkaError("Connection error: unable to verify the first certificate")).toBe(
      "Connection error: unable to verify the first certificate (the broker's certificate is not signed by a CA Eventscope trusts: set KAFKA_SSL_CA to the CA that signed it)",
    );
    expect(explainKafkaError("Connection error: SSL routines:ssl3_read_bytes:tlsv13 alert certificate required")).toMatch(/set KAFKA_SSL_CERT and KAFKA_SSL_KEY\)$/);
    expect(explainKafkaError("Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list")).toMatch(
      /\(the broker's certificate is not for the host name in KAFKA_BROKERS\)$/,
    );
    expect(explainKafkaError("Connection error: connect ECONNREFUSED 127.0.0.1:9092")).toBe("Connection error: connect ECONNREFUSED 127.0.0.1:9092");
  });
});
