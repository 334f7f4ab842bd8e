-- AlterTable
ALTER TABLE "events" ADD COLUMN     "undecodable" JSONB;

-- AlterTable
ALTER TABLE "collector_instances" ADD COLUMN     "stalled" JSONB NOT NULL DEFAULT '[]';


-- Undecodable ranges of the last hour (health) and of a topic (its panel): a handful of rows at
-- most, so a partial index costs nothing on ingest.
CREATE INDEX "events_undecodable_idx" ON "events" ("topic", "ingested_at" DESC) WHERE "undecodable" IS NOT NULL;
