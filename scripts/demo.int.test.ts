/**
 * The demo launcher (scripts/demo.ts) as a user runs it: a real process, real ports, the embedded
 * broker and PostgreSQL, the collector. The web UI (next build) and the demo services are left to
 * the e2e suite, which starts the whole stack: here `--no-web --no-services` keep each start to
 * seconds, and the test produces its own events.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectDatabase, getEntityTimeline, listDeadLetters, searchEvents } from "../server/db/index.ts";
import { findFreePort, isPortFree, pollUntil } from "./support/ports.ts";

const DEMO = path.join(path.dirname(fileURLToPath(import.meta.url)), "demo.ts");

interface LauncherRun {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: LauncherRun[] = [];

function launch(args: string[], extraEnv: Record<string, string> = {}): LauncherRun {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(?:EVENTSCOPE_|KAFKA_)/.test(name) || name === "DATABASE_URL" || name === "PORT") delete env[name];
  }
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, ["--import", "tsx", DEMO, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (output += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const run = { child, output: () => output, exited };
  runs.push(run);
  return run;
}

async function waitForReady(run: LauncherRun): Promise<{ kafka: string; databaseUrl: string }> {
  let exitedEarly = false;
  void run.exited.then(() => (exitedEarly = true));
  return pollUntil(
    "the launcher's ready line",
    () => {
      if (exitedEarly) throw new Error(`the launcher exited before it was ready:\n${run.output()}`);
      const where = /^Kafka: (\S+)\s+database: (\S+)$/m.exec(run.output());
      return /^Eventscope is ready/m.test(run.output()) && where ? { kafka: where[1]!, databaseUrl: where[2]! } : undefined;
    },
    120_000,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\nlauncher output:\n${run.output()}`);
  });
}

async function stop(run: LauncherRun): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  run.child.kill("SIGINT");
  return run.exited;
}

/** A server on 127.0.0.1:port, as another program holding it would be. */
async function holdPort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

let tempRoot: string;

beforeAll(() => {
  tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-demo-test-"));
  // As root, the embedded PostgreSQL runs as the postgres user, which must get through.
  fs.chmodSync(tempRoot, 0o755);
});

afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill("SIGINT");
      const gone = await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve(undefined), 30_000))]);
      if (!gone) run.child.kill("SIGKILL");
    }
  }
});

afterAll(() => {
  fs.rmSync(tempRoot, { recursive: true, force: true });
});

function freshDataDir(): string {
  return path.join(tempRoot, crypto.randomBytes(4).toString("hex"));
}

