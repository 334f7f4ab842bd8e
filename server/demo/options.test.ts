import { describe, expect, test } from "vitest";
import { parseDemoCommandLine, UsageError } from "./options.ts";

const required = [
  "--kafka",
  "127.0.0.1:9092",
  "--database-url",
  "postgresql://u:p@127.0.0.1:5432/db",
  "--schema-registry",
  "http://127.0.0.1:8081",
];

function options(argv: string[], defaults = {}) {
  const parsed = parseDemoCommandLine(argv, defaults);
  if (parsed.help) throw new Error("unexpected --help");
  return parsed.options;
}

function usageError(argv: string[], defaults = {}): string {
  try {
    parseDemoCommandLine(argv, defaults);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

describe("the demo services' command line", () => {
  test("defaults", () => {
    expect(options(required)).toEqual({
      brokers: ["127.0.0.1:9092"],
      warehouseBrokers: undefined,
      rabbitmqUrl: undefined,
      emailFailureRate: 0.1,
      databaseUrl: "postgresql://u:p@127.0.0.1:5432/db",
      schemaRegistryUrl: "http://127.0.0.1:8081",
      ordersPerSecond: 2,
      declineRate: 0.1,
      transientRate: 0.1,
      malformedRate: 0.03,
      shippingFailureRate: 0.05,
      outageEverySeconds: 180,
      outageLengthSeconds: 8,
      maxAttempts: 3,
      duplicateRate: 0.02,
      rekeyRate: 0.01,
      stallEverySeconds: 600,
      stallLengthSeconds: 120,
      analyticsDelayMs: 200,
      spansFile: undefined,
      compression: "none",
      schemaChange: "compatible",
      schemaChangeAfterSeconds: 120,
    });
  });

  test("every flag", () => {
    const parsed = options([
      "--kafka",
      "a:1,b:2",
      "--warehouse-kafka",
      "w:3",
      "--rabbitmq",
      "amqp://127.0.0.1:5673",
      "--email-failure-rate",
      "0.3",
      "--database-url",
      "postgres://x@h/d",
      "--schema-registry",
      "https://registry.example:8443/",
      "--rate",
      "12.5",
      "--decline-rate",
      "0",
      "--transient-rate",
      "1",
      "--malformed-rate",
      "0.5",
      "--shipping-failure-rate",
      "0.25",
      "--outage-every",
      "0",
      "--outage-length",
      "3",
      "--max-attempts",
      "5",
      "--duplicate-rate",
      "0.5",
      "--rekey-rate",
      "1",
      "--stall-every",
      "20",
      "--stall-length",
      "4",
      "--analytics-delay-ms",
      "0",
      "--spans-file",
      "/tmp/spans.jsonl",
      "--compression",
      "zstd",
      "--schema-change",
      "breaking",
      "--schema-change-after",
      "7",
    ]);
    expect(parsed).toMatchObject({
      brokers: ["a:1", "b:2"],
      warehouseBrokers: ["w:3"],
      rabbitmqUrl: "amqp://127.0.0.1:5673",
      emailFailureRate: 0.3,
      schemaRegistryUrl: "https://registry.example:8443",
      ordersPerSecond: 12.5,
      declineRate: 0,
      transientRate: 1,
      malformedRate: 0.5,
      shippingFailureRate: 0.25,
      outageEverySeconds: 0,
      outageLengthSeconds: 3,
      maxAttempts: 5,
      duplicateRate: 0.5,
      rekeyRate: 1,
      stallEverySeconds: 20,
      stallLengthSeconds: 4,
      analyticsDelayMs: 0,
      spansFile: "/tmp/spans.jsonl",
      compression: "zstd",
      schemaChange: "breaking",
      schemaChangeAfterSeconds: 7,
    });
    // --stall-every 0 turns stalls off, whatever their length.
    expect(options([...required, "--stall-every", "0", "--stall-length", "300"])).toMatchObject({ stallEverySeconds: 0, stallLengthSeconds: 300 });
    expect(options([...required, "--schema-change", "none", "--schema-change-after", "0"])).toMatchObject({
      schemaChange: "none",
      schemaChangeAfterSeconds: 0,
    });
  });

  test("a warehouse cluster that is not HOST:PORT is refused by its own flag's name", () => {
    expect(usageError([...required, "--warehouse-kafka", "warehouse"])).toContain("--warehouse-kafka must be HOST:PORT");
  });

  test("a RabbitMQ that is not an amqp:// URL, and an e-mail failure rate outside 0..1, are refused by their flags' names", () => {
    expect(usageError([...required, "--rabbitmq", "127.0.0.1:5672"])).toContain("--rabbitmq must be an amqp:// URL such as amqp://127.0.0.1:5672");
    expect(usageError([...required, "--email-failure-rate", "1.5"])).toContain("--email-failure-rate");
  });

  test("brokers, database URL and schema registry from the environment, flags first", () => {
    const environment = { brokers: ["env:9092"], databaseUrl: "postgresql://env/db", schemaRegistryUrl: "http://env:8081" };
    const fromEnv = options([], environment);
    expect(fromEnv).toMatchObject({ brokers: ["env:9092"], databaseUrl: "postgresql://env/db", schemaRegistryUrl: "http://env:8081" });
    expect(options(required, { brokers: ["env:9092"] }).brokers).toEqual(["127.0.0.1:9092"]);
    expect(options(required, environment).schemaRegistryUrl).toBe("http://127.0.0.1:8081");
  });

  test("--help", () => {
    expect(parseDemoCommandLine(["--help"])).toEqual({ help: true });
  });

  test.each([
    [["--rate", "fast"], /--rate must be a number/],
    [["--rate", "0"], /--rate/],
    [["--decline-rate", "1.5"], /--decline-rate must be a number from 0 to 1/],
    [["--transient-rate", "-0.1"], /--transient-rate/],
    [["--malformed-rate", "x"], /--malformed-rate/],
    [["--max-attempts", "0"], /--max-attempts must be an integer from 1 to 100/],
    [["--max-attempts", "2.5"], /--max-attempts/],
    [["--analytics-delay-ms", "-1"], /--analytics-delay-ms/],
    [["--outage-every", "10", "--outage-length", "10"], /--outage-length must be shorter than --outage-every/],
    [["--duplicate-rate", "2"], /--duplicate-rate must be a number from 0 to 1/],
    [["--duplicate-rate", "often"], /--duplicate-rate must be a number from 0 to 1/],
    [["--rekey-rate=-0.01"], /--rekey-rate must be a number from 0 to 1/],
    [["--stall-every=-1"], /--stall-every must be a number of seconds from 0 to 86400/],
    [["--stall-every", "1.5"], /--stall-every/],
    [["--stall-length", "0"], /--stall-length must be a number of seconds from 1 to 86400/],
    [["--stall-every", "60", "--stall-length", "60"], /--stall-length must be shorter than --stall-every/],
    [["--stall-length", "600"], /--stall-length must be shorter than --stall-every/],
    [["--kafka", "nohostport"], /--kafka must be HOST:PORT/],
    [["--database-url", "mysql://x"], /--database-url must be a postgresql:\/\/ URL/],
    [["--speed", "3"], /--speed/],
    [["--compression", "brotli"], /--compression must be one of none, gzip, snappy, lz4, zstd/],
    [["--schema-registry", "registry:8081"], /--schema-registry must be an http:\/\/ or https:\/\/ URL/],
    [["--schema-change", "forward"], /--schema-change must be one of compatible, breaking, none/],
    [["--schema-change-after", "86401"], /--schema-change-after must be a number of seconds from 0 to 86400/],
    [["--schema-change-after", "1.5"], /--schema-change-after/],
    [["--schema-change-after", "soon"], /--schema-change-after/],
    [["positional"], /positional/],
  ])("%j is refused, naming the flag", (argv, message) => {
    expect(usageError([...required, ...argv])).toMatch(message);
  });

  test("brokers, database URL and schema registry are required", () => {
    expect(usageError(["--database-url", "postgresql://h/d", "--schema-registry", "http://r:8081"])).toMatch(/--kafka is required/);
    expect(usageError(["--kafka", "h:1", "--schema-registry", "http://r:8081"])).toMatch(/--database-url is required/);
    expect(usageError(["--kafka", "h:1", "--database-url", "postgresql://h/d"])).toMatch(/--schema-registry is required/);
  });
});
