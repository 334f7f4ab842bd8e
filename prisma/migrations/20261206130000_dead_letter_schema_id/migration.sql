-- AlterTable
ALTER TABLE "dead_letters" ADD COLUMN     "schema_id" INTEGER;


-- Dead letters stored before: the id their value was read with, from their event while it is
-- kept, else from their own wire bytes (byte 0, then the 4-byte id) when the value was decoded.
UPDATE "dead_letters" d SET "schema_id" = e."schema_id"
FROM "events" e
WHERE e."topic" = d."topic" AND e."partition" = d."partition" AND e."offset" = d."offset" AND e."schema_id" IS NOT NULL;

UPDATE "dead_letters" SET "schema_id" = ('x' || encode(substring("value_bytes" FROM 2 FOR 4), 'hex'))::bit(32)::int
WHERE "schema_id" IS NULL AND "value_kind" = 'json' AND length("value_bytes") >= 5 AND get_byte("value_bytes", 0) = 0;
