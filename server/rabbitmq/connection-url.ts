import type { RabbitMqSourceConfig } from "../config.ts";

/**
 * The AMQP URL of one vhost of a RabbitMQ source, with its credentials: one owner for the
 * collector and replay. The sources file keeps the URL without credentials (they come from
 * `username` and `passwordEnv`), so they are put in here, encoded, with the vhost as the path.
 */
export function amqpConnectionUrl(source: Pick<RabbitMqSourceConfig, "amqpUrl" | "username" | "password">, vhost: string): string {
  const url = new URL(source.amqpUrl);
  url.username = encodeURIComponent(source.username);
  url.password = encodeURIComponent(source.password);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  // A broker that vanishes without closing the connection is noticed within about 20 s.
  url.searchParams.set("heartbeat", "10");
  return url.toString();
}
