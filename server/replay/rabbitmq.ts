import amqp, { type ChannelModel, type Options } from "amqplib";
import { AMQP_ENVELOPE_HEADERS, AMQP_HEADER_PREFIX, AMQP_HEADER_TYPES, AMQP_PROPERTY_HEADERS, type AmqpHeaderType } from "../../lib/amqp-properties.ts";
import { ValidationError } from "../../lib/errors.ts";
import type { RabbitMqSourceConfig } from "../config.ts";
import { amqpConnectionUrl } from "../rabbitmq/connection-url.ts";
import type { OutgoingMessage, RecordHeader } from "./message.ts";
import { ReplayUnavailableError } from "./producer.ts";

/**
 * Replay to a RabbitMQ source: the message a dead letter was (its body, its properties kept as
 * `amqp.*` headers, lib/amqp-properties.ts, and its application headers) published again to its
 * original exchange with its original routing key, on a confirm channel. One connection per
 * source and vhost and server process ("eventscope-replay"), kept on globalThis like the Kafka
 * producer (producer.ts); a channel per replay, so that a channel the broker closes (an exchange
 * that does not exist) takes nothing else with it.
 */

export interface AmqpPublish {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
}

export interface RabbitReplayPublisher {
  /** The connection closed (the broker stopped, or close() was called): a new publisher is needed. */
  readonly closed: boolean;
  /** Whether `exchange` exists (a passive declare); "" (the default exchange) always does. */
  exchangeExists(exchange: string): Promise<boolean>;
  /**
   * Publishes and resolves once the broker confirmed it; throws when the broker refuses it (nack),
   * or returns it because no queue is bound for its routing key (it is published `mandatory`),
   * or does not confirm it within CONFIRM_TIMEOUT_MS (a broker blocked by a resource alarm).
   */
  publish(message: AmqpPublish): Promise<void>;
  close(): Promise<void>;
}

/** How long a replay waits for the broker's confirm before it is reported failed. */
export const CONFIRM_TIMEOUT_MS = 30_000;

/** The vhost a dead letter's channel belongs to: `<vhost>/<name>` outside "/" (as the collector names channels). */
export function vhostOfChannel(vhosts: readonly string[], channel: string): string {
  const named = vhosts.find((vhost) => vhost !== "/" && channel.startsWith(`${vhost}/`));
  return named ?? (vhosts.includes("/") || vhosts.length === 0 ? "/" : vhosts[0]!);
}

/** An error's text without the credentials a connection URL may hold, nor the password itself. */
function redact(text: string, password: string): string {
  const withoutUrls = text.replace(/\/\/[^/@\s]*@/g, "//***@");
  return password === "" ? withoutUrls : withoutUrls.split(password).join("***");
}

/** Connects to `vhost` of a RabbitMQ source; ReplayUnavailableError when it cannot be reached. */
export async function createRabbitReplayPublisher(
  source: Pick<RabbitMqSourceConfig, "name" | "amqpUrl" | "username" | "password">,
  vhost: string,
): Promise<RabbitReplayPublisher> {
  let connection: ChannelModel;
  try {
    connection = await amqp.connect(amqpConnectionUrl(source, vhost), {
      clientProperties: { connection_name: "eventscope-replay" },
      timeout: 5_000,
    });
  } catch (error) {
    throw new ReplayUnavailableError(
      `cannot connect to RabbitMQ source ${JSON.stringify(source.name)} (vhost ${JSON.stringify(vhost)}): ${redact(error instanceof Error ? error.message : String(error), source.password)}`,
    );
  }
  let closed = false;
  connection.on("error", () => {});
  connection.on("close", () => {
    closed = true;
  });
  const open = () => {
    if (closed) throw new ReplayUnavailableError(`the connection to RabbitMQ source ${JSON.stringify(source.name)} was closed`);
  };
  return {
    get closed() {
      return closed;
    },
    async exchangeExists(exchange) {
      if (exchange === "") return true;
      open();
      // A throwaway channel: a passive declare of a missing exchange closes it (404 NOT_FOUND).
      const channel = await connection.createChannel();
      channel.on("error", () => {});
      try {
        await channel.checkExchange(exchange);
        await channel.close().catch(() => {});
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return false;
        throw error;
      }
    },
    async publish(message) {
      open();
      const channel = await connection.createConfirmChannel();
      let channelError: Error | null = null;
      let returned = false;
      let timer: NodeJS.Timeout | undefined;
      channel.on("error", (error: Error) => {
        channelError = error;
      });
      // With confirms, a returned (unroutable) message arrives before its ack.
      channel.on("return", () => {
        returned = true;
      });
      try {
        await new Promise<void>((resolve, reject) => {
          channel.publish(message.exchange, message.routingKey, message.content, { ...message.properties, mandatory: true }, (error: unknown) =>
            error ? reject(channelError ?? new Error("the broker refused the message (nack)")) : resolve(),
          );
          channel.once("close", () => reject(channelError ?? new Error("the channel closed before the broker confirmed the message")));
          timer = setTimeout(
            () => reject(new Error(`the broker did not confirm the message within ${CONFIRM_TIMEOUT_MS / 1000} s: it may still be delivered`)),
            CONFIRM_TIMEOUT_MS,
          );
        });
        if (returned) {
          const where = message.exchange === "" ? "the default exchange" : `exchange ${JSON.stringify(message.exchange)}`;
          throw new Error(`${where} routed it to no queue (routing key ${JSON.stringify(message.routingKey)}): it was returned, not delivered`);
        }
      } finally {
        clearTimeout(timer);
        await channel.close().catch(() => {});
      }
    },
    async close() {
      if (!closed) await connection.close().catch(() => {});
    },
  };
}

