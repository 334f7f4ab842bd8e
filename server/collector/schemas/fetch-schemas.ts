import { saveRegistrySchemas, type Database } from "../../db/index.ts";
import type { WireFormatDecoder } from "../../schemas/wire-format.ts";

/**
 * Before records are extracted: the schemas their keys and values name are fetched (within the
 * registry client's timeout), and those fetched for the first time are stored (registry_schemas)
 * for the schema history. Storing never holds collection up: what cannot be stored now is taken
 * again with the next records.
 */
export async function fetchSchemas(
  db: Pick<Database, "pool">,
  /** The source whose registry the decoder reads (schema ids are per registry). */
  sourceId: number,
  decoder: WireFormatDecoder,
  keysAndValues: Iterable<Buffer | null>,
  log: (line: string) => void,
): Promise<void> {
  await decoder.prefetchFor(keysAndValues);
  const fetched = decoder.client.takeFetched();
  if (fetched.length === 0) return;
  try {
    await saveRegistrySchemas(db, sourceId, fetched);
  } catch (error) {
    decoder.client.giveBack(fetched);
    log(`could not store ${fetched.length} schema(s) from the registry (tried again with the next batch): ${(error as Error).message}`);
  }
}
