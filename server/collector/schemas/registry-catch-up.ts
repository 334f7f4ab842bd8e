import { listRecordsAwaitingRegistry, replaceDecodedEvents, type Database, type StoredHeader, type StoredRecord } from "../../db/index.ts";
import { extractEvent, type ExtractOptions, type RawHeaderValue, type RawMessage } from "../extract/index.ts";
import { oneLine } from "../event-writer.ts";
import type { WireFormatDecoder } from "../../schemas/wire-format.ts";
import { fetchSchemas } from "./fetch-schemas.ts";

/**
 * Events stored while the Schema Registry could not be reached are stored raw and flagged
 * schema-registry-unavailable. Once it answers again, this pass reads them again, oldest first, and
 * stores what extraction now gives: the decoded value, its event type, entity keys and schema id,
 * so they join their entities' timelines (a decode at read time would never reach the entity
 * index). Records whose schema still cannot be fetched stay as they are for the next round.
 */

export interface RegistryCatchUpOptions {
  db: Pick<Database, "pool">;
  /** The source whose events (and registry) this catch-up serves (sources.id). */
  sourceId: number;
  decoder: WireFormatDecoder;
  extractOptions: ExtractOptions;
  /** The topics this collector collects now: those it decodes (another collector may read others with another registry). */
  topics(): readonly string[];
  log(line: string): void;
  /** Time between rounds. Default 15 s. */
  intervalMs?: number;
  /** Records read per round at most. Default 500. */
  batchSize?: number;
}

export interface RegistryCatchUp {
  /** One round now (tests); resolves with the number of events decoded. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** The headers as kafkajs hands them over: a key that repeats becomes an array of its values. */
function rawHeaders(stored: readonly StoredHeader[]): RawMessage["headers"] {
  const headers: Record<string, RawHeaderValue | RawHeaderValue[]> = {};
  for (const header of stored) {
    const value = header.value === null ? null : Buffer.from(header.value, header.encoding === "base64" ? "base64" : "utf8");
    const known = headers[header.key];
    if (known === undefined) headers[header.key] = value;
    else headers[header.key] = Array.isArray(known) ? [...known, value] : [known, value];
  }
  return headers;
}

function asRawMessage(record: StoredRecord): RawMessage {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: rawHeaders(record.headers),
  };
}

export function startRegistryCatchUp(options: RegistryCatchUpOptions): RegistryCatchUp {
  const batchSize = options.batchSize ?? 500;
  let running: Promise<number> | null = null;
  let stopped = false;

  const round = async (): Promise<number> => {
    const topics = options.topics();
    if (topics.length === 0) return 0;
    const records = await listRecordsAwaitingRegistry(options.db, options.sourceId, topics, batchSize);
    if (records.length === 0) return 0;
    await fetchSchemas(options.db, options.sourceId, options.decoder, records.flatMap((r) => [r.key, r.value]), options.log);
    const decoded = records
      .map((record) => ({ sourceId: options.sourceId, ...extractEvent(asRawMessage(record), options.extractOptions) }))
      .filter((event) => !event.flags.includes("schema-registry-unavailable"));
    const changed = await replaceDecodedEvents(options.db, decoded);
    if (changed > 0) options.log(`schema registry is back: decoded ${changed} event(s) stored while it was unavailable`);
    return changed;
  };

  const runOnce = () => {
    running ??= round().finally(() => (running = null));
    return running;
  };

  const timer = setInterval(() => {
    if (stopped) return;
    runOnce().catch((error: unknown) => options.log(`decoding events stored during a registry outage failed (tried again later): ${oneLine(String(error))}`));
  }, options.intervalMs ?? 15_000);

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => 0);
    },
  };
}
