/**
 * Names the RabbitMQ source gives things, shared by the collector (which declares and stores under
 * them) and the queries (which draw them).
 */

/** Every queue Eventscope declares starts with this; nothing else on the broker is touched. */
export const OWN_QUEUE_PREFIX = "eventscope.";

/**
 * The default exchange (named "" on the wire; a publish to it goes to the queue named by its routing
 * key) under the name RabbitMQ itself gives it in permissions and the management API.
 */
export const DEFAULT_EXCHANGE = "amq.default";

/**
 * The events channel of an exchange's messages: its name, or `<vhost>/<exchange>` outside vhost "/";
 * the default exchange "" is `amq.default`.
 */
export function channelOfExchange(vhost: string, exchange: string): string {
  const name = exchange === "" ? DEFAULT_EXCHANGE : exchange;
  return vhost === "/" ? name : `${vhost}/${name}`;
}
