/**
 * The codec names settings and flags accept (EVENTSCOPE_REPLAY_COMPRESSION, the demo's
 * --compression), in the order of Kafka's codec ids (record batch attributes bits 0-2). Kept free of
 * imports: server/config.ts validates against it without loading Kafka clients.
 */
export const COMPRESSION_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];
