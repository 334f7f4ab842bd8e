/**
 * Kafka clients, one owner: brokers, SASL, TLS and compression codecs for the collector, the admin
 * poller and replay. The demo services load kafkajs through `require` (for OpenTelemetry) and use
 * the same codecs and security options from here.
 */
export { createKafka, explainKafkaError, kafkaClientConfig, kafkaSecurityOptions, type KafkaClientOptions } from "./client.ts";
export { compressionNameOf, compressionType, registerCompressionCodecs } from "./codecs.ts";
export { COMPRESSION_NAMES, type CompressionName } from "./compression-names.ts";
export { partitionCountOf } from "./topic-metadata.ts";
export { installUndecodableBatchHandling, undecodableBatchOf, type UndecodableBatch } from "./undecodable-batches.ts";
