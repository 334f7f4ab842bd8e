import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort, pollUntil } from "../../scripts/support/ports.ts";
import { RabbitNodeError, rabbitmqctl, startRabbitNode, type RabbitNode } from "./node.ts";
import { managementGet, processesMatching, processesOf, startTestRabbitNode } from "./test-support.ts";

// One real node (Debian's rabbitmq-server) for the file: a start costs 5–10 s.
let node: RabbitNode;
let removeDataDir: () => void;
let connection: amqp.ChannelModel;

beforeAll(async () => {
  ({ node, removeDataDir } = await startTestRabbitNode());
  connection = await amqp.connect(node.amqpUrl);
}, 120_000);

afterAll(async () => {
  await connection?.close().catch(() => {});
  await node?.stop();
  removeDataDir?.();
}, 120_000);

const unique = (prefix: string) => `${prefix}.${randomBytes(4).toString("hex")}`;

describe("startRabbitNode", () => {
  it("serves AMQP: a published message is consumed, and the management API lists its queue", async () => {
    const channel = await connection.createChannel();
    const queue = unique("orders");
    await channel.assertQueue(queue, { durable: true });
    channel.sendToQueue(queue, Buffer.from('{"orderId":"o-1"}'), { messageId: "m-1", persistent: true });

    const received = await new Promise<amqp.ConsumeMessage>((resolve) => {
      void channel.consume(queue, (message) => {
        if (message) {
          channel.ack(message);
          resolve(message);
        }
      });
    });
    expect(received.content.toString()).toBe('{"orderId":"o-1"}');
    expect(received.properties.messageId).toBe("m-1");

    const queues = (await managementGet(node, "/api/queues/%2F")) as { name: string; durable: boolean }[];
    expect(queues.find((q) => q.name === queue)).toMatchObject({ durable: true });
    await channel.close();
  });

  it("serves streams: a stream queue is read from offset `first`, each delivery with its offset", async () => {
    const channel = await connection.createChannel();
    const stream = unique("events");
    await channel.assertQueue(stream, { durable: true, arguments: { "x-queue-type": "stream" } });
    for (let i = 0; i < 3; i++) channel.sendToQueue(stream, Buffer.from(`event ${i}`));

    // A stream consumer needs a prefetch (the broker refuses one without) and manual acks.
    const reader = await connection.createChannel();
    await reader.prefetch(10);
    const seen: { body: string; offset: unknown }[] = [];
    await reader.consume(
      stream,
      (message) => {
        if (!message) return;
        seen.push({ body: message.content.toString(), offset: message.properties.headers?.["x-stream-offset"] });
        reader.ack(message);
      },
      { arguments: { "x-stream-offset": "first" } },
    );
    await pollUntil("three stream deliveries", () => (seen.length >= 3 ? true : undefined), 20_000, 50);
    expect(seen).toEqual([
      { body: "event 0", offset: 0 },
      { body: "event 1", offset: 1 },
      { body: "event 2", offset: 2 },
    ]);
    await reader.close();
    await channel.close();
  });

  it("runs rabbitmqctl against the node with its environment", async () => {
    expect(await rabbitmqctl(node, ["trace_on", "-p", "/"])).toMatch(/Trac(e|ing) enabled|Starting tracing/);
    expect(await rabbitmqctl(node, ["trace_off", "-p", "/"])).toMatch(/Trac(e|ing) disabled|Stopping tracing/);
    const status = (await rabbitmqctl(node, ["status", "--formatter", "json"])) as string;
    expect(JSON.parse(status)).toMatchObject({ pid: node.pid });
  });

  it("refuses a port that is taken, naming it", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const attempt = startRabbitNode({ dataDir: `${node.dataDir}-unused`, amqpPort: taken, managementPort: node.managementPort + 1 });
      await expect(attempt).rejects.toThrow(RabbitNodeError);
      await expect(attempt).rejects.toThrow(`port ${taken} (AMQP) is already in use`);
    } finally {
      blocker.close();
    }
  });

  it("says to install rabbitmq-server when it is missing", async () => {
    const attempt = startRabbitNode({ dataDir: `${node.dataDir}-unused`, amqpPort: 1, managementPort: 2, binDir: "/nonexistent" });
    await expect(attempt).rejects.toThrow(/rabbitmq-server was not found in \/nonexistent.*apt-get install rabbitmq-server/);
  });
});

describe("a node that does not come up in time", () => {
  it("is stopped, with an error that points at its log", async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "eventscope-rabbitmq-"));
    try {
      const attempt = startRabbitNode({
        dataDir: path.join(parent, "data"),
        amqpPort: await findFreePort(),
        managementPort: await findFreePort(),
        startTimeoutMs: 500,
      });
      await expect(attempt).rejects.toThrow(/did not answer on AMQP port \d+ and the management API within 0\.5 s; see its log \/.*\/data\/log\/eventscope-[0-9a-f]+@localhost\.log/);
      const nodeName = /eventscope-[0-9a-f]+/.exec(String(await attempt.catch((error: unknown) => error)))![0];
      expect(processesMatching(nodeName)).toEqual([]);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("stop", () => {
  it("stops the node and its epmd, and nothing of them is left", async () => {
    // A second node of its own: the file's node stays up for the other tests.
    const { node: other, removeDataDir: removeOther } = await startTestRabbitNode();
    try {
      expect(processesOf(other).length).toBeGreaterThanOrEqual(2); // the VM and epmd, at least
      await Promise.all([other.stop(), other.stop()]);
      expect(processesOf(other)).toEqual([]);
      await other.stop(); // idempotent
      await expect(amqp.connect(other.amqpUrl)).rejects.toThrow();
    } finally {
      await other.stop();
      removeOther();
    }
  }, 120_000);
});