describe("npm run demo", () => {
  it.each([
    ["--port", "the web UI", []],
    ["--broker-port", "the embedded Kafka broker", ["--no-web"]],
    ["--db-port", "the embedded PostgreSQL", ["--no-web"]],
    ["--registry-port", "the embedded schema registry", ["--no-web"]],
  ])("a taken %s port is named, with the flag that changes it, and nothing is left running", async (flag, what, extra) => {
    const held = await holdPort();
    try {
      const dataDir = freshDataDir();
      const ports: Record<string, number> = {
        "--port": await findFreePort(),
        "--broker-port": await findFreePort(),
        "--db-port": await findFreePort(),
        "--registry-port": await findFreePort(),
      };
      ports[flag] = held.port;
      const run = launch([
        "--data-dir",
        dataDir,
        "--no-services",
        ...extra,
        ...Object.entries(ports).flatMap(([name, port]) => [name, String(port)]),
      ]);
      const { code } = await run.exited;
      expect(code).not.toBe(0);
      expect(run.output()).toContain(`port ${held.port} is taken (${what}): choose another with ${flag} N`);
      // Nothing started: the other ports are still free, no database was made.
      for (const [name, port] of Object.entries(ports)) {
        if (name !== flag) expect(await isPortFree(port), `${name} ${port} free`).toBe(true);
      }
      expect(fs.existsSync(path.join(dataDir, "postgres"))).toBe(false);
    } finally {
      await held.release();
    }
  });

  it.each([
    [["--rate", "fast"], "--rate must be a number from 0.01 to 10000"],
    [["--decline-rate", "1.5"], "--decline-rate must be a number from 0 to 1"],
    [["--port", "70000"], "--port must be a TCP port"],
    [["--outage-every", "10", "--outage-length", "10"], "--outage-length must be shorter than --outage-every"],
    [["--stall-every", "60", "--stall-length", "60"], "--stall-length must be shorter than --stall-every"],
    [["--duplicate-rate", "2"], "--duplicate-rate must be a number from 0 to 1"],
    [["--kafka", "no-port-here"], "--kafka: expected a comma-separated list of host:port"],
    [["--colour"], "Unknown option '--colour'"],
    [["--schema-change", "forward"], "--schema-change must be one of compatible, breaking, none"],
    [["--schema-change-after", "soon"], "--schema-change-after must be a whole number from 0 to 86400"],
    [["--sources", "3"], "--sources must be 1 or 2"],
    [["--sources", "2", "--kafka", "127.0.0.1:9092"], "--sources 2 runs two embedded brokers"],
    [["--rabbitmq-port", "5673"], "--rabbitmq-port, --rabbitmq-management-port and --email-failure-rate go with --rabbitmq"],
    [["--rabbitmq", "--kafka", "127.0.0.1:9092"], "--rabbitmq runs with the embedded broker"],
    [["--rabbitmq", "--rabbitmq-management-port", "0"], "--rabbitmq-management-port must be a TCP port"],
  ])("rejects %j with a clear message and exit status 2", async (args, message) => {
    const run = launch(args);
    const { code } = await run.exited;
    expect(run.output()).toContain(message);
    expect(run.output()).toContain("--help");
    expect(code).toBe(2);
  });

  it("--rabbitmq without RabbitMQ installed says how to install it and starts nothing", async () => {
    const dataDir = freshDataDir();
    const run = launch(["--rabbitmq", "--data-dir", dataDir, "--no-web", "--no-services"], { EVENTSCOPE_RABBITMQ_BIN_DIR: path.join(dataDir, "no-rabbitmq-here") });
    const { code } = await run.exited;
    expect(run.output()).toContain("--rabbitmq needs RabbitMQ: rabbitmq-server was not found in");
    expect(run.output()).toContain("apt-get install rabbitmq-server");
    expect(run.output()).toContain("Nothing was started.");
    expect(code).toBe(1);
    expect(fs.existsSync(path.join(dataDir, "postgres"))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, "broker"))).toBe(false);
  });

  it("--help lists the flags and starts nothing", async () => {
    const run = launch(["--help"]);
    expect((await run.exited).code).toBe(0);
    for (const flag of [
      "--port",
      "--broker-port",
      "--db-port",
      "--registry-port",
      "--data-dir",
      "--kafka",
      "--rate",
      "--outage-every",
      "--duplicate-rate",
      "--rekey-rate",
      "--stall-every",
      "--stall-length",
      "--schema-change",
      "--schema-change-after",
      "--rabbitmq",
      "--rabbitmq-port",
      "--rabbitmq-management-port",
      "--email-failure-rate",
    ]) {
      expect(run.output()).toContain(flag);
    }
  });

  it(
    "--sources 2: the warehouse's cluster is collected as a second source, and an order's timeline crosses both",
    async () => {
      const dataDir = freshDataDir();
      const warehousePort = await findFreePort();
      const run = launch([
        "--data-dir",
        dataDir,
        "--sources",
        "2",
        "--broker-port",
        String(await findFreePort()),
        "--warehouse-broker-port",
        String(warehousePort),
        "--db-port",
        String(await findFreePort()),
        "--registry-port",
        String(await findFreePort()),
        "--no-web",
        ...["--rate", "5", "--shipping-failure-rate", "0", "--decline-rate", "0", "--transient-rate", "0", "--malformed-rate", "0"],
      ]);
      const where = await pollUntil(
        "the launcher's ready line",
        () => /^Kafka: \S+ \(source default\), (\S+) \(source warehouse\)\s+database: (\S+)$/m.exec(run.output()) ?? undefined,
        120_000,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\nlauncher output:\n${run.output()}`);
      });
      expect(where[1]).toBe(`127.0.0.1:${warehousePort}`);
      const sourcesFile = JSON.parse(fs.readFileSync(path.join(dataDir, "sources.json"), "utf8")) as { sources: { name: string }[] };
      expect(sourcesFile.sources.map((source) => source.name)).toEqual(["default", "warehouse"]);

      const db = connectDatabase(where[2]!, { maxConnections: 2 });
      try {
        // An order the warehouse dispatched: its timeline runs from OrderPlaced on the default
        // source to ParcelDispatched on the warehouse's, in time order.
        const timeline = await pollUntil(
          "an order whose parcel the warehouse dispatched",
          async () => {
            const page = await searchEvents(db, { type: "ParcelDispatched", source: "warehouse", limit: 1 });
            const orderId = page.events[0]?.entityKeys[0];
            if (!orderId) return undefined;
            // The two sources are collected side by side, each at its own pace: wait until the
            // default source's events of the order are stored too.
            const events = (await getEntityTimeline(db, orderId)).events;
            const types = new Set(events.map((event) => event.eventType));
            return ["OrderPlaced", "OrderShipped", "WarehouseOrderReceived", "ParcelDispatched"].every((type) => types.has(type)) ? events : undefined;
          },
          120_000,
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}\nlauncher output:\n${run.output()}`);
        });
        const steps = timeline.map((event) => `${event.source}:${event.topic}:${event.eventType}`);
        expect(steps).toContain("default:orders:OrderPlaced");
        expect(steps).toContain("default:shipping:OrderShipped");
        expect(steps).toContain("warehouse:warehouse-orders:WarehouseOrderReceived");
        expect(steps).toContain("warehouse:warehouse-parcels:ParcelDispatched");
        expect(steps.indexOf("default:shipping:OrderShipped")).toBeLessThan(steps.indexOf("warehouse:warehouse-orders:WarehouseOrderReceived"));
        const times = timeline.map((event) => Date.parse(event.timestamp));
        expect(times).toEqual([...times].sort((a, b) => a - b));
        // The bridge continues the order's trace across the clusters.
        const traces = new Set(timeline.filter((event) => event.source === "warehouse").map((event) => event.traceId));
        expect(traces.size).toBe(1);
        expect(timeline.find((event) => event.eventType === "OrderShipped")?.traceId).toBe([...traces][0]);
      } finally {
        await db.close();
      }
      expect((await stop(run)).code).toBe(0);
      expect(run.output()).toContain("stopping the Kafka brokers…");
      expect(await isPortFree(warehousePort), "the warehouse broker's port after Ctrl-C").toBe(true);
    },
    300_000,
  );

  it(
    "--rabbitmq: a RabbitMQ node collected as a source; an order's timeline runs from Kafka into RabbitMQ, and refused e-mail jobs are dead letters",
    async () => {
      const dataDir = freshDataDir();
      const rabbitPort = await findFreePort();
      const managementPort = await findFreePort();
      const run = launch([
        "--data-dir",
        dataDir,
        "--rabbitmq",
        "--rabbitmq-port",
        String(rabbitPort),
        "--rabbitmq-management-port",
        String(managementPort),
        "--broker-port",
        String(await findFreePort()),
        "--db-port",
        String(await findFreePort()),
        "--registry-port",
        String(await findFreePort()),
        "--no-web",
        ...["--rate", "5", "--shipping-failure-rate", "0", "--decline-rate", "0", "--transient-rate", "0", "--malformed-rate", "0"],
        ...["--email-failure-rate", "0.3", "--stall-every", "0"],
      ]);
      const { databaseUrl } = await waitForReady(run);
      expect(run.output()).toMatch(new RegExp(`^RabbitMQ: amqp://guest:\\*\\*\\*@127\\.0\\.0\\.1:${rabbitPort} \\(source rabbitmq\\)\\s+management: http://127\\.0\\.0\\.1:${managementPort} \\(guest/guest\\)$`, "m"));
      const sourcesFile = JSON.parse(fs.readFileSync(path.join(dataDir, "sources.json"), "utf8")) as { sources: { name: string; kind: string }[] };
      expect(sourcesFile.sources.map((source) => `${source.name}:${source.kind}`)).toEqual(["default:kafka", "rabbitmq:rabbitmq"]);

      const db = connectDatabase(databaseUrl, { maxConnections: 2 });
      try {
        // An order whose e-mail was sent: its timeline runs from OrderPlaced on Kafka to the
        // e-mail job and EmailSent on RabbitMQ's exchange `email`, in time order.
        const timeline = await pollUntil(
          "an order whose e-mail was sent",
          async () => {
            const page = await searchEvents(db, { type: "EmailSent", source: "rabbitmq", limit: 1 });
            const orderId = page.events[0]?.entityKeys[0];
            if (!orderId) return undefined;
            const events = (await getEntityTimeline(db, orderId)).events;
            const types = new Set(events.map((event) => event.eventType));
            return ["OrderPlaced", "OrderConfirmed", "NotificationSent", "EmailRequested", "EmailSent"].every((type) => types.has(type)) ? events : undefined;
          },
          120_000,
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}\nlauncher output:\n${run.output()}`);
        });
        const steps = timeline.map((event) => `${event.source}:${event.topic}:${event.eventType}`);
        expect(steps).toContain("default:orders:OrderPlaced");
        expect(steps).toContain("rabbitmq:email:EmailRequested");
        expect(steps).toContain("rabbitmq:email:EmailSent");
        expect(steps.indexOf("default:orders:OrderPlaced")).toBeLessThan(steps.indexOf("rabbitmq:email:EmailRequested"));
        const times = timeline.map((event) => Date.parse(event.timestamp));
        expect(times).toEqual([...times].sort((a, b) => a - b));
        // The job carries the order's trace from Kafka into RabbitMQ.
        const job = timeline.find((event) => event.eventType === "EmailRequested")!;
        expect(job.producer).toBe("notification-service");
        expect(job.traceId).toBe(timeline.find((event) => event.eventType === "OrderPlaced")!.traceId);

        // A refused job, dead-lettered by RabbitMQ into email.dead (which nobody reads), is in the inbox.
        const dead = await pollUntil(
          "a RabbitMQ dead letter",
          async () => (await listDeadLetters(db, { source: "rabbitmq", limit: 1 })).deadLetters[0],
          60_000,
        );
        expect(dead).toMatchObject({ source: "rabbitmq", originTopic: "email", errorClass: "rejected" });
        // Each service is on a connection named after it: the queue's consumer is email-sender.
        const consumers = await pollUntil(
          "email.jobs' consumers polled",
          async () => {
            const { rows } = await db.pool.query<{ connection_name: string }>(`SELECT connection_name FROM rabbitmq_consumers WHERE queue = 'email.jobs'`);
            return rows.length > 0 ? rows.map((row) => row.connection_name) : undefined;
          },
          60_000,
        );
        expect(consumers).toEqual(["email-sender"]);
      } finally {
        await db.close();
      }
      expect((await stop(run)).code).toBe(0);
      expect(run.output()).toContain("stopping RabbitMQ…");
      expect(await isPortFree(rabbitPort), "RabbitMQ's port after Ctrl-C").toBe(true);
      expect(await isPortFree(managementPort), "the management port after Ctrl-C").toBe(true);
    },
    300_000,
  );

  it(
    "Ctrl-C stops everything, and a second start continues with the data of the first",
    async () => {
      const dataDir = freshDataDir();
      const brokerPort = await findFreePort();
      const dbPort = await findFreePort();
      const args = [
        "--data-dir",
        dataDir,
        "--broker-port",
        String(brokerPort),
        "--db-port",
        String(dbPort),
        "--registry-port",
        String(await findFreePort()),
        "--no-web",
        "--no-services",
      ];
      const topic = `demo-restart-${crypto.randomBytes(4).toString("hex")}`;

      const first = launch(args);
      const { kafka, databaseUrl } = await waitForReady(first);
      expect(kafka).toBe(`127.0.0.1:${brokerPort}`);
      const token = fs.readFileSync(path.join(dataDir, "admin-token"), "utf8").trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect(fs.statSync(path.join(dataDir, "admin-token")).mode & 0o777).toBe(0o600);

      const client = new Kafka({ clientId: "demo-launcher-test", brokers: [kafka], logLevel: logLevel.NOTHING });
      const produce = async (orders: string[]) => {
        const producer = client.producer();
        await producer.connect();
        await producer.send({
          topic,
          messages: orders.map((orderId) => ({ key: orderId, value: JSON.stringify({ type: "OrderPlaced", orderId }) })),
        });
        await producer.disconnect();
      };
      const storedOrders = async () => {
        const db = connectDatabase(databaseUrl, { maxConnections: 1 });
        try {
          const page = await searchEvents(db, { topic, limit: 500 });
          return page.events.map((event) => event.key).sort();
        } finally {
          await db.close();
        }
      };
      const firstOrders = Array.from({ length: 20 }, (_, i) => `ord-${String(i).padStart(3, "0")}`);
      await produce(firstOrders);
      await pollUntil("the first 20 events stored", async () => ((await storedOrders()).length === 20 ? true : undefined), 60_000);

      const stopped = await stop(first);
      expect(stopped, first.output()).toEqual({ code: 0, signal: null });
      expect(first.output()).toMatch(/stopping the collector…\nstopping the Kafka broker…\nstopping the schema registry…\nstopping PostgreSQL…\nstopped/);
      expect(await isPortFree(brokerPort), "the broker's port after Ctrl-C").toBe(true);
      expect(await isPortFree(dbPort), "PostgreSQL's port after Ctrl-C").toBe(true);

      const second = launch(args);
      const again = await waitForReady(second);
      expect(again.databaseUrl).toBe(databaseUrl);
      expect(fs.readFileSync(path.join(dataDir, "admin-token"), "utf8").trim()).toBe(token);
      // The first run's events are there, once each (the collector resumed from its committed offsets).
      expect(await storedOrders()).toEqual(firstOrders);
      // And the second run collects: the broker kept the topic, the collector reads on.
      await produce(["ord-999"]);
      await pollUntil("the event of the second run stored", async () => ((await storedOrders()).includes("ord-999") ? true : undefined), 60_000);
      expect(await storedOrders()).toEqual([...firstOrders, "ord-999"]);
      expect((await stop(second)).code).toBe(0);
    },
    300_000,
  );
});
