/**
 * The RabbitMQ management HTTP API (the `rabbitmq_management` plugin), read-only: what the RabbitMQ
 * source needs to know about a vhost (its exchanges, bindings, queues and consumers). The one
 * place Eventscope talks to it. Only fields Eventscope reads are typed; RabbitMQ sends more.
 *
 * Errors are ManagementApiError, whose message names the request (never the credentials) and
 * says what to check: unreachable, refused credentials (401), a user without the monitoring tag
 * or vhost permission (403), an unknown vhost (404), a timeout.
 */

export interface ManagementClientOptions {
  /** http(s)://host:port of the management plugin, without credentials. */
  url: string;
  username: string;
  password: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

export class ManagementApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or null when no answer came. */
    readonly status: number | null,
  ) {
    super(message);
    this.name = "ManagementApiError";
  }
}

/** An exchange, as `GET /api/exchanges/<vhost>` lists it. The default exchange's name is "". */
export interface ManagementExchange {
  name: string;
  vhost: string;
  /** direct, topic, fanout, headers, or a plugin's type (x-consistent-hash, …). */
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
  /** Absent until something is published into it (and with the management plugin's rates disabled). */
  message_stats?: {
    publish_in?: number;
    publish_in_details?: { rate: number };
    publish_out?: number;
    publish_out_details?: { rate: number };
  };
}

/** A binding, as `GET /api/bindings/<vhost>` lists them. */
export interface ManagementBinding {
  /** The exchange it routes from ("" for the default exchange's implicit bindings). */
  source: string;
  vhost: string;
  destination: string;
  destination_type: "queue" | "exchange";
  routing_key: string;
  arguments: Record<string, unknown>;
  /** The binding's key within (source, destination): its routing key, plus a hash of its arguments when it has some. */
  properties_key?: string;
}

/** A queue, as `GET /api/queues/<vhost>` lists them (counts are absent on a queue that is starting). */
export interface ManagementQueue {
  name: string;
  vhost: string;
  /** classic, quorum or stream (3.8+). */
  type?: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive?: boolean;
  /** x-dead-letter-exchange, x-message-ttl, x-max-length, x-queue-type, … */
  arguments: Record<string, unknown>;
  /** The name of the user policy that applies to the queue, when one does. */
  policy?: string | null;
  /** The definition the queue's policies add up to (dead-letter-exchange, message-ttl, …). */
  effective_policy_definition?: Record<string, unknown> | null;
  consumers?: number;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  /** Seconds since the epoch: the timestamp property of the head message (the oldest not yet acked), when it has one. */
  head_message_timestamp?: number | null;
  state?: string;
  message_stats?: {
    publish?: number;
    publish_details?: { rate: number };
    deliver_get?: number;
    deliver_get_details?: { rate: number };
    ack?: number;
    ack_details?: { rate: number };
    /** Deliveries to consumers that do not ack (auto-ack), and basic.get without ack. */
    deliver_no_ack?: number;
    get_no_ack?: number;
    redeliver?: number;
    redeliver_details?: { rate: number };
  };
}

/** A user policy, as `GET /api/policies/<vhost>` lists them (the monitoring tag may read them). */
export interface ManagementPolicy {
  name: string;
  vhost: string;
  /** A regular expression on the names of the queues and exchanges it applies to. */
  pattern: string;
  "apply-to": "queues" | "exchanges" | "all" | string;
  /** dead-letter-exchange, message-ttl, max-length, … */
  definition: Record<string, unknown>;
  priority: number;
}

/** A consumer, as `GET /api/consumers/<vhost>` lists them. */
export interface ManagementConsumer {
  consumer_tag: string;
  queue: { name: string; vhost: string };
  channel_details: { name: string; connection_name: string; peer_host?: string; peer_port?: number; user?: string };
  ack_required: boolean;
  prefetch_count: number;
  active?: boolean;
  exclusive?: boolean;
  arguments?: Record<string, unknown>;
}

/** A client connection, as `GET /api/vhosts/<vhost>/connections` lists them. */
export interface ManagementConnection {
  /** RabbitMQ's name (`<client address> -> <broker address>`): what consumers' channel_details.connection_name refers to. */
  name: string;
  vhost: string;
  /** The client-provided name (amqplib `clientProperties.connection_name`), when the client gave one. */
  user_provided_name?: string;
  client_properties?: { connection_name?: string; product?: string; [key: string]: unknown };
  peer_host?: string;
  user?: string;
}

/** A vhost, as `GET /api/vhosts/<vhost>` gives it. */
export interface ManagementVhost {
  name: string;
  /** Whether the firehose is on for it (`rabbitmqctl trace_on -p <vhost>`). */
  tracing: boolean;
}

export interface ManagementOverview {
  rabbitmq_version: string;
  cluster_name?: string;
  node?: string;
}

export interface ManagementClient {
  readonly url: string;
  overview(): Promise<ManagementOverview>;
  vhost(vhost: string): Promise<ManagementVhost>;
  exchanges(vhost: string): Promise<ManagementExchange[]>;
  bindings(vhost: string): Promise<ManagementBinding[]>;
  queues(vhost: string): Promise<ManagementQueue[]>;
  policies(vhost: string): Promise<ManagementPolicy[]>;
  consumers(vhost: string): Promise<ManagementConsumer[]>;
  connections(vhost: string): Promise<ManagementConnection[]>;
  /** Any other GET under /api (path starting with /api/); segments must be encoded by the caller. */
  get<T>(path: string): Promise<T>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** A vhost as one path segment: "/" is %2F, as the API wants it. */
export function vhostSegment(vhost: string): string {
  return encodeURIComponent(vhost);
}

export function createManagementClient(options: ManagementClientOptions): ManagementClient {
  const base = options.url.replace(/\/+$/, "");
  const authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function get<T>(path: string): Promise<T> {
    const what = `GET ${base}${path}`;
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        headers: { authorization, accept: "application/json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : describeFetchError(error);
      throw new ManagementApiError(`${what}: ${cause} (is the management plugin enabled and reachable at ${base}?)`, null);
    }
    if (!response.ok) {
      const body = (await response.text().catch(() => "")).slice(0, 300);
      throw new ManagementApiError(`${what}: ${response.status} ${response.statusText}${statusHint(response.status)}${body ? `: ${body}` : ""}`, response.status);
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new ManagementApiError(`${what}: the answer is not JSON (is ${base} the management plugin's address?)`, response.status);
    }
  }

  return {
    url: base,
    get,
    overview: () => get<ManagementOverview>("/api/overview"),
    vhost: (vhost) => get<ManagementVhost>(`/api/vhosts/${vhostSegment(vhost)}`),
    exchanges: (vhost) => get<ManagementExchange[]>(`/api/exchanges/${vhostSegment(vhost)}`),
    bindings: (vhost) => get<ManagementBinding[]>(`/api/bindings/${vhostSegment(vhost)}`),
    queues: (vhost) => get<ManagementQueue[]>(`/api/queues/${vhostSegment(vhost)}`),
    policies: (vhost) => get<ManagementPolicy[]>(`/api/policies/${vhostSegment(vhost)}`),
    consumers: (vhost) => get<ManagementConsumer[]>(`/api/consumers/${vhostSegment(vhost)}`),
    connections: (vhost) => get<ManagementConnection[]>(`/api/vhosts/${vhostSegment(vhost)}/connections`),
  };
}

function statusHint(status: number): string {
  if (status === 401) return " (the user name or password is refused)";
  if (status === 403) return " (the user needs the monitoring tag, and read permission on the vhost)";
  if (status === 404) return " (no such vhost or object)";
  return "";
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
