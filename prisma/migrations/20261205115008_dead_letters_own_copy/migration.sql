-- DropForeignKey
ALTER TABLE "dead_letters" DROP CONSTRAINT "dead_letters_topic_partition_offset_fkey";

-- AlterTable
ALTER TABLE "dead_letters" ADD COLUMN     "entity_keys" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "event_type" TEXT,
ADD COLUMN     "flags" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "headers" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "key" TEXT,
ADD COLUMN     "key_bytes" BYTEA,
ADD COLUMN     "producer" TEXT,
ADD COLUMN     "value_bytes" BYTEA,
ADD COLUMN     "value_json" JSONB,
ADD COLUMN     "value_kind" "value_kind",
ADD COLUMN     "value_text" TEXT;


-- Dead letters stored before this migration take their copy from their event.
UPDATE "dead_letters" d SET
  "key" = e."key", "key_bytes" = e."key_bytes", "value_kind" = e."value_kind", "value_json" = e."value_json",
  "value_text" = e."value_text", "value_bytes" = e."value_bytes", "headers" = e."headers", "flags" = e."flags",
  "event_type" = e."event_type", "entity_keys" = e."entity_keys", "producer" = e."producer"
FROM "events" e
WHERE e."topic" = d."topic" AND e."partition" = d."partition" AND e."offset" = d."offset";
