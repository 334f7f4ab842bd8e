/**
 * Names the RabbitMQ source gives things, shared by the collector (which declares and stores under
 * them) and the queries (which draw them).
 */

/** Every queue Eventscope declares starts with this; nothing else on the broker is touched. */
export const OWN_QUEUE_PREFIX = "eventscope.";

/** The events channel of an exchange's messages: its name, or `<vhost>/<exchange>` outside vhost "/". */
export function channelOfExchange(vhost: string, exchange: string): string {
  return vhost === "/" ? exchange : `${vhost}/${exchange}`;
}
