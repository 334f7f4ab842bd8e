import type { Admin, Consumer, Producer } from "kafkajs";
import type { Config } from "../config.ts";
import { compressionType } from "../kafka/index.ts";
import amqp, { type ChannelModel } from "amqplib";
import { analyticsService } from "./analytics.ts";
import { declareEmailTopology, EMAIL_SERVICES, emailPublisher, startEmailSender, type EmailSender } from "./email.ts";
import { decodeMessage, TOPICS, WAREHOUSE_TOPICS } from "./events.ts";
import { stallAt, type StallSchedule } from "./failures.ts";
import { inventoryService } from "./inventory-service.ts";
import { createDemoKafka } from "./kafka.ts";
import { notificationService } from "./notification-service.ts";
import type { DemoOptions } from "./options.ts";
import { orderService } from "./order-service.ts";
import { paymentService } from "./payment-service.ts";
import { isUnknownSchemaError, isWireFormat, PAYMENTS_SUBJECT, PaymentsAvro } from "./payments-avro.ts";
import type { DemoService, ServiceContext } from "./service.ts";
import { shippingService } from "./shipping-service.ts";
import { warehouseBridge, warehouseService } from "./warehouse.ts";
import { DemoState } from "./state.ts";

/** Partitions of the topics the services create (the embedded broker's default too). */
const PARTITIONS = 3;
/** Creates those of `topics` the cluster does not have yet, with the services' partition count. */
async function createMissingTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
  }
}

/** A repeated failure (database away, broker away) is logged at most this often per service. */
const REPEATED_FAILURE_LOG_MS = 30_000;

export interface RunOptions {
  log(line: string): void;
  /** SASL and TLS for a real cluster (KAFKA_SASL_*, KAFKA_SSL*). */
  security?: Config["kafka"];
  /** Basic auth for the Schema Registry (SCHEMA_REGISTRY_USERNAME / _PASSWORD). */
  schemaRegistryAuth?: { username?: string | undefined; password?: string | undefined };
  /** Default Math.random. */
  random?: () => number;
}

export interface RunningDemoServices {
  /** Resolves once every consumer has joined its group and orders are being placed. */
  readonly ready: Promise<void>;
  /** Stops placing orders, lets handlers in progress finish, leaves the groups, disconnects. */
  stop(): Promise<void>;
}

/**
 * The six saga services in this process, each with its own consumer group (named after it) and
 * one shared producer. The caller must have started server/telemetry before: kafkajs is loaded
 * here (kafka.ts), after it.
 */
