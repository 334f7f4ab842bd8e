import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCertificates, type TestCertificates } from "./broker/tls-test-support.ts";
import { ConfigError, configForSource, loadConfig, redactSecrets, sourceNamed } from "./config.ts";
import { kafkaClientConfig } from "./kafka/client.ts";
import { defaultSource, parseSourcesFile, type KafkaSourceConfig, type SourceConfig } from "./sources-file.ts";

/** The Kafka sources of a list, typed as such. */
const kafkaOnly = (sources: readonly SourceConfig[]) => sources.filter((source): source is KafkaSourceConfig => source.kind === "kafka");

let certs: TestCertificates;
let dir: string;
let counter = 0;

beforeAll(() => {
  certs = makeTestCertificates();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-sources-"));
});
afterAll(() => {
  certs?.remove();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` to a new file in the temporary directory; its path. */
function sourcesFile(text: string, extension = "yaml"): string {
  const file = path.join(dir, `sources-${++counter}.${extension}`);
  fs.writeFileSync(file, text);
  return file;
}

const PASSWORDS = { PROD_EU_KAFKA_PASSWORD: "kafka-pw-eu-1", PROD_EU_REGISTRY_PASSWORD: "registry-pw-eu-1" };

function fullYaml(): string {
  return `sources:
  - name: prod-eu              # lowercase letters, digits and dashes, 1-40, unique
    kind: kafka
    brokers: [kafka-1:9092, kafka-2:9092]
    sasl: { mechanism: scram-sha-512, username: eventscope, passwordEnv: PROD_EU_KAFKA_PASSWORD }
    ssl: { caFile: ${certs.files.ca}, certFile: ${certs.files.clientCert}, keyFile: ${certs.files.clientKey} }   # or ssl: true
    schemaRegistry: { url: "https://registry:8081", username: eventscope, passwordEnv: PROD_EU_REGISTRY_PASSWORD }
    topics: { include: "^(orders|payments)", exclude: "^_" }
    entityFields: [orderId, customer.id]
  - name: staging
    kind: kafka
    brokers: [staging-kafka:9092]
    ssl: true
`;
}

function fullJson(): string {
  return JSON.stringify(
    {
      sources: [
        {
          name: "prod-eu",
          kind: "kafka",
          brokers: ["kafka-1:9092", "kafka-2:9092"],
          sasl: { mechanism: "scram-sha-512", username: "eventscope", passwordEnv: "PROD_EU_KAFKA_PASSWORD" },
          ssl: { caFile: certs.files.ca, certFile: certs.files.clientCert, keyFile: certs.files.clientKey },
          schemaRegistry: { url: "https://registry:8081", username: "eventscope", passwordEnv: "PROD_EU_REGISTRY_PASSWORD" },
          topics: { include: "^(orders|payments)", exclude: "^_" },
          entityFields: ["orderId", "customer.id"],
        },
        { name: "staging", kind: "kafka", brokers: ["staging-kafka:9092"], ssl: true },
      ],
    },
    null,
    "\t",
  );
}

function configError(env: Record<string, string>, options = {}): ConfigError {
  try {
    loadConfig(env, options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

/** The messages about EVENTSCOPE_SOURCES_FILE for a file with `text`. */
function fileProblems(text: string, env: Record<string, string> = {}): string[] {
  return configError({ EVENTSCOPE_SOURCES_FILE: sourcesFile(text), ...env })
    .issues.filter((issue) => issue.variable === "EVENTSCOPE_SOURCES_FILE")
    .map((issue) => issue.message);
}

/** One source with the lines given, after name, kind and brokers. */
function oneSource(lines: string, name = "prod-eu"): string {
  return `sources:\n  - name: ${name}\n    kind: kafka\n    brokers: [kafka-1:9092]\n${lines}`;
}

describe("EVENTSCOPE_SOURCES_FILE", () => {
  it("reads every field of a YAML file, with passwords from the variables passwordEnv names and the TLS files read", () => {
    const config = loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(fullYaml()), ...PASSWORDS }, { production: false });
    expect(config.sources).toHaveLength(2);
    const [prodEu, staging] = kafkaOnly(config.sources);
    expect(prodEu).toEqual({
      name: "prod-eu",
      kind: "kafka",
      kafkaBrokers: ["kafka-1:9092", "kafka-2:9092"],
      kafka: {
        sasl: { mechanism: "scram-sha-512", username: "eventscope", password: "kafka-pw-eu-1" },
        ssl: { ca: [certs.pem.ca], cert: certs.pem.clientCert, key: certs.pem.clientKey },
      },
      schemaRegistry: { url: "https://registry:8081", username: "eventscope", password: "registry-pw-eu-1" },
      topicsInclude: /^(orders|payments)/,
      topicsExclude: /^_/,
      entityFields: ["orderId", "customer.id"],
    });
    // ssl: true is what KAFKA_SSL=true gives: TLS with the system's CAs.
    expect(staging!.kafka).toEqual(loadConfig({ KAFKA_BROKERS: "k:9092", KAFKA_SSL: "true" }).kafka);
    expect(kafkaClientConfig(staging!)).toMatchObject({ brokers: ["staging-kafka:9092"], ssl: true, sasl: undefined });
    // The top-level settings describe the source named default, which a file does not have.
    expect(config.kafkaBrokers).toBeUndefined();
  });

  it("reads the same sources from the same file in JSON", () => {
    const fromYaml = loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(fullYaml()), ...PASSWORDS }).sources;
    const fromJson = loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(fullJson(), "json"), ...PASSWORDS }).sources;
    expect(fromJson).toEqual(fromYaml);
  });

  it("gives each source what createKafka takes, as it is", () => {
    const [prodEu] = kafkaOnly(loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(fullYaml()), ...PASSWORDS }).sources);
    expect(kafkaClientConfig(prodEu!, { clientId: "test" })).toMatchObject({
      clientId: "test",
      brokers: ["kafka-1:9092", "kafka-2:9092"],
      sasl: { mechanism: "scram-sha-512", username: "eventscope", password: "kafka-pw-eu-1" },
      ssl: { ca: [certs.pem.ca], cert: certs.pem.clientCert, key: certs.pem.clientKey },
    });
  });

  it("runs each source's pipeline with that source's cluster, registry, topics and entity fields, and the global rest", () => {
    const config = loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(fullYaml()), EVENTSCOPE_COLLECTOR_GROUP: "es-collector", ...PASSWORDS });
    const staging = configForSource(config, kafkaOnly(config.sources).find((source) => source.name === "staging")!);
    expect(staging).toMatchObject({
      kafkaBrokers: ["staging-kafka:9092"],
      kafka: { sasl: undefined },
      schemaRegistry: undefined,
      entityFields: ["orderId"],
      collectorGroup: "es-collector",
    });
    const prodEu = configForSource(config, kafkaOnly(config.sources).find((source) => source.name === "prod-eu")!);
    expect(prodEu).toMatchObject({
      kafkaBrokers: ["kafka-1:9092", "kafka-2:9092"],
      schemaRegistry: { url: "https://registry:8081", username: "eventscope", password: "registry-pw-eu-1" },
      topicsInclude: /^(orders|payments)/,
      entityFields: ["orderId", "customer.id"],
      collectorGroup: "es-collector",
    });
    expect(sourceNamed(config, "prod-us")).toBeUndefined();
  });

  it("gives a source without entityFields or topics the global settings", () => {
    const config = loadConfig({
      EVENTSCOPE_SOURCES_FILE: sourcesFile(oneSource("")),
      EVENTSCOPE_ENTITY_FIELDS: "customer.id",
      EVENTSCOPE_TOPICS_INCLUDE: "^shop\\.",
      EVENTSCOPE_TOPICS_EXCLUDE: "\\.internal$",
    });
    expect(config.sources[0]).toMatchObject({ entityFields: ["customer.id"], topicsInclude: /^shop\./, topicsExclude: /\.internal$/, kafka: { sasl: undefined, ssl: false } });
    expect(loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(oneSource("")) }).sources[0]).toMatchObject({
      entityFields: ["orderId"],
      topicsInclude: undefined,
      topicsExclude: undefined,
      schemaRegistry: undefined,
    });
  });

  it.each([
    ["a broker without a port", oneSource("").replace("[kafka-1:9092]", "[kafka-1:9092, kafka-2]"), /^sources\[0\] \(prod-eu\)\.brokers: expected a list of host:port .*got "kafka-2"$/],
    ["no brokers", oneSource("").replace("[kafka-1:9092]", "[]"), /^sources\[0\] \(prod-eu\)\.brokers: expected a list of host:port.*empty list/],
    ["a name with capitals", oneSource("", "Prod-EU"), /^sources\[0\]\.name: expected lowercase letters, digits and dashes, 1-40 characters, got "Prod-EU"$/],
    ["a name of 41 characters", oneSource("", "a".repeat(41)), /^sources\[0\]\.name: expected lowercase letters/],
    ["a misspelt key", oneSource("    entityFeilds: [orderId]\n"), /^sources\[0\] \(prod-eu\)\.entityFeilds: unknown key \(expected name, kind, brokers, sasl, ssl, schemaRegistry, topics, entityFields\)$/],
    ["a misspelt key in topics", oneSource("    topics: { inlcude: x }\n"), /^sources\[0\] \(prod-eu\)\.topics\.inlcude: unknown key \(expected include, exclude\)$/],
    ["kind nats", "sources:\n  - name: jet\n    kind: nats\n", /^sources\[0\] \(jet\)\.kind: kind nats is not supported yet \(supported: kafka, rabbitmq\)$/],
    ["a misspelt kind", "sources:\n  - name: k\n    kind: kakfa\n", /^sources\[0\] \(k\)\.kind: expected kafka, rabbitmq, got "kakfa"$/],
    ["no kind", "sources:\n  - name: k\n    brokers: [k:9092]\n", /^sources\[0\] \(k\)\.kind: missing \(expected kafka, rabbitmq\)$/],
    ["an unknown SASL mechanism", oneSource("    sasl: { mechanism: gssapi, username: u, passwordEnv: P }\n"), /^sources\[0\] \(prod-eu\)\.sasl\.mechanism: expected plain, scram-sha-256 or scram-sha-512, got "gssapi"$/],
    ["SASL without a user name", oneSource("    sasl: { mechanism: plain, passwordEnv: P }\n"), /^sources\[0\] \(prod-eu\)\.sasl\.username: missing \(expected string\)$/],
    ["a registry URL that is no http(s) URL", oneSource("    schemaRegistry: { url: registry:8081 }\n"), /^sources\[0\] \(prod-eu\)\.schemaRegistry\.url: expected the http\(s\) URL of a Schema Registry/],
    ["a registry user name without passwordEnv", oneSource("    schemaRegistry: { url: http://r:8081, username: u }\n"), /^sources\[0\] \(prod-eu\)\.schemaRegistry\.passwordEnv: expected with the other of username \/ passwordEnv/],
    ["a topic pattern that is no regular expression", oneSource("    topics: { include: \"orders(\" }\n"), /^sources\[0\] \(prod-eu\)\.topics\.include: expected a regular expression/],
    ["an entity field that is no path", oneSource("    entityFields: [order..id]\n"), /^sources\[0\] \(prod-eu\)\.entityFields: expected a list of field names or dotted paths.*got "order\.\.id"$/],
    ["ssl that is neither a flag nor files", oneSource("    ssl: yes\n"), /^sources\[0\] \(prod-eu\)\.ssl: expected true, false or \{ caFile, certFile, keyFile \}$/],
    ["an empty list", "sources: []\n", /^sources: expected at least one source$/],
    ["sources that are no list", "sources: prod-eu\n", /^sources: expected a list of sources$/],
    ["a misspelt top-level key", "source:\n  - name: a\n", /^source: unknown key \(expected sources\)$/],
  ])("stops on %s, naming the source and the field", (_what, text, expected) => {
    expect(fileProblems(text, { P: "p-1" })).toContainEqual(expect.stringMatching(expected));
  });

  describe("a RabbitMQ source", () => {
    const rabbit = (extra: string) =>
      `sources:\n  - name: rabbit-eu\n    kind: rabbitmq\n    url: amqp://rabbit:5672\n    managementUrl: http://rabbit:15672/\n    username: eventscope\n    passwordEnv: RABBIT_PW\n${extra}`;

    it("reads its AMQP and management URLs, credentials, vhosts, filters and mode, with defaults for what it leaves out", () => {
      const full = rabbit("    vhosts: [/, shop]\n    exchanges: { include: ^orders, exclude: ^amq\\. }\n    queues: { exclude: ^tmp }\n    collect: bindings\n    deliveries: firehose\n    unroutable: leave\n    entityFields: [orderId]\n");
      const [source] = loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(full), RABBIT_PW: "rabbit-pw-1" }).sources;
      expect(source).toEqual({
        name: "rabbit-eu",
        kind: "rabbitmq",
        amqpUrl: "amqp://rabbit:5672",
        managementUrl: "http://rabbit:15672",
        username: "eventscope",
        password: "rabbit-pw-1",
        vhosts: ["/", "shop"],
        exchangesInclude: /^orders/,
        exchangesExclude: /^amq\./,
        queuesInclude: undefined,
        queuesExclude: /^tmp/,
        collect: "bindings",
        deliveries: "firehose",
        unroutable: "leave",
        entityFields: ["orderId"],
      });
      const [plain] = loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(rabbit("")), RABBIT_PW: "rabbit-pw-1", EVENTSCOPE_ENTITY_FIELDS: "parcelId" }).sources;
      expect(plain).toMatchObject({ vhosts: ["/"], collect: "bindings", deliveries: "off", unroutable: "collect", entityFields: ["parcelId"], exchangesInclude: undefined });
      expect(redactSecrets("connected with rabbit-pw-1", loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(rabbit("")), RABBIT_PW: "rabbit-pw-1" }))).not.toContain("rabbit-pw-1");
    });

    it("refuses credentials in a URL, a URL of another protocol, an unknown mode and an unset password variable", () => {
      const withCredentials = rabbit("").replace("amqp://rabbit:5672", "amqp://guest:s3cret-pw@rabbit:5672");
      expect(fileProblems(withCredentials, { RABBIT_PW: "x" })).toEqual([
        "sources[0] (rabbit-eu).url: expected a URL without credentials: put the user name in username and the password in an environment variable named by passwordEnv",
      ]);
      expect(fileProblems(rabbit("").replace("http://rabbit:15672/", "rabbit:15672"), { RABBIT_PW: "x" })).toEqual([
        "sources[0] (rabbit-eu).managementUrl: expected a http or https URL such as http://rabbitmq:15672",
      ]);
      expect(fileProblems(rabbit("    collect: everything\n"), { RABBIT_PW: "x" })).toEqual(["sources[0] (rabbit-eu).collect: expected one of bindings"]);
      expect(fileProblems(rabbit("    deliveries: trace\n"), { RABBIT_PW: "x" })).toEqual([
        "sources[0] (rabbit-eu).deliveries: expected one of off, firehose (firehose: deliveries from RabbitMQ's firehose, which you turn on with rabbitmqctl trace_on -p <vhost>)",
      ]);
      expect(fileProblems(rabbit("    unroutable: drop\n"), { RABBIT_PW: "x" })).toEqual([
        "sources[0] (rabbit-eu).unroutable: expected one of collect, leave (collect: store messages no queue of yours is bound for, which then are not returned to mandatory publishers; leave: do not)",
      ]);
      expect(fileProblems(rabbit(""))).toEqual(["sources[0] (rabbit-eu).passwordEnv: the environment variable RABBIT_PW is not set"]);
      expect(fileProblems(rabbit("    brokers: [k:9092]\n"), { RABBIT_PW: "x" })).toEqual([
        expect.stringMatching(/^sources\[0\] \(rabbit-eu\)\.brokers: unknown key \(expected name, kind, url, managementUrl, username, passwordEnv, vhosts, exchanges, queues, collect, deliveries, unroutable, entityFields\)$/),
      ]);
    });
  });

  it("names the source by its index and name in a file of several", () => {
    const text = `${oneSource("")}  - name: prod-us\n    kind: kafka\n    brokers: [kafka-1]\n`;
    expect(fileProblems(text)).toEqual(["sources[1] (prod-us).brokers: expected a list of host:port (e.g. [kafka-1:9092, kafka-2:9092]), got \"kafka-1\""]);
    expect(configError({ EVENTSCOPE_SOURCES_FILE: sourcesFile(text) }).message).toContain(
      "EVENTSCOPE_SOURCES_FILE: sources[1] (prod-us).brokers: expected a list of host:port",
    );
  });

  it("stops on two sources of one name", () => {
    const text = `${oneSource("")}  - name: prod-eu\n    kind: kafka\n    brokers: [kafka-9:9092]\n`;
    expect(fileProblems(text)).toEqual(['sources[1] (prod-eu).name: "prod-eu" is already the name of sources[0]: names are unique']);
  });

  it("refuses a password written in the file, pointing to passwordEnv", () => {
    const problems = fileProblems(oneSource("    sasl: { mechanism: plain, username: u, password: hunter2-secret }\n"));
    expect(problems).toContainEqual(expect.stringMatching(/^sources\[0\] \(prod-eu\)\.sasl\.password: .*name that variable with passwordEnv$/));
    const registry = fileProblems(oneSource("    schemaRegistry: { url: http://r:8081, username: u, password: hunter2-secret }\n"));
    expect(registry).toContainEqual(expect.stringMatching(/^sources\[0\] \(prod-eu\)\.schemaRegistry\.password: .*passwordEnv$/));
    for (const message of [...problems, ...registry]) expect(message).not.toContain("hunter2-secret");
  });

  it("stops on a passwordEnv whose variable is unset or empty, naming the source, the field and the variable", () => {
    const text = oneSource(
      "    sasl: { mechanism: plain, username: u, passwordEnv: EU_KAFKA_PW }\n    schemaRegistry: { url: http://r:8081, username: u, passwordEnv: EU_REGISTRY_PW }\n",
    );
    expect(fileProblems(text, { EU_REGISTRY_PW: "  " })).toEqual([
      "sources[0] (prod-eu).sasl.passwordEnv: the environment variable EU_KAFKA_PW is not set",
      "sources[0] (prod-eu).schemaRegistry.passwordEnv: the environment variable EU_REGISTRY_PW is not set",
    ]);
  });

  it("never repeats a password written where a variable name or a URL belongs, nor a line of the file", () => {
    const inName = fileProblems(oneSource("    sasl: { mechanism: plain, username: u, passwordEnv: \"pa$$ w0rd-1\" }\n"));
    expect(inName).toEqual([expect.stringMatching(/^sources\[0\] \(prod-eu\)\.sasl\.passwordEnv: expected the name of an environment variable/)]);
    const inUrl = fileProblems(oneSource("    schemaRegistry: { url: \"https://u:pa$$w0rd-2@registry:8081\" }\n"));
    expect(inUrl).toEqual([expect.stringMatching(/^sources\[0\] \(prod-eu\)\.schemaRegistry\.url: expected a URL without credentials/)]);
    const badYaml = fileProblems(`${oneSource("")}    sasl: { mechanism: plain, username: pa$$w0rd-3\n`);
    expect(badYaml).toHaveLength(1);
    for (const message of [...inName, ...inUrl, ...badYaml]) expect(message).not.toMatch(/pa\$\$ ?w0rd/);
  });

  it("keeps resolved passwords out of every message and out of redacted text", () => {
    // A valid passwordEnv next to a bad field: the error is about the field only.
    const env = { EVENTSCOPE_SOURCES_FILE: sourcesFile(fullYaml().replace("^_", "[_")), ...PASSWORDS };
    const error = configError(env);
    expect(error.issues).toEqual([
      { variable: "EVENTSCOPE_SOURCES_FILE", message: expect.stringMatching(/^sources\[0\] \(prod-eu\)\.topics\.exclude: expected a regular expression/) },
    ]);
    expect(error.message).not.toContain(PASSWORDS.PROD_EU_KAFKA_PASSWORD);
    const config = loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(fullYaml()), ...PASSWORDS });
    expect(redactSecrets("SASL kafka-pw-eu-1 failed; registry said registry-pw-eu-1", config)).toBe("SASL *** failed; registry said ***");
  });

  describe("TLS files", () => {
    it("takes paths only, reads them at start, and stops on one that cannot be read", () => {
      expect(fileProblems(oneSource("    ssl: { caFile: /no/such/ca.pem }\n"))).toEqual([
        'sources[0] (prod-eu).ssl.caFile: expected the path of a readable PEM file (a PEM certificate); cannot read "/no/such/ca.pem": ENOENT',
      ]);
      // PEM text where a path belongs is not a path.
      const inline = JSON.stringify({ sources: [{ name: "a", kind: "kafka", brokers: ["k:9092"], ssl: { caFile: certs.pem.ca } }] });
      expect(fileProblems(inline)).toEqual([expect.stringMatching(/^sources\[0\] \(a\)\.ssl\.caFile: expected the path of a readable PEM file/)]);
      expect(kafkaOnly(loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(oneSource(`    ssl: { caFile: ${certs.files.ca} }\n`)) }).sources)[0]!.kafka.ssl).toEqual({
        ca: [certs.pem.ca],
        cert: undefined,
        key: undefined,
      });
    });

    it("checks the certificate and key as KAFKA_SSL_CERT / KAFKA_SSL_KEY are checked", () => {
      expect(fileProblems(oneSource(`    ssl: { certFile: ${certs.files.clientCert} }\n`))).toEqual([
        "sources[0] (prod-eu).ssl.keyFile: expected with certFile: a client certificate needs its private key",
      ]);
      expect(fileProblems(oneSource(`    ssl: { certFile: ${certs.files.clientKey}, keyFile: ${certs.files.clientKey} }\n`))).toEqual([
        expect.stringMatching(/^sources\[0\] \(prod-eu\)\.ssl\.certFile: expected a PEM certificate in ".*client\.key": /),
      ]);
      expect(fileProblems(oneSource(`    ssl: { certFile: ${certs.files.clientCert}, keyFile: ${certs.files.serverKey} }\n`))).toEqual([
        "sources[0] (prod-eu).ssl.keyFile: is not the private key of the certificate in certFile",
      ]);
    });
  });

  it("stops when EVENTSCOPE_MASK_FIELDS masks a source's own entity field", () => {
    expect(fileProblems(oneSource("    entityFields: [customer.email]\n"), { EVENTSCOPE_MASK_FIELDS: "email" })).toEqual([
      expect.stringMatching(/^sources\[0\] \(prod-eu\)\.entityFields: EVENTSCOPE_MASK_FIELDS masks customer\.email, which is an entity field \(this source's entityFields\)/),
    ]);
    expect(loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(oneSource("    entityFields: [customer.id]\n")), EVENTSCOPE_MASK_FIELDS: "email" }).sources[0]!.entityFields).toEqual([
      "customer.id",
    ]);
  });

  it("stops on a file that cannot be read, or is not YAML or JSON, naming the file and the line", () => {
    expect(configError({ EVENTSCOPE_SOURCES_FILE: "/no/such/sources.yaml" }).issues).toEqual([
      { variable: "EVENTSCOPE_SOURCES_FILE", message: 'cannot read "/no/such/sources.yaml": ENOENT' },
    ]);
    const yamlFile = sourcesFile(`${oneSource("")}    topics: { include: x\n`);
    expect(configError({ EVENTSCOPE_SOURCES_FILE: yamlFile }).issues).toEqual([
      { variable: "EVENTSCOPE_SOURCES_FILE", message: expect.stringMatching(new RegExp(`^"${yamlFile}" is not valid YAML or JSON: line 6, column \\d+: `)) },
    ]);
    const jsonFile = sourcesFile('{\n  "sources": [\n    { "name": "a",, "kind": "kafka" }\n  ]\n}\n', "json");
    expect(configError({ EVENTSCOPE_SOURCES_FILE: jsonFile }).issues).toEqual([
      { variable: "EVENTSCOPE_SOURCES_FILE", message: `"${jsonFile}" is not valid YAML or JSON: line 3, column 19: Unexpected , in flow map` },
    ]);
    const duplicateKey = sourcesFile(`${oneSource("")}    name: other\n`);
    expect(configError({ EVENTSCOPE_SOURCES_FILE: duplicateKey }).issues).toEqual([
      { variable: "EVENTSCOPE_SOURCES_FILE", message: expect.stringMatching(/line 5, column 5: Map keys must be unique$/) },
    ]);
  });

  it("stops when KAFKA_BROKERS or another setting of the default source is set too", () => {
    const file = sourcesFile(oneSource(""));
    expect(configError({ EVENTSCOPE_SOURCES_FILE: file, KAFKA_BROKERS: "k:9092" }).issues).toEqual([
      { variable: "EVENTSCOPE_SOURCES_FILE", message: expect.stringMatching(/^set together with KAFKA_BROKERS: set one of the two/) },
    ]);
    expect(configError({ EVENTSCOPE_SOURCES_FILE: file, SCHEMA_REGISTRY_URL: "http://r:8081", KAFKA_SSL: "true" }).issues).toEqual([
      { variable: "KAFKA_SSL", message: expect.stringMatching(/with EVENTSCOPE_SOURCES_FILE, write each source's settings in the file/) },
      { variable: "SCHEMA_REGISTRY_URL", message: expect.stringMatching(/with EVENTSCOPE_SOURCES_FILE, write each source's settings in the file/) },
    ]);
  });

  it("lets npm start run with the file instead of KAFKA_BROKERS, and stops it with neither", () => {
    const database = { DATABASE_URL: "postgres://u@h/d" };
    expect(loadConfig({ EVENTSCOPE_SOURCES_FILE: sourcesFile(oneSource("")), ...database }, { production: true }).sources.map((s) => s.name)).toEqual([
      "prod-eu",
    ]);
    expect(configError(database, { production: true }).issues).toEqual([
      { variable: "KAFKA_BROKERS", message: "required by npm start, or EVENTSCOPE_SOURCES_FILE for several clusters (production has no embedded broker)" },
    ]);
  });
});

describe("the source named default", () => {
  it("is built from KAFKA_* and SCHEMA_REGISTRY_* with the same settings as the top-level configuration", () => {
    const config = loadConfig({
      KAFKA_BROKERS: "kafka-1:9092,kafka-2:9092",
      KAFKA_SASL_MECHANISM: "plain",
      KAFKA_SASL_USERNAME: "collector",
      KAFKA_SASL_PASSWORD: "sasl-secret-1",
      KAFKA_SSL_CA: certs.files.ca,
      KAFKA_SSL_CERT: certs.files.clientCert,
      KAFKA_SSL_KEY: certs.files.clientKey,
      SCHEMA_REGISTRY_URL: "http://registry:8081/",
      SCHEMA_REGISTRY_USERNAME: "reg",
      SCHEMA_REGISTRY_PASSWORD: "reg-secret-1",
      EVENTSCOPE_ENTITY_FIELDS: "orderId,customer.id",
      EVENTSCOPE_TOPICS_INCLUDE: "^orders",
      EVENTSCOPE_TOPICS_EXCLUDE: "^_",
    });
    expect(config.sources).toEqual([
      {
        name: "default",
        kind: "kafka",
        kafkaBrokers: ["kafka-1:9092", "kafka-2:9092"],
        kafka: {
          sasl: { mechanism: "plain", username: "collector", password: "sasl-secret-1" },
          ssl: { ca: [certs.pem.ca], cert: certs.pem.clientCert, key: certs.pem.clientKey },
        },
        schemaRegistry: { url: "http://registry:8081", username: "reg", password: "reg-secret-1" },
        topicsInclude: /^orders/,
        topicsExclude: /^_/,
        entityFields: ["orderId", "customer.id"],
      },
    ]);
    const [source] = kafkaOnly(config.sources);
    expect(source).toMatchObject({ kafkaBrokers: config.kafkaBrokers, kafka: config.kafka, schemaRegistry: config.schemaRegistry, entityFields: config.entityFields });
    const { brokers, sasl, ssl } = kafkaClientConfig(config);
    expect(kafkaClientConfig(source!)).toMatchObject({ brokers, sasl, ssl });
  });

  it("is not there without KAFKA_BROKERS (the embedded broker), and the caller can make it once the broker listens", () => {
    const config = loadConfig({ EVENTSCOPE_ENTITY_FIELDS: "customer.id" });
    expect(config.sources).toEqual([]);
    expect(defaultSource({ ...config, kafkaBrokers: ["127.0.0.1:9092"] })).toEqual({
      name: "default",
      kind: "kafka",
      kafkaBrokers: ["127.0.0.1:9092"],
      kafka: { sasl: undefined, ssl: false },
      schemaRegistry: undefined,
      topicsInclude: undefined,
      topicsExclude: undefined,
      entityFields: ["customer.id"],
    });
  });
});

describe("parseSourcesFile", () => {
  it("takes a comma-separated string where a list belongs", () => {
    const result = parseSourcesFile("sources:\n  - { name: a, kind: kafka, brokers: \"k1:9092, k2:9092\", entityFields: orderId }\n", {
      env: {},
      defaults: { entityFields: ["orderId"], topicsInclude: undefined, topicsExclude: undefined },
      maskFields: [],
    });
    expect(result.problems).toEqual([]);
    expect(result.sources[0]).toMatchObject({ kafkaBrokers: ["k1:9092", "k2:9092"], entityFields: ["orderId"] });
  });
});
