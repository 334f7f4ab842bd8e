/**
 * The collector's pure extraction layer: from one Kafka record (as kafkajs hands it over) or one
 * RabbitMQ message (as the firehose gives it) to the
 * fields Eventscope stores and indexes. No I/O; every function is total over any input bytes.
 */
export { extractEvent, DEFAULT_EXTRACT_OPTIONS, type ExtractedEvent } from "./extract-event.ts";
export { extractAmqpEvent } from "./amqp.ts";
export { flattenAmqpHeaders, readAmqpTimestamp, MAX_AMQP_TABLE_DEPTH } from "./amqp-headers.ts";
export { EXTRACTION_FLAGS, type ExtractionFlag } from "./flags.ts";
export type {
  AmqpMessage,
  AmqpProperties,
  AmqpTable,
  ExtractOptions,
  JsonValue,
  RawHeaderValue,
  RawMessage,
} from "./types.ts";
export { classifyTopic, type TopicClass } from "./classify-topic.ts";
export {
  detectDeadLetter,
  readFailureHeaders,
  type DeadLetter,
  type DeadLetterConvention,
  type DeadLetterDetection,
  type FailureHeaders,
} from "./dead-letter.ts";
export { parseTraceparent, extractTraceContext, type ParsedTraceparent, type TraceContext, type TraceSource } from "./traceparent.ts";
export { flattenHeaders, indexHeaders, type HeaderEntry, type HeaderIndex } from "./headers.ts";
export type { CloudEventAttributes } from "./cloudevents.ts";
export type { EventTypeSource } from "./event-type.ts";
export type { ProducerSource } from "./producer.ts";
export type { EntitySource } from "./entity.ts";
export { MAX_JSON_DEPTH, type ExtractedKey, type ExtractedValue } from "./value.ts";
