import { ValidationError } from "../../lib/errors.ts";
import { encodeWireFormat } from "../schemas/wire-format.ts";
import { SchemaMismatch } from "../schemas/mismatch.ts";
import type { SchemaLookup } from "../schemas/registry-client.ts";
import type { ReencodedValue } from "./message.ts";

/**
 * An edited Schema Registry value: the user edits the decoded JSON, and the replay sends it in the
 * wire format again, under the schema id the dead letter's value was written with (fetched from
 * the registry: an id never changes meaning). All of it happens before the replay is claimed: a
 * misfit (ValidationError on `value`, naming the field) or a registry that cannot be asked sends
 * nothing and leaves the dead letter as it was.
 */

/** Where a replay finds schemas by id (server/schemas' registry client). */
export interface SchemaSource {
  get(id: number): Promise<SchemaLookup>;
}

export type PreparedEdit =
  /** The JSON is the decoded value as it was: the original bytes go out. */
  | { status: "unchanged" }
  | { status: "changed"; value: ReencodedValue }
  /** The schema could not be had; nothing may be sent. */
  | { status: "unavailable"; error: string };

export async function reencodeEditedValue(
  schemas: SchemaSource | null,
  source: { value: Buffer; decoded: { schemaId: number; json: string } },
  editedText: string,
): Promise<PreparedEdit> {
  const { schemaId } = source.decoded;
  let edited: unknown;
  try {
    edited = JSON.parse(editedText);
  } catch (error) {
    throw new ValidationError(
      `value: not valid JSON (${error instanceof Error ? error.message : String(error)}); a value of Schema Registry schema ${schemaId} is edited as JSON`,
      { field: "value" },
    );
  }
  const before = JSON.stringify(JSON.parse(source.decoded.json));
  const after = JSON.stringify(edited);
  if (before === after) return { status: "unchanged" };
  const nothingSent = "nothing was sent, and it can still be replayed";
  if (schemas === null) {
    return {
      status: "unavailable",
      error: `re-encoding the edited value needs the Schema Registry it was written with (schema id ${schemaId}), and SCHEMA_REGISTRY_URL is not set for the web server: ${nothingSent}`,
    };
  }
  const found = await schemas.get(schemaId);
  if (found.status === "unknown") {
    return { status: "unavailable", error: `the Schema Registry does not know schema id ${schemaId} (any more), so the edited value cannot be re-encoded: ${nothingSent}` };
  }
  if (found.status === "unavailable") {
    return { status: "unavailable", error: `cannot re-encode the edited value under schema id ${schemaId}: ${found.error}; ${nothingSent}` };
  }
  try {
    const bytes = encodeWireFormat(found.schema, source.value, editedText);
    return { status: "changed", value: { schemaId, bytes, before, after } };
  } catch (error) {
    if (error instanceof SchemaMismatch) throw new ValidationError(error.message, { field: "value", cause: error });
    throw error;
  }
}