const PUBLISHERS = Symbol.for("eventscope.rabbitReplayPublishers");
type Holder = typeof globalThis & { [PUBLISHERS]?: Map<string, Promise<RabbitReplayPublisher>> };

/**
 * This process's publisher for `vhost` of a RabbitMQ source, connected on first use. A failed
 * connect is not kept, nor a connection that closed since (the broker restarted): the next replay
 * connects again.
 */
export function getRabbitReplayPublisher(source: RabbitMqSourceConfig, vhost: string): Promise<RabbitReplayPublisher> {
  const holder = globalThis as Holder;
  const publishers = (holder[PUBLISHERS] ??= new Map());
  // The settings are part of the slot: changed credentials make a new connection.
  const slot = JSON.stringify([source.name, source.amqpUrl, source.username, source.password, vhost]);
  const existing = publishers.get(slot);
  if (existing) {
    return existing.then((publisher: RabbitReplayPublisher) => {
      if (!publisher.closed) return publisher;
      publishers.delete(slot);
      return getRabbitReplayPublisher(source, vhost);
    });
  }
  const connecting = createRabbitReplayPublisher(source, vhost).catch((error: unknown) => {
    publishers.delete(slot);
    throw error;
  });
  publishers.set(slot, connecting);
  return connecting;
}

/** Closes this process's RabbitMQ replay connections (tests, shutdown). */
export async function closeRabbitReplayPublishers(): Promise<void> {
  const holder = globalThis as Holder;
  const publishers = [...(holder[PUBLISHERS]?.values() ?? [])];
  holder[PUBLISHERS]?.clear();
  for (const publisher of publishers) await publisher.then((p) => p.close()).catch(() => {});
}

// --- the message ---------------------------------------------------------------------------------

const ENVELOPE_KEYS: ReadonlySet<string> = new Set(Object.values(AMQP_ENVELOPE_HEADERS));
const PROPERTY_OF_HEADER: ReadonlyMap<string, keyof typeof AMQP_PROPERTY_HEADERS> = new Map(
  Object.entries(AMQP_PROPERTY_HEADERS).map(([property, header]) => [header, property as keyof typeof AMQP_PROPERTY_HEADERS]),
);
const NUMBER_PROPERTIES: ReadonlySet<string> = new Set(["deliveryMode", "priority", "timestamp"]);

function text(value: Buffer | null): string | null {
  if (value === null) return null;
  const decoded = value.toString("utf8");
  return Buffer.from(decoded, "utf8").equals(value) ? decoded : null;
}

/**
 * Where a RabbitMQ dead letter was routed first: the `routing-keys` of its `x-death` entry for the
 * queue it first died in (the origin queue), else of the oldest entry, else the stored
 * `amqp.routing_key` of the copy. Its first key is the routing key; the others were CC keys.
 * null when none says.
 */
export function originalRoutingKeys(headers: readonly RecordHeader[], originQueue: string | null): string[] | null {
  const death = headers.find((h) => h.key.toLowerCase() === "x-death");
  const deaths = death ? parseDeaths(text(death.value)) : [];
  const entry = deaths.find((d) => originQueue !== null && d.queue === originQueue) ?? deaths.at(-1);
  const keys = entry?.["routing-keys"];
  if (Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === "string")) return keys as string[];
  const stored = headers.filter((h) => h.key === AMQP_ENVELOPE_HEADERS.routingKey).map((h) => text(h.value));
  return stored.length > 0 && stored.every((k) => k !== null) ? (stored as string[]) : null;
}