export function startDemoServices(options: DemoOptions, run: RunOptions): RunningDemoServices {
  const log = run.log;
  let stopping = false;
  const state = new DemoState(options.databaseUrl);
  // kafkajs's complaints while stopping (a handler interrupted on purpose) are not news.
  const kafka = createDemoKafka({ brokers: options.brokers, security: run.security, log: (line) => stopping || log(line) });
  const kafkaProducer: Producer = kafka.producer({ allowAutoTopicCreation: true });
  // Every send of every service goes out with --compression.
  const compression = compressionType(options.compression);
  const producer: Producer = { ...kafkaProducer, send: (record) => kafkaProducer.send({ compression, ...record }) };
  // --warehouse-kafka: a second cluster, with its own client and producer (warehouse.ts).
  const warehouseKafka = options.warehouseBrokers
    ? createDemoKafka({ brokers: options.warehouseBrokers, security: run.security, log: (line) => stopping || log(`warehouse cluster: ${line}`) })
    : undefined;
  const warehouseKafkaProducer = warehouseKafka?.producer({ allowAutoTopicCreation: true });
  const warehouseProducer: Producer | undefined = warehouseKafkaProducer && {
    ...warehouseKafkaProducer,
    send: (record) => warehouseKafkaProducer.send({ compression, ...record }),
  };
  const payments = new PaymentsAvro({ url: options.schemaRegistryUrl, ...run.schemaRegistryAuth });
  const consumers: Consumer[] = [];
  /** The consumers of the services that stall (DemoService.stalls), with their topics. */
  const stalling: { service: DemoService; consumer: Consumer }[] = [];
  let stallTimer: NodeJS.Timeout | undefined;
  let admin: Admin | undefined;
  let warehouseAdmin: Admin | undefined;
  let stopped: Promise<void> | undefined;
  const sleepers = new Set<() => void>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping) return resolve();
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  const context: ServiceContext = {
    producer,
    warehouseProducer,
    payments,
    state,
    options,
    log,
    random: run.random ?? Math.random,
    sleep,
    get stopping() {
      return stopping;
    },
  };
  const services: DemoService[] = [
    orderService(context),
    inventoryService(context),
    paymentService(context),
    shippingService(context),
    notificationService(context),
    analyticsService(context),
    ...(warehouseKafka ? [warehouseBridge(context), warehouseService(context)] : []),
  ];

  /** Retries `step` with backoff until it succeeds or the services stop; logs the failures sparsely. */
  const untilDone = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    let delay = 500;
    let lastLogged = 0;
    for (;;) {
      try {
        return await step();
      } catch (error) {
        if (stopping) throw new Error(`stopped while ${what}`);
        if (Date.now() - lastLogged > REPEATED_FAILURE_LOG_MS) {
          log(`${what} failed, retrying: ${error instanceof Error ? error.message : String(error)}`);
          lastLogged = Date.now();
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 10_000);
      }
    }
  };

  // --rabbitmq: a connection per service, named after it (what the queues' consumers and the graph
  // show): notification-service publishes e-mail jobs on a confirm channel, email-sender consumes them.
  let rabbit: ChannelModel[] = [];
  let emailSender: EmailSender | undefined;
  const connectRabbit = async (url: string) => {
    const connect = (name: string) => amqp.connect(url, { clientProperties: { connection_name: name } });
    const connections: ChannelModel[] = [];
    try {
      connections.push(await connect(EMAIL_SERVICES.publisher));
      connections.push(await connect(EMAIL_SERVICES.sender));
      const [publisher, sender] = connections as [ChannelModel, ChannelModel];
      const setup = await publisher.createChannel();
      await declareEmailTopology(setup);
      await setup.close();
      const publishing = await publisher.createConfirmChannel();
      emailSender = await startEmailSender(sender, { failureRate: options.emailFailureRate, random: context.random, log });
      context.email = emailPublisher(publishing);
    } catch (error) {
      for (const connection of connections) await connection.close().catch(() => {});
      throw error;
    }
    rabbit = connections;
    for (const connection of connections) {
      connection.on("error", () => {
        // "close" follows; said there.
      });
      connection.on("close", () => {
        if (stopping || rabbit !== connections) return;
        context.email = undefined;
        rabbit = [];
        // Both go, and come back together.
        for (const other of connections) if (other !== connection) void other.close().catch(() => {});
        log("RabbitMQ connection lost: notifications send no e-mail job until it is back");
        void untilDone("reconnecting to RabbitMQ", () => connectRabbit(url)).catch(() => {});
      });
    }
    log(`RabbitMQ connected: e-mail jobs go to the exchange email (email.jobs, dead letters in email.dead)`);
  };

  const startConsumer = async (service: DemoService) => {
    const consumer = (service.cluster === "warehouse" ? warehouseKafka! : kafka).consumer({ groupId: service.name, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    consumers.push(consumer);
    if (service.stalls) stalling.push({ service, consumer });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    consumer.on(consumer.events.CRASH, (crash) => {
      if (stopping) return;
      const { error, restart } = crash.payload;
      log(`${service.name}: consumer crashed (${error.message}); ${restart ? "kafkajs restarts it" : "restarting it"}`);
      if (!restart) {
        void (async () => {
          await consumer.disconnect().catch(() => {});
          await sleep(2_000);
          if (!stopping) await untilDone(`${service.name}: restarting the consumer`, () => runConsumer(consumer, service));
        })();
      }
    });
    await untilDone(`${service.name}: joining group ${service.name}`, () => runConsumer(consumer, service));
    await joined;
  };

  const runConsumer = async (consumer: Consumer, service: DemoService) => {
    let lastLogged = 0;
    await consumer.connect();
    // From the beginning for a new group: nothing produced before it joined is skipped. A group
    // that exists (a second start) continues from its committed offsets.
    await consumer.subscribe({ topics: service.topics, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: service.concurrency,
      eachMessage: async ({ topic, partition, message }) => {
        try {
          const event = decodeMessage(topic, partition, message);
          // A wire-format value (the payments topic) is decoded with its writer's schema, by the
          // id it carries: a consumer keeps reading across schema changes, breaking ones included.
          // A registry that cannot answer throws, and kafkajs delivers the message again.
          // (Only the id of a reset registry is given up on: no retry would help.)
          if (isWireFormat(message.value)) {
            event.data = await payments.decode(message.value).catch((error: unknown) => {
              if (!isUnknownSchemaError(error)) throw error;
              // Read like a value that is not JSON: by its headers and key alone.
              if (Date.now() - lastLogged > REPEATED_FAILURE_LOG_MS) {
                log(`${service.name}: ${topic}/${partition}@${message.offset} has a schema id the registry does not know; read without its value`);
                lastLogged = Date.now();
              }
              return null;
            });
          }
          await service.handle(event);
        } catch (error) {
          // Thrown on to kafkajs, which delivers the message again: nothing is skipped.
          if (!stopping && Date.now() - lastLogged > REPEATED_FAILURE_LOG_MS) {
            log(`${service.name}: handling ${topic}/${partition}@${message.offset} failed, retrying: ${error instanceof Error ? error.message : String(error)}`);
            lastLogged = Date.now();
          }
          throw error;
        }
      },
    });
  };

  /**
   * A consumer that stops for minutes (`--stall-every`, `--stall-length`): paused, it keeps
   * heartbeating, so its group stays Stable with its members while its committed offsets stand
   * still and its lag grows (what lag monitors call a stall); resumed, it catches up. Checked
   * every 250 ms, and the pause is applied again on every check of a stall, in case the consumer
   * restarted meanwhile. Start and end are logged.
   */
  const startStalls = () => {
    if (options.stallEverySeconds <= 0 || stalling.length === 0) return;
    const schedule: StallSchedule = {
      everySeconds: options.stallEverySeconds,
      lengthSeconds: options.stallLengthSeconds,
      startedAtMs: Date.now(),
    };
    let stalled = false;
    stallTimer = setInterval(() => {
      if (stopping) return;
      const stall = stallAt(schedule, Date.now());
      for (const { service, consumer } of stalling) {
        const topics = service.topics.map((topic) => ({ topic }));
        try {
          if (stall) consumer.pause(topics);
          else if (stalled) consumer.resume(topics);
        } catch {
          // Not running (restarting after a crash): the next check applies it.
        }
        if (stall && !stalled) {
          log(`${service.name} stall started: it stops consuming until ${new Date(stall.endMs).toISOString()} (paused, still in its group; its lag grows)`);
        } else if (!stall && stalled) {
          log(`${service.name} stall ended: consuming again, catching up`);
        }
      }
      stalled = stall !== null;
    }, 250);
  };

  const ready = (async () => {
    await untilDone("preparing the demo schema", () => state.prepare());
    await untilDone("creating the topics", async () => {
      admin ??= kafka.admin();
      await createMissingTopics(admin, Object.values(TOPICS));
    });
    if (warehouseKafka) {
      await untilDone("creating the warehouse cluster's topics", async () => {
        warehouseAdmin ??= warehouseKafka.admin();
        await createMissingTopics(warehouseAdmin, Object.values(WAREHOUSE_TOPICS));
      });
    }
    // As a Confluent serializer does: the producer registers its schema before it writes.
    const schemaId = await untilDone(`registering the payments schema under ${PAYMENTS_SUBJECT}`, () => payments.register("initial"));
    log(`payments are written in Avro with schema id ${schemaId}, registered under ${PAYMENTS_SUBJECT}`);
    await untilDone("connecting the producer", () => producer.connect());
    if (warehouseProducer) await untilDone("connecting the warehouse cluster's producer", () => warehouseProducer.connect());
    if (options.rabbitmqUrl) await untilDone("connecting to RabbitMQ", () => connectRabbit(options.rabbitmqUrl!));
    log(`joining the consumer groups: ${services.map((service) => service.name).join(", ")}`);
    await Promise.all(services.map(startConsumer));
    if (stopping) throw new Error("stopped before the services were ready");
    for (const service of services) service.start?.();
    startStalls();
  })();
  // The caller awaits `ready`; this keeps an early stop from leaving an unhandled rejection.
  ready.catch(() => {});

  return {
    ready,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        clearInterval(stallTimer);
        for (const wake of [...sleepers]) wake();
        await Promise.allSettled(services.map((service) => service.stop?.()));
        await emailSender?.stop();
        for (const connection of rabbit) await connection.close().catch(() => {});
        await Promise.allSettled(consumers.map((consumer) => consumer.disconnect()));
        await Promise.allSettled([producer.disconnect(), admin?.disconnect(), warehouseProducer?.disconnect(), warehouseAdmin?.disconnect()]);
        await state.close().catch(() => {});
      })()),
  };
}
