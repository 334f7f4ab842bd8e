import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "./broker/tls-test-support.ts";
import { ConfigError, dlqTemplateToRegExp, loadConfig, parseDuration, redactSecrets, withoutPassword } from "./config.ts";

function configError(env: Record<string, string>, options = {}): ConfigError {
  try {
    loadConfig(env, options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("gives the documented defaults for an empty environment", () => {
    expect(loadConfig({})).toEqual({
      kafkaBrokers: undefined,
      databaseUrl: undefined,
      port: 3000,
      host: "127.0.0.1",
      kafka: { sasl: undefined, ssl: false },
      entityFields: ["orderId"],
      topicsInclude: undefined,
      topicsExclude: undefined,
      start: "earliest",
      retentionMs: 7 * 24 * 3_600_000,
      flows: true,
      flowTerminalSteps: [],
      compensations: [],
      stuckFactor: 3,
      stateIgnore: [],
      collectorGroup: "eventscope-collector",
      pollMs: 5_000,
      dlqPatterns: [],
      maxValueBytes: 1_048_576,
      adminToken: undefined,
      readToken: undefined,
      maskFields: [],
      traceUrl: undefined,
      users: [],
      replayCompression: "none",
      decodeAttempts: 3,
      auditRetentionMs: 90 * 86_400_000,
      publicUrl: undefined,
      trustProxy: false,
      schemaRegistry: undefined,
      sources: [],
    });
  });

  it("parses every variable", () => {
    const config = loadConfig({
      KAFKA_BROKERS: "kafka-1:9092, kafka-2:9093",
      DATABASE_URL: "postgresql://eventscope:secret@db.internal:5432/eventscope",
      PORT: "8080",
      HOST: "0.0.0.0",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "alice",
      KAFKA_SASL_PASSWORD: "s3cret",
      KAFKA_SSL: "true",
      EVENTSCOPE_ENTITY_FIELDS: "orderId, customer.id",
      EVENTSCOPE_TOPICS_INCLUDE: "^orders",
      EVENTSCOPE_TOPICS_EXCLUDE: "\\.internal$",
      EVENTSCOPE_START: "latest",
      EVENTSCOPE_RETENTION: "12h",
      EVENTSCOPE_FLOWS: "off",
      EVENTSCOPE_FLOW_TERMINAL_STEPS: "OrderDelivered, OrderClosed",
      EVENTSCOPE_COMPENSATIONS: "CardBounced->StockReturned, PaymentDeclined → OrderVoided",
      EVENTSCOPE_STUCK_FACTOR: "2.5",
      EVENTSCOPE_COLLECTOR_GROUP: "my-collector",
      EVENTSCOPE_POLL_MS: "2000",
      EVENTSCOPE_DLQ_PATTERNS: "<t>.failed,parking-<t>",
      EVENTSCOPE_MAX_VALUE_BYTES: "65536",
      EVENTSCOPE_ADMIN_TOKEN: "admin-token-123",
      EVENTSCOPE_READ_TOKEN: "read-token-456",
      EVENTSCOPE_MASK_FIELDS: "cardNumber,email",
      EVENTSCOPE_TRACE_URL: "https://jaeger.example/trace/{traceId}",
    });
    expect(config).toMatchObject({
      kafkaBrokers: ["kafka-1:9092", "kafka-2:9093"],
      databaseUrl: "postgresql://eventscope:secret@db.internal:5432/eventscope",
      port: 8080,
      host: "0.0.0.0",
      kafka: { sasl: { mechanism: "scram-sha-512", username: "alice", password: "s3cret" }, ssl: { ca: undefined } },
      entityFields: ["orderId", "customer.id"],
      start: "latest",
      retentionMs: 12 * 3_600_000,
      flows: false,
      flowTerminalSteps: ["OrderDelivered", "OrderClosed"],
      compensations: [
        { failure: "CardBounced", compensation: "StockReturned" },
        { failure: "PaymentDeclined", compensation: "OrderVoided" },
      ],
      stuckFactor: 2.5,
      collectorGroup: "my-collector",
      pollMs: 2_000,
      maxValueBytes: 65_536,
      adminToken: "admin-token-123",
      readToken: "read-token-456",
      maskFields: ["cardNumber", "email"],
      traceUrl: "https://jaeger.example/trace/{traceId}",
    });
    expect(config.topicsInclude?.test("orders.v1")).toBe(true);
    expect(config.topicsExclude?.test("orders.internal")).toBe(true);
    expect(config.dlqPatterns.map((p) => "payments.failed".match(p)?.groups?.topic)).toEqual(["payments", undefined]);
  });

  it("treats empty values as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "  ", EVENTSCOPE_START: "" })).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      start: "earliest",
    });
  });

  it.each([
    ["KAFKA_BROKERS", "kafka-1", /host:port/],
    ["DATABASE_URL", "mysql://localhost/db", /PostgreSQL connection URL/],
    ["PORT", "80a", /TCP port.*1 to 65535.*"80a"/],
    ["PORT", "70000", /TCP port/],
    ["KAFKA_SASL_MECHANISM", "kerberos", /plain, scram-sha-256 or scram-sha-512/],
    ["KAFKA_SSL", "maybe", /true or false/],
    ["KAFKA_SSL_CA", "/no/such/ca.pem", /PEM.*ENOENT/],
    ["EVENTSCOPE_ENTITY_FIELDS", "order..id", /field names or dotted paths/],
    ["EVENTSCOPE_TOPICS_INCLUDE", "orders(", /regular expression.*"orders\("/],
    ["EVENTSCOPE_TOPICS_EXCLUDE", "[a-", /regular expression/],
    ["EVENTSCOPE_START", "beginning", /earliest or latest.*"beginning"/],
    ["EVENTSCOPE_RETENTION", "7 days", /duration such as 7d, 12h, 30m/],
    ["EVENTSCOPE_FLOWS", "sometimes", /expected true or false/],
    ["EVENTSCOPE_COMPENSATIONS", "PaymentFailed", /failure->compensation pairs/],
    ["EVENTSCOPE_STUCK_FACTOR", "0", /a number above 0/],
    ["EVENTSCOPE_RETENTION", "0d", /duration/],
    ["EVENTSCOPE_POLL_MS", "fast", /milliseconds/],
    ["EVENTSCOPE_MAX_VALUE_BYTES", "1MB", /size in bytes/],
    ["EVENTSCOPE_ADMIN_TOKEN", "short", /at least 8 characters/],
    ["EVENTSCOPE_READ_TOKEN", "1234", /at least 8 characters/],
    ["EVENTSCOPE_TRACE_URL", "https://jaeger.example/trace/", /\{traceId\}/],
    ["EVENTSCOPE_TRACE_URL", "javascript:alert({traceId})", /http\(s\) URL/],
    ["EVENTSCOPE_REPLAY_COMPRESSION", "brotli", /one of none, gzip, snappy, lz4, zstd.*"brotli"/],
    ["EVENTSCOPE_DECODE_ATTEMPTS", "0", /number of attempts/],
    ["EVENTSCOPE_AUDIT_RETENTION", "forever", /duration such as 7d/],
    ["EVENTSCOPE_TRUST_PROXY", "nginx", /true or false/],
    ["EVENTSCOPE_PUBLIC_URL", "eventscope.example.com", /http\(s\) address/],
    ["EVENTSCOPE_PUBLIC_URL", "ftp://eventscope.example.com", /http\(s\) address/],
  ])("rejects %s=%s with a message naming the variable", (variable, value, expected) => {
    const error = configError({ [variable]: value });
    expect(error.issues).toContainEqual({ variable, message: expect.stringMatching(expected) });
    expect(error.message).toContain(`${variable}: `);
  });

  it("reports every bad variable at once", () => {
    const error = configError({ PORT: "x", EVENTSCOPE_START: "soon" });
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(["EVENTSCOPE_START", "PORT"]);
  });

  it("wants all three SASL variables together", () => {
    const error = configError({ KAFKA_SASL_USERNAME: "alice" });
    expect(error.issues.map((issue) => issue.variable)).toEqual(["KAFKA_SASL_MECHANISM", "KAFKA_SASL_PASSWORD"]);
  });

  it("requires KAFKA_BROKERS and DATABASE_URL in production only", () => {
    expect(() => loadConfig({})).not.toThrow();
    const error = configError({}, { production: true });
    expect(error.issues).toEqual([
      { variable: "KAFKA_BROKERS", message: expect.stringMatching(/required by npm start/) },
      { variable: "DATABASE_URL", message: expect.stringMatching(/required by npm start/) },
    ]);
    expect(
      loadConfig({ KAFKA_BROKERS: "k:9092", DATABASE_URL: "postgres://u@h/d" }, { production: true }).kafkaBrokers,
    ).toEqual(["k:9092"]);
  });

  it.each([
    [{ EVENTSCOPE_MASK_FIELDS: "orderId" }, "orderId"],
    [{ EVENTSCOPE_MASK_FIELDS: "email", EVENTSCOPE_ENTITY_FIELDS: "orderId,email" }, "email"],
    [{ EVENTSCOPE_MASK_FIELDS: "customer.email", EVENTSCOPE_ENTITY_FIELDS: "email" }, "email"],
    [{ EVENTSCOPE_MASK_FIELDS: "id", EVENTSCOPE_ENTITY_FIELDS: "customer.id" }, "customer.id"],
    [{ EVENTSCOPE_MASK_FIELDS: "customer", EVENTSCOPE_ENTITY_FIELDS: "customer.id" }, "customer.id"],
    [{ EVENTSCOPE_MASK_FIELDS: "customer.id", EVENTSCOPE_ENTITY_FIELDS: "order.customer.id" }, "order.customer.id"],
    [{ EVENTSCOPE_MASK_FIELDS: "items.sku", EVENTSCOPE_ENTITY_FIELDS: "items.0.sku" }, "items.0.sku"],
  ])("stops when a masked field is also an entity field (%j)", (env, field) => {
    const error = configError(env);
    expect(error.issues).toEqual([{ variable: "EVENTSCOPE_MASK_FIELDS", message: expect.stringContaining(`masks ${field}, which is an entity field`) }]);
  });

  it("takes masked fields that are not entity fields", () => {
    expect(loadConfig({ EVENTSCOPE_MASK_FIELDS: "email,customer.phone", EVENTSCOPE_ENTITY_FIELDS: "orderId,customer.id" }).maskFields).toEqual([
      "email",
      "customer.phone",
    ]);
    expect(loadConfig({ EVENTSCOPE_MASK_FIELDS: "order.id", EVENTSCOPE_ENTITY_FIELDS: "customer.id" }).entityFields).toEqual(["customer.id"]);
  });

  it("reads EVENTSCOPE_PUBLIC_URL as an origin and EVENTSCOPE_TRUST_PROXY as a flag", () => {
    expect(loadConfig({ EVENTSCOPE_PUBLIC_URL: "https://eventscope.example.com/", EVENTSCOPE_TRUST_PROXY: "1" })).toMatchObject({
      publicUrl: "https://eventscope.example.com",
      trustProxy: true,
    });
  });

  it.each(["admin", "reader", "Admin"])("stops when the users file names a user %s", (name) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-users-"));
    try {
      const file = path.join(dir, "users");
      fs.writeFileSync(file, `alice:alice-token-1\n${name}:other-token-1\n`);
      const error = configError({ EVENTSCOPE_USERS_FILE: file });
      expect(error.issues).toEqual([{ variable: "EVENTSCOPE_USERS_FILE", message: expect.stringMatching(new RegExp(`user name ${name} is reserved`)) }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads KAFKA_SSL_CA from a file or takes the PEM itself, and turns TLS on", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-ca-"));
    try {
      const file = path.join(dir, "ca.pem");
      fs.writeFileSync(file, pem);
      expect(loadConfig({ KAFKA_SSL_CA: file }).kafka.ssl).toEqual({ ca: [pem] });
      expect(loadConfig({ KAFKA_SSL_CA: pem }).kafka.ssl).toEqual({ ca: [pem] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseDuration", () => {
  it.each([
    ["7d", 604_800_000],
    ["12h", 43_200_000],
    ["30m", 1_800_000],
    ["45s", 45_000],
    ["500ms", 500],
    ["2w", 1_209_600_000],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "7", "d", "1.5h", "-1d", "7 days"])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("dlqTemplateToRegExp", () => {
  it("matches whole names, naming the origin topic or group, with literal dots", () => {
    expect("orders.failed".match(dlqTemplateToRegExp("<t>.failed"))?.groups).toEqual({ topic: "orders" });
    expect(dlqTemplateToRegExp("<t>.failed").test("ordersXfailed")).toBe(false);
    expect(dlqTemplateToRegExp("<t>.failed").test("orders.failed.v2")).toBe(false);
    expect("billing-parked".match(dlqTemplateToRegExp("<group>-parked"))?.groups).toEqual({ group: "billing" });
    expect(dlqTemplateToRegExp("poison").test("poison")).toBe(true);
  });
});

describe("secrets in output", () => {
  it("a URL is shown without its password", () => {
    expect(withoutPassword("postgresql://eventscope:s%40cret@db.internal:5432/eventscope")).toBe("postgresql://eventscope:***@db.internal:5432/eventscope");
    expect(withoutPassword("postgresql://eventscope@db.internal/eventscope")).toBe("postgresql://eventscope@db.internal/eventscope");
  });

  it("text is shown without the database password, the SASL password or any token", () => {
    const config = loadConfig({
      DATABASE_URL: "postgresql://eventscope:s%40cret-db@db.internal:5432/eventscope",
      KAFKA_SASL_MECHANISM: "plain",
      KAFKA_SASL_USERNAME: "collector",
      KAFKA_SASL_PASSWORD: "sasl-secret-1",
      EVENTSCOPE_ADMIN_TOKEN: "admin-secret-1",
      EVENTSCOPE_READ_TOKEN: "reader-secret-1",
    });
    const text = "connect to postgresql://eventscope:s%40cret-db@db failed (s@cret-db); SASL sasl-secret-1; Bearer admin-secret-1 reader-secret-1";
    expect(redactSecrets(text, config)).toBe("connect to postgresql://eventscope:***@db failed (***); SASL ***; Bearer *** ***");
  });
});

describe("client certificates (KAFKA_SSL_CERT, KAFKA_SSL_KEY)", () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = makeTestCertificates();
  });
  afterAll(() => certs?.remove());

  it("reads each from a file or takes the PEM itself, and turns TLS on", () => {
    const fromFiles = loadConfig({ KAFKA_SSL_CERT: certs.files.clientCert, KAFKA_SSL_KEY: certs.files.clientKey }).kafka.ssl;
    expect(fromFiles).toEqual({ ca: undefined, cert: certs.pem.clientCert, key: certs.pem.clientKey });
    const inline = loadConfig({ KAFKA_SSL_CA: certs.pem.ca, KAFKA_SSL_CERT: certs.pem.clientCert, KAFKA_SSL_KEY: certs.pem.clientKey }).kafka.ssl;
    expect(inline).toEqual({ ca: [certs.pem.ca], cert: certs.pem.clientCert, key: certs.pem.clientKey });
  });

  it("stops with one of them alone, naming the one that is missing", () => {
    expect(configError({ KAFKA_SSL_CERT: certs.files.clientCert }).issues).toEqual([
      { variable: "KAFKA_SSL_KEY", message: expect.stringMatching(/a client certificate needs its private key/) },
    ]);
    expect(configError({ KAFKA_SSL_KEY: certs.files.clientKey }).issues).toEqual([
      { variable: "KAFKA_SSL_CERT", message: expect.stringMatching(/a client certificate needs its private key/) },
    ]);
  });

  it("stops on a file that cannot be read, a value that is no certificate or key, and a key of another certificate", () => {
    expect(configError({ KAFKA_SSL_CERT: "/no/such/client.pem", KAFKA_SSL_KEY: certs.files.clientKey }).issues).toEqual([
      { variable: "KAFKA_SSL_CERT", message: expect.stringMatching(/^expected a PEM certificate or the path of a readable PEM file; cannot read "\/no\/such\/client.pem": ENOENT/) },
    ]);
    // A key where the certificate belongs, and the other way round.
    const swapped = configError({ KAFKA_SSL_CERT: certs.files.clientKey, KAFKA_SSL_KEY: certs.files.clientCert });
    expect(swapped.issues.map((issue) => issue.variable)).toEqual(["KAFKA_SSL_CERT", "KAFKA_SSL_KEY"]);
    expect(swapped.issues[0]!.message).toMatch(/^expected a PEM certificate in ".*client.key": /);
    expect(swapped.issues[1]!.message).toMatch(/^expected an unencrypted PEM private key in ".*client.pem": /);
    expect(configError({ KAFKA_SSL_CERT: certs.files.clientCert, KAFKA_SSL_KEY: certs.files.serverKey }).issues).toEqual([
      { variable: "KAFKA_SSL_KEY", message: "is not the private key of the certificate in KAFKA_SSL_CERT" },
    ]);
  });
});