function parseDeaths(json: string | null): { queue?: unknown; "routing-keys"?: unknown }[] {
  if (json === null) return [];
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.filter((d): d is Record<string, unknown> => d !== null && typeof d === "object") : [];
  } catch {
    return [];
  }
}

/**
 * The AMQP publish of a replay message (built by buildReplayMessage from the stored headers, so
 * without x-death and the x-first/last-death-* headers, and with x-replay-of / x-replay-id): its
 * `amqp.*` property headers become properties again, the envelope ones (exchange, routing keys,
 * queue, …) are left out, every other header goes into the headers table with the type it was
 * published with (`amqp.header_types`: a number, a boolean, a timestamp, a table or an array comes
 * back as one; typedHeader), else as text where it is UTF-8 and as a byte array otherwise.
 * `user_id` is kept only when it is the replay connection's own user: RabbitMQ refuses any other.
 */
export function toAmqpPublish(
  message: OutgoingMessage,
  target: { exchange: string; routingKeys: readonly string[]; username: string },
): AmqpPublish {
  if (message.value === null) {
    throw new ValidationError("a RabbitMQ message cannot be a tombstone (null value): send a body, or an empty text", { field: "value" });
  }
  const properties: Record<string, unknown> = {};
  const headers: Record<string, unknown> = {};
  const types = storedHeaderTypes(message.headers);
  for (const header of message.headers) {
    const property = PROPERTY_OF_HEADER.get(header.key);
    if (property !== undefined) {
      const value = text(header.value);
      if (value === null || value === "") continue;
      if (NUMBER_PROPERTIES.has(property)) {
        if (!/^\d{1,15}$/.test(value)) throw new ValidationError(`header ${header.key} must be a whole number, got ${JSON.stringify(value)}`, { field: "headers" });
        properties[property] = Number(value);
      } else if (property !== "userId" || value === target.username) {
        properties[property] = value;
      }
      continue;
    }
    if (ENVELOPE_KEYS.has(header.key)) continue;
    if (header.key.startsWith(AMQP_HEADER_PREFIX)) {
      throw new ValidationError(`header ${JSON.stringify(header.key)} is no AMQP property a replay can send`, { field: "headers" });
    }
    const value = header.value === null ? null : text(header.value);
    const type = types.get(header.key);
    headers[header.key] = header.value === null ? null : value === null ? header.value : type === undefined ? value : typedHeader(value, type);
  }
  // The first routing key is the routing key; the others were CC keys, routed the same way again.
  const [routingKey = "", ...cc] = target.routingKeys;
  if (cc.length > 0) properties.CC = cc;
  return { exchange: target.exchange, routingKey, content: message.value, properties: { ...(properties as Options.Publish), headers } };
}

/** The `amqp.header_types` the collector stored (lib/amqp-properties.ts); empty when absent or unreadable. */
function storedHeaderTypes(headers: readonly RecordHeader[]): Map<string, AmqpHeaderType> {
  const stored = headers.find((h) => h.key === AMQP_ENVELOPE_HEADERS.headerTypes);
  const types = new Map<string, AmqpHeaderType>();
  const json = stored ? text(stored.value) : null;
  if (json === null) return types;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return types;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return types;
  for (const [key, type] of Object.entries(parsed)) {
    if ((AMQP_HEADER_TYPES as readonly unknown[]).includes(type)) types.set(key, type as AmqpHeaderType);
  }
  return types;
}

/**
 * A header's stored text as the AMQP value of its type (amqplib encodes a JS number as a signed
 * integer or a double, a `{"!": "timestamp"}` as a timestamp). Text that no longer reads as its
 * type (a header edited before the replay) is sent as text.
 */
export function typedHeader(value: string, type: AmqpHeaderType): unknown {
  switch (type) {
    case "number": {
      const number = Number(value);
      return value.trim() !== "" && Number.isFinite(number) && (!/^-?\d+$/.test(value.trim()) || Number.isSafeInteger(number)) ? number : value;
    }
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value;
    case "timestamp": {
      const ms = Date.parse(value);
      return Number.isNaN(ms) ? value : { "!": "timestamp", value: Math.floor(ms / 1000) };
    }
    case "json":
      try {
        const parsed: unknown = JSON.parse(value);
        // The collector's own markers ({"!": "bytes", …}) would read as amqplib type tags.
        return parsed !== null && typeof parsed === "object" && !hasTypeTag(parsed) ? parsed : value;
      } catch {
        return value;
      }
  }
}

function hasTypeTag(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (!Array.isArray(value) && Object.hasOwn(value, "!")) return true;
  return Object.values(value).some(hasTypeTag);
}
